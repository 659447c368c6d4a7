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
from typing import IO

from sqlalchemy import Engine, select

from gateway.clock import utcnow
from gateway.errors import UnreadableFileError
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
    payload: bytes | IO[bytes]
    """The bytes, or a seekable binary stream positioned at their start (a large file: it is read twice,
    once for its digest and once to store it, never held whole in memory)."""
    source_name: str | None = None
    content_type: str | None = None
    message_id: str | None = None
    """The partner's own id for this message (AMQP message id, HTTP Idempotency-Key), if any."""
    received_at: datetime = field(default_factory=utcnow)


def idempotency_key(endpoint: str, message_id: str | None, digest: str) -> str:
    """The endpoint plus the partner's message id when there is one, else the SHA-256 of the bytes."""
    return f"{endpoint}:{'id:' + message_id if message_id else 'sha256:' + digest}"


@dataclass(frozen=True, slots=True)
class Receipt:
    exchange_id: str
    duplicate: bool
    """True when this envelope had been received before: nothing new was stored."""


def _measure(payload: bytes | IO[bytes]) -> tuple[str, int]:
    """(SHA-256, size) of the payload; a stream is read in slices and put back where it started."""
    if isinstance(payload, bytes):
        return hashlib.sha256(payload).hexdigest(), len(payload)
    start = payload.tell()
    digest = hashlib.sha256()
    for part in slices(payload):
        digest.update(part)
    size = payload.tell() - start
    payload.seek(start)
    return digest.hexdigest(), size


def receive(engine: Engine, envelope: Envelope) -> Receipt:
    """Store the envelope (or find its earlier copy) and return the exchange id. Safe to call twice."""
    exchange_id = str(uuid.uuid4())
    digest, size = _measure(envelope.payload)
    key = idempotency_key(envelope.endpoint, envelope.message_id, digest)
    row = {
        "id": exchange_id,
        "received_at": envelope.received_at,
        "updated_at": envelope.received_at,
        "endpoint": envelope.endpoint,
        "sender": envelope.sender,
        "transport": envelope.transport,
        "source_name": envelope.source_name,
        "content_type": envelope.content_type,
        "size": size,
        "digest": digest,
        "idempotency_key": key,
        "status": RECEIVED,
        "records_total": 0,
        "records_ok": 0,
        "records_rejected": 0,
    }
    with engine.begin() as connection:
        if insert_ignore_one(connection, exchanges, row, ["idempotency_key"]):
            stored = store_payload(connection, exchange_id, slices(envelope.payload))
            if stored != size:  # the file changed between the two readings: store nothing
                raise UnreadableFileError(
                    "the file changed while it was being received", file=envelope.source_name
                )
            return Receipt(exchange_id, duplicate=False)
        existing = connection.execute(
            select(exchanges.c.id).where(exchanges.c.idempotency_key == key)
        ).scalar_one()
    return Receipt(str(existing), duplicate=True)
