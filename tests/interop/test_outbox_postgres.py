"""Outbox on the real PostgreSQL server: several worker processes share the work (SKIP LOCKED)."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator

import pytest

from gateway.delivery.outbox import DELIVERED, Outbox
from gateway.delivery.retry import RetryPolicy
from gateway.store.engine import make_engine, upgrade
from tests.conftest import require_service
from tests.delivery_support import item_rows, seed_exchange
from tests.peers.http_receiver import Receiver
from tests.pg import temporary_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with temporary_database(f"gw_outbox_{uuid.uuid4().hex[:8]}") as url:
        upgrade(url)
        yield url


def _run_worker(url: str, receiver_url: str, name: str) -> None:
    from gateway.delivery.worker import DeliveryWorker
    from gateway.transports.factory import TransportPool
    from tests.delivery_support import endpoint_config

    engine = make_engine(url)
    worker = DeliveryWorker(
        Outbox(engine, RetryPolicy(initial_seconds=0, jitter_seconds=0)),
        endpoint_config(receiver_url),
        TransportPool(),
        name=name,
    )
    idle = 0
    while idle < 3:
        idle = idle + 1 if worker.run_once(limit=7).claimed == 0 else 0
    engine.dispose()


def test_two_worker_processes_deliver_each_item_exactly_once(pg_url: str) -> None:
    receiver = Receiver().start()
    try:
        engine = make_engine(pg_url)
        outbox = Outbox(engine)
        exchange = seed_exchange(engine)
        outbox.enqueue(item_rows(exchange, 300))
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=_run_worker, args=(pg_url, receiver.url, f"w{n}")) for n in range(3)
        ]
        for process in workers:
            process.start()
        for process in workers:
            process.join(120)
            assert process.exitcode == 0
        assert outbox.counts() == {DELIVERED: 300}
        assert len(receiver.accepted) == 300, "an item was skipped"
        assert receiver.duplicates == 0, "an item was sent twice"
        engine.dispose()
    finally:
        receiver.stop()


def test_claims_do_not_overlap_under_concurrency(pg_url: str) -> None:
    engine = make_engine(pg_url)
    outbox = Outbox(engine)
    outbox.enqueue(item_rows(seed_exchange(engine), 50))
    first = outbox.claim("a", 30)
    second = outbox.claim("b", 30)
    assert len(first) == 30 and len(second) == 20
    assert not {i.id for i in first} & {i.id for i in second}
    engine.dispose()
