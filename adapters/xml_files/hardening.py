"""Safe XML parsing: no entity expansion, no DTD or network access, a size cap, and error messages that
never echo document values.

libxml2 messages can quote the text that broke a rule (``The value '1850575...' is not accepted``) and
well-formedness messages can list the raw bytes; :func:`safe_message` keeps the rule, the element and
the schema facet, and masks the rest.
"""

from __future__ import annotations

import re
from typing import IO, Any

from lxml import etree

from gateway.errors import UnreadableFileError

PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
"""Keyword arguments for ``etree.iterparse`` and ``etree.XMLParser``."""

_QUOTED = re.compile(r"(\w*)\s*'([^']*)'")
_KEEP_AFTER = {"element", "attribute", "facet", "type", "pattern", "tag"}


def safe_message(message: str) -> str:
    """First line of a libxml2 message, quoted values masked except names of elements, attributes,
    facets, types and patterns (schema vocabulary, not data)."""
    first_line = message.strip().splitlines()[0] if message.strip() else "XML error"

    def mask(match: re.Match[str]) -> str:
        word = match.group(1)
        if word.lower() in _KEEP_AFTER:
            return match.group(0)
        return f"{word} '…'" if word else "'…'"

    return _QUOTED.sub(mask, first_line)


class LimitedStream:
    """Read-only wrapper that refuses to read past ``max_bytes`` (raised through lxml unchanged)."""

    def __init__(self, stream: IO[bytes], max_bytes: int, source: str) -> None:
        self._stream = stream
        self._left = max_bytes
        self._max = max_bytes
        self._source = source

    def read(self, size: int = -1) -> bytes:
        wanted = self._left + 1 if size < 0 else min(size, self._left + 1)
        data = self._stream.read(wanted)
        self._left -= len(data)
        if self._left < 0:
            raise UnreadableFileError(f"file larger than max_bytes ({self._max})", file=self._source)
        return data


def refuse_entity_declarations(element: etree._Element, source: str) -> None:
    """Refuse a DOCTYPE that declares entities or names an external subset (XXE, billion laughs)."""
    docinfo = element.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
        raise UnreadableFileError(
            "DOCTYPE declares entities (refused: entity expansion)", file=source, line=1
        )
    if docinfo.system_url or docinfo.public_id:  # type: ignore[attr-defined]
        raise UnreadableFileError("DOCTYPE names an external DTD (refused)", file=source, line=1)
