"""Opening SFTP sessions (paramiko) with pinned host keys, and classifying what goes wrong.

Host keys are pinned: the server's key must be listed in the endpoint's ``known_hosts``; an unknown or
different key is a :class:`FatalError` naming the host (a new server key is a human decision, never
something to accept automatically). Only the configured key or password is tried: no SSH agent, no
keys from ``~/.ssh``.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import paramiko

from gateway.errors import ConfigurationError, FatalError, GatewayError, RetriableError
from gateway.transports.sftp.options import ConnectionOptions


class UnknownHostKeyError(FatalError):
    """The server's host key is not pinned in ``known_hosts``."""


class _RejectUnpinned(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise UnknownHostKeyError(
            f"SFTP host {hostname} offered a {key.get_name()} host key that is not in known_hosts "
            f"(fingerprint {key.fingerprint}); pin it after checking it with the partner"
        )


def host_label(options: ConnectionOptions) -> str:
    """How OpenSSH names the host in known_hosts: ``host``, or ``[host]:port`` off port 22."""
    return options.host if options.port == 22 else f"[{options.host}]:{options.port}"


def load_private_key(options: ConnectionOptions) -> paramiko.PKey | None:
    """The configured private key (OpenSSH or PEM; Ed25519, ECDSA or RSA), or None."""
    text = options.private_key_text()
    if text is None:
        return None
    passphrase = options.passphrase()
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException as exc:
            raise ConfigurationError("the SFTP private key is encrypted and no passphrase is set") from exc
        except (paramiko.SSHException, ValueError):
            continue
    raise ConfigurationError("the SFTP private key is not an Ed25519, ECDSA or RSA private key")


def _pinned_client(options: ConnectionOptions) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    host_keys = client.get_host_keys()
    for number, line in enumerate(options.known_host_lines(), start=1):
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno=number)
        except (paramiko.SSHException, ValueError) as exc:
            raise ConfigurationError(f"known_hosts line {number} is not a host key line") from exc
        if entry is None or entry.key is None:
            raise ConfigurationError(f"known_hosts line {number} is not a host key line")
        for name in entry.hostnames:
            host_keys.add(name, entry.key.get_name(), entry.key)
    client.set_missing_host_key_policy(_RejectUnpinned())
    return client


def classify(error: BaseException, options: ConnectionOptions, action: str) -> GatewayError:
    """Turn a paramiko/socket/SFTP failure into a retriable or fatal gateway error (no secrets in it)."""
    where = f"SFTP {host_label(options)}: {action}"
    if isinstance(error, GatewayError):
        return error
    if isinstance(error, paramiko.BadHostKeyException):
        return FatalError(
            f"SFTP host {host_label(options)} presented a host key different from the one pinned in "
            f"known_hosts (got {error.key.get_name()} {error.key.fingerprint}); refusing to connect"
        )
    if isinstance(error, paramiko.AuthenticationException):
        return FatalError(f"{where}: authentication refused")
    if isinstance(error, PermissionError):
        return FatalError(f"{where}: permission denied")
    if isinstance(error, FileNotFoundError):
        return FatalError(f"{where}: no such file or directory")
    if isinstance(error, TimeoutError | socket.timeout):
        return RetriableError(f"{where}: timed out")
    if isinstance(error, ConnectionRefusedError) or (
        isinstance(error, paramiko.ssh_exception.NoValidConnectionsError)
        and all(isinstance(reason, ConnectionRefusedError) for reason in error.errors.values())
    ):
        return RetriableError(f"{where}: connection refused")
    if isinstance(error, paramiko.SSHException | EOFError | OSError):
        return RetriableError(f"{where}: {type(error).__name__}: {_short(error)}")
    return RetriableError(f"{where}: unexpected {type(error).__name__}")


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else "no detail"


class SftpSession:
    """One SSH connection and its SFTP channel."""

    def __init__(self, options: ConnectionOptions) -> None:
        self.options = options
        client = _pinned_client(options)
        try:
            client.connect(
                options.host,
                port=options.port,
                username=options.username,
                pkey=load_private_key(options),
                password=options.password(),
                timeout=options.connect_timeout,
                banner_timeout=options.connect_timeout,
                auth_timeout=options.connect_timeout,
                channel_timeout=options.connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            self.sftp = client.open_sftp()
        except Exception as exc:
            client.close()
            raise classify(exc, options, "connecting") from exc
        channel = self.sftp.get_channel()
        if channel is not None:
            channel.settimeout(options.timeout)
        self._client = client

    @property
    def alive(self) -> bool:
        transport = self._client.get_transport()
        return transport is not None and transport.is_active()

    def close(self) -> None:
        try:
            self.sftp.close()
        finally:
            self._client.close()


@contextmanager
def sftp_session(options: ConnectionOptions) -> Iterator[SftpSession]:
    """A session for one poll cycle, closed afterwards whatever happens."""
    session = SftpSession(options)
    try:
        yield session
    finally:
        session.close()
