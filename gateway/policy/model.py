"""Compiled conventions: what the loader produces and the enforcement functions read.

A ``Convention`` owns its ``Flow``s; each flow points back at its convention (status, validity, settings
and retention are convention-wide). Everything is read-only after loading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from gateway.policy.paths import CompiledAllowlist
from gateway.policy.purposes import Purpose

Status = Literal["draft", "active", "suspended", "revoked", "expired"]
STATUSES: tuple[Status, ...] = ("draft", "active", "suspended", "revoked", "expired")
SENSITIVE_CATEGORIES = ("health", "disability", "social-difficulty", "justice")
RETENTION_CATEGORIES = ("justice", "health", "disability", "social-difficulty", "nir", "default")
"""Most sensitive first: the audit row of a decision takes the first category present in it."""
LEGAL_TIME_ZONE = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    siret: str
    type: str
    role: str
    dpo_email: str
    dpo_name: str | None = None


@dataclass(frozen=True)
class LegalBasis:
    id: str
    article: str
    title: str
    url: str | None
    sensitive_categories: frozenset[str]


@dataclass(frozen=True)
class PopulationRule:
    id: str
    kind: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class ExpectedVolume:
    records: int
    per: str


@dataclass(eq=False)
class Convention:
    id: str
    version: str
    title: str
    status: Status
    valid_from: dt.date
    valid_to: dt.date | None
    parties: Mapping[str, Party]
    legal_basis: tuple[LegalBasis, ...]
    purposes: Mapping[str, Purpose]
    on_uncovered_field: Literal["strip", "refuse"]
    retention_days: Mapping[str, int]
    source_file: Path
    digest: str
    content: Mapping[str, Any]
    flows: tuple[Flow, ...] = ()
    description: str | None = None

    def in_validity(self, at: dt.datetime) -> bool:
        day = legal_date(at)
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def blocking_rule(self, at: dt.datetime) -> str | None:
        """The rule id that stops this convention from running at ``at``, or ``None`` if it may run."""
        if self.status != "active":
            return f"conv:{self.id}:status:{self.status}"
        if not self.in_validity(at):
            return f"conv:{self.id}:validity"
        return None

    def retention_for(self, category: str) -> int:
        return self.retention_days.get(category, self.retention_days["default"])


@dataclass(frozen=True)
class Flow:
    id: str
    convention: Convention = field(compare=False, repr=False)
    sender: str
    receiver: str
    purpose: str
    resource_types: frozenset[str]
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    nir_allowed: bool
    sensitive_categories_allowed: frozenset[str]
    population: tuple[PopulationRule, ...]
    matching_keys: tuple[str, ...]
    pseudonymise: frozenset[str]
    endpoint: str | None
    expected_volume: ExpectedVolume | None
    allowlist: CompiledAllowlist = field(compare=False, repr=False)
    description: str | None = None
    ordered: bool = False
    """``ordering: per-person``: the receiver gets each person's items in the order they were produced
    (a later item waits until the earlier one is delivered or dead-lettered)."""

    @property
    def rule_prefix(self) -> str:
        return f"conv:{self.convention.id}:flow:{self.id}"

    @property
    def key(self) -> str:
        return f"{self.convention.id}@{self.convention.version}/{self.id}"

    @property
    def pseudonym_context(self) -> str:
        """Domain of the receiver's pseudonyms: stable per convention and receiver, nowhere else."""
        return f"egress|{self.convention.id}|{self.receiver}"

    def blocking_rule(self, at: dt.datetime) -> str | None:
        rule = self.convention.blocking_rule(at)
        if rule is None and self.purpose not in self.convention.purposes:
            rule = f"{self.rule_prefix}:purpose"
        return rule


def legal_date(at: dt.datetime) -> dt.date:
    """Calendar date of ``at`` in France (validity dates of agreements are French calendar days)."""
    if at.tzinfo is None:
        raise ValueError("policy decisions need an aware datetime")
    return at.astimezone(LEGAL_TIME_ZONE).date()
