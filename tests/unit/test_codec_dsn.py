"""DSN codec: block tree, formats against the norm, structure errors, annule et remplace, writer."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from adapters.dsn import norm
from adapters.dsn.codec import DsnCodec
from gateway.codecs import SourceRecord
from gateway.errors import SkippableRecordError, UnreadableFileError

HEADER = """S10.G00.00.001,'LOGICIEL'
S10.G00.00.002,'EDITEUR'
S10.G00.00.003,'1.0'
S10.G00.00.005,'02'
S10.G00.00.006,'P24V01'
S10.G00.00.007,'01'
S10.G00.00.008,'01'
S10.G00.01.001,'123456782'
S10.G00.01.002,'00015'
S10.G00.01.003,'EMETTEUR'
S20.G00.05.001,'01'
S20.G00.05.002,'{type}'
S20.G00.05.003,'11'
S20.G00.05.004,'2'
S20.G00.05.005,'01052024'
{replaced}S20.G00.05.007,'05062024'
S20.G00.05.010,'01'
S21.G00.06.001,'123456782'
S21.G00.06.002,'00015'
S21.G00.11.001,'00015'
"""
INDIVIDU = """S21.G00.30.001,'{nir}'
S21.G00.30.002,'D'ARTAGNAN'
S21.G00.30.004,'CHARLES'
S21.G00.40.001,'01092015'
S21.G00.40.009,'CONTRAT1'
S21.G00.62.001,'31052024'
S21.G00.62.002,'059'
S21.G00.40.001,'01012024'
S21.G00.40.009,'CONTRAT2'
"""
FOOTER = "S90.G00.90.001,'40'\nS90.G00.90.002,'1'\n"


def dsn(*nirs: str, type_: str = "01", replaced: str = "", footer: bool = True) -> bytes:
    text = HEADER.format(type=type_, replaced=replaced) + "".join(INDIVIDU.format(nir=nir) for nir in nirs)
    return (text + (FOOTER if footer else "")).encode("latin-1")


def read(data: bytes, **options: object) -> list[SourceRecord | SkippableRecordError]:
    return list(DsnCodec().reader(options).read(io.BytesIO(data), source_name="d.dsn"))


def test_individu_tree_and_context() -> None:
    (record,) = read(dsn("1850575116107"))
    assert isinstance(record, SourceRecord)
    assert record.line == 21
    assert record.data["S21.G00.30"] == {"001": "1850575116107", "002": "D'ARTAGNAN", "004": "CHARLES"}
    first, second = record.data["S21.G00.40"]
    assert first["009"] == "CONTRAT1" and first["S21.G00.62"] == [{"001": "31052024", "002": "059"}]
    assert second == {"001": "01012024", "009": "CONTRAT2"}
    assert record.context["envoi"]["S10.G00.01"][0]["003"] == "EMETTEUR"
    assert record.context["declaration"]["005"] == "01052024"
    assert record.context["etablissement"] == {"001": "00015"}
    assert (record.context["replaces"], record.context["cancels"], record.context["anomalies"]) == (
        None,
        None,
        [],
    )


def test_bad_format_skips_only_that_individu_without_echoing_the_value() -> None:
    first, second = read(dsn("1850575116107", "12345"))
    assert isinstance(first, SourceRecord)
    assert isinstance(second, SkippableRecordError)
    assert (second.field, second.line, second.record) == ("S21.G00.30.001", 30, 2)
    assert "12345" not in str(second)


def test_accept_mode_reports_anomalies_in_context() -> None:
    (record,) = read(dsn("12345"), on_format_error="accept")
    assert isinstance(record, SourceRecord)
    assert record.context["anomalies"] == [
        {"line": 21, "rubric": "S21.G00.30.001", "rule": "length 5 outside 13-13 (Identifiant_Nir_13)"}
    ]


def test_unknown_rubric_policy() -> None:
    data = dsn("1850575116107").replace(b"S21.G00.30.004", b"S21.G00.30.999")
    (accepted,) = read(data)
    assert isinstance(accepted, SourceRecord) and accepted.data["S21.G00.30"]["999"] == "CHARLES"
    (skipped,) = read(data, on_unknown_rubric="skip")
    assert isinstance(skipped, SkippableRecordError) and skipped.field == "S21.G00.30.999"


@pytest.mark.parametrize("replacement,cancel", [("03", False), ("04", True)])
def test_annule_et_remplace_is_exposed(replacement: str, cancel: bool) -> None:
    data = dsn("1850575116107", type_=replacement, replaced="S20.G00.05.006,'010520241'\n")
    (record,) = read(data)
    assert isinstance(record, SourceRecord)
    key, other = ("cancels", "replaces") if cancel else ("replaces", "cancels")
    assert record.context[key] == "010520241" and record.context[other] is None


@pytest.mark.parametrize(
    "mutate,message,line",
    [
        (lambda d: d.split(b"\n", 10)[10], "starts with the envoi", 1),
        (lambda d: d.replace(b"S21.G00.11.001,'00015'\n", b""), "S21.G00.30 out of order", 20),
        (lambda d: d.replace(b"S21.G00.30.002,'D'ARTAGNAN'", b"S21.G00.30.002;'X'"), "not of the form", 22),
        (lambda d: d.replace(FOOTER.encode(), b""), "no S90.G00.90 footer", 30),
    ],
)
def test_structure_errors_are_unreadable(mutate: object, message: str, line: int) -> None:
    with pytest.raises(UnreadableFileError, match=message) as caught:
        read(mutate(dsn("1850575116107")))  # type: ignore[operator]
    assert caught.value.line == line


def test_utf8_option() -> None:
    data = dsn("1850575116107").decode("latin-1").replace("CHARLES", "CHLOÉ").encode("utf-8")
    (record,) = read(data, encoding="utf-8")
    assert isinstance(record, SourceRecord) and record.data["S21.G00.30"]["004"] == "CHLOÉ"


def test_sample_dsn_gives_five_individuals(domain_data: Path) -> None:
    path = domain_data / "dsn" / "exemple-fictif-drolow.dsn"
    strict = read(path.read_bytes())
    # The fictional sample's contract numbers ("C001") are shorter than the norm's 5 characters.
    assert [item.field for item in strict if isinstance(item, SkippableRecordError)] == ["S21.G00.40.009"] * 5
    records = read(path.read_bytes(), on_format_error="accept")
    assert all(isinstance(r, SourceRecord) for r in records)
    assert [r.data["S21.G00.30"]["019"] for r in records] == [f"EMP00{i}" for i in range(1, 6)]  # type: ignore[union-attr]
    assert [len(r.data["S21.G00.40"]) for r in records] == [1] * 5  # type: ignore[union-attr]
    assert {r.context["etablissement"]["001"] for r in records} == {"00015", "00023"}  # type: ignore[union-attr]


def test_writer_round_trips_the_sample(domain_data: Path) -> None:
    path = domain_data / "dsn" / "exemple-fictif-drolow.dsn"
    records = [r for r in read(path.read_bytes(), on_format_error="accept") if isinstance(r, SourceRecord)]
    out = io.BytesIO()
    keys = ("envoi", "declaration", "entreprise", "etablissement")
    DsnCodec().writer({}).write(
        [{**{k: r.context[k] for k in keys}, "individu": r.data} for r in records], out
    )
    body = [line for line in path.read_text("latin-1").splitlines() if not line.startswith("S90")]
    assert out.getvalue().decode("latin-1").splitlines()[: len(body)] == body


def test_norm_table_agrees_with_the_p24v01_workbook(domain_data: Path) -> None:
    path = domain_data / "dsn" / "dsn-P24V01-fields.derived.csv"
    with path.open(encoding="utf-8", newline="") as file:
        official = {row["rubrique"]: row for row in csv.DictReader(file, delimiter=";")}
    assert norm.rubrics(), "norm table is empty"
    for rubric_id, rubric in norm.rubrics().items():
        row = official[rubric_id]
        assert (rubric.min_length, rubric.max_length) == (int(row["lg_min"]), int(row["lg_max"])), rubric_id
        assert rubric.type == row["datatype"], rubric_id
        if rubric_id != "S10.G00.00.006":  # ours accepts any PxxVyy version, the workbook lists P24V01 only
            assert (rubric.pattern.pattern if rubric.pattern else "") == row["regexp"], rubric_id
            assert (
                rubric.codes == {c.split("=")[0].strip() for c in row["valeurs"].split(";") if "=" in c}
                or not row["valeurs"]
            ), rubric_id
    for block in norm.blocks().values():
        parents = {row["bloc_parent"] for row in official.values() if row["bloc"] == block.id}
        if parents - {""}:
            assert parents == {block.parent}, block.id


def test_writer_refuses_blocks_a_reader_could_not_separate() -> None:
    context = {
        "envoi": {"001": "L"},
        "declaration": {"001": "01"},
        "entreprise": {"001": "1"},
        "etablissement": {"001": "1"},
    }
    individu = {"S21.G00.30": {"001": "1"}, "S21.G00.40": [{"001": "a"}, {"002": "b"}]}
    with pytest.raises(SkippableRecordError) as caught:
        DsnCodec().writer({}).write([{**context, "individu": individu}], io.BytesIO())
    assert caught.value.field == "S21.G00.40"
