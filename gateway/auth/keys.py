"""Signing keys for API tokens and console sessions, derived from ``settings.api_token_key``.

Outside production an empty key means a random key per process: tokens and console sessions then end
when the process stops, which is what a demo wants. Production refuses to start without a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from gateway.settings import Settings


@dataclass(frozen=True)
class SigningKeys:
    token: bytes
    session: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> SigningKeys:
        master = settings.api_token_key.get_secret_value().encode()
        if not master:
            master = secrets.token_bytes(32)
        return cls(_derive(master, "api-token"), _derive(master, "console-session"))


def _derive(master: bytes, purpose: str) -> bytes:
    return hmac.new(master, purpose.encode(), hashlib.sha256).digest()
