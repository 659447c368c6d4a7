"""Small routing helpers shared by the processor and the batch flusher."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def daily_batch_key(endpoint: str, at: datetime) -> str:
    """Items of one endpoint and one calendar day (Paris time) go into the same daily file."""
    return f"{endpoint}:{at.astimezone(PARIS).date().isoformat()}"


def batch_day(batch_key: str) -> str:
    return batch_key.rsplit(":", 1)[1]
