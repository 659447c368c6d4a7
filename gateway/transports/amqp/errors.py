"""Classifying pika failures: what retrying can fix (broker down, connection lost) and what it cannot."""

from __future__ import annotations

import pika.exceptions

from gateway.errors import FatalError, GatewayError, RetriableError

# AMQP reply codes that retrying will not change: access refused, not found, precondition failed
# (e.g. a queue declared with other arguments), not allowed.
FATAL_REPLY_CODES = frozenset({403, 404, 406, 530})


def classify_amqp(error: BaseException, where: str, action: str) -> GatewayError:
    """A retriable or fatal gateway error for a pika exception; never quotes credentials."""
    what = f"AMQP {where}: {action}"
    if isinstance(error, GatewayError):
        return error
    if isinstance(error, pika.exceptions.ProbableAuthenticationError | pika.exceptions.AuthenticationError):
        return FatalError(f"{what}: authentication refused")
    if isinstance(error, pika.exceptions.ProbableAccessDeniedError):
        return FatalError(f"{what}: access to the virtual host refused")
    if isinstance(error, pika.exceptions.ChannelClosedByBroker | pika.exceptions.ConnectionClosedByBroker):
        code, text = error.reply_code, error.reply_text
        if code in FATAL_REPLY_CODES:
            return FatalError(f"{what}: broker refused ({code} {text})")
        return RetriableError(f"{what}: broker closed ({code} {text})")
    if isinstance(error, pika.exceptions.AMQPConnectionError):
        return RetriableError(f"{what}: broker unreachable ({type(error).__name__})")
    return RetriableError(f"{what}: {type(error).__name__}")
