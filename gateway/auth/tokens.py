"""Short-lived signed access tokens (JWT, HS256) for OAuth2 client credentials.

A token of a client whose certificate is pinned is bound to that certificate (``cnf.x5t#S256``, RFC 8705):
presented without the same certificate, it is refused.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from gateway.auth.clients import ClientRecord
from gateway.auth.principal import Principal, Role

ISSUER = "reseau-emploi-gateway"
AUDIENCE = "gateway-api"
TOKEN_SECONDS = 300


class TokenIssuer:
    def __init__(self, key: bytes, lifetime: int = TOKEN_SECONDS) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, client: ClientRecord) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": client.id,
            "role": client.role.value,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        if client.party:
            claims["party"] = client.party
        if client.cert_sha256:
            claims["cnf"] = {"x5t#S256": client.cert_sha256}
        return jwt.encode(claims, self._key, algorithm="HS256")

    def decode(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid, unexpired token of ours, else None."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
        except jwt.PyJWTError:
            return None
        return claims


def principal_of(claims: dict[str, Any]) -> Principal | None:
    try:
        role = Role(claims["role"])
    except ValueError:
        return None
    return Principal(str(claims["sub"]), role, claims.get("party"), "token")
