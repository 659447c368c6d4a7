"""Streaming DSN reader: rebuilds the block tree line by line and yields one record per individu.

A block instance starts when the block id changes or when a rubric number does not increase; its
parent is the nearest open instance of the parent block given by the norm. Only the open chain
(envoi → déclaration → entreprise → établissement → individu) is kept in memory.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from adapters.common.text import decoded_lines
from adapters.dsn import norm
from adapters.dsn.layout import (
    CONTEXT_CHAIN,
    ENVOI,
    FOOTER,
    INDIVIDU,
    TYPE_CANCELS,
    TYPE_REPLACES,
    is_rubric_key,
)
from gateway.codecs import ReadItem, SourceRecord
from gateway.errors import SkippableRecordError, UnreadableFileError

LINE = re.compile(r"(S\d{2}\.G\d{2}\.\d{2})\.(\d{3}),'(.*)'")
"""``S21.G00.30.001,'value'``: per the cahier technique the value is everything between the first
apostrophe after the comma and the last one of the line (apostrophes inside are not escaped)."""
SKIP, ACCEPT = "skip", "accept"


@dataclass(slots=True)
class _Open:
    id: str
    line: int
    data: dict[str, Any] = field(default_factory=dict)
    last: str = ""


@dataclass(slots=True)
class _Individu:
    block: _Open
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    rejection: tuple[int, str, str] | None = None  # line, rubric, rule


@dataclass(frozen=True, slots=True)
class DsnReader:
    encoding: str
    on_format_error: str
    on_unknown_rubric: str
    require_footer: bool

    def read(self, stream: BinaryIO, *, source_name: str = "<stream>") -> Iterator[ReadItem]:
        return _Parse(self, source_name).run(stream)


class _Parse:
    """State of one read (kept out of the frozen reader so a reader can be shared)."""

    def __init__(self, reader: DsnReader, source: str) -> None:
        self.reader = reader
        self.source = source
        self.stack: list[_Open] = []
        self.individu: _Individu | None = None
        self.anomalies: list[dict[str, Any]] = []
        self.number = 0
        self.snapshot: dict[str, Any] | None = None
        self.footer_seen = False
        self.rubrics = norm.rubrics()  # looked up on every line: held rather than re-fetched
        self.checked_blocks = norm.checked_blocks()

    def run(self, stream: BinaryIO) -> Iterator[ReadItem]:
        line_number = 0
        for line_number, text in enumerate(
            decoded_lines(stream, self.reader.encoding, source=self.source), 1
        ):
            match = LINE.fullmatch(text.rstrip("\r\n"))
            if match is None:
                if not text.strip():
                    continue  # a blank line
                raise UnreadableFileError(
                    "line is not of the form Sxx.Gxx.xx.xxx,'value'", file=self.source, line=line_number
                )
            block_id, number, value = match.groups()
            top = self.stack[-1] if self.stack else None
            if top is None or top.id != block_id or number <= top.last:
                yield from self._open(block_id, line_number)
                top = self.stack[-1]
            top.data[number] = value
            top.last = number
            self._check(f"{block_id}.{number}", value, line_number)
        yield from self._close_individu()
        if not self.stack:
            raise UnreadableFileError("empty DSN: no envoi block S10.G00.00", file=self.source)
        if self.reader.require_footer and not self.footer_seen:
            raise UnreadableFileError(
                "no S90.G00.90 footer: the file is incomplete", file=self.source, line=line_number + 1
            )

    def _open(self, block_id: str, line: int) -> Iterator[ReadItem]:
        if not self.stack:
            if block_id != ENVOI:
                raise UnreadableFileError(
                    "a DSN starts with the envoi block S10.G00.00", file=self.source, line=line
                )
            self.stack.append(_Open(block_id, line))
            return
        known = norm.blocks().get(block_id)
        if known is None:  # unknown block: kept under the current block, reported as unknown
            parent_index = len(self.stack) - 1
        else:
            if known.parent is None:
                raise UnreadableFileError(
                    f"second {block_id} block: one envoi per file", file=self.source, line=line
                )
            parent_index = next(
                (i for i in range(len(self.stack) - 1, -1, -1) if self.stack[i].id == known.parent), -1
            )
            if parent_index < 0:
                raise UnreadableFileError(
                    f"block {block_id} out of order: its parent block {known.parent} is not open",
                    file=self.source,
                    line=line,
                )
        while len(self.stack) > parent_index + 1:
            closed = self.stack.pop()
            if closed.id == INDIVIDU:
                yield from self._close_individu()
        parent = self.stack[-1]
        block = _Open(block_id, line)
        self.stack.append(block)
        if block_id == FOOTER:
            self.footer_seen = True
        if block_id == INDIVIDU:
            self.individu = _Individu(block)
        elif block_id not in CONTEXT_CHAIN:
            parent.data.setdefault(block_id, []).append(block.data)
            if self.individu is None:
                self.snapshot = None  # the context changed
        else:
            self.snapshot = None
        if known is None:
            self._anomaly(f"{block_id}.000", "unknown block", line, unknown=True)

    def _check(self, rubric_id: str, value: str, line: int) -> None:
        rubric = self.rubrics.get(rubric_id)
        if rubric is None:
            if rubric_id[:10] in self.checked_blocks:
                self._anomaly(rubric_id, "unknown rubric", line, unknown=True)
            return
        rule = rubric.violation(value)
        if rule is not None:
            self._anomaly(rubric_id, rule, line, unknown=False)

    def _anomaly(self, rubric: str, rule: str, line: int, *, unknown: bool) -> None:
        entry = {"line": line, "rubric": rubric, "rule": rule}
        policy = self.reader.on_unknown_rubric if unknown else self.reader.on_format_error
        if self.individu is None:
            self.anomalies.append(entry)  # context blocks cannot be skipped: reported to every record
            self.snapshot = None
        elif policy == SKIP:
            self.individu.rejection = self.individu.rejection or (line, rubric, rule)
        else:
            self.individu.anomalies.append(entry)

    def _close_individu(self) -> Iterator[ReadItem]:
        individu, self.individu = self.individu, None
        if individu is None:
            return
        self.number += 1
        if individu.rejection is not None:
            line, rubric, rule = individu.rejection
            yield SkippableRecordError(rule, file=self.source, record=self.number, line=line, field=rubric)
            return
        block = individu.block.data
        data: dict[str, Any] = {INDIVIDU: {k: v for k, v in block.items() if is_rubric_key(k)}}
        data.update((k, v) for k, v in block.items() if not is_rubric_key(k))
        context = self._context()
        if individu.anomalies:
            context = {**context, "anomalies": [*context["anomalies"], *individu.anomalies]}
        yield SourceRecord(self.number, data, line=individu.block.line, source=self.source, context=context)

    def _context(self) -> dict[str, Any]:
        if self.snapshot is None:
            chain = {CONTEXT_CHAIN[b.id]: b.data for b in self.stack if b.id in CONTEXT_CHAIN}
            snapshot: dict[str, Any] = copy.deepcopy(chain)
            declaration = snapshot.get("declaration", {})
            kind, target = declaration.get("002"), declaration.get("006")
            snapshot["norm_version"] = snapshot.get("envoi", {}).get("006")
            snapshot["replaces"] = target if kind in TYPE_REPLACES else None
            snapshot["cancels"] = target if kind in TYPE_CANCELS else None
            snapshot["anomalies"] = list(self.anomalies)
            self.snapshot = snapshot
        return self.snapshot
