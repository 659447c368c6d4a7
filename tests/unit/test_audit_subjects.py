"""Who an audit row is about: persons of the Bundle, with the identifiers of what references them."""

from __future__ import annotations

from typing import Any

from gateway.audit.subjects import subjects_of

PLIE = "urn:fr:plie:78451209300013:participant"
PARCOURS = "urn:fr:plie:parcours"
FT = "urn:fr:francetravail:identifiant"
CAF = "urn:fr:cnaf:matricule"


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


def _person(pid: str, *identifiers: tuple[str, str], birth: str | None = None) -> dict[str, Any]:
    person: dict[str, Any] = {"resourceType": "Person", "id": pid}
    person["identifier"] = [{"system": s, "value": v} for s, v in identifiers]
    if birth:
        person["birthDate"] = birth
    return person


def test_an_accompaniment_s_parcours_number_belongs_to_the_person_it_references() -> None:
    bundle = _bundle(
        _person("p1", (PLIE, "P1"), (FT, "1234567A"), birth="1980-01-02"),
        {
            "resourceType": "Accompaniment",
            "id": "a1",
            "identifier": [{"system": PARCOURS, "value": "P1-1"}],
            "person": {"reference": "Person/p1"},
        },
    )
    (subject,) = subjects_of(bundle)
    assert subject.identifiers == {(PLIE, "P1"), (FT, "1234567A"), (PARCOURS, "P1-1")}
    assert subject.birth_date == "1980-01-02"


def test_each_person_gets_what_references_it_and_the_foyer() -> None:
    bundle = _bundle(
        _person("p1", (FT, "1111111A")),
        _person("p2", (FT, "2222222B")),
        {"resourceType": "Household", "id": "h", "identifier": [{"system": CAF, "value": "0000001"}]},
        {
            "resourceType": "Accompaniment",
            "id": "a2",
            "identifier": [{"system": PARCOURS, "value": "X-2"}],
            "person": {"reference": "Person/p2"},
        },
    )
    first, second = subjects_of(bundle)
    assert first.identifiers == {(FT, "1111111A"), (CAF, "0000001")}
    assert second.identifiers == {(FT, "2222222B"), (CAF, "0000001"), (PARCOURS, "X-2")}


def test_identifiers_of_resources_referencing_no_person_of_the_bundle_form_one_more_subject() -> None:
    bundle = _bundle(
        _person("p1", (FT, "1111111A")),
        {
            "resourceType": "Registration",
            "id": "r",
            "person": {"reference": "Person/elsewhere", "identifier": {"system": FT, "value": "9999999Z"}},
        },
    )
    first, other = subjects_of(bundle)
    assert first.identifiers == {(FT, "1111111A")}
    assert other.identifiers == {(FT, "9999999Z")} and other.birth_date is None


def test_a_reference_repeating_the_person_s_own_identifier_adds_no_subject() -> None:
    bundle = _bundle(
        _person("p1", (FT, "1111111A")),
        {
            "resourceType": "Registration",
            "id": "r",
            "person": {"identifier": {"system": FT, "value": "1111111A"}},
        },
    )
    assert [s.identifiers for s in subjects_of(bundle)] == [{(FT, "1111111A")}]
