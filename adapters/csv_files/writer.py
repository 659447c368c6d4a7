"""CSV writer: header row, minimal quoting, multi-values joined, one encoded row at a time."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from adapters.common.tabular import TabularSettings
from adapters.common.text import check_encodable
from gateway.errors import SkippableRecordError


@dataclass(frozen=True, slots=True)
class CsvWriter:
    delimiter: str
    encoding: str
    quotechar: str
    line_terminator: str
    settings: TabularSettings

    def write(self, records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
        """Write a header row then one row per record; raise :class:`SkippableRecordError` (naming the
        record and field) for a record that cannot be written, before writing any byte of it."""
        buffer = io.StringIO()
        rows = csv.writer(
            buffer,
            delimiter=self.delimiter,
            quotechar=self.quotechar,
            lineterminator=self.line_terminator,
            quoting=csv.QUOTE_MINIMAL,
        )
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        if self.encoding == "utf-8-sig":
            stream.write(codecs.BOM_UTF8)
        header: Sequence[str] | None = self.settings.columns
        header_written = False
        count = 0
        for header, number, record in self.settings.rows_to_write(records):
            cells = [self._cell(name, record.get(name), number) for name in header]
            if not header_written:
                self._emit(rows, buffer, list(header), encoding, stream, header, 0)
                header_written = True
            self._emit(rows, buffer, cells, encoding, stream, header, number)
            count += 1
        if not header_written and header is not None:
            self._emit(rows, buffer, list(header), encoding, stream, header, 0)
        return count

    def _cell(self, name: str, value: Any, number: int) -> str:
        value = self.settings.write_value(name, value, record=number)
        if isinstance(value, str):
            return value
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return str(value)
        raise SkippableRecordError(
            f"value of type {type(value).__name__} cannot be written to CSV", record=number, field=name
        )

    @staticmethod
    def _emit(
        rows: Any,
        buffer: io.StringIO,
        cells: list[str],
        encoding: str,
        stream: BinaryIO,
        header: Sequence[str],
        number: int,
    ) -> None:
        rows.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            field = next(
                (h for h, c in zip(header, cells, strict=True) if not check_encodable(c, encoding)), None
            )
            raise SkippableRecordError(
                f"character not representable in {encoding}", record=number or None, field=field
            ) from None
        stream.write(data)
