"""Consuming from the real RabbitMQ: stored before acked, fatal failures dead-lettered, no loss on kill."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from gateway.pipeline.endpoints import Endpoint
from gateway.pipeline.intake import Envelope, receive
from gateway.store.engine import make_engine, upgrade
from gateway.store.payloads import read_payload
from gateway.store.tables import exchanges
from gateway.transports.amqp import AmqpConsumer, ConsumeReport
from tests.peers.rabbitmq import AMQP_URL, Broker, broker


@pytest.fixture
def rabbit() -> Iterator[Broker]:
    with broker() as handle:
        yield handle


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/store.db"
    upgrade(url)
    return url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


def consumer_endpoint(rabbit: Broker, **options: Any) -> dict[str, Any]:
    """An inbound endpoint on a quorum queue with a dead-letter exchange and queue, declared by us."""
    queue, dlx, dlq = rabbit.name("in"), rabbit.name("dlx"), rabbit.name("dead")
    rabbit.forget_later(queues=(queue, dlq), exchanges=(dlx,))
    declare = {"quorum": True, "delivery_limit": 3, "dead_letter_exchange": dlx, "dead_letter_queue": dlq}
    options = {"declare": declare, **options}
    return {
        "name": "caf-events",
        "direction": "in",
        "partner": "caf",
        "mapping": "caf-flux",
        "transport": {
            "type": "amqp",
            "options": {
                "url": AMQP_URL,
                "queue": queue,
                "prefetch": 5,
                "retry_pause_seconds": 0.1,
                "declare": {
                    "quorum": True,
                    "delivery_limit": 3,
                    "dead_letter_exchange": dlx,
                    "dead_letter_queue": dlq,
                },
                **options,
            },
        },
    }


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        keys = connection.execute(select(exchanges.c.idempotency_key)).scalars()
        return sorted(key.removeprefix("caf-events:id:") for key in keys)


def declared_consumer(engine: Engine, rabbit: Broker, **options: Any) -> AmqpConsumer:
    consumer = AmqpConsumer(engine, Endpoint.model_validate(consumer_endpoint(rabbit, **options)))
    consumer.consume(idle_timeout=0)  # declares the queues
    return consumer


def test_published_messages_are_stored_and_acknowledged(engine: Engine, rabbit: Broker) -> None:
    consumer = declared_consumer(engine, rabbit)
    queue = consumer.options.queue
    for n in range(5):
        rabbit.publish(
            queue,
            b'{"event":"droit-ouvert","n":%d}' % n,
            message_id=f"caf-{n}",
            content_type="application/json",
        )

    report = consumer.consume(idle_timeout=1)

    assert (report.stored, report.duplicates, report.rejected) == (5, 0, 0)
    assert stored_ids(engine) == [f"caf-{n}" for n in range(5)]
    with engine.connect() as connection:
        row = connection.execute(
            select(exchanges).where(exchanges.c.idempotency_key == "caf-events:id:caf-0")
        ).one()
    assert (row.transport, row.content_type, read_payload(engine, row.id)) == (
        "amqp",
        "application/json",
        b'{"event":"droit-ouvert","n":0}',
    )
    assert rabbit.count(queue) == 0


def test_a_message_without_id_is_identified_by_its_digest(engine: Engine, rabbit: Broker) -> None:
    consumer = declared_consumer(engine, rabbit)
    rabbit.publish(consumer.options.queue, b"same bytes")
    rabbit.publish(consumer.options.queue, b"same bytes")

    report = consumer.consume(idle_timeout=1)

    assert (report.stored, report.duplicates) == (1, 1)


def test_a_redelivered_message_already_stored_is_acknowledged_as_a_duplicate(
    engine: Engine, rabbit: Broker
) -> None:
    consumer = declared_consumer(engine, rabbit)
    # A previous consumer stored this message and died before its basic_ack: the broker delivers it again.
    receive(engine, Envelope("caf-events", "caf", "amqp", b"event", message_id="caf-7"))
    rabbit.publish(consumer.options.queue, b"event", message_id="caf-7")

    report = consumer.consume(idle_timeout=1)

    assert (report.stored, report.duplicates) == (0, 1)
    assert stored_ids(engine) == ["caf-7"] and rabbit.count(consumer.options.queue) == 0


def test_a_message_that_fails_fatally_goes_to_the_dead_letter_queue(engine: Engine, rabbit: Broker) -> None:
    consumer = declared_consumer(engine, rabbit, max_bytes=64)
    rabbit.publish(consumer.options.queue, b"small", message_id="ok-1")
    rabbit.publish(consumer.options.queue, b"x" * 65, message_id="too-big-1")

    report = consumer.consume(idle_timeout=1)

    assert (report.stored, report.rejected) == (1, 1)
    assert stored_ids(engine) == ["ok-1"]
    dead = rabbit.get(rabbit.name("dead"))
    assert dead is not None and dead[0].message_id == "too-big-1" and dead[1] == b"x" * 65
    assert rabbit.count(consumer.options.queue) == 0


def take_store_offline(engine: Engine, offline: bool) -> None:
    """Simulate a store outage: every insert into ``exchanges`` fails with OperationalError."""
    names = ("exchanges", "exchanges_offline") if offline else ("exchanges_offline", "exchanges")
    with engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE {names[0]} RENAME TO {names[1]}")


def consume_for(consumer: AmqpConsumer, seconds: float) -> ConsumeReport:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return consumer.consume(stop)
    finally:
        timer.cancel()


def test_a_store_outage_hands_the_message_back_then_it_is_stored(engine: Engine, rabbit: Broker) -> None:
    consumer = AmqpConsumer(
        engine, Endpoint.model_validate(consumer_endpoint(rabbit, retry_pause_seconds=0.2))
    )
    consumer.consume(idle_timeout=0)
    rabbit.publish(consumer.options.queue, b"during outage", message_id="outage-1")

    take_store_offline(engine, True)
    outage = consume_for(consumer, 0.3)  # one or two attempts: below the delivery limit of 3
    take_store_offline(engine, False)
    recovered = consumer.consume(idle_timeout=1)

    assert outage.requeued >= 1 and outage.stored == 0
    assert recovered.stored == 1 and stored_ids(engine) == ["outage-1"]


def test_a_message_beyond_the_delivery_limit_is_dead_lettered_not_lost(
    engine: Engine, rabbit: Broker
) -> None:
    consumer = declared_consumer(engine, rabbit, retry_pause_seconds=0)
    rabbit.publish(consumer.options.queue, b"keeps failing", message_id="poison-1")

    take_store_offline(engine, True)
    outage = consumer.consume(idle_timeout=1)
    take_store_offline(engine, False)

    assert outage.requeued == 4  # the first delivery and 3 redeliveries, then the broker dead-letters it
    dead = rabbit.get(rabbit.name("dead"))
    assert dead is not None and dead[1] == b"keeps failing"
    assert rabbit.count(consumer.options.queue) == 0


def _consume_slowly_until_killed(store_url: str, endpoint: dict[str, Any]) -> None:
    """Child process: a consumer whose store is slow, so the parent can kill it mid-stream."""
    engine = make_engine(store_url)
    event.listen(engine, "before_cursor_execute", lambda *_args: time.sleep(0.03))
    AmqpConsumer(engine, Endpoint.model_validate(endpoint)).consume(idle_timeout=60)


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(exchanges)).scalar_one())


def test_killing_the_consumer_mid_stream_loses_nothing_and_stores_nothing_twice(
    engine: Engine, rabbit: Broker, store_url: str
) -> None:
    endpoint = consumer_endpoint(rabbit)
    consumer = AmqpConsumer(engine, Endpoint.model_validate(endpoint))
    consumer.consume(idle_timeout=0)
    total = 40
    for n in range(total):
        rabbit.publish(consumer.options.queue, b"event %d" % n, message_id=f"m-{n:03d}")

    child = multiprocessing.get_context("spawn").Process(
        target=_consume_slowly_until_killed, args=(store_url, endpoint)
    )
    child.start()
    deadline = time.monotonic() + 60
    while _count(engine) < 8:
        assert child.is_alive(), f"the consumer process died on its own (exit code {child.exitcode})"
        assert time.monotonic() < deadline, "the consumer process stored fewer than 8 messages in 60 s"
        time.sleep(0.02)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    stored_when_killed = _count(engine)

    after_restart = consumer.consume(idle_timeout=2)

    assert stored_when_killed < total, "the consumer finished before it was killed: nothing was tested"
    assert stored_ids(engine) == [f"m-{n:03d}" for n in range(total)]
    assert after_restart.stored + stored_when_killed == total
    assert rabbit.count(consumer.options.queue) == 0
