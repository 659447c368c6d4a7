"""The contract between codecs (in ``adapters/``) and the core.

A codec turns partner bytes into a stream of :class:`SourceRecord` (reader) and back (writer). Readers are
generators: memory must not grow with the size of the file. A record that cannot be read is yielded as a
:class:`~gateway.errors.SkippableRecordError` (so the caller reports it and goes on); a file that cannot be
read at all raises :class:`~gateway.errors.UnreadableFileError`.

Codecs register by name in :mod:`gateway.registry`; the core never imports ``adapters`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from gateway.errors import SkippableRecordError


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One partner record, as a tree of dicts/lists/strings that mappings read with JMESPath."""

    number: int
    """1-based record number within the input."""
    data: Mapping[str, Any]
    line: int | None = None
    """Physical line where the record starts (CSV, DSN, XML), when known."""
    source: str | None = None
    """Name of the input (file name), for error messages."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """Data shared by the records of one input (e.g. DSN envoi/entreprise, CAF flux header)."""


ReadItem = SourceRecord | SkippableRecordError


class Reader(Protocol):
    """Reads one input stream as records. Options come from the mapping's `source` section."""

    def read(self, stream: BinaryIO, *, source_name: str = "<stream>") -> Iterator[ReadItem]: ...


class Writer(Protocol):
    """Writes partner records (plain dict trees) to a binary stream."""

    def write(self, records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
        """Write all records; return how many were written."""
        ...


class Codec(Protocol):
    """A codec factory: built from options (delimiter, encoding, record element, XSD...)."""

    name: str

    def reader(self, options: Mapping[str, Any]) -> Reader: ...

    def writer(self, options: Mapping[str, Any]) -> Writer: ...
