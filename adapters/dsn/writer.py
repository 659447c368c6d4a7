"""DSN writer: rebuilds the line format from records shaped like the reader's output.

Each record to write is ``{"envoi": {...}, "declaration": {...}, "entreprise": {...},
"etablissement": {...}, "individu": {...}}`` where ``individu`` is a reader record's ``data`` and the
four others are the blocks of its ``context``. Consecutive records sharing a declaration, entreprise or
établissement are written under one block; the S90.G00.90 footer is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from adapters.common.text import check_encodable
from adapters.dsn.layout import CONTEXT_CHAIN, FOOTER, INDIVIDU, is_rubric_key
from gateway.errors import SkippableRecordError

RECORD_KEYS = (*CONTEXT_CHAIN.values(), "individu")


def block_lines(block_id: str, block: Mapping[str, Any], *, record: int) -> Iterator[str]:
    """Lines of one block instance: its rubrics in number order, then its child blocks by block id."""
    for key in sorted(k for k in block if is_rubric_key(k)):
        value = block[key]
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise SkippableRecordError(
                "rubric value must be one line of text", record=record, field=f"{block_id}.{key}"
            )
        yield f"{block_id}.{key},'{value}'"
    for key in sorted(k for k in block if not is_rubric_key(k)):
        children = block[key]
        if not isinstance(children, list) or not all(isinstance(child, Mapping) for child in children):
            raise SkippableRecordError("child block must be a list of blocks", record=record, field=key)
        previous_last = None
        for child in children:
            numbers = sorted(k for k in child if is_rubric_key(k))
            if previous_last is not None and numbers and numbers[0] > previous_last:
                # A reader starts a new instance only when rubric numbers stop increasing.
                raise SkippableRecordError(
                    "consecutive blocks cannot be told apart: each must start at or below the previous one's "
                    "last rubric (as .001 does)",
                    record=record,
                    field=key,
                )
            previous_last = numbers[-1] if numbers else previous_last
            yield from block_lines(key, child, record=record)


@dataclass(frozen=True, slots=True)
class DsnWriter:
    encoding: str

    def write(self, records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
        previous: dict[str, Any] = {}
        lines_written = 0
        declarations = 0
        count = 0
        for number, record in enumerate(records, start=1):
            missing = [key for key in RECORD_KEYS if not isinstance(record.get(key), Mapping)]
            if missing:
                raise SkippableRecordError("missing block", record=number, field=missing[0])
            if previous and record["envoi"] != previous["envoi"]:
                raise SkippableRecordError(
                    "one envoi per DSN file: this record has another", record=number, field="envoi"
                )
            lines: list[str] = []
            changed = not previous
            for block_id, name in CONTEXT_CHAIN.items():
                changed = changed or record[name] != previous.get(name)
                if changed and not (name == "envoi" and previous):
                    lines.extend(block_lines(block_id, record[name], record=number))
                    declarations += name == "declaration"
            individu = record["individu"]
            rubrics = individu.get(INDIVIDU, {})
            lines.extend(
                block_lines(
                    INDIVIDU,
                    {**rubrics, **{k: v for k, v in individu.items() if k != INDIVIDU}},
                    record=number,
                )
            )
            stream.write(self._encode(lines, number))
            lines_written += len(lines)
            previous = {name: record[name] for name in CONTEXT_CHAIN.values()}
            count += 1
        if previous:
            footer = [f"{FOOTER}.001,'{lines_written + 2}'", f"{FOOTER}.002,'{declarations}'"]
            stream.write(self._encode(footer, 0))
        return count

    def _encode(self, lines: list[str], number: int) -> bytes:
        try:
            return "".join(line + "\n" for line in lines).encode(self.encoding)
        except UnicodeEncodeError:
            field = next((line[:14] for line in lines if not check_encodable(line, self.encoding)), None)
            raise SkippableRecordError(
                f"character not representable in {self.encoding}", record=number, field=field
            ) from None
