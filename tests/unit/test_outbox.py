"""Outbox on SQLite against a real HTTP receiver: retries with backoff, dead letters, leases, ordering."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from gateway.delivery.outbox import DEAD, DELIVERED, PENDING, Outbox
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.worker import DeliveryWorker
from gateway.errors import RetriableError
from gateway.store.engine import make_engine, upgrade
from gateway.store.tables import dead_letters, outbox
from gateway.transports.factory import TransportPool
from tests.delivery_support import endpoint_config, item_rows, seed_exchange
from tests.peers.http_receiver import Receiver

FAST = RetryPolicy(initial_seconds=0.0, max_seconds=0.0, jitter_seconds=0.0, max_attempts=3)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    upgrade(url)
    return make_engine(url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    peer = Receiver().start()
    yield peer
    peer.stop()


def _worker(engine: Engine, url: str, retry: RetryPolicy = FAST, name: str = "w1") -> DeliveryWorker:
    return DeliveryWorker(Outbox(engine, retry), endpoint_config(url), TransportPool(), name=name)


def test_delivers_each_item_once(engine: Engine, receiver: Receiver) -> None:
    outbox_ = Outbox(engine, FAST)
    outbox_.enqueue(item_rows(seed_exchange(engine), 5))
    stats = _worker(engine, receiver.url).run_once()
    assert stats.delivered == 5
    assert len(receiver.accepted) == 5 and receiver.duplicates == 0
    assert outbox_.counts() == {DELIVERED: 5}
    with engine.connect() as c:
        receipts = c.execute(select(outbox.c.receipt)).scalars().all()
    assert all(r and r.startswith("r-") for r in receipts)


def test_enqueue_is_idempotent(engine: Engine) -> None:
    outbox_ = Outbox(engine, FAST)
    rows = item_rows(seed_exchange(engine), 3)
    outbox_.enqueue(rows)
    outbox_.enqueue([{**row, "id": str(uuid.uuid4())} for row in rows])  # same keys, new ids: ignored
    assert outbox_.counts() == {PENDING: 3}


def test_receiver_down_then_back_is_retried_with_backoff(engine: Engine, receiver: Receiver) -> None:
    slow_policy = RetryPolicy(initial_seconds=60, max_seconds=600, jitter_seconds=0, max_attempts=5)
    Outbox(engine, slow_policy).enqueue(item_rows(seed_exchange(engine), 2))
    receiver.mode = "fail503"
    stats = _worker(engine, receiver.url, slow_policy).run_once()
    assert stats.retried == 2 and stats.delivered == 0
    with engine.connect() as c:
        rows = c.execute(select(outbox.c.status, outbox.c.next_attempt_at, outbox.c.last_error)).all()
    assert {r.status for r in rows} == {PENDING}
    assert all("503" in r.last_error for r in rows)
    # Not due yet: nothing is claimed before the backoff delay.
    assert _worker(engine, receiver.url, slow_policy).run_once().claimed == 0
    receiver.mode = "ok"
    with engine.begin() as c:  # let time pass
        c.execute(update(outbox).values(next_attempt_at=outbox.c.created_at))
    assert _worker(engine, receiver.url, slow_policy).run_once().delivered == 2
    assert len(receiver.accepted) == 2


def test_connection_refused_and_timeouts_are_retriable(engine: Engine, receiver: Receiver) -> None:
    Outbox(engine, FAST).enqueue(item_rows(seed_exchange(engine), 1))
    stats = _worker(engine, "http://127.0.0.1:9/closed").run_once()
    assert stats.retried == 1
    receiver.mode, receiver.slow_seconds = "slow", 1.5
    assert _worker(engine, receiver.url).run_once().retried == 1  # 0.5 s client timeout
    with engine.connect() as c:
        assert "timed out" in c.execute(select(outbox.c.last_error)).scalar_one()


def test_beyond_the_limit_goes_to_dead_letters_with_the_reason(engine: Engine, receiver: Receiver) -> None:
    Outbox(engine, FAST).enqueue(item_rows(seed_exchange(engine), 1))
    receiver.mode = "fail503"
    worker = _worker(engine, receiver.url)
    statuses = [worker.run_once() for _ in range(3)]
    assert [s.retried for s in statuses] == [1, 1, 0] and statuses[-1].dead == 1
    with engine.connect() as c:
        letter = c.execute(select(dead_letters)).one()
        status = c.execute(select(outbox.c.status)).scalar_one()
    assert status == DEAD
    assert letter.stage == "deliver" and "gave up after 3 attempt(s)" in letter.reason
    assert letter.error_class == "RetriableError"


def test_fatal_answers_are_not_retried(engine: Engine, receiver: Receiver) -> None:
    Outbox(engine, FAST).enqueue(item_rows(seed_exchange(engine), 1))
    receiver.mode = "reject400"
    stats = _worker(engine, receiver.url).run_once()
    assert stats.dead == 1 and receiver.requests["reject400"] == 1


def test_expired_lease_is_taken_again_and_receiver_deduplicates(engine: Engine, receiver: Receiver) -> None:
    outbox_ = Outbox(engine, FAST, lease=timedelta(seconds=-1))  # leases expire at once: a "dead" worker
    outbox_.enqueue(item_rows(seed_exchange(engine), 2))
    first = outbox_.claim("dead-worker", 10)
    assert len(first) == 2  # claimed, never completed (the worker was killed)
    stats = _worker(engine, receiver.url).run_once()
    assert stats.delivered == 2 and len(receiver.accepted) == 2
    # The dead worker's late completion is refused: its lease was lost.
    assert outbox_.delivered(first[0], "late", "dead-worker") is False


def test_per_person_ordering_delivers_oldest_first(engine: Engine, receiver: Receiver) -> None:
    exchange = seed_exchange(engine)
    rows = item_rows(exchange, 3, ordering_key="person-a")
    outbox_ = Outbox(engine, FAST)
    outbox_.enqueue(rows)
    claimed = outbox_.claim("w", 10)
    assert [i.idempotency_key for i in claimed] == [rows[0]["idempotency_key"]]
    worker = _worker(engine, receiver.url, RetryPolicy(initial_seconds=3600, jitter_seconds=0))
    worker.outbox.failed(claimed[0], RetriableError("503"), "w")
    # The oldest is waiting for its retry: the younger ones stay blocked behind it.
    assert outbox_.claim("w2", 10) == []


def test_file_drop_delivery_is_atomic_and_named_by_key(engine: Engine, tmp_path: Path) -> None:
    Outbox(engine, FAST).enqueue(item_rows(seed_exchange(engine), 2, endpoint="receiver-files"))
    worker = DeliveryWorker(
        Outbox(engine, FAST), endpoint_config("http://unused", str(tmp_path / "out")), TransportPool()
    )
    assert worker.run_once().delivered == 2
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 2 and all(f.endswith(".json") for f in files)
    assert not any(f.endswith(".part") for f in files)


def test_claim_respects_the_limit_and_never_hands_out_an_item_twice(engine: Engine) -> None:
    outbox_ = Outbox(engine, FAST)
    outbox_.enqueue(item_rows(seed_exchange(engine), 12))
    first, second, third = outbox_.claim("a", 5), outbox_.claim("b", 5), outbox_.claim("c", 5)
    assert [len(first), len(second), len(third)] == [5, 5, 2]
    assert len({i.id for i in first + second + third}) == 12


def test_daily_batches_leave_as_one_file_once_their_day_is_over(engine: Engine, tmp_path: Path) -> None:
    from gateway.clock import utcnow
    from gateway.pipeline.routing import daily_batch_key

    exchange = seed_exchange(engine)
    today = daily_batch_key("receiver-files", utcnow())
    yesterday = "receiver-files:2020-01-31"
    rows = item_rows(exchange, 5, endpoint="receiver-files", batch_key=yesterday)
    rows += [
        {**row, "idempotency_key": row["idempotency_key"] + "-t", "id": str(uuid.uuid4())}
        for row in item_rows(exchange, 2, endpoint="receiver-files", batch_key=today)
    ]
    Outbox(engine, FAST).enqueue(rows)
    out = tmp_path / "daily"
    worker = DeliveryWorker(Outbox(engine, FAST), endpoint_config("http://unused", str(out)), TransportPool())

    assert worker.run_once().delivered == 5  # yesterday's batch is closed; today's waits
    [first] = list(out.iterdir())
    assert first.name == "receiver-files_2020-01-31.ndjson"
    assert len(first.read_text().splitlines()) == 5
    assert Outbox(engine, FAST).counts() == {DELIVERED: 5, PENDING: 2}

    assert worker.flush_batches(force=True).delivered == 2
    assert sorted(p.name for p in out.iterdir()) == [first.name, today.replace(":", "_") + ".ndjson"]
