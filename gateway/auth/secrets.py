"""Hashing and checking secrets (API keys, passwords) with scrypt; constant-time comparisons.

Encoded form: ``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>`` so that the cost can be raised later
without invalidating stored hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
KEY_PREFIX = "gw"
CLIENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_secret(secret: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, encoded: str | None) -> bool:
    """True if ``secret`` matches ``encoded``; False for any malformed or missing hash."""
    if not encoded:
        return False
    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = base64.b64decode(salt_text), base64.b64decode(digest_text)
    except ValueError:
        return False
    if scheme != "scrypt" or n > 2**20 or r > 32 or p > 16:
        return False
    actual = hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


def new_api_key(client_id: str) -> str:
    """``gw.<client id>.<32 random bytes, base64url>``: the client id lets the server find the hash."""
    if not CLIENT_ID_RE.match(client_id):
        raise ValueError("client ids are 2-63 lower-case letters, digits and dashes")
    return f"{KEY_PREFIX}.{client_id}.{secrets.token_urlsafe(32)}"


def client_id_of(api_key: str) -> str | None:
    parts = api_key.split(".", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not CLIENT_ID_RE.match(parts[1]):
        return None
    return parts[1]


def new_password() -> str:
    return secrets.token_urlsafe(15)


def fingerprint(value: str) -> str:
    """Normalise a certificate SHA-256 fingerprint: lower-case hex without colons or spaces."""
    return re.sub(r"[^0-9a-f]", "", value.lower())
