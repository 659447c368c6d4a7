"""AMQP transport (RabbitMQ, pika; the ``amqp`` extra): consuming a partner's queue in, publishing out.

See ``gateway/transports/amqp/README.md`` for the configuration keys and guarantees.
"""

from gateway.transports.amqp.consumer import AmqpConsumer, ConsumeReport
from gateway.transports.amqp.options import ConsumerOptions, PublisherOptions, QueueDeclaration
from gateway.transports.amqp.publisher import AmqpOut

__all__ = [
    "AmqpConsumer",
    "AmqpOut",
    "ConsumeReport",
    "ConsumerOptions",
    "PublisherOptions",
    "QueueDeclaration",
]
