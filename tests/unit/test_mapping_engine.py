"""The engine on synthetic records: ids, foreach, references, conditions, errors, reverse, analysis."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from gateway.codecs import SourceRecord
from gateway.errors import ConfigurationError, SkippableRecordError
from gateway.mapping import CompiledMapping, load_mapping
from gateway.mapping.compiled import ID_NAMESPACE
from gateway.model.validation import get_validator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mapping"
NIR_A, NIR_B = "2820251108030", "1770393050005"


@pytest.fixture(scope="module")
def demo() -> CompiledMapping:
    return load_mapping(FIXTURES / "engine-demo" / "mapping.yaml")


def foyer(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "numero": "123",
        "etat": "2",
        "soumis": "1",
        "membres": [
            {"nir": NIR_A, "nom": " tifour ", "prenom1": "Sophie", "prenom2": "NULL",
             "naissance": "01/02/1982", "role": "D", "sexe": "2"},
            {"nir": NIR_B, "nom": "keller", "prenom1": "Noel", "naissance": "1977-03-23", "role": "C"},
        ],
    }  # fmt: skip
    record.update(changes)
    return record


def record_of(data: dict[str, Any], **context: Any) -> SourceRecord:
    return SourceRecord(number=7, data=data, line=42, source="foyers.json", context=context)


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def test_bundle_shape_and_validity(demo: CompiledMapping) -> None:
    bundle = demo.to_canonical(record_of(foyer(), flux="F1"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert bundle["meta"] == {"source": "urn:test:engine-demo"}
    assert bundle["extension"] == [
        {"url": "urn:fr:reseau-emploi:extension:mapping", "valueString": "engine-demo@2"}
    ]
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Household",
        "Person",
        "Person",
        "BenefitRight",
    ]
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    assert get_validator().validate(bundle) == []


def test_ids_are_uuid5_of_mapping_type_and_key(demo: CompiledMapping) -> None:
    bundle = demo.to_canonical(record_of(foyer()))
    (household,) = resources(bundle, "Household")
    assert household["id"] == str(uuid.uuid5(ID_NAMESPACE, "engine-demo|Household|123"))
    assert {p["id"] for p in resources(bundle, "Person")} == {
        str(uuid.uuid5(ID_NAMESPACE, f"engine-demo|Person|{nir}")) for nir in (NIR_A, NIR_B)
    }
    again = demo.to_canonical(record_of(foyer(etat="5")))
    assert {e["resource"]["id"] for e in again["entry"]} == {e["resource"]["id"] for e in bundle["entry"]}
    other = demo.to_canonical(record_of(foyer(numero="124")))
    assert resources(other, "Household")[0]["id"] != household["id"]


def test_fields_transforms_and_references(demo: CompiledMapping) -> None:
    bundle = demo.to_canonical(record_of(foyer(), flux="F1"))
    (household,) = resources(bundle, "Household")
    sophie, noel = resources(bundle, "Person")
    assert sophie["name"] == {"family": "TIFOUR", "given": ["Sophie"]}  # trim+upper; "NULL" prenom2 dropped
    assert sophie["birthDate"] == "1982-02-01" and noel["birthDate"] == "1977-03-23"
    assert sophie["gender"] == "female" and noel["gender"] == "unknown"  # default when absent
    assert sophie["identifier"][0] == {"system": "urn:fr:insee:nir", "value": NIR_A + "94"}
    assert sophie["identifier"][1] == {"system": "urn:fr:cnaf:matricule", "value": "123"}  # $record
    assert sophie["household"] == {"reference": f"Household/{household['id']}"}
    assert [m["person"]["reference"] for m in household["member"]] == [
        f"Person/{sophie['id']}",
        f"Person/{noel['id']}",
    ]
    assert household["member"][0]["role"]["code"] == "DEM"
    assert household["extension"] == [{"url": "urn:test:flux", "valueString": "F1"}]  # $context
    assert sophie["meta"]["security"] == [{"system": "urn:fr:reseau-emploi:sensitivity", "code": "nir"}]


def test_when_skips_resources_and_empty_objects_are_omitted(demo: CompiledMapping) -> None:
    data = foyer(etat=None)
    data["membres"][1]["role"] = "X"
    bundle = demo.to_canonical(record_of(data))
    assert resources(bundle, "BenefitRight") == []
    (household,) = resources(bundle, "Household")
    assert len(resources(bundle, "Person")) == 1
    assert "person" not in household["member"][1]  # ref to a person that was not emitted: omitted
    assert "extension" not in household  # constant url alone does not make an extension


def test_required_field_missing_rejects_the_record_without_values(demo: CompiledMapping) -> None:
    data = foyer()
    data["membres"][0]["naissance"] = None
    with pytest.raises(SkippableRecordError) as error:
        demo.to_canonical(record_of(data))
    assert (error.value.file, error.value.record, error.value.line) == ("foyers.json", 7, 42)
    assert error.value.field == "Person.birthDate" and "required" in error.value.reason


def test_transform_failure_names_field_source_and_rule_not_value(demo: CompiledMapping) -> None:
    data = foyer()
    data["membres"][1]["naissance"] = "31/02/1977"
    data["membres"][0]["nir"] = NIR_A
    with pytest.raises(SkippableRecordError) as error:
        demo.to_canonical(record_of(data))
    message = str(error.value)
    assert error.value.field == "Person.birthDate" and "'naissance'" in message and "date format" in message
    assert "31/02/1977" not in message and NIR_A not in message and "keller" not in message.lower()


def test_missing_or_duplicate_id_keys(demo: CompiledMapping) -> None:
    with pytest.raises(SkippableRecordError, match="id key") as error:
        demo.to_canonical(record_of(foyer(numero=None)))
    assert error.value.field == "Household.id"
    data = foyer()
    data["membres"][1]["nir"] = NIR_A
    with pytest.raises(SkippableRecordError, match="same id key") as error:
        demo.to_canonical(record_of(data))
    assert error.value.field == "Person.id" and "'membre'" in error.value.reason  # template, not value
    assert NIR_A not in str(error.value)


def test_reverse_auto_and_explicit(demo: CompiledMapping) -> None:
    bundle = demo.to_canonical(record_of(foyer()))
    assert set(demo.spec.reverse.derived) == {"numero", "etat", "soumis"}  # type: ignore[union-attr]
    (partner,) = demo.from_canonical(bundle)
    assert partner["numero"] == "123" and partner["etat"] == "2" and partner["soumis"] == "1"
    assert partner["membres"] == [
        {"nir": NIR_A, "nom": "TIFOUR", "naissance": "01/02/1982", "foyer": "123"},
        {"nir": NIR_B, "nom": "KELLER", "naissance": "23/03/1977", "foyer": "123"},
    ]
    assert partner["premier"] == "TIFOUR"  # resolve() follows a reference


def test_reverse_of_an_empty_bundle_and_one_way_mappings(demo: CompiledMapping, tmp_path: Path) -> None:
    assert demo.from_canonical({"resourceType": "Bundle", "entry": []}) == []
    caf = load_mapping(Path(__file__).resolve().parents[2] / "mappings" / "caf-rsa-vrsb0801" / "mapping.yaml")
    with pytest.raises(ConfigurationError, match="no reverse"):
        caf.from_canonical({"resourceType": "Bundle", "entry": []})


def test_reverse_transform_failure_is_skippable(demo: CompiledMapping) -> None:
    bundle = demo.to_canonical(record_of(foyer()))
    broken = copy.deepcopy(bundle)
    broken["entry"][1]["resource"]["birthDate"] = "not a date"
    with pytest.raises(SkippableRecordError) as error:
        demo.from_canonical(broken)
    assert error.value.field == "membres.naissance" and "not a date" not in str(error.value)


def test_emitted_field_paths(demo: CompiledMapping) -> None:
    assert demo.emitted_field_paths() == {
        "Household.identifier[urn:fr:cnaf:matricule]", "Household.member.person", "Household.member.role",
        "Household.extension.url", "Household.extension.valueString",
        "Person.identifier[urn:fr:insee:nir]", "Person.identifier[urn:fr:cnaf:matricule]",
        "Person.name.family", "Person.name.given", "Person.birthDate", "Person.gender", "Person.household",
        "BenefitRight.benefit", "BenefitRight.subject", "BenefitRight.status", "BenefitRight.rightsAndDuties",
    }  # fmt: skip
    assert demo.emitted_security_labels() == {("Person", "nir")}


def test_unused_source_fields(demo: CompiledMapping) -> None:
    data = foyer(commentaire="libre", vide="", nul="NULL")
    data["membres"][0]["ville"] = "REIMS"
    assert demo.unused_source_fields(record_of(data)) == ["commentaire", "membres.ville"]
    assert demo.unused_source_fields(foyer()) == []


def test_map_and_validate_turns_issues_into_skippable_errors(tmp_path: Path) -> None:
    spec = (FIXTURES / "engine-demo" / "mapping.yaml").read_text(encoding="utf-8")
    folder = tmp_path / "engine-demo"
    folder.mkdir()
    (folder / "roles.csv").write_text((FIXTURES / "engine-demo" / "roles.csv").read_text(), encoding="utf-8")
    (folder / "mapping.yaml").write_text(
        spec.replace("gender: {from: sexe", "genre: {from: sexe"), encoding="utf-8"
    )
    mapping = load_mapping(folder / "mapping.yaml")
    with pytest.raises(SkippableRecordError) as error:
        mapping.map_and_validate(record_of(foyer()))
    assert error.value.record == 7 and "additionalProperties" in str(error.value)
    assert "tifour" not in str(error.value).lower()
