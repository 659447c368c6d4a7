"""The part of the DSN norm this codec checks, loaded from ``blocks.csv`` and ``norm.csv`` beside it.

Source: net-entreprises (GIP-MDS), DSN cahier technique P24V01 and its "dsn-datatypes" workbook
(revision 20231219): block hierarchy for every block; rubric formats (data type, length, pattern, codes)
for the blocks the gateway reads: envoi, émetteur, contact, déclaration, entreprise, établissement,
individu, contrat, fin du contrat. P25V01 did not change these rubrics' formats except where noted in
the README.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class Block:
    id: str
    label: str
    parent: str | None


@dataclass(frozen=True, slots=True)
class Rubric:
    id: str
    label: str
    type: str
    min_length: int
    max_length: int
    pattern: re.Pattern[str] | None
    codes: frozenset[str]

    def violation(self, value: str) -> str | None:
        """The rule ``value`` breaks (never quoting it), or ``None``."""
        if not self.min_length <= len(value) <= self.max_length:
            return f"length {len(value)} outside {self.min_length}-{self.max_length} ({self.type})"
        if self.codes and value not in self.codes:
            return f"not a code of {self.type}"
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"does not match the format of {self.type}"
        return None


@cache
def blocks() -> dict[str, Block]:
    with (HERE / "blocks.csv").open(encoding="utf-8", newline="") as file:
        return {
            row["block"]: Block(row["block"], row["label"], row["parent"] or None)
            for row in csv.DictReader(file, delimiter=";")
        }


@cache
def rubrics() -> dict[str, Rubric]:
    with (HERE / "norm.csv").open(encoding="utf-8", newline="") as file:
        return {
            row["rubric"]: Rubric(
                id=row["rubric"],
                label=row["label"],
                type=row["type"],
                min_length=int(row["min"]),
                max_length=int(row["max"]),
                pattern=re.compile(row["pattern"]) if row["pattern"] else None,
                codes=frozenset(row["codes"].split("|")) if row["codes"] else frozenset(),
            )
            for row in csv.DictReader(file, delimiter=";")
        }


@cache
def checked_blocks() -> frozenset[str]:
    """Blocks whose rubrics are all listed in ``norm.csv`` (a rubric of these not listed is unknown)."""
    return frozenset(rubric_id[:10] for rubric_id in rubrics())
