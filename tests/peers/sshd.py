"""A real OpenSSH ``sshd`` (Debian's) on a free port of 127.0.0.1 with a throw-away configuration.

It runs as the current user (root in CI containers: ``PermitRootLogin prohibit-password`` allows key
logins only), with generated host and user Ed25519 keys, ``internal-sftp`` and no PAM, and is stopped at
the end. When the binary is absent the test is skipped, or fails under ``CI=true``.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import IN_CI

SSHD = Path("/usr/sbin/sshd")


def require_sshd() -> None:
    if SSHD.is_file() and os.access(SSHD, os.X_OK):
        return
    message = f"OpenSSH server not installed ({SSHD} missing: apt-get install openssh-server)"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: interop tests must run)")
    pytest.skip(message)


def _write_key(path: Path) -> str:
    """Write a new Ed25519 private key (OpenSSH format, mode 600) and return its public line."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sshd:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.host_public = _write_key(workdir / "host_ed25519")
        self.client_key_file = workdir / "client_ed25519"
        (workdir / "authorized_keys").write_text(_write_key(self.client_key_file) + "\n")
        self.username = getpass.getuser()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_public}"

    def options(self, **extra: Any) -> dict[str, Any]:
        """Connection options of an ``sftp`` endpoint pointing at this sshd, plus ``extra``."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "username": self.username,
            "known_hosts": [self.known_hosts_line],
            "private_key_file": str(self.client_key_file),
            "connect_timeout": 5,
            "timeout": 5,
            **extra,
        }

    def _config(self) -> Path:
        config = self.workdir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.workdir / 'host_ed25519'}",
                    f"PidFile {self.workdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "StrictModes no",
                    "UsePAM no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        return config

    def start(self, attempts: int = 3) -> Sshd:
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
        for _ in range(attempts):  # the free port may be taken between probing and binding: retry
            self.port = _free_port()
            self._log = open(self.workdir / "sshd.log", "wb")  # noqa: SIM115 - closed by stop()
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self._config())], stdout=self._log, stderr=self._log
            )
            if self._wait_for_banner(timeout=10):
                return self
            self.stop()
        raise RuntimeError(f"sshd did not start: {(self.workdir / 'sshd.log').read_text(errors='replace')}")

    def _wait_for_banner(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(16).startswith(b"SSH-2.0"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


@contextmanager
def running_sshd(workdir: Path) -> Iterator[Sshd]:
    require_sshd()
    server = Sshd(workdir).start()
    try:
        yield server
    finally:
        server.stop()
