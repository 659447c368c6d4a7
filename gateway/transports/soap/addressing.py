"""WS-Addressing headers with a caller-chosen MessageID.

zeep adds WS-Addressing headers by itself when the WSDL gives the operation a ``wsaw:Action``, with a
random ``wsa:MessageID``. This plugin adds them for other WSDLs when asked (``ws_addressing: true``), and in
both cases replaces the MessageID by the one chosen for the call: outbound deliveries derive it from the
idempotency key, so a redelivered message carries the same MessageID and a receiver that deduplicates on
it sees it once.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from lxml import etree
from zeep.wsa import WsAddressingPlugin

from gateway.transports.soap.envelope import WSA

_NAMESPACE = uuid.UUID("6f1c3f52-7d1e-4f39-9d0a-3c1e6c0b9a11")


def message_id_for(key: str) -> str:
    """A stable ``urn:uuid:`` MessageID for an idempotency key."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"


class AddressingPlugin(WsAddressingPlugin):
    """Adds WS-Addressing headers when ``add_headers`` and zeep did not; sets the chosen MessageID."""

    def __init__(self, add_headers: bool) -> None:
        super().__init__()
        self.add_headers = add_headers
        self._local = threading.local()

    def use_message_id(self, message_id: str | None) -> None:
        self._local.message_id = message_id

    def egress(
        self, envelope: etree._Element, http_headers: Any, operation: Any, binding_options: Any
    ) -> tuple[etree._Element, Any]:
        present = next(envelope.iter(f"{{{WSA}}}Action"), None) is not None
        if self.add_headers and not present:
            envelope, http_headers = super().egress(  # type: ignore[no-untyped-call]
                envelope, http_headers, operation, binding_options
            )
        wanted = getattr(self._local, "message_id", None)
        if wanted:
            for element in envelope.iter(f"{{{WSA}}}MessageID"):
                element.text = wanted
        return envelope, http_headers
