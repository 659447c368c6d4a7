"""Consuming a partner's RabbitMQ queue: a message is acknowledged only once it is stored.

Manual acknowledgements with a prefetch window. For each message:

- ``receive`` stores it (idempotency key: the AMQP ``message_id``, else the SHA-256 of the body), then
  ``basic_ack``. A consumer killed between the two loses nothing: the broker redelivers the unacked
  message and ``receive`` recognises it as a duplicate.
- A fatal error for this message (over the size limit, rejected by the store) → ``basic_reject`` without
  requeue: the queue's dead-letter exchange, if any, keeps it for an operator.
- A retriable error (store unavailable) → short pause, then ``basic_nack`` with requeue. A quorum queue's
  ``x-delivery-limit`` bounds how often one message can come back.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from gateway.errors import FatalError, GatewayError, RetriableError
from gateway.logging_setup import get_logger
from gateway.pipeline.endpoints import Endpoint
from gateway.pipeline.intake import Envelope, receive
from gateway.transports.amqp.errors import classify_amqp
from gateway.transports.amqp.options import ConsumerOptions
from gateway.transports.options import parse_options

log = get_logger("gateway.transports.amqp")

MAX_MESSAGE_ID = 128
"""Longer partner message ids are hashed so the idempotency key fits its column."""


@dataclass
class ConsumeReport:
    stored: int = 0
    duplicates: int = 0
    """Redelivered messages already stored (e.g. after a consumer died before acknowledging)."""
    rejected: int = 0
    requeued: int = 0


def partner_message_id(properties: pika.BasicProperties) -> str | None:
    value = properties.message_id
    if not value:
        return None
    if len(value) > MAX_MESSAGE_ID:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return str(value)


class AmqpConsumer:
    """Consumes one inbound ``amqp`` endpoint's queue (one connection, one channel)."""

    def __init__(self, engine: Engine, endpoint: Endpoint) -> None:
        self.engine = engine
        self.endpoint = endpoint
        self.options = parse_options(ConsumerOptions, endpoint)

    def declare(self, channel: BlockingChannel) -> None:
        """Declare the queue (and its dead-letter exchange and queue) when the endpoint asks for it."""
        declaration = self.options.declare
        if declaration is None:
            return
        quorum = {"x-queue-type": "quorum"} if declaration.quorum else None
        if declaration.dead_letter_exchange:
            channel.exchange_declare(declaration.dead_letter_exchange, exchange_type="fanout", durable=True)
            if declaration.dead_letter_queue:
                channel.queue_declare(declaration.dead_letter_queue, durable=True, arguments=quorum)
                channel.queue_bind(declaration.dead_letter_queue, declaration.dead_letter_exchange)
        channel.queue_declare(self.options.queue, durable=True, arguments=declaration.queue_arguments())

    def consume(
        self, stop: threading.Event | None = None, idle_timeout: float | None = None
    ) -> ConsumeReport:
        """Consume until ``stop`` is set, or no message came for ``idle_timeout`` seconds.

        Raises RetriableError when the broker is unreachable or the connection is lost, FatalError when
        the broker refuses the queue (absent, or declared differently).
        """
        report = ConsumeReport()
        try:
            connection = pika.BlockingConnection(self.options.parameters())
        except pika.exceptions.AMQPError as exc:
            raise classify_amqp(exc, self.options.where(), "connecting") from exc
        try:
            channel = connection.channel()
            self.declare(channel)
            channel.basic_qos(prefetch_count=self.options.prefetch)
            last_message = time.monotonic()
            for method, properties, body in channel.consume(self.options.queue, inactivity_timeout=0.2):
                if stop is not None and stop.is_set():
                    break
                if method is None or properties is None or body is None:
                    if idle_timeout is not None and time.monotonic() - last_message >= idle_timeout:
                        break
                    continue
                self._handle(connection, channel, method.delivery_tag, properties, body, report)
                last_message = time.monotonic()
            channel.cancel()  # hands prefetched, unhandled messages back to the queue
        except pika.exceptions.AMQPError as exc:
            raise classify_amqp(exc, self.options.where(), f"consuming {self.options.queue}") from exc
        finally:
            if connection.is_open:
                connection.close()
        return report

    def _handle(
        self,
        connection: pika.BlockingConnection,
        channel: BlockingChannel,
        tag: int,
        properties: pika.BasicProperties,
        body: bytes,
        report: ConsumeReport,
    ) -> None:
        try:
            if len(body) > self.options.max_bytes:
                raise FatalError(
                    f"message over the size limit ({len(body)} > {self.options.max_bytes} bytes)"
                )
            receipt = receive(self.engine, self._envelope(properties, body))
        except (FatalError, DataError, IntegrityError) as error:
            channel.basic_reject(tag, requeue=False)
            report.rejected += 1
            log.warning("amqp.rejected", endpoint=self.endpoint.name, error=_describe(error))
            return
        except (RetriableError, SQLAlchemyError) as error:
            self._hand_back(connection, channel, tag, report, error)
            return
        except Exception as error:  # a bug must not ack nor lose the message: the delivery limit bounds it
            log.exception("amqp.unexpected", endpoint=self.endpoint.name)
            self._hand_back(connection, channel, tag, report, error)
            return
        channel.basic_ack(tag)
        if receipt.duplicate:
            report.duplicates += 1
        else:
            report.stored += 1

    def _envelope(self, properties: pika.BasicProperties, body: bytes) -> Envelope:
        return Envelope(
            self.endpoint.name,
            self.endpoint.partner,
            "amqp",
            body,
            source_name=f"amqp:{self.options.queue}",
            content_type=properties.content_type,
            message_id=partner_message_id(properties),
        )

    def _hand_back(
        self,
        connection: pika.BlockingConnection,
        channel: BlockingChannel,
        tag: int,
        report: ConsumeReport,
        error: BaseException,
    ) -> None:
        log.warning("amqp.requeued", endpoint=self.endpoint.name, error=_describe(error))
        connection.sleep(self.options.retry_pause_seconds)  # keeps heartbeats going while waiting
        channel.basic_nack(tag, requeue=True)
        report.requeued += 1

    def run(self, stop: threading.Event, max_backoff: float = 60.0) -> None:
        """Consume until ``stop`` is set, reconnecting with backoff after failures."""
        backoff = 1.0
        while not stop.is_set():
            try:
                self.consume(stop)
                backoff = 1.0
            except GatewayError as error:
                log.warning(
                    "amqp.consume_failed",
                    endpoint=self.endpoint.name,
                    error=str(error),
                    retriable=error.retriable,
                )
                stop.wait(backoff)
                backoff = min(max_backoff, backoff * 2)


def _describe(error: BaseException) -> str:
    """Gateway errors carry safe messages; for others only the class (a DB error may quote values)."""
    return str(error) if isinstance(error, GatewayError) else type(error).__name__
