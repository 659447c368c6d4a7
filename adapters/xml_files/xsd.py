"""XSD validation before streaming, in constant memory when the file is valid.

Pass 1 streams the document through libxml2's schema validator (``iterparse(schema=...)``), clearing
elements as it goes. libxml2 gives no line in that mode, so when the file is invalid and not larger than
:data:`LOCATE_MAX_BYTES`, pass 2 parses it as a tree and validates again to name the line of the first
error. Records are only read once the document is known valid.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from lxml import etree

from adapters.xml_files.hardening import (
    PARSER_OPTIONS,
    LimitedStream,
    refuse_entity_declarations,
    safe_message,
)
from gateway.errors import ConfigurationError, UnreadableFileError

LOCATE_MAX_BYTES = 64 * 1024 * 1024


def load_schema(path: str) -> etree.XMLSchema:
    """Compile the XSD at ``path`` (cached by path and modification time)."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        raise ConfigurationError(f"xml codec: option 'xsd': file not found: {path}") from None
    return _compile(str(Path(path).resolve()), stamp)


@lru_cache(maxsize=32)
def _compile(path: str, _stamp: int) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.XMLSchema(etree.parse(path, parser))
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ConfigurationError(
            f"xml codec: option 'xsd': not a usable XSD ({safe_message(str(exc))})", file=path
        ) from None


def validate(
    stream: IO[bytes], schema: etree.XMLSchema, *, xsd_name: str, max_bytes: int, source: str
) -> None:
    """Raise :class:`UnreadableFileError` unless the document is valid; leaves ``stream`` consumed."""
    start = stream.tell()
    checked = False
    try:
        for event, element in etree.iterparse(
            LimitedStream(stream, max_bytes, source),
            events=("start", "end"),
            schema=schema,
            **PARSER_OPTIONS,
        ):
            if not checked:
                refuse_entity_declarations(element, source)
                checked = True
            if event == "end":
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if exc.lineno:  # not well-formed: libxml2 knows where
            raise UnreadableFileError(safe_message(exc.msg), file=source, line=exc.lineno) from None
        line, message, more = _locate(stream, start, schema, max_bytes, source, fallback=exc.msg)
        suffix = f" ({more} more error(s))" if more else ""
        raise UnreadableFileError(
            f"not valid against {xsd_name}: {safe_message(message)}{suffix}", file=source, line=line
        ) from None


def _locate(
    stream: IO[bytes], start: int, schema: etree.XMLSchema, max_bytes: int, source: str, *, fallback: str
) -> tuple[int | None, str, int]:
    size = stream.tell() - start
    if size > min(max_bytes, LOCATE_MAX_BYTES):
        return None, fallback, 0
    stream.seek(start)
    parser = etree.XMLParser(**PARSER_OPTIONS)
    tree = etree.parse(stream, parser)
    if schema.validate(tree):
        return None, fallback, 0
    errors: list[Any] = [*schema.error_log]  # type: ignore[misc]
    return errors[0].line or None, errors[0].message, len(errors) - 1
