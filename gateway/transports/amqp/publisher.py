"""Publishing to RabbitMQ: persistent messages, publisher confirms, mandatory routing.

``send`` returns only once the broker confirmed the message (it is then on disk in a durable queue).
The message id is the delivery's idempotency key, so a consumer can drop a redelivered message. A
message no queue would receive is refused (``mandatory``), which is fatal: retrying cannot route it.
A broker down or a lost connection is retriable; the connection is reopened on the next send.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from gateway.errors import FatalError, GatewayError, RetriableError
from gateway.pipeline.endpoints import Endpoint
from gateway.transports.amqp.errors import classify_amqp
from gateway.transports.amqp.options import PublisherOptions
from gateway.transports.base import Delivery
from gateway.transports.options import parse_options


class AmqpOut:
    """Publishes each delivery as one persistent message (thread-safe; one connection reused)."""

    def __init__(self, options: PublisherOptions) -> None:
        self.options = options
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_endpoint(cls, endpoint: Endpoint) -> AmqpOut:
        return cls(parse_options(PublisherOptions, endpoint))

    def send(self, delivery: Delivery) -> str | None:
        properties = pika.BasicProperties(
            content_type=delivery.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=delivery.idempotency_key,
            timestamp=int(time.time()),
            app_id="reseau-emploi-gateway",
            headers=dict(delivery.headers) or None,
        )
        route = f"{self.options.exchange or '(default)'}/{self.options.routing_key}"
        with self._lock:
            try:
                self._open_channel().basic_publish(
                    self.options.exchange,
                    self.options.routing_key,
                    delivery.body,
                    properties=properties,
                    mandatory=self.options.mandatory,
                )
            except pika.exceptions.UnroutableError as exc:
                raise FatalError(f"AMQP {self.options.where()}: no queue is bound to {route}") from exc
            except pika.exceptions.NackError as exc:
                raise RetriableError(
                    f"AMQP {self.options.where()}: the broker refused to take the message"
                ) from exc
            except pika.exceptions.AMQPError as exc:
                self._drop()
                raise classify_amqp(exc, self.options.where(), f"publishing to {route}") from exc
            except GatewayError:
                self._drop()
                raise
        return f"amqp:{route}:{delivery.idempotency_key}"

    def _open_channel(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._drop()
        self._connection = pika.BlockingConnection(self.options.parameters())
        channel = self._connection.channel()
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()

    def close(self) -> None:
        with self._lock:
            self._drop()
