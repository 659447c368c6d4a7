"""Round trips partner → canonical → partner for every mapping with a reverse (hypothesis)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.codecs import SourceRecord
from gateway.mapping import CompiledMapping, MappingCatalog
from gateway.model.nir import complete_nir
from gateway.model.validation import get_validator

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = MappingCatalog(PROJECT / "mappings")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORD = (
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZÉÈÀÇ' -", min_size=1, max_size=20).map(str.strip).filter(bool)
)
CODE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
DAY = st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(2030, 12, 31))
NIR13 = st.builds(
    lambda sex, year, month, dep, rest: f"{sex}{year:02d}{month:02d}{dep}{rest:06d}",
    st.sampled_from("12"),
    st.integers(0, 99),
    st.integers(1, 12),
    st.one_of(st.integers(1, 95).map(lambda n: f"{n:02d}"), st.sampled_from(["2A", "2B"])),
    st.integers(0, 999_999),
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def without_empty(tree: Any) -> Any:
    if isinstance(tree, dict):
        cleaned = {k: without_empty(v) for k, v in tree.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    return tree


def round_trip(mapping: CompiledMapping, data: dict[str, Any]) -> dict[str, Any]:
    bundle = mapping.to_canonical(SourceRecord(1, data))
    assert get_validator().validate(bundle) == []
    (back,) = mapping.from_canonical(bundle)
    return back


# ------------------------------------------------------------------------------ France Travail CSV

FT_DATE = DAY.map(lambda d: f"{d.isoformat()} 00:00:00.0")


@st.composite
def ft_rows(draw: st.DrawFn) -> dict[str, Any]:
    referent = draw(st.booleans())
    suivi = draw(st.booleans())
    row: dict[str, Any] = {
        "identifiant_unique_de": draw(st.uuids()).hex,
        "civilite": draw(st.sampled_from(["MME", "M."])),
        "nom": draw(WORD),
        "prenom": draw(optional(WORD)),
        "lieu_naissance": draw(optional(WORD)),
        "code_lieu_naissance": draw(optional(st.from_regex(r"\A[0-9]{5}\Z"))),
        "date_naissance": draw(FT_DATE),
        "adresse_ligne2": draw(optional(WORD)),
        "adresse_ligne3": None,
        "adresse_ligne4": draw(WORD),
        "adresse_ligne5": None,
        "adresse_ligne6": draw(
            st.builds(lambda cp, city: f"{cp} {city}", st.from_regex(r"\A[0-9]{5}\Z"), WORD)
        ),
        "departement": draw(optional(st.from_regex(r"\A[0-9]{2}\Z"))),
        "dr": draw(optional(st.from_regex(r"\A[0-9]{3}\Z"))),
        "rome_1": draw(optional(CODE)),
        "appelation_rome_1": None,
        "rome_2": draw(optional(CODE)),
        "appelation_rome_2": None,
        "mrech.axetravailprincipal": draw(optional(WORD)),
        "mrech.axetravailsecondaire": draw(optional(WORD)),
        "der_entretien_ppae": draw(optional(FT_DATE)),
        "der_entretien": draw(optional(FT_DATE)),
        "inscription": draw(FT_DATE),
        "code_motif_inscription": draw(st.from_regex(r"\A[0-9]{2}\Z")),
        "motif_inscription": draw(WORD),
        "categorie_inscription": draw(st.sampled_from(list("12345678ABCDE"))),
        "struct_principale": draw(WORD),
        "code_safir": draw(optional(st.from_regex(r"\A[0-9]{5}\Z"))),
        "referent_civilite": draw(st.sampled_from(["Mme", "M."])) if referent else None,
        "referent_nom": draw(WORD) if referent else None,
        "referent_prenom": draw(WORD) if referent else None,
        "referent_mail": draw(st.emails()) if referent else None,
        "modalite_accompagnement": draw(st.sampled_from(["SUIVI", "GUIDE", "RENFORCE", "GLOBAL"])),
        "struct_suivi": draw(WORD) if suivi else None,
        "suivi_debut": draw(FT_DATE) if suivi else None,
        "suivi_fin_prev": draw(optional(FT_DATE)) if suivi else None,
        "brsa": draw(st.sampled_from([None, "O"])),
    }
    for column in ("dif_financiere", "dif_admin_jur", "dif_sante", "dif_logement", "dif_transport",
                   "dif_inser_com", "dif_familiale"):  # fmt: skip
        row[column] = draw(st.sampled_from([None, "O"]))
    if row["rome_1"]:
        row["appelation_rome_1"] = draw(optional(WORD))
    if row["rome_2"]:
        row["appelation_rome_2"] = draw(optional(WORD))
    return row


@SETTINGS
@given(ft_rows())
def test_france_travail_extraction_round_trip(row: dict[str, Any]) -> None:
    mapping = CATALOG.get("france-travail-extraction-csv")
    back = round_trip(mapping, row)
    address_columns = ("adresse_ligne2", "adresse_ligne3", "adresse_ligne4", "adresse_ligne5")
    # Address lines are compacted by the canonical model (documented loss): compare their sequence.
    assert [back.get(c) for c in address_columns if back.get(c)] == [
        row[c] for c in address_columns if row[c]
    ]
    expected = {k: v for k, v in row.items() if v is not None and k not in address_columns}
    assert {k: v for k, v in back.items() if k not in address_columns} == expected


# ------------------------------------------------------------------------------ France Travail APIs

ISO_DATE = DAY.map(dt.date.isoformat)
ISO_DATETIME = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)).map(
    lambda m: m.replace(microsecond=0, tzinfo=dt.timezone(dt.timedelta(hours=1))).isoformat()
)


@st.composite
def orientation_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = without_empty(
        {
            "individu": {
                "identifiantFranceTravail": draw(CODE),
                "nir": draw(optional(NIR13.map(complete_nir))),
                "nom": draw(optional(WORD)),
                "prenom": draw(optional(WORD)),
                "dateNaissance": draw(optional(ISO_DATE)),
            },
            "orientation": {
                "typeParcours": draw(st.sampled_from(["PED", "PSP", "PSO"])),
                "statut": draw(optional(st.sampled_from(["PROPOSEE", "VALIDEE", "REFUSEE"]))),
                "dateDecision": draw(ISO_DATE),
                "motif": draw(optional(WORD)),
            },
            "organismeReferent": {
                "type": draw(st.sampled_from(["FT", "CD", "ML", "CAP_EMPLOI", "PLIE"])),
                "siret": draw(st.from_regex(r"\A[0-9]{14}\Z")),
                "libelle": draw(optional(WORD)),
                "codeSafir": draw(optional(st.from_regex(r"\A[0-9]{5}\Z"))),
            },
            "referent": {
                "nom": draw(WORD),
                "prenom": draw(optional(WORD)),
                "courriel": draw(optional(st.emails())),
                "telephone": draw(optional(st.from_regex(r"\A0[0-9]{9}\Z"))),
            },
        }
    )
    return payload


@SETTINGS
@given(orientation_payloads())
def test_orientation_api_round_trip(payload: dict[str, Any]) -> None:
    assert round_trip(CATALOG.get("france-travail-orientation-api"), payload) == payload


@st.composite
def rdv_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = without_empty(
        {
            "identifiantFranceTravail": draw(CODE),
            "rendezVous": {
                "id": draw(CODE),
                "dateHeureDebut": draw(ISO_DATETIME),
                "dateHeureFin": draw(optional(ISO_DATETIME)),
                "statut": draw(st.sampled_from(["PROPOSE", "PLANIFIE", "HONORE", "ABSENT", "ANNULE"])),
                "modalite": draw(optional(st.sampled_from(["PHYSIQUE", "TELEPHONE", "VISIO"]))),
                "objet": draw(optional(WORD)),
                "lieu": {
                    "libelle": draw(optional(WORD)),
                    "adresse": draw(optional(WORD)),
                    "codePostal": draw(optional(st.from_regex(r"\A[0-9]{5}\Z"))),
                    "commune": draw(optional(WORD)),
                },
            },
            "structure": {"siret": draw(st.from_regex(r"\A[0-9]{14}\Z")), "libelle": draw(optional(WORD))},
            "conseiller": {
                "nom": draw(WORD),
                "prenom": draw(optional(WORD)),
                "courriel": draw(optional(st.emails())),
            },
        }
    )
    return payload


@SETTINGS
@given(rdv_payloads())
def test_rdv_partenaire_api_round_trip(payload: dict[str, Any]) -> None:
    assert round_trip(CATALOG.get("france-travail-rdv-partenaire-api"), payload) == payload


@SETTINGS
@given(nir13=NIR13, birth=ISO_DATE, with_key=st.booleans())
def test_rechercher_usager_round_trip(nir13: str, birth: str, with_key: bool) -> None:
    nir = complete_nir(nir13) if with_key else nir13
    back = round_trip(CATALOG.get("france-travail-rechercher-usager"), {"nir": nir, "dateNaissance": birth})
    assert back == {"nir": complete_nir(nir13), "dateNaissance": birth}


@pytest.mark.parametrize("name", ["caf-rsa-vrsb0801", "france-travail-diagnostic-api"])
def test_one_way_mappings_say_so(name: str) -> None:
    mapping = CATALOG.get(name)
    assert not mapping.has_reverse
    assert "No reverse" in (PROJECT / "mappings" / name / "README.md").read_text(encoding="utf-8")
