"""Stored envelopes, kept in 1 MiB slices (``exchange_payloads``) and read back one slice at a time.

Slices keep memory flat whatever the file size, on SQLite and PostgreSQL alike, and live apart from the
``exchanges`` row: SQLite rewrites a whole row on UPDATE, so a payload inside it would be copied on every
status or counter change. The reader is seekable, because some codecs read twice (XML with XSD
validation).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import IO

from sqlalchemy import Connection, Engine, select

from gateway.store.tables import exchange_payloads

CHUNK = 1 << 20


def slices(payload: bytes | IO[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """``payload`` (bytes, or a stream read from where it stands) in slices of ``size`` bytes; none when
    it is empty."""
    if not isinstance(payload, bytes):
        yield from iter(lambda: payload.read(size), b"")
        return
    view = memoryview(payload)
    for start in range(0, len(payload), size):
        yield bytes(view[start : start + size])


def store_payload(connection: Connection, exchange_id: str, parts: Iterable[bytes]) -> int:
    """Insert the slices of one envelope (in the caller's transaction); returns the total size."""
    offset = 0
    for seq, part in enumerate(parts):
        connection.execute(
            exchange_payloads.insert().values(exchange_id=exchange_id, seq=seq, start=offset, data=part)
        )
        offset += len(part)
    return offset


def read_payload(engine: Engine, exchange_id: str) -> bytes:
    """A whole stored envelope (for small ones: API submissions, replays, tests)."""
    with engine.connect() as connection:
        parts = connection.execute(
            select(exchange_payloads.c.data)
            .where(exchange_payloads.c.exchange_id == exchange_id)
            .order_by(exchange_payloads.c.seq)
        ).scalars()
        return b"".join(bytes(part) for part in parts)


class StoredPayload(io.RawIOBase):
    """A read-only, seekable raw stream over the slices of one stored envelope."""

    def __init__(self, engine: Engine, exchange_id: str, size: int) -> None:
        super().__init__()
        self._engine = engine
        self._id = exchange_id
        self._size = size
        self._position = 0
        self._slice_offset = 0
        self._slice = b""
        """The slice last fetched, kept so that small reads do not query again."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, min(self._size, base + offset))
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._position >= self._size or not len(buffer):
            return 0
        start = self._position - self._slice_offset
        if not 0 <= start < len(self._slice):
            self._fetch()
            start = self._position - self._slice_offset
        data = self._slice[start : start + len(buffer)]
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _fetch(self) -> None:
        """Load the slice holding the current position."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(exchange_payloads.c.start, exchange_payloads.c.data)
                .where(exchange_payloads.c.exchange_id == self._id)
                .where(exchange_payloads.c.start <= self._position)
                .order_by(exchange_payloads.c.start.desc())
                .limit(1)
            ).one()
        self._slice_offset, self._slice = int(row.start), bytes(row.data)


def open_payload(engine: Engine, exchange_id: str, size: int) -> io.BufferedReader:
    """A buffered binary stream over the stored envelope."""
    return io.BufferedReader(StoredPayload(engine, exchange_id, size), buffer_size=CHUNK)
