"""``SoapOut``: deliver a rendered message to one operation of a partner's SOAP service.

The delivery body is a JSON object of the operation's request elements (what the mapping or the canonical
renderer produced for this receiver); zeep turns it into the SOAP body. With WS-Addressing on, the
``wsa:MessageID`` is derived from the delivery's idempotency key, so a redelivery carries the same id.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import FatalError
from gateway.transports.base import Delivery
from gateway.transports.soap.addressing import message_id_for
from gateway.transports.soap.client import SoapClient
from gateway.transports.soap.envelope import WSA, parse_envelope


class SoapOut:
    def __init__(self, client: SoapClient, operation: str) -> None:
        self.client = client
        self.operation = operation

    def send(self, delivery: Delivery) -> str | None:
        request = _request(delivery)
        document = self.client.call(
            self.operation, request, message_id=message_id_for(delivery.idempotency_key)
        )
        relates = parse_envelope(document.envelope).header_text(WSA, "MessageID")
        return relates or None

    def close(self) -> None:
        self.client.close()


def _request(delivery: Delivery) -> dict[str, Any]:
    if "json" not in delivery.content_type:
        raise FatalError(
            f"SOAP delivery needs a JSON object of request elements, got {delivery.content_type!r}"
        )
    try:
        value = json.loads(delivery.body)
    except ValueError:
        raise FatalError("SOAP delivery body is not valid JSON") from None
    if not isinstance(value, dict):
        raise FatalError("SOAP delivery body must be a JSON object (element name → value)")
    return value
