"""``gateway clients add|list|revoke``: the new secret is printed once and only its hash is stored."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gateway.auth import ClientDirectory
from gateway.cli import app

runner = CliRunner()


def test_add_list_revoke(tmp_path: Path) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text("# comment kept\nclients: {}\nusers: {}\n", encoding="utf-8")
    added = runner.invoke(
        app, ["clients", "add", "cd26-si", "--role", "partner", "--party", "cd26", "--file", str(path)]
    )
    assert added.exit_code == 0, added.output
    key = added.output.strip().splitlines()[-1]
    assert key.startswith("gw.cd26-si.")
    stored = path.read_text(encoding="utf-8")
    assert key not in stored and "scrypt$" in stored and "# comment kept" in stored
    principal = ClientDirectory(path).authenticate_key(key, None)
    assert principal is not None and (principal.party, principal.role.value) == ("cd26", "partner")

    user = runner.invoke(app, ["clients", "add", "dpo-cd26", "--role", "dpo", "--login", "--file", str(path)])
    password = user.output.strip().splitlines()[-1]
    assert ClientDirectory(path).authenticate_user("dpo-cd26", password) is not None

    listed = runner.invoke(app, ["clients", "list", "--file", str(path)])
    assert "cd26-si" in listed.output and "dpo-cd26" in listed.output and "scrypt" not in listed.output

    assert runner.invoke(app, ["clients", "revoke", "cd26-si", "--file", str(path)]).exit_code == 0
    assert ClientDirectory(path).authenticate_key(key, None) is None
    assert runner.invoke(app, ["clients", "revoke", "nobody", "--file", str(path)]).exit_code == 1


def test_partner_needs_a_party(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["clients", "add", "x-si", "--role", "partner", "--file", str(tmp_path / "c.yaml")]
    )
    assert result.exit_code != 0 and not (tmp_path / "c.yaml").exists()
