"""CSV codec: encodings, delimiters, aliases, nulls, multi-values, bad rows, writer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from adapters.csv_files.codec import CsvCodec
from gateway.codecs import SourceRecord
from gateway.errors import ConfigurationError, SkippableRecordError, UnreadableFileError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "codecs"


def read(data: bytes, **options: object) -> list[SourceRecord | SkippableRecordError]:
    return list(CsvCodec().reader(options).read(io.BytesIO(data), source_name="in.csv"))


def test_windows_1252_file_with_aliases_quoted_newline_and_bad_row() -> None:
    items = read(
        (FIXTURES / "beneficiaires-cp1252.csv").read_bytes(),
        aliases={"prenom": ["Prénom"], "date_naissance": ["DATE DE NAISSANCE"]},
        required=["Nom", "prenom"],
    )
    first, second, third = items
    assert isinstance(first, SourceRecord) and isinstance(second, SourceRecord)
    assert first.data == {
        "Nom": "Durand",
        "prenom": "Élodie",
        "date_naissance": "01/02/1990",
        "Commune": "Sète",
    }
    assert (first.line, second.line) == (2, 3)
    assert second.data["prenom"] == "Jean\r\nPierre" and second.data["date_naissance"] is None
    assert isinstance(third, SkippableRecordError)
    assert (third.line, third.record) == (5, 3)  # the quoted newline makes record 2 span lines 3-4
    assert "Trop" not in str(third)


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiter_is_sniffed(delimiter: str) -> None:
    text = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "x y", "3"]) + "\n"
    (record,) = read(text.encode())
    assert isinstance(record, SourceRecord) and record.data == {"a": "1", "b": "x y", "c": "3"}


def test_auto_encoding_prefers_bom_then_utf8() -> None:
    (with_bom,) = read("\ufeffnom\nÉric\n".encode())
    (plain,) = read("nom\nÉric\n".encode())
    (legacy,) = read("nom\nÉric\n".encode("cp1252"))
    for item in (with_bom, plain, legacy):
        assert isinstance(item, SourceRecord) and item.data == {"nom": "Éric"}


def test_decoding_error_mid_file_names_the_line() -> None:
    data = b"nom\nAlice\n" + "Zoé\n".encode("cp1252")
    with pytest.raises(UnreadableFileError) as caught:
        read(data, encoding="utf-8")
    assert caught.value.line == 3 and "Zo" not in str(caught.value)


def test_missing_required_header_is_unreadable() -> None:
    with pytest.raises(UnreadableFileError, match="'nir'"):
        read(b"nom;prenom\nA;B\n", required=["nir"])


def test_headers_that_collide_after_aliasing_are_refused() -> None:
    with pytest.raises(UnreadableFileError, match="repeats header 'nom'"):
        read(b"Nom;NOM_USAGE\nA;B\n", aliases={"nom": ["nom usage"]})


def test_null_literals_and_multi_values() -> None:
    (record,) = read(b"a;b;tags\nNULL;-;x|y|z\n", null_literals=["NULL", "-"], multi_values={"tags": "|"})
    assert isinstance(record, SourceRecord)
    assert record.data == {"a": None, "b": None, "tags": ["x", "y", "z"]}


def test_unterminated_quote_is_skipped_with_its_line() -> None:
    items = read(b'a;b\n1;2\n"open;3\n', delimiter=";")
    assert isinstance(items[0], SourceRecord)
    assert isinstance(items[1], SkippableRecordError) and items[1].line == 3


def test_empty_file_is_unreadable() -> None:
    with pytest.raises(UnreadableFileError, match="no header"):
        read(b"")


@pytest.mark.parametrize(
    "options",
    [
        {"delimiter": ":"},
        {"encoding": "ebcdic"},
        {"aliases": ["nom"]},
        {"unknown": 1},
        {"quotechar": "''"},
        {"short_rows": "truncate"},
    ],
)
def test_bad_options_name_the_option(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match=repr(next(iter(options)))):
        CsvCodec().reader(options)


SHORT = b"a;b;tags\n1;2;x|y\n3\n4;5\n6;7;8;9\n\n10;;z\n"


def test_short_rows_are_rejected_by_default() -> None:
    items = read(SHORT, multi_values={"tags": "|"})
    assert [isinstance(i, SourceRecord) for i in items] == [True, False, False, False, True]
    short = items[1]
    assert isinstance(short, SkippableRecordError)
    assert (short.line, short.record) == (3, 2) and "1 columns, header has 3" in str(short)


def test_short_rows_pad_gives_none_for_missing_trailing_cells() -> None:
    items = read(SHORT, short_rows="pad", multi_values={"tags": "|"})
    records = [i for i in items if isinstance(i, SourceRecord)]
    assert [r.data for r in records] == [
        {"a": "1", "b": "2", "tags": ["x", "y"]},
        {"a": "3", "b": None, "tags": None},
        {"a": "4", "b": "5", "tags": None},
        {"a": "10", "b": None, "tags": ["z"]},
    ]
    assert [r.line for r in records] == [2, 3, 4, 7]
    (long_row,) = [i for i in items if isinstance(i, SkippableRecordError)]
    assert long_row.line == 5 and "4 columns, header has 3" in str(long_row)  # too long: still rejected


def test_short_rows_is_accepted_by_the_writer() -> None:
    out = io.BytesIO()
    assert CsvCodec().writer({"short_rows": "pad"}).write([{"a": "1"}], out) == 1
    assert out.getvalue() == b"a\r\n1\r\n"


def test_writer_quotes_minimally_and_joins_multi_values() -> None:
    out = io.BytesIO()
    count = (
        CsvCodec()
        .writer({"multi_values": {"tags": "|"}, "encoding": "windows-1252"})
        .write([{"nom": "O;Brien", "tags": ["a", "b"]}, {"nom": "Zoé", "tags": None}], out)
    )
    assert count == 2
    assert out.getvalue() == 'nom;tags\r\n"O;Brien";a|b\r\nZoé;\r\n'.encode("cp1252")


def test_writer_refuses_unencodable_text_naming_the_field() -> None:
    with pytest.raises(SkippableRecordError) as caught:
        CsvCodec().writer({"encoding": "latin-1"}).write([{"nom": "ok"}, {"nom": "€uro"}], io.BytesIO())
    assert (caught.value.record, caught.value.field) == (2, "nom")


def test_real_departement_export(domain_data: Path) -> None:
    path = domain_data / "rdv-insertion" / "departement-export-iodas-like-600-lignes.sample.csv"
    with path.open("rb") as stream:
        items = list(
            CsvCodec()
            .reader(
                {
                    "aliases": {"prenom": ["Prénom bénéficiaire"], "id_iodas": ["ID Iodas"]},
                    "required": ["id_iodas"],
                }
            )
            .read(stream, source_name=path.name)
        )
    records = [item for item in items if isinstance(item, SourceRecord)]
    assert len(records) == 600 and len(items) == 600
    assert all(record.data["id_iodas"] for record in records)
    assert "Civilité" in records[0].data  # BOM stripped from the first header


def test_real_france_travail_extraction(domain_data: Path) -> None:
    path = domain_data / "carnet-de-bord" / "france-travail" / "actions_example.csv"
    with path.open("rb") as stream:
        records = [r for r in CsvCodec().reader({}).read(stream) if isinstance(r, SourceRecord)]
    assert len(records) == 125
    assert records[0].data["objectif_formation"] is None  # "NULL" literal
