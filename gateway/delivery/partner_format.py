"""Adapter giving the renderer what it needs from a compiled mapping (reverse direction + codec writer)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.mapping import CompiledMapping, write_partner

MEDIA_TYPES = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
    "ndjson": ("application/x-ndjson", "ndjson"),
    "xml": ("application/xml", "xml"),
    "dsn": ("text/plain; charset=iso-8859-1", "dsn"),
}


class PartnerFormatAdapter:
    def __init__(self, mapping: CompiledMapping) -> None:
        self.mapping = mapping
        self._codec = mapping.spec.source.codec

    def from_canonical(self, bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.mapping.from_canonical(bundle)

    def write_partner(self, records: Iterable[Mapping[str, Any]], stream: io.BytesIO) -> int:
        return write_partner(records, self.mapping, stream)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self._codec, ("application/octet-stream", "bin"))[0]

    @property
    def file_extension(self) -> str:
        return MEDIA_TYPES.get(self._codec, ("application/octet-stream", "bin"))[1]
