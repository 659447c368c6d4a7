"""Population rules: which persons a flow may carry. A small closed set of kinds, each a pure function.

Rules see the whole Bundle as received (before projection): a rule may need a resource the receiver does
not get (the PLIE's Accompaniment proves the person is one it accompanies). Person rules (``age_between``,
``has_identifier``, ``resident_of``) hold only if the Bundle has Persons and **every** Person meets them;
a Bundle without a Person never meets them (deny by default).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from gateway.model.identifiers import SIRET
from gateway.policy.model import Flow, PopulationRule, legal_date
from gateway.policy.projection import MAPPINGS

Resource = Mapping[str, Any]
RuleCheck = Callable[[PopulationRule, Flow, list[Resource], dt.datetime], bool]


def resources_of(bundle: Mapping[str, Any]) -> list[Resource]:
    entries = bundle.get("entry") or []
    return [entry["resource"] for entry in entries if isinstance(entry, MAPPINGS) and "resource" in entry]


def _of_type(resources: list[Resource], *types: str) -> Iterator[Resource]:
    return (resource for resource in resources if resource.get("resourceType") in types)


def _persons(resources: list[Resource]) -> list[Resource]:
    return list(_of_type(resources, "Person"))


def _accompanied_by_sender(
    rule: PopulationRule, flow: Flow, resources: list[Resource], at: dt.datetime
) -> bool:
    """An Accompaniment (``organization``) or Orientation (``referentOrganization``) names the sender."""
    sender = flow.convention.parties[flow.sender]
    organisations = {
        f"Organization/{resource.get('id')}": resource for resource in _of_type(resources, "Organization")
    }
    for resource in _of_type(resources, "Accompaniment", "Orientation"):
        key = "organization" if resource["resourceType"] == "Accompaniment" else "referentOrganization"
        reference = resource.get(key)
        if isinstance(reference, MAPPINGS) and _names_party(
            reference, organisations, sender.siret, sender.id
        ):
            return True
    return False


def _names_party(
    reference: Mapping[str, Any], organisations: Mapping[str, Resource], siret: str, party: str
) -> bool:
    if _has_siret(reference.get("identifier"), siret):
        return True
    target = reference.get("reference")
    if target == f"Organization/{party}":
        return True
    organisation = organisations.get(str(target))
    return organisation is not None and _has_siret(organisation.get("identifier"), siret)


def _has_siret(identifiers: Any, siret: str) -> bool:
    elements = identifiers if isinstance(identifiers, list) else [identifiers]
    return any(
        isinstance(element, MAPPINGS) and element.get("system") == SIRET and element.get("value") == siret
        for element in elements
    )


def departement_of(address: Mapping[str, Any]) -> str | None:
    """Département code from an address: INSEE commune code first, else the postal code."""
    insee = address.get("inseeCode")
    if isinstance(insee, str) and len(insee) == 5:
        return insee[:3] if insee.startswith("97") else insee[:2]
    postal = address.get("postalCode")
    if isinstance(postal, str) and len(postal) == 5 and postal.isdigit():
        if postal.startswith("97"):
            return postal[:3]
        if postal.startswith("20"):  # Corsica: 200xx-201xx Corse-du-Sud, 202xx-206xx Haute-Corse
            return "2A" if postal[2] in "01" else "2B"
        return postal[:2]
    return None


def _addresses(value: Any) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, MAPPINGS)]


def _resident_of(rule: PopulationRule, flow: Flow, resources: list[Resource], at: dt.datetime) -> bool:
    wanted = set(rule.params["departements"])
    household_addresses = [
        address
        for household in _of_type(resources, "Household")
        for address in _addresses(household.get("address"))
    ]
    persons = _persons(resources)
    if not persons:
        return False
    for person in persons:
        addresses = _addresses(person.get("address")) or household_addresses
        if not any(departement_of(address) in wanted for address in addresses):
            return False
    return True


def _rsa_rights_and_duties(
    rule: PopulationRule, flow: Flow, resources: list[Resource], at: dt.datetime
) -> bool:
    for right in _of_type(resources, "BenefitRight"):
        benefit = right.get("benefit")
        code = benefit.get("code") if isinstance(benefit, MAPPINGS) else None
        if code == "rsa" and right.get("rightsAndDuties") is True:
            return True
    return False


def age_on(birth_date: str, day: dt.date) -> int | None:
    try:
        born = dt.date.fromisoformat(birth_date)
    except ValueError:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _age_between(rule: PopulationRule, flow: Flow, resources: list[Resource], at: dt.datetime) -> bool:
    low, high = rule.params.get("min"), rule.params.get("max")
    persons = _persons(resources)
    if not persons:
        return False
    day = legal_date(at)
    for person in persons:
        birth = person.get("birthDate")
        age = age_on(birth, day) if isinstance(birth, str) else None
        if age is None or (low is not None and age < low) or (high is not None and age > high):
            return False
    return True


def _has_identifier(rule: PopulationRule, flow: Flow, resources: list[Resource], at: dt.datetime) -> bool:
    system = rule.params["system"]
    persons = _persons(resources)
    return bool(persons) and all(
        any(
            isinstance(i, MAPPINGS) and i.get("system") == system and i.get("value")
            for i in p.get("identifier") or []
        )
        for p in persons
    )


RULE_KINDS: Mapping[str, RuleCheck] = {
    "accompanied_by_sender": _accompanied_by_sender,
    "resident_of": _resident_of,
    "rsa_rights_and_duties": _rsa_rights_and_duties,
    "age_between": _age_between,
    "has_identifier": _has_identifier,
}


def failed_rules(flow: Flow, bundle: Mapping[str, Any], at: dt.datetime) -> list[PopulationRule]:
    resources = resources_of(bundle)
    return [rule for rule in flow.population if not RULE_KINDS[rule.kind](rule, flow, resources, at)]
