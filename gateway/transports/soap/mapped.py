"""A SOAP response body → canonical Bundles, through a mapping (its codec reads the body XML)."""

from __future__ import annotations

import io
from typing import Any

from gateway.errors import SkippableRecordError
from gateway.mapping import CompiledMapping, translate_stream
from gateway.transports.soap.client import ResponseDocument


def response_bundles(document: ResponseDocument, mapping: CompiledMapping) -> list[dict[str, Any]]:
    """Map every record of the response body; a record the mapping rejects raises its error."""
    bundles: list[dict[str, Any]] = []
    source = f"soap:{document.operation}"
    for outcome in translate_stream(io.BytesIO(document.body), mapping, source_name=source):
        if isinstance(outcome, SkippableRecordError):
            raise outcome
        bundles.append(outcome)
    return bundles
