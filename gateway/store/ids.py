"""Row ids that keep the B-trees they key append-only.

Random ids (uuid4, uuid5) scatter every insert over the whole index: once an index outgrows the page cache
each insert reads and dirties a page of its own, and the commit writes them all. The pipeline writes a
record row and an outbox row per record, so their ids are ordered instead:

* a record's id is derived from its exchange and its number (deterministic: the same record of the same
  exchange always has the same id), so the records of one exchange sit side by side, in order;
* an outbox item's id is a UUIDv7 (RFC 9562): milliseconds since the epoch, then random bits.

Both are valid RFC 9562 UUIDs in their usual text form (36 characters).
"""

from __future__ import annotations

import hashlib
import os
import time
from functools import lru_cache

_NUMBER_BITS = 48
"""Record numbers up to 2**48 - 1: far beyond any file a partner sends."""


def _text(value: int) -> str:
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def record_id(exchange_id: str, number: int) -> str:
    """UUIDv8 ``<60 bits of SHA-256(exchange id)> 8 <variant> <14 more bits> <48-bit record number>``.

    Ids of one exchange share their first 76 bits and sort by record number.
    """
    if not 0 <= number < 1 << _NUMBER_BITS:
        raise ValueError(f"record number out of range: {number}")
    return _text(_exchange_bits(exchange_id) | number)


@lru_cache(maxsize=64)
def _exchange_bits(exchange_id: str) -> int:
    """Everything of a record id but its number (computed once per exchange, not per record)."""
    digest = int.from_bytes(hashlib.sha256(exchange_id.encode()).digest()[:10], "big")
    high = digest >> 20  # 60 bits
    middle = digest & 0x3FFF  # 14 bits
    return (high >> 12) << 80 | 0x8 << 76 | (high & 0xFFF) << 64 | 0b10 << 62 | middle << 48


def time_ordered_id(now_ns: int | None = None) -> str:
    """UUIDv7: 48-bit Unix milliseconds, version 7, 12 random bits, variant, 62 random bits."""
    millis = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    random = int.from_bytes(os.urandom(10), "big")
    value = (
        (millis & (1 << 48) - 1) << 80
        | 0x7 << 76
        | (random >> 68) << 64
        | 0b10 << 62
        | random & (1 << 62) - 1
    )
    return _text(value)
