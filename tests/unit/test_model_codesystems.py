"""Code systems: every file loads, is sourced, has unique codes; the lists taken from partner texts match."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from gateway.model import codesystems
from gateway.model.codesystems import CodeSystem, all_codesystems, by_uri, load

REQUIRED = {
    "orientation-parcours",
    "organisme-referent-type",
    "freins-contraintes",
    "etatdosrsa",
    "caf-role-personne",
    "dsn-nature-contrat",
    "dsn-dispositif-politique",
    "dsn-motif-rupture",
    "sortie-plie",
    "registration-status",
    "sensitivity",
    "benefit-type",
    "organization-type",
    "appointment-status",
    "thematiques",
    "types-de-services",
    "frais",
    "publics",
    "modes-accueil",
    "modes-mobilisation",
    "personnes-mobilisatrices",
    "reseaux-porteurs",
}


def test_required_code_systems_exist() -> None:
    assert set(all_codesystems()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(codesystems.names()))
def test_file_is_well_formed(name: str) -> None:
    raw = json.loads((codesystems.CODESYSTEM_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert set(raw) == {"uri", "source", "concepts"}
    cs = load(name)
    expected_uri = (
        "urn:fr:reseau-emploi:sensitivity" if name == "sensitivity" else codesystems.URI_PREFIX + name
    )
    assert cs.uri == expected_uri
    assert cs.source.strip()
    assert cs.concepts
    codes = [c.code for c in cs.concepts]
    assert len(codes) == len(set(codes))
    for concept in raw["concepts"]:
        assert set(concept) <= {"code", "display", "definition", "alias"}
        assert concept["code"].strip() == concept["code"] and concept["code"]
        assert concept["display"].strip()
    assert by_uri(cs.uri) is cs


def test_lookup_by_code_and_alias() -> None:
    parcours = load("orientation-parcours")
    emploi = parcours.lookup("emploi")
    assert emploi is not None and parcours.lookup("PED") is emploi
    assert parcours.lookup("PSO") == parcours.lookup("social")
    assert parcours.lookup("nope") is None
    assert "emploi" in parcours and "PED" not in parcours  # a canonical Coding holds the code, not the alias


def test_duplicates_and_missing_source_are_refused() -> None:
    concept = {"code": "a", "display": "A"}
    with pytest.raises(ValueError, match="duplicate code"):
        CodeSystem.from_data("x", {"uri": "u", "source": "s", "concepts": [concept, concept]})
    with pytest.raises(ValueError, match="clashes"):
        CodeSystem.from_data(
            "x",
            {"uri": "u", "source": "s", "concepts": [concept, {"code": "b", "display": "B", "alias": ["a"]}]},
        )
    with pytest.raises(ValueError, match="source"):
        CodeSystem.from_data("x", {"uri": "u", "source": " ", "concepts": [concept]})
    with pytest.raises(KeyError):
        load("no-such-code-system")


def test_etatdosrsa_is_caf_0_to_6() -> None:
    assert load("etatdosrsa").codes() == {str(n) for n in range(7)}


def test_dsn_dispositif_holds_cddi_and_pec() -> None:
    dispositif = load("dsn-dispositif-politique")
    cddi, pec = dispositif.lookup("71"), dispositif.lookup("41")
    assert cddi is not None and "insertion" in cddi.display.lower()
    assert pec is not None and "Parcours Emploi Compétences" in pec.display


def test_caf_lists_match_webrsa(domain_data: Path) -> None:
    lists = json.loads(
        (domain_data / "webrsa/caf-flux-code-lists.from-webrsa-po.json").read_text(encoding="utf-8")
    )
    placeholders = {"", "NULL", "Z"}
    for name, family in (
        ("etatdosrsa", "ETATDOSRSA"),
        ("caf-role-personne", "ROLEPERS"),
        ("caf-motif-cloture-rsa", "MOTICLORSA"),
        ("caf-motif-suspension-droit-rsa", "MOTISUSDRORSA"),
        ("caf-motif-suspension-versement-rsa", "MOTISUSVERSRSA"),
        ("caf-situation-famille", "SITFAM"),
    ):
        assert load(name).codes() == set(lists[family]) - placeholders, name


def test_dsn_lists_match_the_norme(domain_data: Path) -> None:
    norme = json.loads((domain_data / "dsn/norme-CT2026.1.1-extract-drolow.json").read_text(encoding="utf-8"))
    assert load("dsn-nature-contrat").codes() == set(norme["nomenclatures"]["S21.G00.40.007"])
    assert load("dsn-motif-rupture").codes() == set(norme["nomenclatures"]["S21.G00.62.002"])
    with (domain_data / "dsn/dsn-P24V01-fields.derived.csv").open(encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle, delimiter=";") if r["rubrique"] == "S21.G00.40.008")
    codes = {item.split("=", 1)[0].strip() for item in row["valeurs"].split(";") if "=" in item}
    assert load("dsn-dispositif-politique").codes() == codes


def test_constraint_and_need_statuses_cover_france_travail_values(domain_data: Path) -> None:
    referentiel = json.loads(
        (domain_data / "carnet-de-bord/france-travail/diagnostic-referentiel.derived.json").read_text(
            encoding="utf-8"
        )
    )
    for name, key in (("constraint-status", "contrainte_valeurs"), ("need-status", "besoin_valeurs")):
        cs = load(name)
        assert all(cs.lookup(value) is not None for value in referentiel[key]), name
