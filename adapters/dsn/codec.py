"""The ``dsn`` codec: options checked here, reading and writing in :mod:`.reader` / :mod:`.writer`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.common.options import Options
from adapters.common.text import ENCODINGS, WRITE_ENCODINGS
from adapters.dsn.reader import ACCEPT, SKIP, DsnReader
from adapters.dsn.writer import DsnWriter

READ_OPTIONS = {"encoding", "on_format_error", "on_unknown_rubric", "require_footer"}
DEFAULT_ENCODING = "iso-8859-1"


class DsnCodec:
    """DSN (NEODeS) files. See ``adapters/dsn/README.md`` for the record layout."""

    name = "dsn"

    def reader(self, options: Mapping[str, Any]) -> DsnReader:
        opts = Options(options, codec=self.name, known=READ_OPTIONS)
        return DsnReader(
            encoding=opts.string("encoding", DEFAULT_ENCODING, choices=ENCODINGS),
            on_format_error=opts.string("on_format_error", SKIP, choices={SKIP, ACCEPT}),
            on_unknown_rubric=opts.string("on_unknown_rubric", ACCEPT, choices={SKIP, ACCEPT}),
            require_footer=opts.boolean("require_footer", True),
        )

    def writer(self, options: Mapping[str, Any]) -> DsnWriter:
        opts = Options(options, codec=self.name, known={"encoding"})
        return DsnWriter(encoding=opts.string("encoding", DEFAULT_ENCODING, choices=WRITE_ENCODINGS))
