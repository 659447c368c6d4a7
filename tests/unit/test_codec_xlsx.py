"""XLSX codec."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from adapters.xlsx_files.codec import XlsxCodec
from gateway.codecs import SourceRecord
from gateway.errors import ConfigurationError, UnreadableFileError


def workbook_bytes() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Allocataires"
    sheet.append(["Titre du fichier"])
    sheet.append(["N° CAF", "Date de\nnaissance", "RDV", "Tags"])
    sheet.append(["123", dt.datetime(1990, 2, 1), dt.datetime(2024, 5, 6, 14, 30), "a,b"])
    sheet.append([None, None, None, None])
    sheet.append([456, "NULL", None, None])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_sheet_header_row_aliases_dates_and_empty_rows() -> None:
    reader = XlsxCodec().reader(
        {
            "sheet": "Allocataires",
            "header_row": 2,
            "aliases": {"naissance": ["date de naissance"]},
            "multi_values": {"Tags": ","},
        }
    )
    first, second = reader.read(io.BytesIO(workbook_bytes()), source_name="a.xlsx")
    assert isinstance(first, SourceRecord) and isinstance(second, SourceRecord)
    assert first.data == {
        "N° CAF": "123",
        "naissance": "1990-02-01",
        "RDV": "2024-05-06T14:30:00",
        "Tags": ["a", "b"],
    }
    assert second.data == {"N° CAF": 456, "naissance": None, "RDV": None, "Tags": None}
    assert (first.line, second.line) == (3, 5)


def test_missing_sheet_and_non_xlsx_are_unreadable() -> None:
    with pytest.raises(UnreadableFileError, match="'Autre'"):
        list(XlsxCodec().reader({"sheet": "Autre"}).read(io.BytesIO(workbook_bytes())))
    with pytest.raises(UnreadableFileError, match="not a readable XLSX"):
        list(XlsxCodec().reader({}).read(io.BytesIO(b"nom;prenom\n")))


def test_bad_sheet_option() -> None:
    with pytest.raises(ConfigurationError, match="'sheet'"):
        XlsxCodec().reader({"sheet": -1})


def test_writer_never_writes_formulas() -> None:
    out = io.BytesIO()
    XlsxCodec().writer({"sheet": "Export"}).write([{"nom": '=HYPERLINK("x")', "n": 3}], out)
    (record,) = XlsxCodec().reader({"sheet": "Export"}).read(io.BytesIO(out.getvalue()))
    assert isinstance(record, SourceRecord) and record.data == {"nom": '=HYPERLINK("x")', "n": 3}


def test_real_departement_workbook(domain_data: Path) -> None:
    path = domain_data / "rdv-insertion" / "fichier-allocataires-drome.sample.xlsx"
    with path.open("rb") as stream:
        records = list(
            XlsxCodec()
            .reader({"aliases": {"numero_caf": ["N° CAF"]}, "required": ["numero_caf"]})
            .read(stream)
        )
    assert records and all(isinstance(r, SourceRecord) and r.data["numero_caf"] for r in records)
