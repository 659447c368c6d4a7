"""WS-Addressing headers with a caller-chosen MessageID.

zeep's plugin draws a random ``wsa:MessageID``; outbound deliveries set it from the idempotency key instead,
so a redelivered message carries the same MessageID and a receiver that deduplicates on it sees it once.
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


class AddressingPlugin(WsAddressingPlugin):  # type: ignore[misc]  # zeep ships no type hints
    """zeep's WS-Addressing plugin, with the MessageID taken from :meth:`use_message_id` when set."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def use_message_id(self, message_id: str | None) -> None:
        self._local.message_id = message_id

    def egress(
        self, envelope: etree._Element, http_headers: Any, operation: Any, binding_options: Any
    ) -> tuple[etree._Element, Any]:
        envelope, http_headers = super().egress(envelope, http_headers, operation, binding_options)
        wanted = getattr(self._local, "message_id", None)
        if wanted:
            for element in envelope.iter(f"{{{WSA}}}MessageID"):
                element.text = wanted
        return envelope, http_headers
