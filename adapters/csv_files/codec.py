"""The ``csv`` codec: options checked here, reading and writing in :mod:`.reader` / :mod:`.writer`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.common.options import Options
from adapters.common.tabular import TABULAR_OPTIONS, TabularSettings
from adapters.common.text import AUTO, ENCODINGS, WRITE_ENCODINGS
from adapters.csv_files.reader import CsvReader
from adapters.csv_files.writer import CsvWriter

DELIMITERS = {";", ",", "\t", "|"}
OPTIONS = TABULAR_OPTIONS | {"delimiter", "encoding", "quotechar", "line_terminator", "short_rows"}
SHORT_ROWS = {"reject", "pad"}


class CsvCodec:
    """Delimited text files. See ``adapters/csv_files/README.md`` for the options."""

    name = "csv"

    def reader(self, options: Mapping[str, Any]) -> CsvReader:
        opts = Options(options, codec=self.name, known=OPTIONS)
        delimiter = opts.string("delimiter", AUTO, choices=DELIMITERS | {AUTO})
        return CsvReader(
            delimiter=None if delimiter == AUTO else delimiter,
            encoding=opts.string("encoding", AUTO, choices=ENCODINGS),
            quotechar=_quotechar(opts),
            settings=TabularSettings.from_options(opts),
            pad_short_rows=opts.string("short_rows", "reject", choices=SHORT_ROWS) == "pad",
        )

    def writer(self, options: Mapping[str, Any]) -> CsvWriter:
        opts = Options(options, codec=self.name, known=OPTIONS)
        opts.string("short_rows", "reject", choices=SHORT_ROWS)  # a reading option: checked, not used
        delimiter = opts.string("delimiter", ";", choices=DELIMITERS | {AUTO})
        return CsvWriter(
            delimiter=";" if delimiter == AUTO else delimiter,
            encoding=opts.string("encoding", "utf-8", choices=WRITE_ENCODINGS),
            quotechar=_quotechar(opts),
            line_terminator=opts.string("line_terminator", "\r\n", choices={"\r\n", "\n"}),
            settings=TabularSettings.from_options(opts),
        )


def _quotechar(opts: Options) -> str:
    quotechar = opts.string("quotechar", '"')
    if len(quotechar) != 1:
        raise opts.error("quotechar", "must be one character")
    return quotechar
