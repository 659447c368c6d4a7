"""API clients and console users from ``config/clients.yaml`` (secrets hashed), reloaded when it changes.

A verified API key is remembered in memory under its SHA-256 (never the key itself) so that each request
does not pay scrypt's deliberate cost; the memory is cleared whenever the file changes (a revoked client
stops at its next request). Unknown usernames still cost one scrypt, so timing does not tell them apart.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from ruamel.yaml import YAML

from gateway.auth.principal import Principal, Role
from gateway.auth.secrets import client_id_of, fingerprint, hash_secret, verify_secret
from gateway.errors import ConfigurationError

RELOAD_CHECK_SECONDS = 1.0
CACHE_SIZE = 1024


@cache
def _dummy_hash() -> str:
    return hash_secret("not-a-password")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    name: str | None = None
    revoked: bool = False
    demo: bool = False
    """Demo account: ``gateway demo`` gives it a fresh secret at start-up and prints it on stdout."""


class _ClientEntry(_Entry):
    party: str | None = None
    key_hash: str | None = None
    cert_sha256: str | None = None
    """SHA-256 fingerprint of the client certificate, as the TLS-terminating proxy reports it."""

    @model_validator(mode="after")
    def _party_for_partners(self) -> _ClientEntry:
        if self.role is Role.PARTNER and not self.party:
            raise ValueError("a partner client needs a party id")
        return self


class _UserEntry(_Entry):
    password_hash: str | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clients: dict[str, _ClientEntry] = {}
    users: dict[str, _UserEntry] = {}


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: str
    role: Role
    party: str | None
    key_hash: str | None
    cert_sha256: str | None = None
    revoked: bool = False
    demo: bool = False
    name: str | None = None

    def principal(self, via: str) -> Principal:
        return Principal(self.id, self.role, self.party, via)


@dataclass(frozen=True, slots=True)
class UserRecord:
    username: str
    role: Role
    password_hash: str | None
    revoked: bool = False
    demo: bool = False
    name: str | None = None


def load_clients_file(path: Path) -> tuple[dict[str, ClientRecord], dict[str, UserRecord]]:
    if not path.is_file():
        return {}, {}
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(f"{where}: {first['msg']}", file=str(path)) from None
    except Exception as exc:  # ruamel parser errors share no useful base class
        raise ConfigurationError(f"cannot read clients file: {type(exc).__name__}", file=str(path)) from None
    clients = {
        key: ClientRecord(
            key, e.role, e.party, e.key_hash, fingerprint(e.cert_sha256) if e.cert_sha256 else None,
            e.revoked, e.demo, e.name,
        )
        for key, e in parsed.clients.items()
    }  # fmt: skip
    users = {
        key: UserRecord(key, e.role, e.password_hash, e.revoked, e.demo, e.name)
        for key, e in parsed.users.items()
    }
    return clients, users


class ClientDirectory:
    """Clients and users of one file; thread-safe; reloads the file when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._checked = 0.0
        self._clients: dict[str, ClientRecord] = {}
        self._users: dict[str, UserRecord] = {}
        self._client_secrets: dict[str, str] = {}
        self._user_secrets: dict[str, str] = {}
        self._verified: OrderedDict[str, str] = OrderedDict()
        self._refresh(force=True)

    @classmethod
    def from_records(
        cls, clients: Mapping[str, ClientRecord], users: Mapping[str, UserRecord]
    ) -> ClientDirectory:
        directory = cls(Path("/nonexistent/clients.yaml"))
        directory._clients, directory._users = dict(clients), dict(users)
        return directory

    # -- loading --------------------------------------------------------------------------------------

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < RELOAD_CHECK_SECONDS:
            return
        with self._lock:
            self._checked = now
            try:
                mtime: float | None = self.path.stat().st_mtime
            except OSError:
                mtime = None
            if not force and mtime == self._mtime:
                return
            clients, users = load_clients_file(self.path)
            self._clients, self._users, self._mtime = clients, users, mtime
            self._verified.clear()

    def override_client_secret(self, client_id: str, key_hash: str) -> None:
        """Give a client another secret in memory only (demo start-up); survives reloads of the file."""
        with self._lock:
            self._client_secrets[client_id] = key_hash
            self._verified.clear()

    def override_user_secret(self, username: str, password_hash: str) -> None:
        with self._lock:
            self._user_secrets[username] = password_hash

    # -- lookups --------------------------------------------------------------------------------------

    def clients(self) -> list[ClientRecord]:
        self._refresh()
        return [self._effective_client(c) for c in self._clients.values()]

    def users(self) -> list[UserRecord]:
        self._refresh()
        return [self._effective_user(u) for u in self._users.values()]

    def client(self, client_id: str) -> ClientRecord | None:
        self._refresh()
        record = self._clients.get(client_id)
        return self._effective_client(record) if record else None

    def _effective_client(self, record: ClientRecord) -> ClientRecord:
        override = self._client_secrets.get(record.id)
        return replace(record, key_hash=override) if override else record

    def _effective_user(self, record: UserRecord) -> UserRecord:
        override = self._user_secrets.get(record.username)
        return replace(record, password_hash=override) if override else record

    # -- authentication -------------------------------------------------------------------------------

    def authenticate_key(self, api_key: str, cert: str | None, via: str = "api-key") -> Principal | None:
        """The client an API key belongs to (if not revoked and its certificate pin holds), else None."""
        client_id = client_id_of(api_key)
        record = self.client(client_id) if client_id else None
        if record is None or record.revoked or not pin_matches(record, cert):
            return None
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        with self._lock:
            known = self._verified.get(digest)
        if known is None or not hmac.compare_digest(known, record.id):
            if not verify_secret(api_key, record.key_hash):
                return None
            with self._lock:
                self._verified[digest] = record.id
                while len(self._verified) > CACHE_SIZE:
                    self._verified.popitem(last=False)
        return record.principal(via)

    def authenticate_user(self, username: str, password: str) -> Principal | None:
        self._refresh()
        record = self._users.get(username)
        if record is None:
            verify_secret(password, _dummy_hash())  # same cost as a real check
            return None
        record = self._effective_user(record)
        if not verify_secret(password, record.password_hash or _dummy_hash()) or record.revoked:
            return None
        if not record.password_hash:
            return None
        return Principal(record.username, record.role, None, "session")

    def user_active(self, username: str, role: str) -> bool:
        """A session stays valid only while its user exists, is not revoked and keeps its role."""
        self._refresh()
        record = self._users.get(username)
        return record is not None and not record.revoked and record.role.value == role


def pin_matches(record: ClientRecord, cert: str | None) -> bool:
    if record.cert_sha256 is None:
        return True
    return cert is not None and hmac.compare_digest(fingerprint(cert), record.cert_sha256)
