"""Streaming XLSX reader (openpyxl read-only mode): one record per non-empty row below the header."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from typing import IO, Any, BinaryIO, cast

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from adapters.common.tabular import TabularSettings
from adapters.xlsx_files.cells import cell_value
from gateway.codecs import ReadItem, SourceRecord
from gateway.errors import UnreadableFileError

SPOOL_IN_MEMORY = 16 * 1024 * 1024
"""A non-seekable stream is copied to a temporary file (XLSX is a zip: it needs random access); up to
this size the copy stays in memory."""


@dataclass(frozen=True, slots=True)
class XlsxReader:
    sheet: str | int
    """Sheet name, or 0-based index."""
    header_row: int
    """1-based row holding the headers; data starts on the next row."""
    settings: TabularSettings

    def read(self, stream: BinaryIO, *, source_name: str = "<stream>") -> Iterator[ReadItem]:
        with _seekable(stream) as seekable:
            try:
                workbook = openpyxl.load_workbook(seekable, read_only=True, data_only=True)
            except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
                raise UnreadableFileError(
                    f"not a readable XLSX workbook ({type(exc).__name__})", file=source_name
                ) from None
            try:
                yield from self._rows(self._worksheet(workbook, source_name), source_name)
            finally:
                workbook.close()

    def _worksheet(self, workbook: Any, source_name: str) -> ReadOnlyWorksheet:
        names: list[str] = workbook.sheetnames
        if isinstance(self.sheet, int):
            if self.sheet >= len(names):
                raise UnreadableFileError(
                    f"sheet index {self.sheet} absent (workbook has {len(names)} sheet(s))", file=source_name
                )
            name = names[self.sheet]
        elif self.sheet in names:
            name = self.sheet
        else:
            raise UnreadableFileError(
                f"sheet {self.sheet!r} absent (sheets: {', '.join(map(repr, names))})", file=source_name
            )
        worksheet = workbook[name]
        if not isinstance(worksheet, ReadOnlyWorksheet):
            raise UnreadableFileError(f"sheet {name!r} is not a worksheet", file=source_name)
        return worksheet

    def _rows(self, worksheet: ReadOnlyWorksheet, source_name: str) -> Iterator[ReadItem]:
        # openpyxl's stubs type iter_rows for Worksheet only; ReadOnlyWorksheet has the same method.
        rows = cast(Any, worksheet).iter_rows(min_row=self.header_row, values_only=True)
        header_cells = next(rows, None)
        if header_cells is None:
            raise UnreadableFileError("no header row", file=source_name, line=self.header_row)
        headers = self.settings.canonical_headers(
            [None if cell is None else str(cell_value(cell)) for cell in header_cells],
            source=source_name,
            line=self.header_row,
        )
        number = 0
        for row_number, row in enumerate(rows, start=self.header_row + 1):
            if all(cell is None or cell == "" for cell in row):
                continue
            number += 1
            data = {
                header: self.settings.read_value(header, cell_value(cell))
                for header, cell in zip_longest(headers, row[: len(headers)])
                if header is not None
            }
            yield SourceRecord(number=number, data=data, line=row_number, source=source_name)


class _seekable:
    """Context manager giving a seekable binary file for ``stream`` (the stream itself when it is)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._copy: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if self._stream.seekable():
            return self._stream
        self._copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        shutil.copyfileobj(self._stream, self._copy)
        self._copy.seek(0)
        return self._copy

    def __exit__(self, *exc_info: object) -> None:
        if self._copy is not None:
            self._copy.close()
