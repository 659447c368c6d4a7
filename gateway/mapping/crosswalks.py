"""Code crosswalks: CSV tables ``source_code,canonical_code[,system,display]``, many-to-many.

Like data·inclusion's ``_map_*`` seeds: data, not code. One source code may have several rows (it then
maps to several canonical codes); reversing takes the first row, in file order, for a canonical code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigurationError

REQUIRED_COLUMNS = ("source_code", "canonical_code")
OPTIONAL_COLUMNS = ("system", "display")


@dataclass(frozen=True, slots=True)
class CrosswalkTarget:
    code: str
    system: str | None = None
    display: str | None = None


@dataclass(frozen=True)
class Crosswalk:
    name: str
    path: Path
    forward: dict[str, tuple[CrosswalkTarget, ...]]
    backward: dict[str, str]

    def lookup(self, source_code: str) -> tuple[CrosswalkTarget, ...]:
        return self.forward.get(source_code, ())

    def reverse_lookup(self, canonical_code: str) -> str | None:
        return self.backward.get(canonical_code)


def load_crosswalk(name: str, path: Path) -> Crosswalk:
    """Read a crosswalk CSV; ConfigurationError with the CSV file and line on a bad header or row."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigurationError(f"crosswalk {name!r} cannot be read: {exc.strerror}", file=where) from exc
    reader = csv.DictReader(text.splitlines())
    header = tuple(reader.fieldnames or ())
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise ConfigurationError(
            f"crosswalk header must be source_code,canonical_code[,system,display] "
            f"(missing: {missing or '-'}, unknown: {unknown or '-'})",
            file=where,
            line=1,
        )
    forward: dict[str, list[CrosswalkTarget]] = {}
    backward: dict[str, str] = {}
    for row in reader:
        line = reader.line_num
        source = (row.get("source_code") or "").strip()
        canonical = (row.get("canonical_code") or "").strip()
        if not source or not canonical:
            raise ConfigurationError(
                "source_code and canonical_code must not be empty", file=where, line=line
            )
        target = CrosswalkTarget(
            canonical, (row.get("system") or "").strip() or None, (row.get("display") or "").strip() or None
        )
        if target in forward.get(source, ()):
            raise ConfigurationError(f"duplicate row {source!r} → {canonical!r}", file=where, line=line)
        forward.setdefault(source, []).append(target)
        backward.setdefault(canonical, source)
    return Crosswalk(name, path, {k: tuple(v) for k, v in forward.items()}, backward)
