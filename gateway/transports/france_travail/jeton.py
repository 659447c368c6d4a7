"""The France Travail ``jeton usager``: an opaque, short-lived token naming one person at France Travail.

It is personal data by proxy. It lives only in memory: in a :class:`UsagerHandle` for the calls of one
flow, and in a small :class:`JetonCache` keyed by an HMAC of the person's query (the key is random per
process, so the cache keys are not a pseudonym usable elsewhere). It is never logged (masked repr), never
stored, never written into a canonical resource.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, repr=False)
class UsagerHandle:
    """What a successful resolution gives: use it for the calls about this person, then drop it."""

    _jeton: str
    context: Mapping[str, Any] = field(default_factory=dict)
    """Record context for the mappings (``individu``: the France Travail number when known)."""

    def __repr__(self) -> str:
        return "UsagerHandle(***)"

    def header(self) -> dict[str, str]:
        return {"ft-jeton-usager": self._jeton}

    def appears_in(self, text: str) -> bool:
        return self._jeton in text


class JetonCache:
    """Bounded in-memory cache: keyed hash of the query → (jeton, expiry). Thread-safe."""

    def __init__(
        self, ttl_seconds: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, *parts: str) -> str:
        return hmac.new(self._key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] <= self._clock():
                del self._entries[key]
                return None
            return entry[0]

    def put(self, key: str, jeton: str) -> None:
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            self._entries[key] = (jeton, self._clock() + self.ttl_seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
