"""`gateway check` lints mappings and conventions together."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.settings import get_settings

PROJECT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def conventions_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "conventions"
    shutil.copytree(PROJECT / "conventions", target)
    monkeypatch.setenv("GATEWAY_CONVENTIONS_DIR", str(target))
    get_settings.cache_clear()
    yield target
    get_settings.cache_clear()


def test_project_configuration_passes_with_notes(conventions_dir: Path) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output
    assert "info: mapping" in result.output  # fields a mapping emits that no flow allows are reported


def test_a_broken_convention_fails_the_check_with_its_file_and_line(conventions_dir: Path) -> None:
    path = conventions_dir / "plie-lille-ft.yaml"
    text = path.read_text(encoding="utf-8").replace('siret: "78451209300013"', 'siret: "78451209300014"', 1)
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "plie-lille-ft.yaml:" in result.output and "siret" in result.output.lower()
