"""The ``xlsx`` codec: options checked here, reading and writing in :mod:`.reader` / :mod:`.writer`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.common.options import Options
from adapters.common.tabular import TABULAR_OPTIONS, TabularSettings
from adapters.xlsx_files.reader import XlsxReader
from adapters.xlsx_files.writer import XlsxWriter

OPTIONS = TABULAR_OPTIONS | {"sheet", "header_row"}


class XlsxCodec:
    """Excel 2007+ workbooks. See ``adapters/xlsx_files/README.md`` for the options."""

    name = "xlsx"

    def reader(self, options: Mapping[str, Any]) -> XlsxReader:
        opts = Options(options, codec=self.name, known=OPTIONS)
        sheet = options.get("sheet", 0) if options else 0
        if (
            isinstance(sheet, bool)
            or not isinstance(sheet, str | int)
            or (isinstance(sheet, int) and sheet < 0)
        ):
            raise opts.error("sheet", "must be a sheet name or a 0-based index")
        return XlsxReader(
            sheet=sheet,
            header_row=opts.integer("header_row", 1, minimum=1),
            settings=TabularSettings.from_options(opts),
        )

    def writer(self, options: Mapping[str, Any]) -> XlsxWriter:
        opts = Options(options, codec=self.name, known=OPTIONS)
        sheet = opts.string("sheet", "Sheet1")
        if not sheet or len(sheet) > 31 or any(char in sheet for char in "[]:*?/\\"):
            raise opts.error("sheet", "must be a valid Excel sheet name (1-31 characters, none of []:*?/\\)")
        return XlsxWriter(sheet=sheet, settings=TabularSettings.from_options(opts))
