"""Console sessions: a signed cookie (HMAC-SHA256) holding the user, role, expiry and CSRF token.

Stateless, so several console processes share sessions; a session also ends when its user is revoked or
changes role in ``config/clients.yaml`` (checked on every request). Nothing personal is in the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

SESSION_SECONDS = 8 * 3600


class SessionSigner:
    def __init__(self, key: bytes, lifetime: int = SESSION_SECONDS) -> None:
        self._key = key
        self.lifetime = lifetime

    def dumps(self, data: dict[str, Any], lifetime: int | None = None) -> str:
        body = dict(data, exp=int(time.time()) + (lifetime or self.lifetime))
        raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{raw}.{self._sign(raw)}"

    def loads(self, value: str | None) -> dict[str, Any] | None:
        if not value or "." not in value:
            return None
        raw, signature = value.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(raw)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] < time.time():
            return None
        return data

    def _sign(self, raw: str) -> str:
        return hmac.new(self._key, raw.encode(), hashlib.sha256).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)
