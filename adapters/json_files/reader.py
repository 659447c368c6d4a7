"""Streaming JSON and NDJSON readers.

JSON arrays are read with ijson (C backend), one element at a time, so a 1 GB array never sits in memory.
Numbers are ``int`` or ``float`` (as :func:`json.loads` gives them), so JSON and NDJSON agree.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]  # ijson ships no type hints

from gateway.codecs import ReadItem, SourceRecord
from gateway.errors import SkippableRecordError, UnreadableFileError


class _CountingReader:
    """File wrapper that counts the newlines handed to the parser (for approximate error positions) and
    can put back bytes already read (to look at the first character of the document)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending = b""
        self.newlines = 0

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson probes read(0) to tell bytes from text
        if self._pending:
            data, self._pending = self._pending, b""
        else:
            data = self._stream.read(size)
        self.newlines += data.count(b"\n")
        return data

    def first_significant_byte(self) -> bytes:
        """The first non-whitespace byte (a UTF-8 BOM is dropped), left unread."""
        data = b""
        while True:
            chunk = self._stream.read(4096)
            data += chunk
            stripped = data.removeprefix(codecs.BOM_UTF8).lstrip()
            if stripped or not chunk:
                self.newlines += data[: len(data) - len(stripped)].count(b"\n")
                self._pending = stripped
                return stripped[:1]


def _safe_reason(exc: Exception) -> str:
    """The first line of a parser message: ijson's later lines quote the document text."""
    return str(exc).splitlines()[0].rstrip(".") if str(exc) else type(exc).__name__


@dataclass(frozen=True, slots=True)
class JsonReader:
    records_path: str
    """Dotted path of the records array (``""``: the top-level array, or a top-level object as one record)."""

    def read(self, stream: BinaryIO, *, source_name: str = "<stream>") -> Iterator[ReadItem]:
        source = _CountingReader(stream)
        first = source.first_significant_byte()
        found: list[bool] = []
        if not first:
            raise UnreadableFileError("empty JSON document", file=source_name)
        if self.records_path:
            items = ijson.items(
                self._watch(ijson.parse(source, use_float=True), found), self.records_path + ".item"
            )
        elif first == b"[":
            items = ijson.items(source, "item", use_float=True)
        elif first == b"{":
            items = ijson.items(source, "", use_float=True)
        else:
            raise UnreadableFileError(
                "top-level JSON value is neither an array nor an object", file=source_name
            )
        try:
            for number, item in enumerate(items, start=1):
                if isinstance(item, dict):
                    yield SourceRecord(number=number, data=item, source=source_name)
                else:
                    yield SkippableRecordError("record is not a JSON object", file=source_name, record=number)
        except ijson.JSONError as exc:
            raise UnreadableFileError(
                f"malformed JSON ({_safe_reason(exc)}) at or before line {source.newlines + 1}",
                file=source_name,
            ) from None
        if self.records_path and not found:
            raise UnreadableFileError(f"no array at records_path {self.records_path!r}", file=source_name)

    def _watch(
        self, events: Iterator[tuple[str, str, Any]], found: list[bool]
    ) -> Iterator[tuple[str, str, Any]]:
        """Pass parse events through, noting whether the records array was met (an absent path is an
        error, not an empty file)."""
        path = self.records_path
        for event in events:
            if event[1] == "start_array" and event[0] == path:
                found.append(True)
            yield event


@dataclass(frozen=True, slots=True)
class NdjsonReader:
    """One JSON object per line; blank lines ignored; a bad line is skipped with its line number."""

    def read(self, stream: BinaryIO, *, source_name: str = "<stream>") -> Iterator[ReadItem]:
        number = 0
        for line_number, raw in enumerate(stream, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if line_number == 1 else raw
            if not line.strip():
                continue
            number += 1
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield SkippableRecordError(
                    f"invalid JSON ({exc.msg}, column {exc.colno})",
                    file=source_name,
                    record=number,
                    line=line_number,
                )
                continue
            except UnicodeDecodeError:
                yield SkippableRecordError(
                    "line is not valid UTF-8", file=source_name, record=number, line=line_number
                )
                continue
            if not isinstance(item, dict):
                yield SkippableRecordError(
                    "line is not a JSON object", file=source_name, record=number, line=line_number
                )
                continue
            yield SourceRecord(number=number, data=item, line=line_number, source=source_name)
