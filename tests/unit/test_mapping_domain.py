"""The project's mappings on the real partner files of ../shared/domain-data (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.codecs import SourceRecord
from gateway.errors import SkippableRecordError, UnreadableFileError
from gateway.mapping import CompiledMapping, MappingCatalog, translate_file
from gateway.model.nir import complete_nir
from gateway.model.validation import get_validator

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "mapping"
OWN_MAPPINGS = (
    "caf-rsa-vrsb0801",
    "france-travail-extraction-csv",
    "france-travail-diagnostic-api",
    "france-travail-orientation-api",
    "france-travail-rdv-partenaire-api",
    "france-travail-rechercher-usager",
)


@pytest.fixture(scope="module")
def catalog() -> MappingCatalog:
    return MappingCatalog(PROJECT / "mappings")


def of_type(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def identifier(resource: dict[str, Any], system: str) -> str | None:
    return next((i["value"] for i in resource.get("identifier", ()) if i["system"] == system), None)


@pytest.mark.parametrize("name", OWN_MAPPINGS)
def test_own_mappings_load_and_have_a_readme(catalog: MappingCatalog, name: str) -> None:
    mapping = catalog.get(name)
    readme = (PROJECT / "mappings" / name / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0].strip() and "## What is mapped" in readme
    assert mapping.emitted_field_paths()


# ------------------------------------------------------------------------------------------------ CAF


@pytest.fixture(scope="module")
def caf_files(domain_data: Path) -> Path:
    return domain_data / "carnet-de-bord" / "caf-msa"


def caf_bundles(catalog: MappingCatalog, folder: Path, name: str) -> list[Any]:
    return list(
        translate_file(
            folder / name,
            catalog.get("caf-rsa-vrsb0801"),
            variables={"CAF_VRSB0801_XSD": str(folder / "vrsb0801.xsd")},
        )
    )


def test_caf_facts_of_the_approved_parser_output_are_in_our_bundles(
    catalog: MappingCatalog, caf_files: Path
) -> None:
    expected = [
        json.loads(item) for item in json.loads((caf_files / "parse_caf_file.expected.json").read_text())
    ]
    bundles = caf_bundles(catalog, caf_files, "RSABEM.xml")
    assert all(isinstance(b, dict) for b in bundles) and len(bundles) == len(expected)
    for foyer, bundle in zip(expected, bundles, strict=True):
        assert get_validator().validate(bundle) == []
        (household,) = of_type(bundle, "Household")
        assert identifier(household, "urn:fr:cnaf:matricule") == foyer["matricule"]
        assert household["extension"][0] == {
            "url": "urn:fr:cnaf:vrsb0801:TOPSANSDOMFIXE",
            "valueBoolean": foyer["sans_domicile_fixe"] == "1",
        }
        persons = {p["id"]: p for p in of_type(bundle, "Person")}
        rights = of_type(bundle, "BenefitRight")
        assert len(rights) == len(foyer["beneficiaries"])
        for beneficiary in foyer["beneficiaries"]:
            nir15 = complete_nir(beneficiary["nir"])
            (person,) = [p for p in persons.values() if identifier(p, "urn:fr:insee:nir") == nir15]
            (right,) = [r for r in rights if r["subject"]["reference"] == f"Person/{person['id']}"]
            assert right["rightsAndDuties"] is beneficiary["soumis_droit_et_devoir"]
            assert right["status"]["code"] == foyer["etat_droit_rsa"]
            assert right["benefit"]["code"] == "rsa"
            assert (right.get("suspension", {}).get("reason", {}).get("code")) == foyer[
                "motif_suspension_versement_rsa"
            ]
            assert right.get("closure", {}).get("reason", {}).get("code") == foyer["motif_cloture_rsa"]
            assert right.get("closure", {}).get("date") == foyer["date_cloture_rsa"]
            assert {"system": "urn:fr:reseau-emploi:sensitivity", "code": "nir"} in person["meta"]["security"]


def test_caf_suspension_date_and_member_roles(catalog: MappingCatalog, caf_files: Path) -> None:
    bundle = caf_bundles(catalog, caf_files, "RSABEM.xml")[1]
    (right,) = of_type(bundle, "BenefitRight")
    assert right["suspension"]["date"] == "2021-11-01"
    (household,) = of_type(bundle, "Household")
    assert [m["role"]["code"] for m in household["member"]] == ["CJT"]


def test_caf_other_sample_validates(catalog: MappingCatalog, caf_files: Path) -> None:
    bundles = caf_bundles(catalog, caf_files, "RSABEM-ouvert.xml")
    assert bundles and all(isinstance(b, dict) and not get_validator().validate(b) for b in bundles)


def test_caf_invalid_file_is_refused_by_the_xsd(catalog: MappingCatalog, caf_files: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"vrsb0801\.xsd"):
        caf_bundles(catalog, caf_files, "RSABEI_invalid.xml")


# --------------------------------------------------------------------------------- France Travail CSV


def test_france_travail_extraction_maps_every_column(catalog: MappingCatalog, domain_data: Path) -> None:
    mapping = catalog.get("france-travail-extraction-csv")
    path = (
        domain_data
        / "carnet-de-bord"
        / "france-travail"
        / ("i03300c.j.extract_spie_carnet_spie_carnet_de_bord_principal.csv")
    )
    from gateway.mapping.translate import make_codec

    with path.open("rb") as stream:
        records = list(
            make_codec(mapping).reader(mapping.codec_options()).read(stream, source_name=str(path))
        )
    assert len(records) == 4
    for record in records:
        assert isinstance(record, SourceRecord)
        assert mapping.unused_source_fields(record) == []
        bundle = mapping.to_canonical(record)
        assert get_validator().validate(bundle) == []
        (person,) = of_type(bundle, "Person")
        assert identifier(person, "urn:fr:francetravail:idrci") == record.data["identifiant_unique_de"]
        assert person["birthDate"] == record.data["date_naissance"][:10]
        (orientation,) = of_type(bundle, "Orientation")
        assert orientation["parcours"]["code"] == "emploi"
        (registration,) = of_type(bundle, "Registration")
        agency = next(
            o
            for o in of_type(bundle, "Organization")
            if f"Organization/{o['id']}" == registration["agency"]["reference"]
        )
        assert agency["name"] == record.data["struct_principale"]


# --------------------------------------------------------------------------------- France Travail API


def test_diagnostic_sample_maps_completely(catalog: MappingCatalog, domain_data: Path) -> None:
    mapping = catalog.get("france-travail-diagnostic-api")
    folder = domain_data / "carnet-de-bord" / "france-travail"
    payload = json.loads((folder / "diagnosticargumente-dossier-individu.sample.json").read_text())
    record = SourceRecord(1, payload, source="dossier.json", context={"individu": "1234567A"})
    assert mapping.unused_source_fields(record) == []
    bundle = mapping.to_canonical(record)
    assert get_validator().validate(bundle) == []
    diagnostics = of_type(bundle, "Diagnostic")
    assert len(diagnostics) == 1 + len(payload["besoinsParDiagnosticIndividuDtos"])
    constraints = next(d for d in diagnostics if "constraint" in d)
    assert [c["code"]["code"] for c in constraints["constraint"]] == [
        "mobilite", "famille", "sante", "savoirs-de-base", "logement", "finances", "administratif"
    ]  # fmt: skip
    assert {"system": "urn:fr:reseau-emploi:sensitivity", "code": "health"} in constraints["meta"]["security"]
    mobility = constraints["constraint"][0]
    assert mobility["status"]["code"] == "identifiee"
    assert [s["code"] for s in mobility["situation"]] == ["7"]  # the only situation valued OUI
    needs = [d for d in diagnostics if "need" in d]
    assert all(len(d["need"]) == 20 for d in needs)
    assert {n["status"]["code"] for d in needs for n in d["need"]} <= {"besoin", "non-explore", "point-fort"}
    (person,) = of_type(bundle, "Person")
    assert all(d["person"]["reference"] == f"Person/{person['id']}" for d in diagnostics)


def test_diagnostic_contraintes_as_stored_map_too(catalog: MappingCatalog, domain_data: Path) -> None:
    """The 7 contraintes of the as-stored file (23–29) map to the 7 canonical frein codes, health labelled."""
    folder = domain_data / "carnet-de-bord" / "france-travail"
    contraintes = [
        json.loads(item)
        for item in json.loads((folder / "diagnosticargumente-contraintes.as-stored.json").read_text())
    ]
    payload = {"contraintesIndividusDto": {"code": "7", "conseiller": "x", "contraintes": contraintes}}
    mapping = catalog.get("france-travail-diagnostic-api")
    record = SourceRecord(1, payload, context={"individu": "1234567A"})
    bundle = mapping.to_canonical(record)
    assert get_validator().validate(bundle) == []
    (diagnostic,) = of_type(bundle, "Diagnostic")
    assert len(diagnostic["constraint"]) == len(contraintes) == 7
    assert diagnostic["meta"]["security"][0]["code"] == "health"
    assert mapping.unused_source_fields(record) == []


def test_diagnostic_without_the_individual_is_rejected(catalog: MappingCatalog) -> None:
    with pytest.raises(SkippableRecordError) as error:
        catalog.get("france-travail-diagnostic-api").to_canonical(
            SourceRecord(1, {"contraintesIndividusDto": {}})
        )
    assert error.value.field == "Person.id"


@pytest.mark.parametrize(
    ("name", "fixture"),
    [
        ("france-travail-orientation-api", "ft-orientation.sample.json"),
        ("france-travail-rdv-partenaire-api", "ft-rdv-partenaire.sample.json"),
        ("france-travail-rechercher-usager", "ft-rechercher-usager.request.json"),
    ],
)
def test_ft_api_fixtures_map_completely_and_back(catalog: MappingCatalog, name: str, fixture: str) -> None:
    mapping: CompiledMapping = catalog.get(name)
    (bundle,) = list(translate_file(FIXTURES / fixture, mapping))
    assert isinstance(bundle, dict) and get_validator().validate(bundle) == []
    payload = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    assert mapping.unused_source_fields(payload) == []
    (back,) = mapping.from_canonical(bundle)
    if name == "france-travail-rechercher-usager":
        payload["nir"] = complete_nir(payload["nir"])  # the request carries the NIR with its key
    assert back == payload


def test_rechercher_usager_never_maps_the_jeton(catalog: MappingCatalog) -> None:
    mapping = catalog.get("france-travail-rechercher-usager")
    response_like = {"nir": "2820251108030", "dateNaissance": "1982-02-01", "jetonUsager": "opaque-token"}
    bundle = mapping.to_canonical(SourceRecord(1, response_like))
    assert "opaque-token" not in json.dumps(bundle)
    assert mapping.unused_source_fields(response_like) == ["jetonUsager"]
    assert not any("jeton" in path.lower() for path in mapping.emitted_field_paths())
