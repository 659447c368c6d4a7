"""Decoding a binary stream into text lines, one line at a time, with exact line numbers on errors.

Why not ``io.TextIOWrapper``: it decodes 8 KB chunks ahead of the consumer, so a decoding error cannot be
tied to a physical line. Splitting on ``b"\\n"`` first is safe for the ASCII-compatible encodings accepted
here (UTF-8, Windows-1252, Latin-1); UTF-16 is not supported.
"""

from __future__ import annotations

import codecs
import itertools
from collections.abc import Iterator
from typing import BinaryIO

from gateway.errors import UnreadableFileError

AUTO = "auto"
ENCODINGS = frozenset({"utf-8", "utf-8-sig", "windows-1252", "cp1252", "latin-1", "iso-8859-1", AUTO})
"""Encodings a reader accepts (``auto``: BOM → utf-8-sig, else utf-8 if the first chunk decodes, else
windows-1252)."""
WRITE_ENCODINGS = ENCODINGS - {AUTO}
SNIFF_BYTES = 64 * 1024
"""How much of the input ``auto`` looks at (whole lines, at least this many bytes)."""


def _detect(prefix: bytes) -> str:
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        prefix.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"


def decoded_lines(stream: BinaryIO, encoding: str, *, source: str) -> Iterator[str]:
    """Yield the lines of ``stream`` as text, line endings kept (as csv's ``newline=''`` expects).

    A line that does not decode raises :class:`UnreadableFileError` naming that line; a UTF-8 BOM at the
    start is dropped whatever the encoding.
    """
    raw_lines: Iterator[bytes] = iter(stream)
    if encoding == AUTO:
        head: list[bytes] = []
        size = 0
        for raw in raw_lines:
            head.append(raw)
            size += len(raw)
            if size >= SNIFF_BYTES:
                break
        encoding = _detect(b"".join(head))
        raw_lines = itertools.chain(head, raw_lines)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    for number, raw in enumerate(raw_lines, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8) and codec == "utf-8":
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise UnreadableFileError(
                f"bytes not valid in encoding {encoding} (column {exc.start + 1})", file=source, line=number
            ) from None


def check_encodable(text: str, encoding: str) -> bool:
    """True when ``text`` can be written in ``encoding``."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
