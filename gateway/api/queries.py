"""Read-only store queries shared by the API and the console: exchanges, deliveries, dashboard figures.

None of them returns a payload or a personal value: record errors hold locations and rules only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from gateway.clock import aware
from gateway.store.tables import dead_letters, exchanges, outbox, records

EXCHANGE_COLUMNS = (
    exchanges.c.id,
    exchanges.c.received_at,
    exchanges.c.updated_at,
    exchanges.c.endpoint,
    exchanges.c.sender,
    exchanges.c.transport,
    exchanges.c.source_name,
    exchanges.c.content_type,
    exchanges.c.size,
    exchanges.c.digest,
    exchanges.c.status,
    exchanges.c.records_total,
    exchanges.c.records_ok,
    exchanges.c.records_rejected,
    exchanges.c.error,
)


@dataclass(frozen=True)
class ExchangeFilter:
    endpoint: str | None = None
    status: str | None = None
    sender: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    limit: int = 100
    offset: int = 0


def _dated(row: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    for key, value in values.items():
        if isinstance(value, dt.datetime):
            values[key] = aware(value)
    return values


def list_exchanges(engine: Engine, where: ExchangeFilter) -> list[dict[str, Any]]:
    query = select(*EXCHANGE_COLUMNS)
    if where.endpoint:
        query = query.where(exchanges.c.endpoint == where.endpoint)
    if where.status:
        query = query.where(exchanges.c.status == where.status)
    if where.sender:
        query = query.where(exchanges.c.sender == where.sender)
    if where.start:
        query = query.where(exchanges.c.received_at >= where.start)
    if where.end:
        query = query.where(exchanges.c.received_at < where.end)
    query = (
        query.order_by(exchanges.c.received_at.desc(), exchanges.c.id).limit(where.limit).offset(where.offset)
    )
    with engine.connect() as connection:
        return [_dated(row) for row in connection.execute(query)]


def get_exchange(engine: Engine, exchange_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(select(*EXCHANGE_COLUMNS).where(exchanges.c.id == exchange_id)).first()
    return _dated(row) if row is not None else None


def exchange_records(
    engine: Engine, exchange_id: str, limit: int = 1000, offset: int = 0
) -> list[dict[str, Any]]:
    query = (
        select(records.c.id, records.c.number, records.c.line, records.c.status, records.c.error)
        .where(records.c.exchange_id == exchange_id)
        .order_by(records.c.number)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as connection:
        return [_dated(row) for row in connection.execute(query)]


DELIVERY_COLUMNS = (
    outbox.c.id,
    outbox.c.record_id,
    outbox.c.convention_id,
    outbox.c.convention_version,
    outbox.c.flow_id,
    outbox.c.purpose,
    outbox.c.receiver,
    outbox.c.endpoint,
    outbox.c.status,
    outbox.c.attempts,
    outbox.c.created_at,
    outbox.c.delivered_at,
    outbox.c.receipt,
    outbox.c.last_error,
    outbox.c.replay_of,
)


def exchange_deliveries(engine: Engine, exchange_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    query = (
        select(*DELIVERY_COLUMNS)
        .where(outbox.c.exchange_id == exchange_id)
        .order_by(outbox.c.created_at, outbox.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [_dated(row) for row in connection.execute(query)]


def list_dead_letters(
    engine: Engine,
    *,
    endpoint: str | None = None,
    stage: str | None = None,
    open_only: bool = True,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = select(
        dead_letters,
        outbox.c.endpoint,
        outbox.c.convention_id,
        outbox.c.flow_id,
        outbox.c.receiver,
        exchanges.c.endpoint.label("exchange_endpoint"),
    ).select_from(
        dead_letters.outerjoin(outbox, outbox.c.id == dead_letters.c.outbox_id).outerjoin(
            exchanges, exchanges.c.id == dead_letters.c.exchange_id
        )
    )
    if open_only:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    if endpoint:
        query = query.where((outbox.c.endpoint == endpoint) | (exchanges.c.endpoint == endpoint))
    if stage:
        query = query.where(dead_letters.c.stage == stage)
    query = query.order_by(dead_letters.c.created_at.desc(), dead_letters.c.id).limit(limit)
    with engine.connect() as connection:
        return [_dated(row) for row in connection.execute(query)]


@dataclass(frozen=True)
class Dashboard:
    volumes: list[dict[str, Any]]
    """(day, convention_id, delivered, pending, dead) for the last days."""
    exchanges_by_status: dict[str, int]
    records_rejected: int
    open_dead_letters: int


def dashboard(engine: Engine, days: int = 14, now: dt.datetime | None = None) -> Dashboard:
    since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    day = func.date(outbox.c.created_at)
    volume_query = (
        select(day.label("day"), outbox.c.convention_id, outbox.c.status, func.count().label("n"))
        .where(outbox.c.created_at >= since)
        .group_by(day, outbox.c.convention_id, outbox.c.status)
    )
    table: dict[tuple[str, str], dict[str, Any]] = {}
    with engine.connect() as connection:
        for row in connection.execute(volume_query):
            key = (str(row.day), str(row.convention_id))
            entry = table.setdefault(
                key, {"day": key[0], "convention_id": key[1], "delivered": 0, "pending": 0, "dead": 0}
            )
            bucket = row.status if row.status in ("delivered", "dead") else "pending"
            entry[bucket] += int(row.n)
        by_status = {
            str(status): int(count)
            for status, count in connection.execute(
                select(exchanges.c.status, func.count()).group_by(exchanges.c.status)
            )
        }
        rejected = connection.execute(
            select(func.coalesce(func.sum(exchanges.c.records_rejected), 0))
        ).scalar_one()
        open_letters = connection.execute(
            select(func.count()).select_from(dead_letters).where(dead_letters.c.replayed_at.is_(None))
        ).scalar_one()
    volumes = sorted(table.values(), key=lambda v: (v["day"], v["convention_id"]), reverse=True)
    return Dashboard(volumes, by_status, int(rejected), int(open_letters))
