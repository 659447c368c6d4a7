"""JSON (streamed array, optionally wrapped in objects) and NDJSON writers, UTF-8."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from gateway.errors import SkippableRecordError


def _default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def encode_record(record: Mapping[str, Any], number: int, indent: int | None = None) -> str:
    """One record as JSON text; a value JSON cannot hold raises :class:`SkippableRecordError`."""
    try:
        return json.dumps(record, ensure_ascii=False, allow_nan=False, default=_default, indent=indent)
    except (TypeError, ValueError) as exc:
        raise SkippableRecordError(f"value cannot be written as JSON ({exc})", record=number) from None


@dataclass(frozen=True, slots=True)
class JsonWriter:
    records_path: str
    indent: int | None

    def write(self, records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
        """Write ``[rec, rec, ...]`` one record at a time, wrapped in ``{"a": {"b": [...]}}`` when
        ``records_path`` is ``a.b``."""
        keys = self.records_path.split(".") if self.records_path else []
        opening = "".join("{" + json.dumps(key) + ": " for key in keys) + "["
        separator = ",\n" if self.indent is not None else ","
        stream.write(opening.encode())
        count = 0
        for number, record in enumerate(records, start=1):
            text = encode_record(record, number, self.indent)
            stream.write(((separator if count else "") + text).encode())
            count += 1
        stream.write(("]" + "}" * len(keys) + "\n").encode())
        return count


@dataclass(frozen=True, slots=True)
class NdjsonWriter:
    def write(self, records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
        count = 0
        for number, record in enumerate(records, start=1):
            stream.write((encode_record(record, number) + "\n").encode())
            count += 1
        return count
