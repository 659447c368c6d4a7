"""The persisted retry schedule: exponential, capped, jittered, bounded in attempts and age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gateway.delivery.retry import RetryPolicy


def test_delays_grow_exponentially_then_cap() -> None:
    policy = RetryPolicy(initial_seconds=2, max_seconds=60, jitter_seconds=0)
    delays = [policy.delay(n).total_seconds() for n in range(1, 9)]
    assert delays[:5] == [2, 4, 8, 16, 32]
    assert delays[5:] == [60, 60, 60]


@given(attempt=st.integers(min_value=1, max_value=30))
def test_jitter_stays_within_bounds(attempt: int) -> None:
    policy = RetryPolicy(initial_seconds=1, max_seconds=100, jitter_seconds=5)
    base = min(100.0, 2.0 ** (attempt - 1))
    assert base <= policy.delay(attempt).total_seconds() <= min(100.0, base + 5)


def test_exhaustion_by_attempts_or_age() -> None:
    policy = RetryPolicy(max_attempts=3, max_age=timedelta(hours=1))
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert not policy.exhausted(2, created, created + timedelta(minutes=5))
    assert policy.exhausted(3, created, created + timedelta(minutes=5))
    assert policy.exhausted(1, created, created + timedelta(hours=2))
