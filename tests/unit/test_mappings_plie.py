"""PLIE participants export (CSV, JSON): Bundles valid; partner → canonical → partner keeps every field."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.synthetic import generate
from adapters.synthetic.plie import MOTIFS_SORTIE
from gateway.codecs import SourceRecord
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


@st.composite
def _parcours(draw: st.DrawFn, index: int) -> dict[str, Any]:
    closed = draw(st.booleans())
    referent = draw(st.booleans())
    structure = draw(st.booleans())
    return {
        "id_parcours": f"PAR-{index}",
        "date_entree_plie": draw(_date),
        "date_sortie_plie": draw(_date) if closed else "",
        "motif_sortie": draw(st.sampled_from(MOTIFS_SORTIE)) if closed else "",
        "referent_nom": draw(_text) if referent else "",
        "referent_prenom": draw(_opt(_text)) if referent else "",
        "referent_courriel": draw(_opt(st.just("ref@plie.example.fr"))) if referent else "",
        "structure_referente_siret": draw(_digits(14)) if structure else "",
        "structure_referente_nom": draw(_opt(_text)) if structure else "",
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
    parcours = [_present(data.draw(_parcours(i))) for i in indexes]
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
