"""Read a stored envelope in chunks, so that processing a large file does not load it whole.

The payload stays in the ``exchanges`` table (one place to back up, shared by every node); this reader
fetches it one slice at a time with ``substr`` (SQLite BLOB and PostgreSQL bytea both support it) and is
seekable, because some codecs read twice (XML with XSD validation).
"""

from __future__ import annotations

import io

from sqlalchemy import Engine, func, select

from gateway.store.tables import exchanges

CHUNK = 1 << 20


class StoredPayload(io.RawIOBase):
    """A read-only, seekable raw stream over ``exchanges.payload`` of one exchange."""

    def __init__(self, engine: Engine, exchange_id: str, size: int) -> None:
        super().__init__()
        self._engine = engine
        self._id = exchange_id
        self._size = size
        self._position = 0

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
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        with self._engine.connect() as connection:
            chunk = connection.execute(
                select(func.substr(exchanges.c.payload, self._position + 1, wanted)).where(
                    exchanges.c.id == self._id
                )
            ).scalar_one()
        data = bytes(chunk or b"")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def open_payload(engine: Engine, exchange_id: str, size: int) -> io.BufferedReader:
    """A buffered binary stream over the stored payload (1 MiB slices)."""
    return io.BufferedReader(StoredPayload(engine, exchange_id, size), buffer_size=CHUNK)
