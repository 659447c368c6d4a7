"""Local file drop: atomic writes out, a watched directory in.

Out: the file is written under a temporary name in the target directory, flushed to disk, then renamed,
so a receiver polling the directory never sees half a file. The name derives from the idempotency key,
so a retried delivery overwrites the same file instead of adding a second one.

In: files matching a pattern are taken once they are old enough (or have a ``.done`` marker), so a file
still being written is left alone.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import FatalError, RetriableError
from gateway.transports.base import Delivery

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    return _SAFE.sub("_", name)[:200] or "message"


def atomic_write(directory: Path, filename: str, body: bytes) -> Path:
    """Write ``body`` to ``directory/filename`` atomically (temporary file, fsync, rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_name(filename)
    temporary = directory / f".{target.name}.{os.getpid()}.part"
    with open(temporary, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return target


class FileDropOut:
    """Delivers each message as one file in a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, delivery: Delivery) -> str | None:
        try:
            path = atomic_write(self.directory, delivery.filename, delivery.body)
        except PermissionError as exc:
            raise FatalError(f"file drop {self.directory}: permission denied") from exc
        except OSError as exc:  # disk full, directory unmounted...: may recover
            raise RetriableError(f"file drop {self.directory}: {exc.strerror}") from exc
        return f"file:{path.name}"

    def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class DroppedFile:
    path: Path
    size: int
    mtime: int


def ready_files(
    directory: Path, pattern: str = "*", min_age_seconds: float = 5.0, done_marker: bool = False
) -> Iterator[DroppedFile]:
    """Complete files of ``directory``: older than ``min_age_seconds``, or with a ``.done`` marker."""
    if not directory.is_dir():
        return
    now = time.time()
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if not entry.is_file() or entry.name.startswith(".") or entry.name.endswith((".done", ".part")):
            continue
        if not fnmatch.fnmatch(entry.name, pattern):
            continue
        stat = entry.stat()
        if done_marker:
            if not (directory / f"{entry.name}.done").exists():
                continue
        elif now - stat.st_mtime < min_age_seconds:
            continue
        yield DroppedFile(Path(entry.path), stat.st_size, int(stat.st_mtime))
