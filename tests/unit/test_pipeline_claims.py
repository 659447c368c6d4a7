"""An exchange's claim: renewed with every chunk, and a processor that lost it stops without harm."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from gateway.audit import AuditQueries
from gateway.clock import aware, utcnow
from gateway.pipeline.intake import Envelope, receive
from gateway.runtime import Gateway
from gateway.store.tables import exchanges, outbox, records
from tests.pipeline_support import AT, make_gateway, plie_file


def _claim(gateway: Gateway, exchange_id: str) -> tuple[str | None, datetime | None]:
    with gateway.engine.connect() as connection:
        row = connection.execute(
            select(exchanges.c.claimed_by, exchanges.c.claimed_until).where(exchanges.c.id == exchange_id)
        ).one()
    return row.claimed_by, aware(row.claimed_until) if row.claimed_until else None


def _gateway(tmp_path: Path) -> tuple[Gateway, str]:
    gateway = make_gateway(tmp_path, "http://127.0.0.1:9/inbox")
    gateway.processor.chunk_size = 5
    exchange_id = receive(gateway.engine, Envelope("plie-in", "plie-mel", "test", plie_file(30))).exchange_id
    return gateway, exchange_id


def test_every_chunk_renews_the_claim_which_is_released_at_the_end(tmp_path: Path) -> None:
    gateway, exchange_id = _gateway(tmp_path)
    processor = gateway.processor
    seen: list[tuple[str | None, datetime | None]] = []
    started = utcnow()
    summary = processor.process(
        exchange_id, at=AT, progress=lambda _read: seen.append(_claim(gateway, exchange_id))
    )
    assert summary.status == "processed"
    assert len(seen) >= 5
    assert {holder for holder, _until in seen} == {processor.name}
    deadlines = [until for _holder, until in seen]
    assert all(until is not None and until >= started + processor.lease for until in deadlines)
    assert deadlines == sorted(deadlines) and len(set(deadlines)) == len(deadlines)
    assert _claim(gateway, exchange_id)[1] is None
    gateway.engine.dispose()


def test_a_processor_whose_claim_was_taken_over_stops_and_the_new_holder_finishes(tmp_path: Path) -> None:
    gateway, exchange_id = _gateway(tmp_path)
    slow = gateway.processor
    other = copy.copy(slow)
    other.name = "node-b"
    summaries: list[Any] = []

    def stall_then_lose(read: int) -> None:
        if summaries:
            return
        # The slow processor stalled past its lease: another node judges it dead and takes over.
        with gateway.engine.begin() as connection:
            connection.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id)
                .values(claimed_until=utcnow() - timedelta(seconds=1))
            )
        summaries.append(other.process(exchange_id, at=AT))

    lost = slow.process(exchange_id, at=AT, progress=stall_then_lose)
    assert lost.status == "processing"  # it stopped: the chunk it was on was rolled back
    assert summaries[0].status == "processed"
    with gateway.engine.connect() as connection:
        numbers = connection.execute(select(records.c.number).where(records.c.exchange_id == exchange_id))
        numbers_seen = sorted(numbers.scalars())
        keys = connection.execute(select(outbox.c.idempotency_key)).scalars().all()
        status, total = connection.execute(
            select(exchanges.c.status, exchanges.c.records_total).where(exchanges.c.id == exchange_id)
        ).one()
        items_per_record = connection.execute(
            select(func.count()).select_from(outbox).group_by(outbox.c.record_id).having(func.count() > 1)
        ).all()
    read = lost.read - 5 + summaries[0].read  # the slow one's last chunk did not count
    assert numbers_seen == list(range(1, read + 1)), "every record once, none skipped"
    assert total == len(numbers_seen) and status == "processed"
    assert keys and len(keys) == len(set(keys)) and not items_per_record
    verified = AuditQueries(gateway.engine, gateway.settings).verify()
    assert verified.ok, verified.reason
    gateway.engine.dispose()


def test_a_processor_that_lost_its_claim_after_its_last_chunk_leaves_the_exchange_to_the_holder(
    tmp_path: Path,
) -> None:
    gateway, exchange_id = _gateway(tmp_path)
    slow = gateway.processor
    run = slow._run

    def run_then_stall(*args: Any, **kwargs: Any) -> None:
        run(*args, **kwargs)
        # Every record is committed, then the processor stalls past its lease before marking the
        # exchange processed: another node has taken it over in the meantime.
        with gateway.engine.begin() as connection:
            connection.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id)
                .values(claimed_by="node-b", claimed_until=utcnow() + timedelta(minutes=5))
            )

    slow._run = run_then_stall  # type: ignore[method-assign]
    summary = slow.process(exchange_id, at=AT)
    assert summary.status == "processing"
    with gateway.engine.connect() as connection:
        status, holder, until = connection.execute(
            select(exchanges.c.status, exchanges.c.claimed_by, exchanges.c.claimed_until).where(
                exchanges.c.id == exchange_id
            )
        ).one()
    assert (status, holder) == ("processing", "node-b")
    assert until is not None, "the holder's claim is left as it is"
    gateway.engine.dispose()
