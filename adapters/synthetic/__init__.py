"""Synthetic partner files for tests and benchmarks: fake identities, real layouts, streamed.

``generate(fmt, records, stream, seed=0, **options)`` writes ``records`` records of format ``fmt`` to a
binary stream and returns how many it wrote. Generation is deterministic for a seed (``random.Random``)
and streams record by record, so a million records never sit in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from adapters.synthetic import caf, departement, dsn, france_travail, plie

Generator = Callable[..., int]

FORMATS: dict[str, Generator] = {
    "caf-vrsb0801": caf.write_xml,
    "france-travail-csv": france_travail.write_csv,
    "plie-csv": plie.write_csv,
    "plie-json": plie.write_json,
    "dsn": dsn.write_dsn,
    "departement-csv": departement.write_csv,
}
"""Format name -> writer ``(records, stream, seed, **options) -> int``."""


def formats() -> list[str]:
    return sorted(FORMATS)


def generate(fmt: str, records: int, stream: BinaryIO, seed: int = 0, **options: Any) -> int:
    """Write ``records`` synthetic records of ``fmt`` to ``stream``; return the number written."""
    try:
        writer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown synthetic format {fmt!r} (known: {', '.join(formats())})") from None
    if records < 0:
        raise ValueError("records must be >= 0")
    return writer(records, stream, seed, **options)
