"""The canonical schemas: well-formed, complete, and they accept/refuse what the contract says."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.model.schema_store import SCHEMA_DIR, load_schemas, resource_types, schema_uri
from gateway.model.validation import CanonicalValidator, InvalidResourceError, ValidationIssue, get_validator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "model"
CONTRACT_TYPES = {
    "Person", "Household", "BenefitRight", "Registration", "Orientation", "Diagnostic", "EngagementContract",
    "Activity", "Accompaniment", "Appointment", "Outcome", "EmploymentContract", "Organization", "Agent",
    "Structure", "Service", "Bundle",
}  # fmt: skip


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.valid.json").read_text(encoding="utf-8"))
    return data


def issues_of(resource: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i.path, i.rule) for i in get_validator().validate(resource)}


def test_every_contract_resource_type_has_a_schema() -> None:
    assert resource_types() == CONTRACT_TYPES
    assert get_validator().resource_types() == CONTRACT_TYPES


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_schema_file_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == schema_uri(path.stem)


@pytest.mark.parametrize("resource_type", sorted(CONTRACT_TYPES - {"Bundle"}))
def test_resource_schema_is_closed_and_typed(resource_type: str) -> None:
    schema = load_schemas()[resource_type]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["resourceType"] == {"const": resource_type}
    assert "resourceType" in schema["required"]


@pytest.mark.parametrize("resource_type", sorted(CONTRACT_TYPES))
def test_valid_fixture_is_accepted(resource_type: str) -> None:
    assert get_validator().validate(fixture(resource_type)) == []


def person(**changes: Any) -> dict[str, Any]:
    resource = fixture("Person")
    resource.update(changes)
    return resource


INVALID_CASES: list[tuple[str, dict[str, Any], set[tuple[str, str]]]] = [
    ("date DD/MM/YYYY", person(birthDate="14/07/1985"), {("$.birthDate", "pattern")}),
    ("month 13", person(birthDate="1985-13-01"), {("$.birthDate", "pattern")}),
    ("unknown property", person(birthdate="1985-07-14"), {("$", "additionalProperties")}),
    ("gender outside the list", person(gender="F"), {("$.gender", "enum")}),
    ("name is an object", person(name="Exemple"), {("$.name", "type")}),
    ("id with a space", person(id="p 1"), {("$.id", "pattern")}),
    (
        "NIR with 13 characters",
        person(identifier=[{"system": "urn:fr:insee:nir", "value": "2850775056123"}]),
        {("$.identifier[0].value", "pattern")},
    ),
    (
        "NIR key out of range",
        person(identifier=[{"system": "urn:fr:insee:nir", "value": "285077505612398"}]),
        {("$.identifier[0].value", "pattern")},
    ),
    (
        "NIR key wrong",
        person(identifier=[{"system": "urn:fr:insee:nir", "value": "285077505612371"}]),
        {("$.identifier[0].value", "nir-key")},
    ),
    (
        "identifier without value",
        person(identifier=[{"system": "urn:fr:cnaf:matricule"}]),
        {("$.identifier[0]", "required")},
    ),
    (
        "reference to the wrong type",
        person(household={"reference": "Organization/caf-26"}),
        {("$.household.reference", "pattern")},
    ),
    ("empty reference", person(household={}), {("$.household", "anyOf")}),
    (
        "extension with two values",
        person(extension=[{"url": "urn:x", "valueString": "a", "valueBoolean": True}]),
        {("$.extension[0]", "maxProperties")},
    ),
    (
        "sensitivity label outside the list",
        person(meta={"security": [{"system": "urn:fr:reseau-emploi:sensitivity", "code": "religion"}]}),
        {("$.meta.security[0].code", "enum"), ("$.meta.security[0].code", "code")},
    ),
    (
        "code not in our code system",
        person(role={"system": "urn:fr:reseau-emploi:cs:caf-role-personne", "code": "XXX"}),
        {("$.role.code", "code")},
    ),
    (
        "unknown code system of ours",
        person(role={"system": "urn:fr:reseau-emploi:cs:nope", "code": "DEM"}),
        {("$.role.system", "code-system")},
    ),
    ("missing id", {k: v for k, v in fixture("Person").items() if k != "id"}, {("$", "required")}),
]


@pytest.mark.parametrize(
    ("resource", "expected"), [c[1:] for c in INVALID_CASES], ids=[c[0] for c in INVALID_CASES]
)
def test_invalid_resource_reports_path_and_rule(
    resource: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    assert issues_of(resource) == expected


def test_required_references_per_type() -> None:
    outcome = fixture("Outcome")
    del outcome["type"], outcome["person"]
    issues = get_validator().validate(outcome)
    assert {(i.path, i.rule) for i in issues} == {("$", "required")}
    assert all("person" in i.message or "type" in i.message for i in issues)


def test_bundle_issue_names_the_entry_resource_and_its_path() -> None:
    bundle = fixture("Bundle")
    bundle["entry"][1]["resource"]["birthDate"] = "1985-07-32"
    [issue] = get_validator().validate(bundle)
    assert (issue.resource_type, issue.resource_id) == ("Person", "p-0001")
    assert (issue.path, issue.rule) == ("$.entry[1].resource.birthDate", "pattern")


def test_bundle_entry_of_unknown_type_and_bad_type() -> None:
    bundle = fixture("Bundle")
    bundle["entry"].append({"resource": {"resourceType": "Patient", "id": "x"}})
    bundle["type"] = "history"
    assert issues_of(bundle) == {("$.entry[3].resource.resourceType", "enum"), ("$.type", "enum")}


def test_unknown_or_missing_resource_type_and_non_objects() -> None:
    validator = get_validator()
    [unknown] = validator.validate({"resourceType": "Patient", "id": "x"})
    assert (unknown.resource_type, unknown.rule, unknown.path) == (
        "Patient",
        "resourceType",
        "$.resourceType",
    )
    [missing] = validator.validate({"id": "x"})
    assert missing.rule == "required"
    [not_object] = validator.validate(["Person"])  # type: ignore[arg-type]
    assert not_object.rule == "type"
    assert not validator.is_valid({"resourceType": "Person"})
    assert validator.is_valid(fixture("Person"))


def test_messages_never_echo_values() -> None:
    secret_nir, secret_date = "185127505612301", "31/12/1985"
    resource = person(birthDate=secret_date, identifier=[{"system": "urn:fr:insee:nir", "value": secret_nir}])
    resource["name"] = {"family": 42}
    issues = get_validator().validate(resource)
    assert len(issues) == 3
    for issue in issues:
        assert secret_nir not in str(issue) and secret_date not in str(issue) and "42" not in issue.message


def test_issue_str_and_ensure_valid() -> None:
    issue = ValidationIssue("Person", "abc", "$.birthDate", "pattern", "does not match")
    assert str(issue) == "Person/abc: $.birthDate: pattern: does not match"
    assert str(ValidationIssue("Person", None, "$", "required", "m")) == "Person/?: $: required: m"
    validator = get_validator()
    validator.ensure_valid(fixture("Person"))
    with pytest.raises(InvalidResourceError) as caught:
        validator.ensure_valid(person(gender="F"))
    assert [(i.path, i.rule) for i in caught.value.issues] == [("$.gender", "enum")]
    assert caught.value.field == "$.gender"


def test_unsafe_ids_are_not_echoed() -> None:
    resource = person(id="Jean Dupont 1985")
    [issue] = get_validator().validate(resource)
    assert issue.resource_id is None and "Dupont" not in str(issue)


def test_code_check_can_be_disabled() -> None:
    resource = person(role={"system": "urn:fr:reseau-emploi:cs:caf-role-personne", "code": "XXX"})
    assert CanonicalValidator(check_codes=False).validate(resource) == []


def test_validation_does_not_modify_the_resource() -> None:
    resource = fixture("Bundle")
    before = copy.deepcopy(resource)
    get_validator().validate(resource)
    assert resource == before


def test_the_walk_without_paths_finds_what_the_walk_with_paths_reports() -> None:
    """Valid records skip the path-building walks: the quick check must flag every case they report."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    validator = get_validator()
    nirs = st.sampled_from(["285077505612371", "285077505612398", "185057800608436", "2850775056123", 7])
    codes = st.sampled_from(["DEM", "XXX", 3, None])
    systems = st.sampled_from(
        [
            "urn:fr:insee:nir",
            "urn:fr:reseau-emploi:cs:caf-role-personne",
            "urn:fr:reseau-emploi:cs:nope",
            "urn:fr:cnaf:matricule",
            5,
        ]
    )
    leaf = st.fixed_dictionaries({"system": systems}, optional={"value": nirs, "code": codes})
    documents = st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    )

    @settings(max_examples=400, deadline=None)
    @given(documents)
    def check(inner: Any) -> None:
        document = {"resourceType": "Person", "id": "p1", "nested": inner}
        reported = validator._nir_key_issues(document) + validator._code_issues(document)
        assert validator._has_value_issue(document) == bool(reported)

    check()
