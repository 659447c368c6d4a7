"""Who is calling and what they may do: API clients, console users, tokens, sessions, access rules.

See docs/api.md. Secrets are stored hashed (scrypt) in ``config/clients.yaml``; nothing here logs a secret.
"""

from gateway.auth.clients import ClientDirectory, ClientRecord, UserRecord
from gateway.auth.principal import Principal, Role
from gateway.auth.secrets import hash_secret, new_api_key, new_password, verify_secret
from gateway.auth.sessions import SessionSigner
from gateway.auth.tokens import TokenIssuer

__all__ = [
    "ClientDirectory",
    "ClientRecord",
    "Principal",
    "Role",
    "SessionSigner",
    "TokenIssuer",
    "UserRecord",
    "hash_secret",
    "new_api_key",
    "new_password",
    "verify_secret",
]
