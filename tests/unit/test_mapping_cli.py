"""``gateway translate`` and ``gateway check``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from gateway.cli.translate import CHECKS, check_mappings, register

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "mapping"
RDV = "france-travail-rdv-partenaire-api"


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_translate_forward_then_reverse(tmp_path: Path) -> None:
    runner = CliRunner()
    canonical = tmp_path / "out.ndjson"
    result = runner.invoke(
        make_app(),
        ["translate", str(FIXTURES / "ft-rdv-partenaire.sample.json"), "-m", RDV,
         "-o", str(canonical), "--mappings-dir", str(PROJECT / "mappings")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "records read: 1, mapped: 1, rejected: 0" in result.output
    (bundle,) = [json.loads(line) for line in canonical.read_text().splitlines()]
    assert bundle["resourceType"] == "Bundle"
    partner = tmp_path / "back.json"
    result = runner.invoke(
        make_app(),
        ["translate", str(canonical), "-m", RDV, "--reverse", "-o", str(partner),
         "--mappings-dir", str(PROJECT / "mappings")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads(partner.read_text())
    original = json.loads((FIXTURES / "ft-rdv-partenaire.sample.json").read_text())
    assert (written[0] if isinstance(written, list) else written) == original


def test_translate_reports_rejections_grouped_without_values(tmp_path: Path) -> None:
    source = tmp_path / "rdv.json"
    payload = json.loads((FIXTURES / "ft-rdv-partenaire.sample.json").read_text())
    payload["rendezVous"]["dateHeureDebut"] = "le 5 mars"
    source.write_text(json.dumps(payload), encoding="utf-8")
    result = CliRunner().invoke(
        make_app(),
        ["translate", str(source), "-m", RDV, "-o", str(tmp_path / "o.ndjson"),
         "--mappings-dir", str(PROJECT / "mappings")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "rejected: 1" in result.output and "Appointment.start" in result.output
    assert "le 5 mars" not in result.output


def test_translate_context_and_unknown_mapping(tmp_path: Path, domain_data: Path) -> None:
    sample = (
        domain_data / "carnet-de-bord" / "france-travail" / "diagnosticargumente-dossier-individu.sample.json"
    )
    result = CliRunner().invoke(
        make_app(),
        ["translate", str(sample), "-m", "france-travail-diagnostic-api", "--context", "individu=1234567A",
         "-o", str(tmp_path / "d.ndjson"), "--mappings-dir", str(PROJECT / "mappings")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        make_app(), ["translate", str(sample), "-m", "nope", "--mappings-dir", str(PROJECT / "mappings")]
    )
    assert result.exit_code != 0 and "unknown mapping" in result.output


def test_check_mappings_lists_load_errors_with_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "ok"
    good.mkdir()
    (good / "mapping.yaml").write_text(
        (FIXTURES / "engine-demo" / "mapping.yaml").read_text().replace("name: engine-demo", "name: ok")
    )
    (good / "roles.csv").write_text((FIXTURES / "engine-demo" / "roles.csv").read_text())
    assert check_mappings(tmp_path) == []
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mapping.yaml").write_text(
        "name: bad\nversion: '1'\npartner: {system: 'urn:x'}\nsource: {codec: csv}\n"
    )
    (problem,) = check_mappings(tmp_path)
    assert problem.startswith(f"{bad / 'mapping.yaml'}:1: ") and "resources" in problem


def test_check_command_runs_every_registered_check() -> None:
    calls: list[str] = []
    import gateway.cli.translate as module

    def first() -> list[str]:
        calls.append("a")
        return []

    original = list(CHECKS)
    try:
        module.CHECKS[:] = [first, lambda: ["conventions/x.yaml:3: bad flow"]]
        result = CliRunner().invoke(make_app(), ["check"])
    finally:
        module.CHECKS[:] = original
    assert calls == ["a"] and result.exit_code == 1 and "conventions/x.yaml:3: bad flow" in result.output
