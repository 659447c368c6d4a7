"""Receiving: an envelope is stored durably before anyone acknowledges it.

Every transport (file drop, HTTP, SFTP, AMQP, SOAP) calls :func:`receive` and acknowledges its partner
only after it returned. The exchange's idempotency key is the endpoint plus the partner's message id when
the transport has one, else the SHA-256 of the bytes: a file polled twice, or a message redelivered by the
broker, is recognised and not processed a second time.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select

from gateway.clock import utcnow
from gateway.store.payloads import slices, store_payload
from gateway.store.tables import exchanges
from gateway.store.upsert import insert_ignore_one

RECEIVED = "received"


@dataclass(frozen=True, slots=True)
class Envelope:
    """Bytes from a partner and who/when/how they came."""

    endpoint: str
    sender: str
    transport: str
    payload: bytes
    source_name: str | None = None
    content_type: str | None = None
    message_id: str | None = None
    """The partner's own id for this message (AMQP message id, HTTP Idempotency-Key), if any."""
    received_at: datetime = field(default_factory=utcnow)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

    @property
    def idempotency_key(self) -> str:
        return f"{self.endpoint}:{'id:' + self.message_id if self.message_id else 'sha256:' + self.digest}"


@dataclass(frozen=True, slots=True)
class Receipt:
    exchange_id: str
    duplicate: bool
    """True when this envelope had been received before: nothing new was stored."""


def receive(engine: Engine, envelope: Envelope) -> Receipt:
    """Store the envelope (or find its earlier copy) and return the exchange id. Safe to call twice."""
    exchange_id = str(uuid.uuid4())
    row = {
        "id": exchange_id,
        "received_at": envelope.received_at,
        "updated_at": envelope.received_at,
        "endpoint": envelope.endpoint,
        "sender": envelope.sender,
        "transport": envelope.transport,
        "source_name": envelope.source_name,
        "content_type": envelope.content_type,
        "size": len(envelope.payload),
        "digest": envelope.digest,
        "idempotency_key": envelope.idempotency_key,
        "status": RECEIVED,
        "records_total": 0,
        "records_ok": 0,
        "records_rejected": 0,
    }
    with engine.begin() as connection:
        if insert_ignore_one(connection, exchanges, row, ["idempotency_key"]):
            store_payload(connection, exchange_id, slices(envelope.payload))
            return Receipt(exchange_id, duplicate=False)
        existing = connection.execute(
            select(exchanges.c.id).where(exchanges.c.idempotency_key == envelope.idempotency_key)
        ).scalar_one()
    return Receipt(str(existing), duplicate=True)
