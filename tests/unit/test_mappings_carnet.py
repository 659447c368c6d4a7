"""carnet-de-bord import CSVs (mappings/carnet-de-bord-*): row-by-row rejection, formats, round trips.

Expected rejections are computed here from the files themselves with the partner's documented import rules
(carnet-de-bord's own checks), independently of the mapping engine.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.codecs import SourceRecord
from gateway.errors import SkippableRecordError, UnreadableFileError
from gateway.mapping import CompiledMapping, load_mapping
from gateway.mapping.translate import make_codec
from gateway.model.validation import get_validator

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mappings_departements" / "carnet"
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")
PHONE = re.compile(r"^(?:(?:\+|00)33 ?|0)[1-9](?:[ .-]?\d{2}){4}$")
PHONE_PRO = re.compile(r"^(?:(?:\+|00)33 ?|0)?[1-9](?:[ .-]?\d{2}){4}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NIR_SHAPE = re.compile(r"^[1-478]\d{2}(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2[AB])\d{6}(0[1-9]|[1-8]\d|9[0-7])$")

Outcome = tuple[int | None, dict[str, Any] | SkippableRecordError]


@cache
def mapping(name: str) -> CompiledMapping:
    return load_mapping(ROOT / "mappings" / name / "mapping.yaml")


def run(m: CompiledMapping, path: Path) -> Iterator[Outcome]:
    """Codec + map_and_validate, one outcome per data row: (line, Bundle or rejection)."""
    reader = make_codec(m).reader(m.codec_options())
    with path.open("rb") as stream:
        for item in reader.read(stream, source_name=path.name):
            if isinstance(item, SkippableRecordError):
                yield item.line, item
                continue
            try:
                yield item.line, m.map_and_validate(item)
            except SkippableRecordError as error:
                yield error.line, error


def rows(path: Path) -> Iterator[tuple[int, dict[str, str], bool]]:
    """(line, row by header, fits the header) read with the csv module.

    A row fits when it has no more cells than the header: carnet-de-bord imports rows whose trailing empty
    cells are missing (the beneficiaires mapping pads them: ``short_rows: pad``).
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = [h.strip() for h in next(reader)]
        for cells in reader:
            yield reader.line_num, dict(zip(header, cells, strict=False)), len(cells) <= len(header)


def parses_as_date(value: str) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def nir_key_ok(value: str) -> bool:
    return len(value) == 15 and value.isdigit() and 97 - int(value[:13]) % 97 == int(value[13:])


def beneficiary_faults(row: dict[str, str], fits: bool) -> set[str | None]:
    """Canonical fields a row must be rejected on (empty: the row is good)."""
    if not fits:
        return {None}
    faults: set[str | None] = set()
    birth = row.get("Date de naissance*", "").strip()
    if not birth or parses_as_date(birth) is None:
        faults.add("Person.birthDate")
    nir = row.get("NIR", "").strip()
    if nir and not nir_key_ok(nir):
        faults.add("Person.identifier")
    elif nir and not NIR_SHAPE.match(nir):
        faults.add("Person:$.entry[0].resource.identifier[1].value")
    phones = [p.strip() for p in row.get("Téléphone", "").split(",") if p.strip()]
    if any(not PHONE.match(p) for p in phones):
        faults.add("Person.telecom.value")
    return faults


def assert_rejections(outcomes: list[Outcome], expected: dict[int, set[str | None]], file_name: str) -> None:
    rejected = {line: out for line, out in outcomes if isinstance(out, SkippableRecordError)}
    assert set(rejected) == {line for line, faults in expected.items() if faults}
    for line, error in rejected.items():
        assert line is not None
        assert error.field in expected[line], (line, error.field)
        assert error.file == file_name and error.line == line
    validator = get_validator()
    for _, out in outcomes:
        if not isinstance(out, SkippableRecordError):
            assert validator.validate(out) == []


@pytest.mark.parametrize(
    "relative",
    [
        "import-templates/import_beneficiaires.csv",
        "import-fixtures/import_beneficiaires_buggy.csv",
        "import-fixtures/import_beneficiaires_partial.csv",
        "import-fixtures/import_beneficiaires_with_all_date_formats.csv",
    ],
)
def test_beneficiaires_rows_rejected_on_the_faulty_field(domain_data: Path, relative: str) -> None:
    path = domain_data / "carnet-de-bord" / relative
    expected = {line: beneficiary_faults(row, fits) for line, row, fits in rows(path)}
    outcomes = list(run(mapping("carnet-de-bord-beneficiaires"), path))
    assert len(outcomes) == len(expected)
    assert any(faults for faults in expected.values()) or "template" in relative
    assert_rejections(outcomes, expected, path.name)


@pytest.mark.parametrize(
    "relative",
    [
        "import-templates/import_beneficiaires.csv",
        "import-fixtures/import_beneficiaires_with_all_date_formats.csv",
    ],
)
def test_beneficiaires_short_rows_are_padded_and_map(domain_data: Path, relative: str) -> None:
    path = domain_data / "carnet-de-bord" / relative
    with path.open(encoding="utf-8-sig", newline="") as handle:
        width = len(next(csv.reader(handle, delimiter=";")))
    short = {line: row for line, row, _ in rows(path) if len(row) < width}
    assert short  # these files end with rows whose trailing empty cells are missing
    outcomes = dict(run(mapping("carnet-de-bord-beneficiaires"), path))
    for line, row in short.items():
        bundle = outcomes[line]
        assert isinstance(bundle, dict), bundle
        person = bundle["entry"][0]["resource"]
        assert person["name"]["family"] == row["Nom*"].strip()
        assert {"system": "urn:fr:departement:generique:id", "value": row["Identifiant dans le SI*"]} in (
            person["identifier"]
        )


def test_beneficiaires_departement_code_is_a_variable() -> None:
    row = {
        "Identifiant dans le SI*": "X1",
        "Prénom*": "Ana",
        "Nom*": "Lopez",
        "Date de naissance*": "1990-01-02",
    }
    m = mapping("carnet-de-bord-beneficiaires")
    for code, bound in (("generique", m), ("26", m.bind({"DEPARTEMENT": "26"}))):
        bundle = bound.map_and_validate(SourceRecord(number=1, data=row))
        person = bundle["entry"][0]["resource"]
        assert person["identifier"] == [{"system": f"urn:fr:departement:{code}:id", "value": "X1"}]
        (back,) = bound.from_canonical(bundle)
        assert back["Identifiant dans le SI*"] == "X1"
    # another département's id is not this one's
    other = m.bind({"DEPARTEMENT": "07"}).from_canonical(
        m.bind({"DEPARTEMENT": "26"}).to_canonical(SourceRecord(number=1, data=row))
    )
    assert other[0].get("Identifiant dans le SI*") is None


def test_beneficiaires_date_formats_give_iso_dates(domain_data: Path) -> None:
    path = (
        domain_data / "carnet-de-bord" / "import-fixtures" / "import_beneficiaires_with_all_date_formats.csv"
    )
    synthetic = FIXTURES / "beneficiaires_formats_dates.csv"
    m = mapping("carnet-de-bord-beneficiaires")
    checked = 0
    for source in (path, synthetic):
        births = {line: parses_as_date(row["Date de naissance*"]) for line, row, _ in rows(source)}
        for line, out in run(m, source):
            if isinstance(out, SkippableRecordError):
                assert out.field != "Person.birthDate"
                continue
            person = out["entry"][0]["resource"]
            birth = births[line] if line is not None else None
            assert birth is not None and person["birthDate"] == birth.isoformat()
            checked += 1
    assert checked >= 5


def test_beneficiaire_resources_and_codes() -> None:
    outcomes = dict(
        run(mapping("carnet-de-bord-beneficiaires"), FIXTURES / "beneficiaires_formats_dates.csv")
    )
    first = outcomes[2]
    assert isinstance(first, dict)
    by_type = {e["resource"]["resourceType"]: e["resource"] for e in first["entry"]}
    assert by_type["BenefitRight"]["status"]["code"] == "2"  # rsa_droit_ouvert_versable
    assert by_type["Organization"]["name"] == "CD 99"
    orientation = by_type["Orientation"]
    assert orientation["referent"]["reference"] == f"Agent/{by_type['Agent']['id']}"
    assert orientation["referentOrganization"]["reference"] == f"Organization/{by_type['Organization']['id']}"
    closed = outcomes[4]
    assert isinstance(closed, dict)
    assert [
        e["resource"]["status"]["code"]
        for e in closed["entry"]
        if e["resource"]["resourceType"] == "BenefitRight"
    ] == ["5"]


def test_missing_required_header_refuses_the_whole_file() -> None:
    with pytest.raises(UnreadableFileError) as caught:
        list(run(mapping("carnet-de-bord-beneficiaires"), FIXTURES / "beneficiaires_sans_date.csv"))
    assert "Date de naissance*" in str(caught.value)
    assert "beneficiaires_sans_date.csv" in str(caught.value)


def structure_faults(row: dict[str, str]) -> set[str | None]:
    faults: set[str | None] = set()
    if not row.get("Nom", "").strip():
        faults.add("Organization.name")
    phones = [p.strip() for p in row.get("Téléphones", "").split(",") if p.strip()]
    email = row.get("Courriel", "").strip()
    site = row.get("Site web", "").strip()
    if (
        any(not PHONE_PRO.match(p) for p in phones)
        or (email and not EMAIL.match(email))
        or (site and not re.match(r"^https?://", site))
    ):
        faults.add("Organization.telecom.value")
    siret = row.get("Siret", "").strip()
    if siret and not re.fullmatch(r"\d{14}", siret):
        faults.add("Organization.identifier")
    admin = row.get("Courriel responsable", "").strip()
    admin_phones = [p.strip() for p in row.get("Téléphones responsable", "").split(",") if p.strip()]
    if not EMAIL.match(admin) or any(not PHONE_PRO.match(p) for p in admin_phones):
        faults.add("Agent.telecom.value")
    return faults


@pytest.mark.parametrize(
    ("relative", "rejections"),
    [
        ("import-templates/import_structures.csv", 0),
        ("import-fixtures/import_structures_buggy.csv", 3),
        ("import-fixtures/import_structures_missing_key.csv", 0),
    ],
)
def test_structures_rows(domain_data: Path, relative: str, rejections: int) -> None:
    path = domain_data / "carnet-de-bord" / relative
    expected = {line: structure_faults(row) for line, row, _ in rows(path)}
    assert sum(1 for faults in expected.values() if faults) == rejections
    outcomes = list(run(mapping("carnet-de-bord-structures"), path))
    assert_rejections(outcomes, expected, path.name)


def test_structure_rows_of_one_structure_share_its_id(domain_data: Path) -> None:
    path = domain_data / "carnet-de-bord" / "import-templates" / "import_structures.csv"
    bundles = [out for _, out in run(mapping("carnet-de-bord-structures"), path)]
    orgs = {
        e["resource"]["id"]
        for b in bundles
        if isinstance(b, dict)
        for e in b["entry"]
        if e["resource"]["resourceType"] == "Organization"
    }
    agents = {
        e["resource"]["id"]
        for b in bundles
        if isinstance(b, dict)
        for e in b["entry"]
        if e["resource"]["resourceType"] == "Agent"
    }
    assert len(orgs) == 1 and len(agents) == 2


def test_charges_orientation_rows(domain_data: Path) -> None:
    path = domain_data / "carnet-de-bord" / "import-fixtures" / "import_charges_orientation.csv"
    expected: dict[int, set[str | None]] = {}
    for line, row, _ in rows(path):
        email = row["Courriel*"].strip()
        expected[line] = (
            {"Agent.id"} if not email else set() if EMAIL.match(email) else {"Agent.telecom.value"}
        )
    outcomes = list(run(mapping("carnet-de-bord-charges-orientation"), path))
    assert_rejections(outcomes, expected, path.name)
    roles = {out["entry"][0]["resource"]["role"]["code"] for _, out in outcomes if isinstance(out, dict)}
    assert roles == {"orientation_manager"}


def test_reorientation_instructions(domain_data: Path) -> None:
    path = domain_data / "carnet-de-bord" / "import-templates" / "import_reorientation.csv"
    outcomes = [out for _, out in run(mapping("carnet-de-bord-reorientation"), path)]
    assert all(isinstance(out, dict) for out in outcomes)
    persons = {
        e["resource"]["id"]
        for b in outcomes
        if isinstance(b, dict)
        for e in b["entry"]
        if e["resource"]["resourceType"] == "Person"
    }
    orientations = [
        e["resource"]
        for b in outcomes
        if isinstance(b, dict)
        for e in b["entry"]
        if e["resource"]["resourceType"] == "Orientation"
    ]
    assert len(persons) == 1
    assert len({o["id"] for o in orientations}) == len(list(rows(path)))
    removals = [o for o in orientations if o.get("extension")]
    expected_removals = [row for _, row, _ in rows(path) if row["Accompagnateurs à supprimer"]]
    assert len(removals) == len(expected_removals)


# --------------------------------------------------------------------------------------- round trips

_text = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçABCDEFGHIJ- '", min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
_email = st.builds(
    lambda a, b: f"{a}@{b}.fr",
    st.from_regex(r"[a-z][a-z0-9.]{0,10}", fullmatch=True),
    st.from_regex(r"[a-z]{2,10}", fullmatch=True),
)
_phone = st.from_regex(r"0[1-9][0-9]{8}", fullmatch=True)
_date = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31))


def _nir(draw: st.DrawFn) -> str:
    body = (
        f"{draw(st.sampled_from('12'))}{draw(st.integers(0, 99)):02d}{draw(st.integers(1, 12)):02d}"
        f"{draw(st.integers(1, 95)):02d}{draw(st.integers(1, 999)):03d}{draw(st.integers(1, 999)):03d}"
    )
    return body + f"{97 - int(body) % 97:02d}"


@st.composite
def beneficiaire_rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "Identifiant dans le SI*": draw(st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)),
        "Prénom*": draw(_text),
        "Nom*": draw(_text),
        "Date de naissance*": draw(_date).isoformat(),
    }
    optional = {
        "NIR": st.composite(_nir)(),
        "Lieu de naissance": _text,
        "Téléphone": st.lists(_phone, min_size=1, max_size=2),
        "Email": _email,
        "Adresse": _text,
        "Adresse (complément)": _text,
        "Code postal": st.from_regex(r"[1-9][0-9]{4}", fullmatch=True),
        "Ville": _text,
        "Numéro allocataire CAF/MSA": st.from_regex(r"[0-9]{7}", fullmatch=True),
        "Identifiant Pôle emploi": st.from_regex(r"[0-9]{7}[A-Z]", fullmatch=True),
        "Droits RSA": st.sampled_from(["rsa_droit_ouvert_versable", "rsa_clos", "rsa_refuse"]),
        "Droits ARE": st.sampled_from(["Oui", "Non"]),
        "Droits ASS": st.sampled_from(["Oui", "Non"]),
        "Prime d'activité": st.sampled_from(["Oui", "Non"]),
        "Structure": _text,
        "Accompagnateurs": _email,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            row[key] = draw(strategy)
    if "Adresse (complément)" in row and "Adresse" not in row:
        del row["Adresse (complément)"]
    return row


def _absent_is_non(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("Droits ARE", "Droits ASS", "Prime d'activité"):
        out.setdefault(key, "Non")
    return out


@settings(max_examples=60, deadline=None)
@given(beneficiaire_rows())
def test_beneficiaires_round_trip(row: dict[str, Any]) -> None:
    m = mapping("carnet-de-bord-beneficiaires")
    bundle = m.map_and_validate(SourceRecord(number=1, data=row, line=2, source="gen.csv"))
    (back,) = m.from_canonical(bundle)
    assert {k: v for k, v in back.items() if v not in (None, "", [])} == _absent_is_non(row)


@settings(max_examples=40, deadline=None)
@given(
    st.fixed_dictionaries(
        {"Prénom*": _text, "Nom*": _text, "Date de naissance*": _date.map(lambda d: d.strftime("%d/%m/%Y"))},
        optional={
            "Accompagnateurs à ajouter": _email,
            "Accompagnateurs à supprimer": _email,
            "Structures à rattacher": _text,
        },
    )
)
def test_reorientation_round_trip(row: dict[str, Any]) -> None:
    # adding and removing the same accompagnateur in one row is contradictory: rejected (see README)
    assume(
        row.get("Accompagnateurs à ajouter") != row.get("Accompagnateurs à supprimer")
        or "Accompagnateurs à ajouter" not in row
    )
    m = mapping("carnet-de-bord-reorientation")
    bundle = m.map_and_validate(SourceRecord(number=1, data=row))
    (back,) = m.from_canonical(bundle)
    assert {k: v for k, v in back.items() if v not in (None, "")} == row


@settings(max_examples=40, deadline=None)
@given(
    st.fixed_dictionaries(
        {"Courriel*": _email, "Prénom*": _text, "Nom*": _text},
        optional={"Téléphone": st.lists(_phone, min_size=1, max_size=2), "Fonction": _text},
    )
)
def test_professionnels_round_trip(row: dict[str, Any]) -> None:
    m = mapping("carnet-de-bord-professionnels")
    bundle = m.map_and_validate(SourceRecord(number=1, data=row))
    (back,) = m.from_canonical(bundle)
    assert {k: v for k, v in back.items() if v not in (None, "", [])} == row


def test_beneficiaires_written_file_reads_back(domain_data: Path) -> None:
    """Bundles → the CSV writer → the reader gives the same Bundles (headers are the template's)."""
    m = mapping("carnet-de-bord-beneficiaires")
    path = domain_data / "carnet-de-bord" / "import-templates" / "import_beneficiaires.csv"
    bundles = [out for _, out in run(m, path) if isinstance(out, dict)]
    assert bundles
    buffer = io.BytesIO()
    records = [record for bundle in bundles for record in m.from_canonical(bundle)]
    make_codec(m).writer(m.codec_options(writer=True)).write(records, buffer)
    header = buffer.getvalue().decode("utf-8").splitlines()[0]
    assert header.startswith("Identifiant dans le SI*;Prénom*;Nom*;Date de naissance*")
    reader = make_codec(m).reader(m.codec_options())
    again = [
        m.to_canonical(r) for r in reader.read(io.BytesIO(buffer.getvalue())) if isinstance(r, SourceRecord)
    ]
    assert [b["id"] for b in again] == [b["id"] for b in bundles]
