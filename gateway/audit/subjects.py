"""Who a Bundle is about: the personal identifiers of each person, as keyed pseudonyms.

One audit row is written per (exchange, person, receiver). Persons are the Bundle's Person resources,
each with its own identifiers plus the foyer's (Household identifiers concern every member). Personal
identifiers found only in references (``Registration.person.identifier``) form one more subject when the
Bundle has no Person they belong to. Names are never used: identifiers only, plus the birth date combined
with each identifier (a DPO searches with "NIR + date de naissance").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.audit.pseudonyms import KeyedPseudonymiser
from gateway.model.identifiers import is_personal

Identifier = tuple[str, str]


@dataclass(frozen=True)
class Subject:
    identifiers: frozenset[Identifier]
    birth_date: str | None = None

    def pseudonyms(self, pseudonymiser: KeyedPseudonymiser) -> list[str]:
        keys = {pseudonymiser.pseudonym(system, value) for system, value in self.identifiers}
        if self.birth_date:
            keys |= {
                pseudonymiser.with_birth_date(system, value, self.birth_date)
                for system, value in self.identifiers
            }
        return sorted(keys)


def personal_identifiers(node: Any) -> list[Identifier]:
    """Every personal identifier anywhere in a resource (own identifiers and those inside references)."""
    found: list[Identifier] = []
    _collect_identifiers(node, found)
    return found


def _collect_identifiers(node: Any, found: list[Identifier]) -> None:
    # Runs on every record: exact type tests first (JSON gives dicts and lists), ABCs only as a fallback.
    if type(node) is dict or isinstance(node, Mapping):
        system, value = node.get("system"), node.get("value")
        if isinstance(system, str) and isinstance(value, str) and is_personal(system):
            found.append((system, value))
        children: Any = node.values()
    elif type(node) is list:
        children = node
    else:
        return
    for child in children:
        kind = type(child)
        if kind is dict or kind is list or (kind is not str and isinstance(child, Mapping)):
            _collect_identifiers(child, found)


def subjects_of(bundle: Mapping[str, Any]) -> list[Subject]:
    resources = [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if isinstance(entry, Mapping) and isinstance(entry.get("resource"), Mapping)
    ]
    persons = [r for r in resources if r.get("resourceType") == "Person"]
    foyer = {
        i
        for r in resources
        if r.get("resourceType") == "Household"
        for i in personal_identifiers(r.get("identifier"))
    }
    subjects = []
    known: set[Identifier] = set(foyer)
    for person in persons:
        own = set(personal_identifiers(person.get("identifier")))
        known |= own
        birth = person.get("birthDate")
        subjects.append(Subject(frozenset(own | foyer), birth if isinstance(birth, str) else None))
    others = {
        identifier
        for r in resources
        if r.get("resourceType") not in {"Person", "Household"}
        for identifier in personal_identifiers(r)
    } - known
    if others and not persons:
        subjects.append(Subject(frozenset(others | foyer)))
    elif others:
        subjects.append(Subject(frozenset(others)))
    if not subjects and foyer:
        subjects.append(Subject(frozenset(foyer)))
    return subjects or [Subject(frozenset())]
