"""Streaming XML reader: one record per ``record_element``, memory flat whatever the file size.

``iterparse`` builds the tree as it reads; each record subtree is converted then cleared, and elements
already read are removed from their parent, so only the current record (and the ancestors' empty
shells) stay in memory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from lxml import etree

from adapters.xml_files.hardening import (
    PARSER_OPTIONS,
    LimitedStream,
    refuse_entity_declarations,
    safe_message,
)
from adapters.xml_files.tree import local_name, record_data
from adapters.xml_files.xsd import validate
from gateway.codecs import ReadItem, SourceRecord
from gateway.errors import UnreadableFileError

SPOOL_IN_MEMORY = 16 * 1024 * 1024
PIECE = 8 * 1024
"""Bytes handed to the parser at a time (see :class:`_Pieces`)."""


@dataclass(frozen=True, slots=True)
class XmlReader:
    record_element: str
    namespace: str | None
    """When set, only elements of this namespace match ``record_element``/``context_elements``."""
    context_elements: frozenset[str]
    force_list: frozenset[str]
    max_bytes: int
    schema: etree.XMLSchema | None
    xsd_name: str | None

    def read(self, stream: BinaryIO, *, source_name: str = "<stream>") -> Iterator[ReadItem]:
        if self.schema is None:
            yield from self._records(stream, source_name)
            return
        with _rewindable(stream, self.max_bytes, source_name) as seekable:
            start = seekable.tell()
            validate(
                seekable,
                self.schema,
                xsd_name=self.xsd_name or "XSD",
                max_bytes=self.max_bytes,
                source=source_name,
            )
            seekable.seek(start)
            yield from self._records(seekable, source_name)

    def _matches(self, tag: Any, names: Collection[str]) -> bool:
        if not isinstance(tag, str):
            return False
        if self.namespace is not None:
            return tag.startswith("{" + self.namespace + "}") and local_name(tag) in names
        return local_name(tag) in names

    def _records(self, stream: IO[bytes], source_name: str) -> Iterator[ReadItem]:
        record_names = (self.record_element,)
        context: dict[str, Any] = {}
        snapshot: dict[str, Any] = {}
        number = 0
        depth = 0  # > 0 inside a record or a context element, whose subtree is kept until its end
        in_record = False
        record_line: int | None = None
        checked = False
        # lxml filters by tag in C: Python sees the root, the records and the context elements, not the
        # ~80 elements of each record (two events each). The root is what ``trim`` frees the rest from.
        limited = LimitedStream(stream, self.max_bytes, source_name)
        head, root_tag = _peek_root(limited)
        space = "*" if self.namespace is None else self.namespace
        tags = [f"{{{space}}}{name}" for name in (self.record_element, *sorted(self.context_elements))]
        root: etree._Element | None = None

        def trim() -> None:
            if not depth and root is not None:  # between records: what is closed is done
                _trim(root)

        events = etree.iterparse(
            _Pieces(limited, trim, head),
            events=("start", "end"),
            tag=tags if root_tag is None else [root_tag, *tags],
            **PARSER_OPTIONS,
        )
        try:
            for event, element in events:
                if root is None:
                    root = element.getroottree().getroot()
                if event == "start":
                    if not checked:
                        refuse_entity_declarations(element, source_name)
                        checked = True
                    if depth:
                        depth += 1
                    elif self._matches(element.tag, record_names):
                        depth, in_record, record_line = 1, True, element.sourceline
                    elif self._matches(element.tag, self.context_elements):
                        depth, in_record = 1, False
                    continue
                if depth:
                    depth -= 1
                    if depth:
                        continue
                    if in_record:
                        number += 1
                        data = record_data(element, self.force_list)
                        yield SourceRecord(
                            number, data, line=record_line, source=source_name, context=snapshot
                        )
                    else:
                        context[local_name(str(element.tag))] = record_data(element, self.force_list)
                        snapshot = dict(context)
                _forget(element)
        except etree.XMLSyntaxError as exc:
            raise UnreadableFileError(
                safe_message(exc.msg), file=source_name, line=exc.lineno or None
            ) from None
        if not checked:  # no event at all (the root was not found early): check the DOCTYPE all the same
            if events.root is None:
                raise UnreadableFileError("no XML element found", file=source_name)
            refuse_entity_declarations(events.root, source_name)


def _forget(element: etree._Element) -> None:
    """Free a processed element and its already-processed previous siblings."""
    element.clear(keep_tail=True)  # type: ignore[call-arg]  # lxml-stubs lag behind lxml 4.4+
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


PEEK_LIMIT = 1024 * 1024
"""Bytes read at most to find the root element's name (past a long prolog, trimming starts at the first
record instead)."""
PEEK_PIECE = 8 * 1024


def _peek_root(stream: LimitedStream) -> tuple[list[bytes], str | None]:
    """The first pieces of ``stream`` (to be parsed again) and the root element's tag, if found in them."""
    parser = etree.XMLPullParser(events=("start",), **PARSER_OPTIONS)
    head: list[bytes] = []
    size = 0
    try:
        while size < PEEK_LIMIT:
            piece = stream.read(PEEK_PIECE)
            if not piece:
                break
            head.append(piece)
            size += len(piece)
            parser.feed(piece)
            for _event, element in parser.read_events():
                if isinstance(element, etree._Element):  # "start" events carry elements
                    return head, str(element.tag)
    except etree.XMLSyntaxError:
        pass  # the real parse reports it, with its line
    return head, None


def _trim(root: etree._Element) -> None:
    """Free every element before the one still open at each level, from the root down.

    Called between pieces while no record is open: the tag filter never shows us the other elements (a
    header, the containers of earlier records, everything in a file whose records are named otherwise),
    so this is what keeps them from piling up."""
    node = root
    while len(node):
        last = node[-1]
        while last.getprevious() is not None:
            del node[0]
        node = last


class _Pieces:
    """Gives the parser its reads in pieces of at most ``PIECE`` bytes.

    iterparse turns a whole read (32 KiB: some fifteen records) into events before the first is consumed,
    each holding an element proxy; so many live objects set off the garbage collector, whose full passes
    over the process heap cost more than the parsing. The stream below is read exactly as before (same
    sizes, so ``max_bytes`` stops at the same place); only the parser is fed smaller pieces.
    """

    def __init__(self, stream: LimitedStream, before_piece: Callable[[], None], head: list[bytes]) -> None:
        self._stream = stream
        self._buffer = b""
        self._offset = 0
        self._before_piece = before_piece
        """Called before each piece: the parser has no event pending then (they were all consumed)."""
        self._head = head[::-1]
        """Pieces already read from ``stream`` (by :func:`_peek_root`), given first."""

    def read(self, size: int = -1) -> bytes:
        self._before_piece()
        if self._head:
            return self._head.pop()
        if self._offset >= len(self._buffer):
            self._buffer, self._offset = self._stream.read(size), 0
        end = len(self._buffer) if size < 0 else self._offset + min(size, PIECE)
        piece = self._buffer[self._offset : end]
        self._offset = end
        return piece


class _rewindable:
    """A seekable view of ``stream``: itself when seekable, else a temporary copy (capped at max_bytes)."""

    def __init__(self, stream: BinaryIO, max_bytes: int, source: str) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._source = source
        self._copy: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if self._stream.seekable():
            return self._stream
        self._copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        shutil.copyfileobj(LimitedStream(self._stream, self._max_bytes, self._source), self._copy)
        self._copy.seek(0)
        return self._copy

    def __exit__(self, *exc_info: object) -> None:
        if self._copy is not None:
            self._copy.close()
