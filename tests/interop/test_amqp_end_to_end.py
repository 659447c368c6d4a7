"""Issue done-when: messages published on RabbitMQ are consumed, delivered and acknowledged.

A PLIE publishes participant exports (its JSON format) on its queue; the gateway consumes them (ack only
after storing), maps and enforces them, and publishes the projected Bundles to France Travail's queue
with publisher confirms.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import registry
from gateway.runtime import Gateway
from gateway.transports.amqp import AmqpConsumer
from tests.peers.rabbitmq import AMQP_URL, Broker, broker
from tests.pipeline_support import AT, PLIE_SIRET, make_settings


@pytest.fixture
def rabbit() -> Iterator[Broker]:
    with broker() as handle:
        yield handle


def test_published_exports_are_consumed_delivered_and_acknowledged(tmp_path: Path, rabbit: Broker) -> None:
    inbox, outbox_queue = rabbit.name("plie-in"), rabbit.name("ft-out")
    exchange = rabbit.name("ft-x")
    rabbit.forget_later(queues=(inbox, outbox_queue), exchanges=(exchange,))
    rabbit.channel.exchange_declare(exchange, exchange_type="direct", durable=True)
    rabbit.channel.queue_declare(outbox_queue, durable=True)
    rabbit.channel.queue_bind(outbox_queue, exchange, routing_key="bundles")
    settings = make_settings(tmp_path, "http://127.0.0.1:9/unused")
    endpoints = {
        "partners": {"plie-mel": {"name": "PLIE", "siret": PLIE_SIRET}, "ft-hdf": {"name": "FT"}},
        "endpoints": {
            "plie-events": {
                "direction": "in",
                "partner": "plie-mel",
                "mapping": "plie-participants-json",
                "transport": {
                    "type": "amqp",
                    "options": {
                        "url": AMQP_URL,
                        "queue": inbox,
                        "declare": {"quorum": True, "delivery_limit": 3},
                    },
                },
            },
            "ft-api-partenaires-hdf": {
                "direction": "out",
                "partner": "ft-hdf",
                "transport": {
                    "type": "amqp",
                    "options": {"url": AMQP_URL, "exchange": exchange, "routing_key": "bundles"},
                },
            },
        },
    }
    (settings.config_dir / "endpoints.yaml").write_text(json.dumps(endpoints), encoding="utf-8")
    gateway = Gateway(settings)
    consumer = AmqpConsumer(gateway.engine, gateway.endpoints.endpoint("plie-events"))
    consumer.consume(idle_timeout=0)  # declares the queue

    for n in range(4):
        stream = io.BytesIO()
        registry.generator("plie-json")("plie-json", 3, stream, seed=20 + n, plie_siret=PLIE_SIRET)
        rabbit.publish(inbox, stream.getvalue(), message_id=f"export-{n}", content_type="application/json")
    rabbit.publish(inbox, stream.getvalue(), message_id="export-3")  # redelivered by the partner

    report = consumer.consume(idle_timeout=1)
    assert (report.stored, report.duplicates) == (4, 1)
    assert rabbit.count(inbox) == 0, "every message acknowledged"

    queued = sum(gateway.processor.process(e, at=AT).queued for e in gateway.processor.pending())
    assert queued > 0
    worker = gateway.worker()
    delivered = 0
    while (stats := worker.run_once(limit=500)).claimed:
        delivered += stats.delivered
    assert delivered == queued
    bodies = []
    while (message := rabbit.get(outbox_queue)) is not None:
        properties, body = message
        assert properties.delivery_mode == 2 and properties.message_id
        bodies.append(json.loads(body))
    assert len(bodies) == queued
    assert all(b["resourceType"] == "Bundle" for b in bodies)
    gateway.transports.close()
