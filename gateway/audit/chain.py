"""The hash chain: every row's hash covers all its columns (but ``hash``), ``seq`` and ``prev_hash`` included.

``hash = HMAC-SHA256(chain key, canonical JSON)`` where the canonical JSON has sorted keys, no spaces,
UTF-8, and date-times as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (SQLite returns naive UTC, PostgreSQL
aware: both give the same text). Changing, removing or inserting a row breaks the chain at that row or
the next.

The chain is keyed (the key derives from the audit signing secret, never stored in the database): someone
who can write to the database but does not hold the key cannot forge a row that verifies, not even one
appended after the head.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import DateTime

from gateway.store.tables import audit_log

GENESIS_HASH = "0" * 64
HASHED_COLUMNS: tuple[str, ...] = tuple(
    str(column.name) for column in audit_log.columns if column.name != "hash"
)
TIME_COLUMNS: tuple[str, ...] = tuple(
    str(column.name) for column in audit_log.columns if isinstance(column.type, DateTime)
)
"""The columns holding date-times (``at``, ``retention_until``): the only ones ``canonical_value``
changes in a row."""


def utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC datetime, microseconds kept; naive values are UTC (how SQLite returns them)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def canonical_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _time_text(value)
    return value


@functools.lru_cache(maxsize=1024)
def _time_text(moment: dt.datetime) -> str:
    """Remembered: the rows of one chunk share their time and their few retention dates."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(values: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes of ``json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)``, written by orjson (several times faster). The two spell some floats
    differently (``1e-05`` / ``0.00001``): audit rows hold none (``writer.event_row`` refuses them)."""
    return _dumps({key: canonical_value(value) for key, value in values.items()})


def _dumps(document: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a key orjson does not take (a str subclass): json's bytes are the same
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def has_float(value: Any) -> bool:
    """Whether a float hides in ``value`` (JSON-like data)."""
    if isinstance(value, float):
        return True
    if isinstance(value, Mapping):
        return any(has_float(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(has_float(item) for item in value)
    return False


def chain_key(checkpoint_seed_hex: str) -> bytes:
    """The chain's HMAC key, derived from the audit signing seed (domain-separated from signatures)."""
    return hmac.new(checkpoint_seed_hex.strip().encode(), b"gateway-audit-chain-v1", hashlib.sha256).digest()


def row_hash(row: Mapping[Any, Any], key: bytes) -> str:
    """The HMAC of ``canonical_json`` of the row's hashed columns (only its date-time columns need
    converting: this runs for every row written and every row verified)."""
    document = {name: row.get(name) for name in HASHED_COLUMNS}
    for name in TIME_COLUMNS:
        value = document[name]
        if isinstance(value, dt.datetime):
            document[name] = _time_text(value)
    return hmac.new(key, _dumps(document), hashlib.sha256).hexdigest()
