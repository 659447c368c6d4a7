"""Time in one place, timezone-aware (UTC), so tests can reason about it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: read them back as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
