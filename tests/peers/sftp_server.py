"""An in-process SFTP server (asyncssh) on 127.0.0.1 for fast SFTP tests.

It serves a temporary root directory (chrooted: the client's ``/incoming`` is ``<root>/incoming``) to
one user authenticated by a generated Ed25519 key, with its own generated host key. It runs its event
loop in a background thread so the synchronous paramiko client under test can talk to it.

Like a partner's server it can refuse writes (``read_only`` folders answer "permission denied"), and it
records what clients did (files opened for writing, renames, connections) for tests to check.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import asyncssh

from gateway.pipeline.endpoints import Endpoint

USERNAME = "partner"
_WRITE = 0x02 | 0x08 | 0x10  # SSH_FXF_WRITE, CREAT, TRUNC


class _RecordingSftp(asyncssh.SFTPServer):
    peer: SftpServer

    def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
        client_path = path.decode()
        if pflags & _WRITE:
            if any(client_path.startswith(folder + "/") for folder in self.peer.read_only):
                raise asyncssh.SFTPPermissionDenied("read-only folder")
            self.peer.operations.append(("write", client_path))
        return super().open(path, pflags, attrs)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self.peer.operations.append(("posix_rename", oldpath.decode(), newpath.decode()))
        return super().posix_rename(oldpath, newpath)

    def rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self.peer.operations.append(("rename", oldpath.decode(), newpath.decode()))
        return super().rename(oldpath, newpath)


class SftpServer:
    def __init__(self, root: Path, workdir: Path) -> None:
        self.root = root
        self.workdir = workdir
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-peer", daemon=True)
        self._acceptor: Any = None
        self.read_only: set[str] = set()
        """Client folders (``/readonly``) where opening a file for writing is refused."""
        self.operations: list[tuple[str, ...]] = []
        self.connections = 0

    @property
    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key.export_public_key().decode().strip()}"

    @property
    def client_key_file(self) -> Path:
        path = self.workdir / "client_ed25519"
        if not path.exists():
            self.client_key.write_private_key(str(path))
        return path

    def options(self, **extra: Any) -> dict[str, Any]:
        """Connection options of an ``sftp`` endpoint pointing here, plus ``extra``."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "username": USERNAME,
            "known_hosts": [self.known_hosts_line],
            "private_key_file": str(self.client_key_file),
            "connect_timeout": 5,
            "timeout": 5,
            **extra,
        }

    def start(self) -> SftpServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self._acceptor = future.result(timeout=10)
        self.port = self._acceptor.sockets[0].getsockname()[1]
        return self

    async def _listen(self) -> Any:
        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())
        root = str(self.root).encode()
        peer = self

        class Sftp(_RecordingSftp):
            pass

        Sftp.peer = peer

        def count(_connection: Any) -> None:
            peer.connections += 1

        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            authorized_client_keys=authorized,
            sftp_factory=lambda channel: Sftp(channel, chroot=root),
            acceptor=count,
            allow_scp=False,
            login_timeout=10,
        )

    def stop(self) -> None:
        async def close() -> None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

        if self._acceptor is not None:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def sftp_endpoint(name: str, direction: str, options: dict[str, Any]) -> Endpoint:
    """An ``sftp`` endpoint of the test partner ``urssaf`` with these transport options."""
    return Endpoint.model_validate(
        {
            "name": name,
            "direction": direction,
            "partner": "urssaf",
            "mapping": "dsn-urssaf" if direction == "in" else None,
            "transport": {"type": "sftp", "options": options},
        }
    )
