"""Throw-away queues on the real RabbitMQ of this machine: unique names per test, deleted afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from tests.conftest import require_service

AMQP_URL = os.environ.get("GATEWAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@dataclass
class Broker:
    channel: BlockingChannel
    prefix: str
    queues: list[str] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)

    def name(self, role: str) -> str:
        """A unique name for this test; remembered so the queue or exchange is deleted at the end."""
        return f"{self.prefix}.{role}"

    def forget_later(self, *, queues: tuple[str, ...] = (), exchanges: tuple[str, ...] = ()) -> None:
        self.queues.extend(queues)
        self.exchanges.extend(exchanges)

    def publish(self, queue: str, body: bytes, **properties: Any) -> None:
        self.channel.basic_publish(
            "", queue, body, properties=pika.BasicProperties(delivery_mode=2, **properties), mandatory=True
        )

    def count(self, queue: str) -> int:
        """Messages ready in ``queue`` (not counting ones delivered and not yet acknowledged)."""
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def get(self, queue: str) -> tuple[Any, bytes] | None:
        method, properties, body = self.channel.basic_get(queue, auto_ack=True)
        return None if method is None else (properties, body)


@contextmanager
def broker() -> Iterator[Broker]:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.confirm_delivery()
    handle = Broker(channel, f"gw-test-{uuid.uuid4().hex[:10]}")
    try:
        yield handle
    finally:
        cleanup = connection.channel() if connection.is_open else None
        if cleanup is None:
            connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
            cleanup = connection.channel()
        for queue in handle.queues:
            cleanup.queue_delete(queue)
        for exchange in handle.exchanges:
            cleanup.exchange_delete(exchange)
        connection.close()
