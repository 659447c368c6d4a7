"""Who a Bundle is about: the personal identifiers of each person, as keyed pseudonyms.

One audit row is written per (exchange, person, receiver). Persons are the Bundle's Person resources,
each with its own identifiers plus the foyer's (Household identifiers concern every member) plus those of
the resources that reference it (an Accompaniment's parcours number). Personal identifiers of resources
that reference no Person of the Bundle (``Registration.person.identifier`` alone) form one more subject.
Names are never used: identifiers only, plus the birth date combined
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
        """Every pseudonym of the person: each identifier's, and each combined with the birth date."""
        plain, dated = self.pseudonym_sets(pseudonymiser)
        return sorted(plain | dated)

    def pseudonym_sets(self, pseudonymiser: KeyedPseudonymiser) -> tuple[set[str], set[str]]:
        """(identifier pseudonyms, identifier + birth date pseudonyms). Only the first set is indexed:
        a search always names an identifier, and the second set only confirms a row it found."""
        plain = {pseudonymiser.pseudonym(system, value) for system, value in self.identifiers}
        dated: set[str] = set()
        if self.birth_date:
            dated = {
                pseudonymiser.with_birth_date(system, value, self.birth_date)
                for system, value in self.identifiers
            }
        return plain, dated


def personal_identifiers(node: Any) -> list[Identifier]:
    """Every personal identifier anywhere in a resource (own identifiers and those inside references)."""
    found: list[Identifier] = []
    _collect(node, found, None)
    return found


def _collect(node: Any, found: list[Identifier], references: list[str] | None) -> None:
    """Personal identifiers under ``node``, and (when ``references`` is given) its ``Person/…`` references."""
    # Runs on every record: exact type tests first (JSON gives dicts and lists), ABCs only as a fallback.
    if type(node) is dict or isinstance(node, Mapping):
        system, value = node.get("system"), node.get("value")
        if isinstance(system, str) and isinstance(value, str) and is_personal(system):
            found.append((system, value))
        if references is not None:
            reference = node.get("reference")
            if isinstance(reference, str) and reference.startswith("Person/"):
                references.append(reference)
        children: Any = node.values()
    elif type(node) is list:
        children = node
    else:
        return
    for child in children:
        kind = type(child)
        if kind is dict or kind is list or (kind is not str and isinstance(child, Mapping)):
            _collect(child, found, references)


def subjects_of(bundle: Mapping[str, Any]) -> list[Subject]:
    """One Subject per Person of the Bundle; personal identifiers of other resources go to the Person
    they reference (a PLIE parcours number belongs to its participant), or else form one more subject."""
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
    owned = [set(personal_identifiers(person.get("identifier"))) for person in persons]
    known: set[Identifier] = set(foyer).union(*owned)
    by_reference = {f"Person/{person.get('id')}": index for index, person in enumerate(persons)}
    others: set[Identifier] = set()
    for resource in resources:
        if resource.get("resourceType") in ("Person", "Household"):
            continue
        found: list[Identifier] = []
        references: list[str] = []
        _collect(resource, found, references)
        unknown = set(found) - known
        owners = {by_reference[ref] for ref in references if ref in by_reference}
        for owner in owners:
            owned[owner] |= unknown
        if not owners:
            others |= unknown
    subjects = []
    for person, identifiers in zip(persons, owned, strict=True):
        birth = person.get("birthDate")
        subjects.append(Subject(frozenset(identifiers | foyer), birth if isinstance(birth, str) else None))
    if others and not persons:
        subjects.append(Subject(frozenset(others | foyer)))
    elif others:
        subjects.append(Subject(frozenset(others)))
    if not subjects and foyer:
        subjects.append(Subject(frozenset(foyer)))
    return subjects or [Subject(frozenset())]
