"""Synthetic generators: deterministic, streamed, readable by their codec and mapped without rejects."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.synthetic import formats, generate
from gateway import registry
from gateway.mapping import load_mapping, translate_stream
from gateway.model.nir import is_valid_nir
from gateway.model.validation import get_validator

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
# generator format -> mapping that reads it (skipped when the mapping folder is absent)
MAPPED = {
    "plie-csv": "plie-participants-csv",
    "plie-json": "plie-participants-json",
    "dsn": "dsn-embauches-fins-contrat",
    "caf-vrsb0801": "caf-rsa-vrsb0801",
    "france-travail-csv": "france-travail-extraction-csv",
    "departement-csv": "carnet-de-bord-beneficiaires",
}
XSD_VARIABLE = "CAF_VRSB0801_XSD"
FT_FILE = "i03300c.j.extract_spie_carnet_spie_carnet_de_bord_principal.csv"


def _bytes(fmt: str, records: int, seed: int = 7, **options: object) -> bytes:
    stream = io.BytesIO()
    assert generate(fmt, records, stream, seed=seed, **options) == records
    return stream.getvalue()


@pytest.mark.parametrize("fmt", formats())
def test_same_seed_same_bytes_other_seed_other_bytes(fmt: str) -> None:
    assert _bytes(fmt, 20, seed=1) == _bytes(fmt, 20, seed=1)
    assert _bytes(fmt, 20, seed=1) != _bytes(fmt, 20, seed=2)


@pytest.mark.parametrize("fmt", sorted(MAPPED))
def test_generated_file_reads_and_maps_without_reject(fmt: str, request: pytest.FixtureRequest) -> None:
    name = MAPPED[fmt]
    variables = {}
    if fmt == "caf-vrsb0801":  # the CAF mapping validates against CNAF's XSD, given at run time
        domain_data: Path = request.getfixturevalue("domain_data")
        variables[XSD_VARIABLE] = str(domain_data / "carnet-de-bord/caf-msa/vrsb0801.xsd")
    if not (MAPPINGS / name / "mapping.yaml").is_file():
        pytest.skip(f"mapping {name} not in this checkout")
    mapping = load_mapping(MAPPINGS / name / "mapping.yaml")
    validator = get_validator()
    count = 0
    for outcome in translate_stream(io.BytesIO(_bytes(fmt, 120)), mapping, variables=variables):
        assert isinstance(outcome, dict), f"{fmt}: rejected record: {outcome}"
        assert validator.validate(outcome) == []
        count += 1
    assert count >= 120  # plie-csv has one row per parcours


def test_nirs_are_valid_and_include_corsica_and_foreign_born() -> None:
    rows = list(csv.DictReader(io.StringIO(_bytes("plie-csv", 400).decode()), delimiter=";"))
    nirs = {row["nir"] for row in rows if row["nir"]}
    assert nirs and all(is_valid_nir(nir) for nir in nirs)
    assert any(nir[5:7] in ("2A", "2B") for nir in nirs)
    assert any(nir[5:7] == "99" for nir in nirs)
    assert any(not row["nir"] for row in rows)  # optional field sometimes empty


def test_caf_file_is_valid_against_the_cnaf_xsd(domain_data: Path) -> None:
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(domain_data / "carnet-de-bord/caf-msa/vrsb0801.xsd")))
    document = etree.fromstring(_bytes("caf-vrsb0801", 60))
    assert schema.validate(document), schema.error_log.last_error
    assert len(document.findall("InfosFoyerRSA")) == 60


@pytest.mark.parametrize(
    ("fmt", "reference", "encoding"),
    [
        ("france-travail-csv", f"carnet-de-bord/france-travail/{FT_FILE}", "utf-8"),
        ("departement-csv", "carnet-de-bord/import-templates/import_beneficiaires.csv", "utf-8-sig"),
    ],
)  # fmt: skip
def test_tabular_layout_matches_the_partner_file(
    domain_data: Path, fmt: str, reference: str, encoding: str
) -> None:
    expected = (domain_data / reference).read_text(encoding=encoding).splitlines()[0]
    text = _bytes(fmt, 30).decode(encoding)
    assert text.splitlines()[0] == expected
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) == 31
    assert {len(row) for row in rows} == {len(expected.split(";"))}


def test_dsn_has_several_etablissements_hires_and_ends() -> None:
    text = _bytes("dsn", 300, etablissements=3).decode("ascii")
    assert text.count("S21.G00.11.001,") == 3
    assert text.count("S21.G00.30.001,") == 300
    assert "S21.G00.62.002," in text
    assert "S21.G00.40.008,'71'" in text  # some CDDI


def test_cli_generates_through_the_registry(tmp_path: Path) -> None:
    import typer

    from gateway.cli import generate as generate_cli

    app = typer.Typer()
    generate_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer in sub-command mode
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        app, ["generate", "plie-csv", "--records", "5", "--output", str(out), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == _bytes("plie-csv", 5, seed=3)
    bad = CliRunner().invoke(app, ["generate", "nope", "--records", "1", "--output", str(out)])
    assert bad.exit_code != 0
    assert registry.generator("dsn") is generate
