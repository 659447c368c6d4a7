"""Turning openpyxl cell values into record values: dates as ISO 8601 strings, the rest unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any


def cell_value(value: Any) -> Any:
    """ISO strings for temporal cells (a datetime at exactly midnight is a date: Excel has no date-only
    type); numbers, booleans and text unchanged; empty text is ``""`` (null literals apply after)."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value
