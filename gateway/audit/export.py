"""Export audit rows as CSV or JSON (a JSON array, written row by row) for a DPO."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TextIO

from gateway.audit.chain import canonical_value
from gateway.store.tables import audit_log

ExportFormat = Literal["csv", "json"]
COLUMNS: tuple[str, ...] = (*(column.name for column in audit_log.columns), "matched_on")


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: canonical_value(row[name]) for name in COLUMNS if name in row}


def export_rows(rows: Iterable[Mapping[str, Any]], format: ExportFormat, stream: TextIO) -> int:
    count = 0
    if format == "csv":
        writer = csv.DictWriter(stream, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                    for k, v in _plain(row).items()
                }
            )
            count += 1
        return count
    stream.write("[")
    for row in rows:
        stream.write(
            ("," if count else "") + "\n" + json.dumps(_plain(row), ensure_ascii=False, default=_default)
        )
        count += 1
    stream.write("\n]\n")
    return count


def _default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")
