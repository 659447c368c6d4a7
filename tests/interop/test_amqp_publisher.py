"""Publishing to the real RabbitMQ: confirmed, persistent, with the idempotency key as message id."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from gateway.errors import FatalError, RetriableError
from gateway.pipeline.endpoints import Endpoint
from gateway.transports.amqp import AmqpOut
from gateway.transports.base import Delivery
from gateway.transports.factory import build_outbound
from tests.peers.rabbitmq import AMQP_URL, Broker, broker


@pytest.fixture
def rabbit() -> Iterator[Broker]:
    with broker() as handle:
        yield handle


def publisher(**options: object) -> AmqpOut:
    endpoint = Endpoint.model_validate(
        {
            "name": "ft-events-out",
            "direction": "out",
            "partner": "france-travail",
            "transport": {"type": "amqp", "options": {"url": AMQP_URL, **options}},
        }
    )
    transport = build_outbound(endpoint)
    assert isinstance(transport, AmqpOut)
    return transport


def delivery(n: int) -> Delivery:
    return Delivery(
        b'{"n":%d}' % n, "application/json", f"m{n}.json", f"ft-events-out:key-{n}", {"x-flow": "ali"}
    )


def test_messages_are_confirmed_persistent_and_carry_the_idempotency_key(rabbit: Broker) -> None:
    queue = rabbit.name("out")
    rabbit.channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    rabbit.forget_later(queues=(queue,))
    sender = publisher(routing_key=queue)

    receipts = [sender.send(delivery(n)) for n in range(3)]
    sender.close()

    assert receipts[0] == f"amqp:(default)/{queue}:ft-events-out:key-0"
    seen = [rabbit.get(queue) for _ in range(3)]
    assert all(message is not None for message in seen)
    for n, message in enumerate(seen):
        assert message is not None
        properties, body = message
        assert (properties.delivery_mode, properties.message_id, body) == (
            2,
            f"ft-events-out:key-{n}",
            b'{"n":%d}' % n,
        )
        assert properties.content_type == "application/json" and properties.headers["x-flow"] == "ali"
    assert rabbit.count(queue) == 0


def test_a_message_no_queue_would_receive_is_refused_fatally(rabbit: Broker) -> None:
    sender = publisher(routing_key=rabbit.name("nobody-listens"))

    with pytest.raises(FatalError, match="no queue is bound"):
        sender.send(delivery(1))
    sender.close()


def test_an_absent_exchange_is_fatal_and_the_next_send_reconnects(rabbit: Broker) -> None:
    queue = rabbit.name("after-error")
    rabbit.channel.queue_declare(queue, durable=True)
    rabbit.forget_later(queues=(queue,))
    missing = publisher(exchange=rabbit.name("no-such-exchange"), routing_key=queue)
    with pytest.raises(FatalError, match="404"):
        missing.send(delivery(1))
    missing.close()

    sender = publisher(routing_key=queue)
    sender.send(delivery(2))
    sender._drop()  # the broker restarted or the network dropped the connection
    sender.send(delivery(3))
    sender.close()
    assert rabbit.count(queue) == 2


def test_a_broker_that_is_down_is_retriable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sender = publisher(
        url=f"amqp://guest:guest@127.0.0.1:{closed_port}/%2F", routing_key="q", connect_timeout=2
    )

    with pytest.raises(RetriableError, match="unreachable") as caught:
        sender.send(delivery(1))
    assert "guest" not in str(caught.value)
