"""What a transport is to the core: something that delivers rendered bytes and returns a receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Delivery:
    """One rendered message for a receiver."""

    body: bytes
    content_type: str
    filename: str
    idempotency_key: str
    headers: dict[str, str]


class OutboundTransport(Protocol):
    def send(self, delivery: Delivery) -> str | None:
        """Deliver; return the receiver's receipt (or None). Raise RetriableError or FatalError."""
        ...

    def close(self) -> None: ...
