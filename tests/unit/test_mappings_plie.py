"""PLIE participants export (CSV, JSON): Bundles valid; partner → canonical → partner keeps every field."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.synthetic import generate
from adapters.synthetic.plie import MOTIFS_SORTIE
from gateway.codecs import SourceRecord
from gateway.errors import SkippableRecordError
from gateway.mapping import load_mapping, translate_stream
from gateway.model.strategies import nirs
from gateway.model.validation import get_validator

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
CSV = load_mapping(MAPPINGS / "plie-participants-csv/mapping.yaml")
JSON = load_mapping(MAPPINGS / "plie-participants-json/mapping.yaml")

_text = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçôëÉÈ -'", min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
_date = st.dates(dt.date(1940, 1, 1), dt.date(2030, 12, 31)).map(lambda d: d.strftime("%d/%m/%Y"))
_digits = lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)  # noqa: E731
_opt = lambda strategy: st.one_of(st.just(""), strategy)  # noqa: E731


@st.composite
def _participant(draw: st.DrawFn) -> dict[str, Any]:
    ft = draw(st.booleans())
    return {
        "plie_siret": draw(_digits(14)),
        "id_participant": draw(st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)),
        "nir": draw(_opt(nirs())),
        "sexe": draw(_opt(st.sampled_from(["H", "F"]))),
        "nom": draw(_text),
        "nom_naissance": draw(_opt(_text)),
        "prenom": draw(_text),
        "date_naissance": draw(_date),
        "adresse": draw(_opt(_text)),
        "code_postal": draw(_opt(_digits(5))),
        "commune": draw(_opt(_text)),
        "code_insee_commune": draw(_opt(st.sampled_from(["2A004", "2B033", "75111", "97411"]))),
        "telephone": draw(_opt(_digits(10))),
        "courriel": draw(_opt(st.just("x.y@example.org"))),
        "statut_rsa": draw(st.sampled_from(["O", "N"])),
        "inscrit_france_travail": "O" if ft else "N",
        "identifiant_france_travail": draw(st.from_regex(r"[0-9]{7}[A-Z]", fullmatch=True)) if ft else "",
    }


_NO_STRUCTURE = {"structure_referente_siret": "", "structure_referente_nom": ""}
_NO_REFERENT = {"referent_nom": "", "referent_prenom": "", "referent_courriel": ""}
Directory = tuple[list[dict[str, str]], list[dict[str, str]]]


@st.composite
def _directory(draw: st.DrawFn) -> Directory:
    """Structures and référents a participant's parcours pick from: a structure (SIRET) always has the same
    name and a référent (names) the same e-mail, as in a real export."""
    structures = draw(
        st.lists(
            st.fixed_dictionaries(
                {"structure_referente_siret": _digits(14), "structure_referente_nom": _opt(_text)}
            ),
            min_size=1,
            max_size=2,
            unique_by=lambda s: s["structure_referente_siret"],
        )
    )
    referents = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "referent_nom": _text,
                    "referent_prenom": _opt(_text),
                    "referent_courriel": _opt(st.just("ref@plie.example.fr")),
                }
            ),
            min_size=1,
            max_size=2,
            unique_by=lambda r: (r["referent_nom"], r["referent_prenom"]),
        )
    )
    return structures, referents


@st.composite
def _parcours(draw: st.DrawFn, index: int, directory: Directory | None = None) -> dict[str, Any]:
    structures, referents = directory if directory is not None else draw(_directory())
    closed = draw(st.booleans())
    return {
        "id_parcours": f"PAR-{index}",
        "date_entree_plie": draw(_date),
        "date_sortie_plie": draw(_date) if closed else "",
        "motif_sortie": draw(st.sampled_from(MOTIFS_SORTIE)) if closed else "",
        **draw(st.one_of(st.just(_NO_REFERENT), st.sampled_from(referents))),
        **draw(st.one_of(st.just(_NO_STRUCTURE), st.sampled_from(structures))),
    }


def _present(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if value not in ("", None, [])}


@settings(max_examples=60, deadline=None)
@given(_participant(), _parcours(1))
def test_csv_round_trip_keeps_every_field(participant: dict[str, Any], parcours: dict[str, Any]) -> None:
    row = {**participant, **parcours}
    record = SourceRecord(1, {k: v for k, v in row.items() if v != ""})
    bundle = CSV.to_canonical(record)
    assert get_validator().validate(bundle) == []
    (back,) = CSV.from_canonical(bundle)
    assert _present(back) == _present(row)


@settings(max_examples=40, deadline=None)
@given(_participant(), st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True), st.data())
def test_json_round_trip_keeps_every_field(
    participant: dict[str, Any], indexes: list[int], data: st.DataObject
) -> None:
    directory = data.draw(_directory())
    parcours = [_present(data.draw(_parcours(i, directory))) for i in indexes]
    document = {**_present(participant), "parcours": parcours}
    bundle = JSON.to_canonical(SourceRecord(1, document))
    assert get_validator().validate(bundle) == []
    (back,) = JSON.from_canonical(bundle)
    back_parcours = [_present(p) for p in back.pop("parcours")]
    assert _present(back) == _present(participant)
    assert sorted(back_parcours, key=lambda p: p["id_parcours"]) == sorted(
        parcours, key=lambda p: p["id_parcours"]
    )


def test_generated_csv_identifiers_and_outcomes() -> None:
    stream = io.BytesIO()
    generate("plie-csv", 80, stream, seed=5, plie_siret="12345678900011")
    stream.seek(0)
    bundles = list(translate_stream(stream, CSV))
    assert all(isinstance(b, dict) for b in bundles)
    systems = {
        ident["system"]
        for b in bundles for e in b["entry"] if e["resource"]["resourceType"] == "Person"
        for ident in e["resource"]["identifier"]
    }  # fmt: skip
    assert "urn:fr:plie:12345678900011:participant" in systems
    outcome_codes = {
        e["resource"]["type"]["code"]
        for b in bundles
        for e in b["entry"]
        if e["resource"]["resourceType"] == "Outcome"
    }
    assert {"emploi-durable-cdi", "formation-qualifiante"} & outcome_codes


def _participant_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "plie_siret": "12345678900011", "id_participant": "P1", "nom": "Tifour", "prenom": "Sophie",
        "date_naissance": "01/02/1982",
        "parcours": [
            {"id_parcours": "PAR-1", "date_entree_plie": "01/01/2023", "date_sortie_plie": "30/06/2023",
             "motif_sortie": MOTIFS_SORTIE[0], "structure_referente_siret": "55210055400013",
             "referent_nom": "Durand", "referent_prenom": "Marc"},
            {"id_parcours": "PAR-2", "date_entree_plie": "01/09/2023",
             "structure_referente_siret": "55210055400013", "structure_referente_nom": "Mission locale",
             "referent_nom": "Durand", "referent_prenom": "Marc", "referent_courriel": "marc@ml.example.fr"},
        ],
    }  # fmt: skip
    document.update(changes)
    return document


def _of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_json_parcours_share_one_structure_and_one_referent() -> None:
    bundle = JSON.map_and_validate(SourceRecord(1, _participant_document()))
    structures = [o for o in _of(bundle, "Organization") if o.get("type", {}).get("code") != "plie"]
    (structure,) = structures
    assert structure["name"] == "Mission locale"  # missing from the first parcours, taken from the second
    (agent,) = _of(bundle, "Agent")
    assert agent["telecom"] == [{"system": "email", "value": "marc@ml.example.fr"}]
    assert agent["organization"] == {"reference": f"Organization/{structure['id']}"}
    accompaniments = _of(bundle, "Accompaniment")
    assert len(accompaniments) == 2
    for accompaniment in accompaniments:
        assert accompaniment["performer"] == {"reference": f"Organization/{structure['id']}"}
        assert accompaniment["referent"] == {"reference": f"Agent/{agent['id']}"}
    (outcome,) = _of(bundle, "Outcome")
    assert outcome["accompaniment"] == {"reference": f"Accompaniment/{accompaniments[0]['id']}"}


def test_json_parcours_ids_include_the_participant() -> None:
    first = JSON.to_canonical(SourceRecord(1, _participant_document()))
    other = JSON.to_canonical(SourceRecord(2, _participant_document(id_participant="P2")))
    for kind in ("Accompaniment", "Outcome"):
        assert {r["id"] for r in _of(first, kind)}.isdisjoint(r["id"] for r in _of(other, kind))
    # the structure is the same organisation whoever the participant
    assert {r["id"] for r in _of(first, "Organization")} == {r["id"] for r in _of(other, "Organization")}


def test_json_repeated_parcours_id_rejects_the_participant_without_values() -> None:
    document = _participant_document()
    document["parcours"][1]["id_parcours"] = "PAR-1"
    with pytest.raises(SkippableRecordError) as caught:
        JSON.to_canonical(SourceRecord(3, document, line=7, source="participants.json"))
    error = caught.value
    assert error.field == "Accompaniment.id" and error.record == 3
    assert "'accompaniment'" in error.reason and "same id key" in error.reason
    assert "PAR-1" not in str(error) and "P1" not in str(error)
