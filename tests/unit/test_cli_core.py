"""Core CLI: version, validate (exit codes and precise errors), db upgrade."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from typer.testing import CliRunner

from gateway import __version__
from gateway.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "model"
runner = CliRunner()


def _bundle() -> dict[str, object]:
    return json.loads((FIXTURES / "Bundle.valid.json").read_text(encoding="utf-8"))


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.stdout.strip() == __version__


def test_validate_accepts_a_valid_bundle(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(_bundle()), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 document(s) checked, 0 invalid" in result.output


def test_validate_names_the_resource_path_and_rule_without_the_value(tmp_path: Path) -> None:
    bundle = _bundle()
    broken = copy.deepcopy(bundle)
    person = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Person")  # type: ignore[index,union-attr]
    person["birthDate"] = "31/02/1985-secret"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"Person/{person['id']}" in result.output
    assert "birthDate" in result.output and "pattern" in result.output
    assert "secret" not in result.output


def test_validate_ndjson_reports_line_numbers(tmp_path: Path) -> None:
    good = json.dumps(_bundle())
    path = tmp_path / "many.ndjson"
    path.write_text(f"{good}\n{{not json\n{good}\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "line 2: not JSON" in result.output
    assert "2 document(s) checked, 1 invalid" in result.output


def test_db_upgrade_creates_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x' / 'g.db'}"
    result = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x" / "g.db").is_file()
