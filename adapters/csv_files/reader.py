"""Streaming CSV reader: one :class:`SourceRecord` per data row, keyed by canonical header names."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from adapters.common.tabular import TabularSettings
from adapters.common.text import decoded_lines
from adapters.csv_files.sniff import peek_lines, sniff_delimiter
from gateway.codecs import ReadItem, SourceRecord
from gateway.errors import SkippableRecordError, UnreadableFileError

if TYPE_CHECKING:
    from _csv import Reader as CsvRows


@dataclass(frozen=True, slots=True)
class CsvReader:
    delimiter: str | None
    """``None``: sniffed from the first kilobyte."""
    encoding: str
    quotechar: str
    settings: TabularSettings
    pad_short_rows: bool = False
    """``short_rows: pad``: a row with fewer cells than the header gets None for the missing last cells."""

    def read(self, stream: BinaryIO, *, source_name: str = "<stream>") -> Iterator[ReadItem]:
        lines = decoded_lines(stream, self.encoding, source=source_name)
        delimiter = self.delimiter
        if delimiter is None:
            head, lines = peek_lines(lines)
            delimiter = sniff_delimiter("".join(head))
        rows = csv.reader(lines, delimiter=delimiter, quotechar=self.quotechar, strict=True)
        try:
            header_row = next(rows)
        except StopIteration:
            raise UnreadableFileError("empty file: no header row", file=source_name, line=1) from None
        except csv.Error as exc:
            raise UnreadableFileError(f"malformed header row ({exc})", file=source_name, line=1) from None
        headers = self.settings.canonical_headers(header_row, source=source_name, line=1)
        yield from self._records(rows, headers, source_name)

    def _records(self, rows: CsvRows, headers: list[str | None], source_name: str) -> Iterator[ReadItem]:
        number = 0
        last_line = rows.line_num
        while True:
            start = last_line + 1
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                last_line = rows.line_num
                yield SkippableRecordError(
                    f"malformed CSV row ({exc})", file=source_name, record=number, line=start
                )
                continue
            last_line = rows.line_num
            if not row:
                continue  # blank line
            number += 1
            cells: list[str | None] = list(row)
            if len(cells) < len(headers) and self.pad_short_rows:
                cells.extend([None] * (len(headers) - len(cells)))
            if len(cells) != len(headers):
                yield SkippableRecordError(
                    f"row has {len(row)} columns, header has {len(headers)}",
                    file=source_name,
                    record=number,
                    line=start,
                )
                continue
            data = self.settings.read_row(headers, cells)
            yield SourceRecord(number=number, data=data, line=start, source=source_name)
