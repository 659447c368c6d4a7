"""The ``json`` and ``ndjson`` codecs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.common.options import Options
from adapters.json_files.reader import JsonReader, NdjsonReader
from adapters.json_files.writer import JsonWriter, NdjsonWriter

_PATH = re.compile(r"[^.\s]+(\.[^.\s]+)*")


class JsonCodec:
    """A JSON document: an array of records at ``records_path`` (or a single top-level object)."""

    name = "json"

    def reader(self, options: Mapping[str, Any]) -> JsonReader:
        return JsonReader(
            records_path=_records_path(Options(options, codec=self.name, known={"records_path"}))
        )

    def writer(self, options: Mapping[str, Any]) -> JsonWriter:
        opts = Options(options, codec=self.name, known={"records_path", "indent"})
        return JsonWriter(records_path=_records_path(opts), indent=opts.optional_integer("indent", minimum=0))


class NdjsonCodec:
    """Newline-delimited JSON: one object per line."""

    name = "ndjson"

    def reader(self, options: Mapping[str, Any]) -> NdjsonReader:
        Options(options, codec=self.name, known=())
        return NdjsonReader()

    def writer(self, options: Mapping[str, Any]) -> NdjsonWriter:
        Options(options, codec=self.name, known=())
        return NdjsonWriter()


def _records_path(opts: Options) -> str:
    path = opts.string("records_path", "")
    if path and not _PATH.fullmatch(path):
        raise opts.error(
            "records_path", "must be dotted key names, e.g. 'data.items', or '' for the top level"
        )
    return path
