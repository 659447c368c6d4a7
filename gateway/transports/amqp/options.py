"""AMQP endpoint options (``transport.options`` of an ``amqp`` endpoint), checked once at start-up.

The broker URL carries credentials, so it normally comes from an environment variable (``url_env``);
it is never logged nor put in error messages.
"""

from __future__ import annotations

import os
from typing import Any

import pika
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.errors import ConfigurationError


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrokerOptions(_Options):
    url: str | None = None
    """``amqp://user:password@host:5672/vhost`` (``amqps://`` for TLS); prefer ``url_env`` outside demos."""
    url_env: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    heartbeat: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _one_url(self) -> BrokerOptions:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        return self

    def parameters(self) -> pika.URLParameters:
        url = os.environ.get(self.url_env) if self.url_env else self.url
        if url is None:
            raise ConfigurationError(f"environment variable {self.url_env} (for url_env) is not set")
        try:
            parameters = pika.URLParameters(url)
        except Exception as exc:  # pika raises various errors on a malformed URL; do not echo it
            raise ConfigurationError("the AMQP url is not a valid amqp:// or amqps:// URL") from exc
        parameters.connection_attempts = 1
        parameters.socket_timeout = self.connect_timeout
        parameters.stack_timeout = self.connect_timeout * 2
        parameters.blocked_connection_timeout = self.connect_timeout * 6
        parameters.heartbeat = self.heartbeat
        parameters.client_properties = {"connection_name": "reseau-emploi-gateway"}
        return parameters

    def where(self) -> str:
        """Host and port for messages, without credentials."""
        try:
            parameters = self.parameters()
        except ConfigurationError:
            return "broker"
        return f"{parameters.host}:{parameters.port}"


class QueueDeclaration(_Options):
    """Queues the gateway declares itself (else they must exist: the partner or an operator made them)."""

    quorum: bool = True
    delivery_limit: int | None = Field(default=5, gt=0)
    """Quorum queues only: after this many redeliveries a message goes to the dead-letter exchange."""
    dead_letter_exchange: str | None = None
    dead_letter_queue: str | None = None
    """Declared and bound to ``dead_letter_exchange`` (fanout) so rejected messages are kept."""

    @model_validator(mode="after")
    def _consistent(self) -> QueueDeclaration:
        if self.dead_letter_queue and not self.dead_letter_exchange:
            raise ValueError("dead_letter_queue needs dead_letter_exchange")
        return self

    def queue_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        if self.quorum:
            arguments["x-queue-type"] = "quorum"
            if self.delivery_limit:
                arguments["x-delivery-limit"] = self.delivery_limit
        if self.dead_letter_exchange:
            arguments["x-dead-letter-exchange"] = self.dead_letter_exchange
        return arguments


class ConsumerOptions(BrokerOptions):
    queue: str
    prefetch: int = Field(default=10, gt=0, le=1000)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    retry_pause_seconds: float = Field(default=2.0, ge=0)
    """Pause before handing a message back when the store is unavailable (so it does not spin)."""
    declare: QueueDeclaration | None = None


class PublisherOptions(BrokerOptions):
    exchange: str = ""
    """Empty: the default exchange, where the routing key is the queue name."""
    routing_key: str
    mandatory: bool = True
    """Refuse (fatally) a message no queue is bound to receive, instead of the broker dropping it."""
