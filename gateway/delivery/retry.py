"""Retry schedule persisted in the outbox: exponential backoff with jitter (tenacity's wait strategy).

The schedule is computed, not slept: a failed delivery stores ``next_attempt_at`` and any worker on any
node picks the item up again when it is due. Beyond ``max_attempts`` or ``max_age`` the item is
dead-lettered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tenacity import RetryCallState, Retrying, wait_exponential_jitter


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_seconds: float = 2.0
    max_seconds: float = 3600.0
    jitter_seconds: float = 1.0
    max_attempts: int = 10
    max_age: timedelta = timedelta(days=2)

    def delay(self, attempt: int) -> timedelta:
        """Delay before the next try, after ``attempt`` failed tries (1-based)."""
        wait = wait_exponential_jitter(
            multiplier=self.initial_seconds, max=self.max_seconds, jitter=self.jitter_seconds
        )
        state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        return timedelta(seconds=wait(state))

    def exhausted(self, attempts: int, created_at: datetime, now: datetime) -> bool:
        return attempts >= self.max_attempts or now - created_at >= self.max_age
