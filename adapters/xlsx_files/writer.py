"""XLSX writer (openpyxl write-only mode): one sheet, header row, one row per record.

Text is always written as text, never as a formula, even when it starts with ``=`` (a partner record
must not become executable in the receiver's spreadsheet).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, cast

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.utils.exceptions import IllegalCharacterError

from adapters.common.tabular import TabularSettings
from gateway.errors import SkippableRecordError

CELL_TYPES = (str, int, float, Decimal, bool, dt.date, dt.datetime, dt.time)


@dataclass(frozen=True, slots=True)
class XlsxWriter:
    sheet: str
    settings: TabularSettings

    def write(self, records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
        workbook = Workbook(write_only=True)
        worksheet = workbook.create_sheet(title=self.sheet)
        header: Sequence[str] | None = self.settings.columns
        header_written = False
        count = 0
        for header, number, record in self.settings.rows_to_write(records):
            cells = [self._cell(worksheet, name, record.get(name), number) for name in header]
            if not header_written:
                worksheet.append([self._cell(worksheet, name, name, 0) for name in header])
                header_written = True
            worksheet.append(cells)
            count += 1
        if not header_written and header is not None:
            worksheet.append([self._cell(worksheet, name, name, 0) for name in header])
        workbook.save(stream)
        return count

    def _cell(self, worksheet: Any, name: str, value: Any, number: int) -> Cell:
        if value is None:
            return WriteOnlyCell(worksheet, value=None)
        if isinstance(value, list | tuple):
            value = self.settings.write_value(name, value, record=number)
        if not isinstance(value, CELL_TYPES):
            raise SkippableRecordError(
                f"value of type {type(value).__name__} cannot be written to XLSX", record=number, field=name
            )
        try:
            cell = WriteOnlyCell(worksheet, value=cast(Any, value))
        except IllegalCharacterError:
            raise SkippableRecordError(
                "text holds a control character XLSX cannot store", record=number or None, field=name
            ) from None
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula
        return cell
