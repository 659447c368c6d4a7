"""The durable outbox: what must be delivered, to whom, and where each item stands.

An item is written in the same transaction as the decision that produced it (so nothing is lost between
"decided" and "queued"), carries an idempotency key (a record re-sent or a file polled twice enqueues
nothing new), and moves ``pending → in_flight → delivered`` or, after failures, ``dead``.

Claims are leases: a worker that dies (SIGKILL) leaves ``in_flight`` items whose lease expires, and any
worker takes them again. On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED`` so that any number of
workers on any number of machines share the work without taking the same item; SQLite serialises writers,
so the same UPDATE is atomic there. Delivery is at least once; the idempotency key sent to the receiver
makes it exactly once at the receiver.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from gateway.clock import aware, utcnow
from gateway.delivery.retry import RetryPolicy
from gateway.errors import GatewayError
from gateway.store.ids import time_ordered_id
from gateway.store.tables import dead_letters, outbox
from gateway.store.upsert import insert_rows

PENDING, IN_FLIGHT, DELIVERED, DEAD = "pending", "in_flight", "delivered", "dead"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: str
    exchange_id: str
    record_id: str | None
    convention_id: str
    convention_version: str
    flow_id: str
    purpose: str
    receiver: str
    endpoint: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    ordering_key: str | None = None
    batch_key: str | None = None
    replay_of: str | None = None

    @property
    def delivery_key(self) -> str:
        """The key the receiver sees: a replay reuses the original key so the receiver can deduplicate."""
        return str(self.payload.get("idempotency_key") or self.idempotency_key)

    @classmethod
    def from_row(cls, row: Any) -> OutboxItem:
        m = row._mapping
        return cls(
            id=m["id"],
            exchange_id=m["exchange_id"],
            record_id=m["record_id"],
            convention_id=m["convention_id"],
            convention_version=m["convention_version"],
            flow_id=m["flow_id"],
            purpose=m["purpose"],
            receiver=m["receiver"],
            endpoint=m["endpoint"],
            idempotency_key=m["idempotency_key"],
            payload=m["payload"],
            attempts=m["attempts"],
            created_at=aware(m["created_at"]),
            ordering_key=m["ordering_key"],
            batch_key=m["batch_key"],
            replay_of=m["replay_of"],
        )


def new_item_row(
    *,
    exchange_id: str,
    record_id: str | None,
    convention_id: str,
    convention_version: str,
    flow_id: str,
    purpose: str,
    receiver: str,
    endpoint: str,
    idempotency_key: str,
    payload: dict[str, Any],
    ordering_key: str | None = None,
    batch_key: str | None = None,
    replay_of: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A row for :func:`enqueue`; the payload holds the receiver-side idempotency key."""
    now = now or utcnow()
    return {
        "id": time_ordered_id(),
        "exchange_id": exchange_id,
        "record_id": record_id,
        "convention_id": convention_id,
        "convention_version": convention_version,
        "flow_id": flow_id,
        "purpose": purpose,
        "receiver": receiver,
        "endpoint": endpoint,
        "idempotency_key": idempotency_key,
        "payload": {"idempotency_key": idempotency_key, **payload},
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "ordering_key": ordering_key,
        "batch_key": batch_key,
        "created_at": now,
        "replay_of": replay_of,
    }


class Outbox:
    """Claims, completes, reschedules and dead-letters outbox items."""

    def __init__(self, engine: Engine, retry: RetryPolicy | None = None, lease: timedelta | None = None):
        self.engine = engine
        self.retry = retry or RetryPolicy()
        self.lease = lease or timedelta(minutes=2)
        self._postgres = engine.dialect.name == "postgresql"

    def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            insert_rows(connection, outbox, rows, skip_conflicts_on=["idempotency_key"])

    def claim(
        self, worker: str, limit: int = 100, endpoints: Sequence[str] | None = None
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` due items (pending and due, or in flight with an expired lease).

        Items sharing an ordering key (per-person ordering) are claimed oldest first, one at a time: an
        item waits while an older item of the same key is not yet delivered or dead.
        """
        now = utcnow()
        # The candidate query reads an alias so that it is not correlated with the UPDATE's own table.
        candidate = aliased(outbox, name="candidate")
        older = aliased(outbox, name="older")
        blocked_by_older = exists().where(
            and_(
                older.c.ordering_key == candidate.c.ordering_key,
                older.c.status.in_((PENDING, IN_FLIGHT)),
                or_(
                    older.c.created_at < candidate.c.created_at,
                    and_(older.c.created_at == candidate.c.created_at, older.c.id < candidate.c.id),
                ),
            )
        )
        candidates = (
            select(candidate.c.id)
            .where(_due(candidate, now))
            .where(candidate.c.batch_key.is_(None))  # batched items leave together (claim_batch)
            .where(or_(candidate.c.ordering_key.is_(None), ~blocked_by_older))
            .order_by(candidate.c.next_attempt_at, candidate.c.created_at)
            .limit(limit)
        )
        if endpoints is not None:
            candidates = candidates.where(candidate.c.endpoint.in_(list(endpoints)))
        if self._postgres:
            candidates = candidates.with_for_update(skip_locked=True, of=candidate)
        # A materialised CTE is evaluated once: an IN (subquery) could be re-run per row by the planner
        # and, with SKIP LOCKED, pick more rows than the limit.
        chosen = candidates.cte("chosen").prefix_with("MATERIALIZED", dialect="postgresql")
        return self._lease(worker, now, outbox.c.id == chosen.c.id)

    def closed_batches(self, before_key_day: str) -> list[str]:
        """Batch keys with due items whose day is before ``before_key_day`` (YYYY-MM-DD, Paris time)."""
        now = utcnow()
        with self.engine.connect() as connection:
            keys = connection.execute(
                select(outbox.c.batch_key)
                .distinct()
                .where(outbox.c.batch_key.is_not(None))
                .where(_due(outbox, now))
            ).scalars()
            return sorted(key for key in keys if key.rsplit(":", 1)[1] < before_key_day)

    def claim_batch(self, worker: str, batch_key: str) -> list[OutboxItem]:
        """Lease every due item of one batch (one file for the receiver); oldest first."""
        return self._lease(worker, utcnow(), outbox.c.batch_key == batch_key)

    def _lease(self, worker: str, now: datetime, which: Any) -> list[OutboxItem]:
        """Mark the due items ``which`` selects as in flight for ``worker``; return them oldest first."""
        statement = (
            update(outbox)
            .where(which)
            .where(_due(outbox, now))
            .values(
                status=IN_FLIGHT,
                claimed_by=worker,
                claimed_until=now + self.lease,
                attempts=outbox.c.attempts + 1,
            )
            .returning(*outbox.c)
        )
        with self.engine.begin() as connection:
            rows = connection.execute(statement).fetchall()
        return sorted((OutboxItem.from_row(row) for row in rows), key=lambda item: (item.created_at, item.id))

    def delivered(self, item: OutboxItem, receipt: str | None, worker: str) -> bool:
        """Record a delivery; False if this worker's lease was lost meanwhile (another worker has it)."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(outbox)
                .where(outbox.c.id == item.id, outbox.c.claimed_by == worker, outbox.c.status == IN_FLIGHT)
                .values(
                    status=DELIVERED,
                    delivered_at=utcnow(),
                    receipt=receipt,
                    claimed_until=None,
                    last_error=None,
                )
            )
        return result.rowcount == 1

    def failed(self, item: OutboxItem, error: BaseException, worker: str) -> str:
        """Reschedule a retriable failure, or dead-letter it; returns the new status."""
        now = utcnow()
        reason = _describe(error)
        retriable = isinstance(error, GatewayError) and error.retriable
        if retriable and not self.retry.exhausted(item.attempts, item.created_at, now):
            with self.engine.begin() as connection:
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id == item.id, outbox.c.claimed_by == worker)
                    .values(
                        status=PENDING,
                        next_attempt_at=now + self.retry.delay(item.attempts),
                        last_error=reason,
                        claimed_until=None,
                    )
                )
            return PENDING
        if retriable:
            reason = f"gave up after {item.attempts} attempt(s): {reason}"
        with self.engine.begin() as connection:
            moved = connection.execute(
                update(outbox)
                .where(outbox.c.id == item.id, outbox.c.claimed_by == worker, outbox.c.status == IN_FLIGHT)
                .values(status=DEAD, last_error=reason, claimed_until=None)
            ).rowcount
            if moved:
                connection.execute(
                    dead_letters.insert().values(
                        id=str(uuid.uuid4()),
                        outbox_id=item.id,
                        exchange_id=item.exchange_id,
                        stage="deliver",
                        reason=reason,
                        error_class=type(error).__name__,
                        created_at=now,
                    )
                )
        return DEAD

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.engine.connect() as connection:
            rows = connection.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(count) for status, count in rows}


def _due(table: Any, now: datetime) -> Any:
    """Pending and due, or in flight with an expired lease (its worker died)."""
    return or_(
        and_(table.c.status == PENDING, table.c.next_attempt_at <= now),
        and_(table.c.status == IN_FLIGHT, table.c.claimed_until < now),
    )


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text[:2000]
