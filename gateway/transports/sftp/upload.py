"""SFTP outbound: each delivery becomes one file in the partner's directory, never seen half-written.

The body is written under ``.<name>.part`` then renamed with the OpenSSH ``posix-rename`` extension,
which replaces the target atomically, so a partner listing the directory sees either no file or the whole
file. The name comes from the delivery (itself derived from the idempotency key), so a retried delivery
lands on the same name: ``if_exists: overwrite`` replaces it, ``skip`` keeps the copy already there.
The connection is kept between sends and reopened after a failure.
"""

from __future__ import annotations

import contextlib
import posixpath
import threading

import paramiko

from gateway.errors import GatewayError
from gateway.pipeline.endpoints import Endpoint
from gateway.transports.base import Delivery
from gateway.transports.file_drop import safe_name
from gateway.transports.options import parse_options
from gateway.transports.sftp.connection import SftpSession, classify
from gateway.transports.sftp.options import OutboundOptions


def part_name(name: str) -> str:
    """The temporary name a file has while it is uploaded (hidden, and ignored by our own pollers)."""
    return f".{name}.part"


class SftpOut:
    """Uploads each delivery as one file (thread-safe; one connection reused across sends)."""

    def __init__(self, options: OutboundOptions) -> None:
        self.options = options
        self._session: SftpSession | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_endpoint(cls, endpoint: Endpoint) -> SftpOut:
        return cls(parse_options(OutboundOptions, endpoint))

    def send(self, delivery: Delivery) -> str | None:
        name = safe_name(delivery.filename)
        with self._lock:
            try:
                return self._upload(self._connected(), name, delivery.body)
            except GatewayError as failure:
                if failure.retriable:
                    self._drop()
                raise
            except (OSError, EOFError, paramiko.SSHException) as exc:
                self._drop()  # the connection's state is unknown: start afresh next time
                raise classify(exc, self.options, f"uploading {name}") from exc

    def _connected(self) -> SftpSession:
        if self._session is None or not self._session.alive:
            self._drop()
            self._session = SftpSession(self.options)
        return self._session

    def _upload(self, session: SftpSession, name: str, body: bytes) -> str:
        sftp = session.sftp
        final = posixpath.join(self.options.directory, name)
        if self.options.if_exists == "skip" and _exists(sftp, final):
            return f"sftp:{final} (already present)"
        temporary = posixpath.join(self.options.directory, part_name(name))
        try:
            with sftp.open(temporary, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(body)
            _replace(sftp, temporary, final)
        except BaseException:
            _remove_quietly(sftp, temporary)
            raise
        return f"sftp:{final}"

    def _drop(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                session.close()

    def close(self) -> None:
        with self._lock:
            self._drop()


def _replace(sftp: paramiko.SFTPClient, temporary: str, final: str) -> None:
    """Atomic rename over ``final``; servers without ``posix-rename`` get remove-then-rename."""
    try:
        sftp.posix_rename(temporary, final)
        return
    except (PermissionError, FileNotFoundError):
        raise
    except OSError:  # "Operation unsupported" or a generic failure: fall back to plain SFTP operations
        pass
    if _exists(sftp, final):
        sftp.remove(final)
    sftp.rename(temporary, final)


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        sftp.remove(path)
