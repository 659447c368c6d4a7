"""Polling a partner's SFTP directory: each complete file is stored once, then acknowledged.

One cycle: take the endpoint's lease (one poller per endpoint across nodes), open one SSH connection,
list the directory and, for each file that is complete (old enough, or with its ``.done`` marker):

1. skip it if the durable memory (``polled_files``) already has this path with the same size and mtime;
2. download it to a temporary file (size limit enforced while streaming) and compute its SHA-256;
3. ``receive`` it with a message id derived from the path and the digest, so the same file polled
   twice, by two nodes, or after a crash, is the same exchange;
4. remember (path, size, mtime, digest, exchange id) in ``polled_files``;
5. only then acknowledge to the partner: move it to the processed folder, delete it, or leave it.

A crash between any two steps is safe: before 3 nothing happened; between 3 and 4 the next cycle
downloads again and ``receive`` recognises the duplicate; between 4 and 5 the memory recognises the file
and the acknowledgement is done again. With ``after: leave`` the memory alone prevents a second take; a
file rewritten in place (new size, mtime and content) is a new file and is taken.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import socket
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import IO

import paramiko
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.clock import utcnow
from gateway.errors import FatalError, GatewayError, RetriableError
from gateway.logging_setup import get_logger
from gateway.pipeline.endpoints import Endpoint
from gateway.pipeline.intake import Envelope, receive
from gateway.pipeline.leases import acquire_lease, release_lease, renew_lease
from gateway.store.tables import polled_files
from gateway.store.upsert import insert_ignore_one
from gateway.transports.options import parse_options
from gateway.transports.sftp.connection import SftpSession, classify, sftp_session
from gateway.transports.sftp.options import InboundOptions

log = get_logger("gateway.transports.sftp")

IGNORED_SUFFIXES = (".done", ".part", ".filepart", ".tmp")
"""Markers and the temporary names uploaders (ours, WinSCP, FileZilla) use while writing."""

_CHUNK = 64 * 1024


@dataclass
class PollReport:
    """What one cycle did, by remote path."""

    taken: list[str] = field(default_factory=list)
    already_taken: list[str] = field(default_factory=list)
    not_ready: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)
    """Stored and remembered, but moving or deleting it on the server failed (retried next cycle)."""
    lease_elsewhere: bool = False
    """Another node polls this endpoint: this cycle did nothing."""


@dataclass(frozen=True, slots=True)
class RemoteFile:
    path: str
    name: str
    size: int
    mtime: int


@dataclass(frozen=True, slots=True)
class _Memory:
    size: int
    mtime: int
    digest: str
    exchange_id: str | None


class _TooLarge(Exception):
    pass


def node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def message_id(path: str, digest: str) -> str:
    """Same path and same bytes: same message, whoever polls it and however often (bounded length)."""
    return "sftp:" + hashlib.sha256(f"{path}\0{digest}".encode()).hexdigest()


class SftpPoller:
    """Polls one inbound ``sftp`` endpoint; see the module docstring for the guarantees."""

    def __init__(self, engine: Engine, endpoint: Endpoint, *, holder: str | None = None) -> None:
        self.engine = engine
        self.endpoint = endpoint
        self.options = parse_options(InboundOptions, endpoint)
        self.holder = holder or node_id()
        self.lease_name = f"poll:{endpoint.name}"
        self._lease_renewed_at = 0.0

    # -- one cycle ---------------------------------------------------------------------------------

    def poll_once(self) -> PollReport:
        """Run one cycle; raise RetriableError (server or store unreachable) or FatalError (host key...)."""
        report = PollReport()
        try:
            if not self._take_lease():
                report.lease_elsewhere = True
                return report
            with sftp_session(self.options) as session:
                for remote in self._ready_files(session, report):
                    if not self._keep_lease():
                        log.warning("sftp.lease_lost", endpoint=self.endpoint.name)
                        break
                    self._take(session, remote, report)
        except GatewayError:
            raise
        except SQLAlchemyError as exc:
            what = f"endpoint {self.endpoint.name}: store unavailable ({type(exc).__name__})"
            raise RetriableError(what) from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise classify(exc, self.options, f"polling {self.options.directory}") from exc
        if report.taken:
            log.info("sftp.taken", endpoint=self.endpoint.name, files=len(report.taken))
        return report

    def _ready_files(self, session: SftpSession, report: PollReport) -> Iterator[RemoteFile]:
        options = self.options
        entries = session.sftp.listdir_attr(options.directory)
        names = {entry.filename for entry in entries}
        now = time.time()
        for entry in sorted(entries, key=lambda e: e.filename):
            name = entry.filename
            if not stat.S_ISREG(entry.st_mode or 0) or not _candidate(name, options.pattern):
                continue
            path = posixpath.join(options.directory, name)
            mtime = int(entry.st_mtime or 0)
            if options.done_marker:
                complete = f"{name}.done" in names
            else:
                complete = now - mtime >= options.min_age_seconds
            if not complete:
                report.not_ready.append(path)
                continue
            yield RemoteFile(path, name, int(entry.st_size or 0), mtime)

    def _take(self, session: SftpSession, remote: RemoteFile, report: PollReport) -> None:
        memory = self._recall(remote.path)
        if memory is not None and (memory.size, memory.mtime) == (remote.size, remote.mtime):
            report.already_taken.append(remote.path)
            self._acknowledge(session, remote, memory.exchange_id, report)
            return
        if remote.size > self.options.max_bytes:
            self._refuse_too_large(remote, report)
            return
        with tempfile.TemporaryFile(prefix="gateway-sftp-") as spool:
            try:
                digest = self._download(session, remote, spool)
            except _TooLarge:
                self._refuse_too_large(remote, report)
                return
            if digest is None:
                report.not_ready.append(remote.path)  # it changed while we read it: still being written
                return
            if memory is not None and memory.digest == digest:
                exchange_id = memory.exchange_id  # touched or rewritten with the same bytes
                report.already_taken.append(remote.path)
            else:
                spool.seek(0)
                receipt = receive(
                    self.engine,
                    Envelope(
                        self.endpoint.name,
                        self.endpoint.partner,
                        "sftp",
                        spool,  # streamed from the local copy: a large file is never held whole
                        source_name=remote.path,
                        message_id=message_id(remote.path, digest),
                    ),
                )
                exchange_id = receipt.exchange_id
                (report.already_taken if receipt.duplicate else report.taken).append(remote.path)
        self._remember(remote, digest, exchange_id)
        self._acknowledge(session, remote, exchange_id, report)

    def _refuse_too_large(self, remote: RemoteFile, report: PollReport) -> None:
        report.too_large.append(remote.path)
        log.warning(
            "sftp.too_large", endpoint=self.endpoint.name, path=remote.path, limit=self.options.max_bytes
        )

    def _download(self, session: SftpSession, remote: RemoteFile, spool: IO[bytes]) -> str | None:
        """Copy the file into ``spool``; its SHA-256, or None if its size changed while it was read."""
        digest = hashlib.sha256()
        total = 0
        with session.sftp.open(remote.path, "rb") as source:
            source.prefetch(remote.size)
            while chunk := source.read(_CHUNK):
                total += len(chunk)
                if total > self.options.max_bytes:
                    raise _TooLarge
                digest.update(chunk)
                spool.write(chunk)
        return digest.hexdigest() if total == remote.size else None

    # -- acknowledging to the partner ------------------------------------------------------------------

    def _acknowledge(
        self, session: SftpSession, remote: RemoteFile, exchange_id: str | None, report: PollReport
    ) -> None:
        after = self.options.after
        if after == "leave":
            return
        try:
            if after == "delete":
                session.sftp.remove(remote.path)
            else:
                session.sftp.rename(remote.path, self._processed_path(session, remote, exchange_id))
            if self.options.done_marker:
                _remove_if_present(session, f"{remote.path}.done")
        except FileNotFoundError:
            return  # another node acknowledged it in the meantime
        except (OSError, paramiko.SSHException) as exc:
            error = classify(exc, self.options, f"{after} {remote.path}")
            if isinstance(error, FatalError):  # e.g. no right to move: the memory keeps it from a re-take
                report.unacknowledged.append(remote.path)
                log.warning(
                    "sftp.unacknowledged", endpoint=self.endpoint.name, path=remote.path, error=str(error)
                )
                return
            raise error from exc

    def _processed_path(self, session: SftpSession, remote: RemoteFile, exchange_id: str | None) -> str:
        folder = self.options.processed()
        try:
            session.sftp.stat(folder)
        except FileNotFoundError:
            session.sftp.mkdir(folder)
        target = posixpath.join(folder, remote.name)
        if _exists(session, target):  # same name processed before: keep both
            root, extension = posixpath.splitext(remote.name)
            target = posixpath.join(folder, f"{root}.{(exchange_id or uuid.uuid4().hex)[:8]}{extension}")
        return target

    # -- durable memory --------------------------------------------------------------------------------

    def _recall(self, path: str) -> _Memory | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(polled_files).where(
                    polled_files.c.endpoint == self.endpoint.name, polled_files.c.path == path
                )
            ).one_or_none()
        if row is None:
            return None
        return _Memory(int(row.size), int(row.mtime), str(row.digest), row.exchange_id)

    def _remember(self, remote: RemoteFile, digest: str, exchange_id: str | None) -> None:
        row = {
            "endpoint": self.endpoint.name,
            "path": remote.path,
            "size": remote.size,
            "mtime": remote.mtime,
            "digest": digest,
            "taken_at": utcnow(),
            "exchange_id": exchange_id,
        }
        with self.engine.begin() as connection:
            if not insert_ignore_one(connection, polled_files, row, ["endpoint", "path"]):
                connection.execute(
                    update(polled_files)
                    .where(polled_files.c.endpoint == self.endpoint.name, polled_files.c.path == remote.path)
                    .values(**{k: v for k, v in row.items() if k not in ("endpoint", "path")})
                )

    # -- lease -------------------------------------------------------------------------------------------

    def _take_lease(self) -> bool:
        taken = acquire_lease(self.engine, self.lease_name, self.holder, self.options.lease_seconds)
        if taken:
            self._lease_renewed_at = time.monotonic()
        return taken

    def _keep_lease(self) -> bool:
        """Renew the lease during long cycles (every third of its duration); False if it was lost."""
        if time.monotonic() - self._lease_renewed_at < self.options.lease_seconds / 3:
            return True
        if renew_lease(self.engine, self.lease_name, self.holder, self.options.lease_seconds):
            self._lease_renewed_at = time.monotonic()
            return True
        return False

    # -- running -------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll every ``poll_seconds`` until ``stop`` is set; failures are logged and retried next cycle."""
        try:
            while not stop.is_set():
                try:
                    self.poll_once()
                except GatewayError as error:
                    log.warning(
                        "sftp.poll_failed",
                        endpoint=self.endpoint.name,
                        error=str(error),
                        retriable=error.retriable,
                    )
                stop.wait(self.endpoint.poll_seconds)
        finally:
            self.close()

    def close(self) -> None:
        """Give the endpoint's lease up so another node can poll at once."""
        try:
            release_lease(self.engine, self.lease_name, self.holder)
        except SQLAlchemyError:
            log.warning("sftp.lease_release_failed", endpoint=self.endpoint.name)


def _candidate(name: str, pattern: str) -> bool:
    """A data file matching the pattern (not a hidden file, marker or upload in progress)."""
    return not name.startswith(".") and not name.endswith(IGNORED_SUFFIXES) and fnmatchcase(name, pattern)


def _exists(session: SftpSession, path: str) -> bool:
    try:
        session.sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def _remove_if_present(session: SftpSession, path: str) -> None:
    try:
        session.sftp.remove(path)
    except FileNotFoundError:
        return
