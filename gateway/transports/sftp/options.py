"""SFTP endpoint options (``transport.options`` of an ``sftp`` endpoint), checked once at start-up.

Unknown keys are refused so that a typo (``procesed_directory``) is an error at start, not a file
silently left on the partner's server. Secrets are never written in the options themselves: they come
from environment variables named by ``*_env`` keys (or, for the private key, a file path).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.errors import ConfigurationError


class ConnectionOptions(BaseModel):
    """How to reach and authenticate to the SFTP server (shared by inbound and outbound endpoints)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(default=22, ge=1, le=65535)
    username: str
    known_hosts: str | list[str]
    """A known_hosts file path, or the key lines themselves (``[host]:port ssh-ed25519 AAAA...``)."""
    private_key_file: str | None = None
    private_key_env: str | None = None
    """Name of an environment variable holding the private key text (OpenSSH or PEM)."""
    private_key_passphrase_env: str | None = None
    password_env: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    """Per-operation timeout once connected (a stalled read or write fails after this)."""

    def known_host_lines(self) -> list[str]:
        """The pinned key lines, read from the file when ``known_hosts`` names one."""
        if isinstance(self.known_hosts, list):
            return [line for line in self.known_hosts if line.strip()]
        text = self.known_hosts
        if "\n" not in text and " " not in text.strip():
            try:
                text = Path(text).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigurationError(f"known_hosts file unreadable: {text} ({exc.strerror})") from exc
        return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    def private_key_text(self) -> str | None:
        if self.private_key_env:
            return _env(self.private_key_env, "private_key_env")
        if self.private_key_file:
            try:
                return Path(self.private_key_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigurationError(
                    f"private key file unreadable: {self.private_key_file} ({exc.strerror})"
                ) from exc
        return None

    def passphrase(self) -> str | None:
        return _env(self.private_key_passphrase_env, "private_key_passphrase_env")

    def password(self) -> str | None:
        return _env(self.password_env, "password_env")


class InboundOptions(ConnectionOptions):
    """A remote directory the gateway polls."""

    directory: str
    """Remote directory, absolute on the server (``/depot/dsn``)."""
    pattern: str = "*"
    min_age_seconds: float = Field(default=30.0, ge=0)
    """A file is taken once its remote mtime is this old (unless ``done_marker``)."""
    done_marker: bool = False
    """Take ``X`` only once ``X.done`` exists (the partner writes the marker after the file)."""
    after: Literal["move", "leave", "delete"] = "move"
    processed_directory: str | None = None
    """Remote directory files are moved to when ``after: move`` (default ``<directory>/processed``)."""
    max_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    lease_seconds: float = Field(default=120.0, gt=0)
    """How long this node keeps the endpoint's polling lease between renewals."""

    @field_validator("directory", "processed_directory")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be an absolute path on the SFTP server")
        return value

    def processed(self) -> str:
        return self.processed_directory or f"{self.directory.rstrip('/')}/processed"


class OutboundOptions(ConnectionOptions):
    """A remote directory the gateway uploads files to."""

    directory: str
    if_exists: Literal["overwrite", "skip"] = "overwrite"
    """When a file of the same name is already there (a retried delivery): replace it, or keep it."""

    @field_validator("directory")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path on the SFTP server")
        return value


def _env(name: str | None, key: str) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise ConfigurationError(f"environment variable {name} (for {key}) is not set")
    return value
