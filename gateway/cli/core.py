"""Core commands: version, serve, db upgrade, validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway import __version__
from gateway.settings import get_settings


def register(app: typer.Typer) -> None:
    register_demo(app)
    db = typer.Typer(help="Store administration.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @app.command()
    def version() -> None:
        """Print the gateway version."""
        typer.echo(__version__)

    @db.command("upgrade")
    def db_upgrade(
        url: Annotated[str | None, typer.Option(help="Database URL (default: settings)")] = None,
    ) -> None:
        """Create the store or migrate it to the latest schema."""
        from gateway.store.engine import upgrade

        target = url or get_settings().effective_database_url
        upgrade(target)
        typer.echo(f"store at revision head ({_redact(target)})")

    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Listen address")] = None,
        port: Annotated[int | None, typer.Option(help="Listen port")] = None,
    ) -> None:
        """Run the gateway (API, console, worker, pollers) in one process."""
        from gateway.server import run_server

        settings = get_settings()
        run_server(host or settings.host, port or settings.port)

    @app.command()
    def validate(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Canonical JSON or NDJSON")],
    ) -> None:
        """Validate canonical resources or Bundles (JSON, or NDJSON one per line) against the model."""
        from gateway.model.validation import get_validator

        validator = get_validator()
        checked = failures = 0
        for location, document in _documents(file):
            if not isinstance(document, dict):  # not JSON, or JSON that is not an object
                problem = document if isinstance(document, str) else "not a JSON object"
                typer.echo(f"{file}:{location}: {problem}", err=True)
                failures += 1
                continue
            checked += 1
            issues = validator.validate(document)
            for issue in issues:
                typer.echo(f"{file}:{location}: {issue}", err=True)
            failures += bool(issues)
        typer.echo(f"{checked} document(s) checked, {failures} invalid", err=True)
        raise typer.Exit(1 if failures else 0)


def _documents(file: Path) -> list[tuple[str, object]]:
    """(location, parsed document or error text) for a JSON file or an NDJSON file."""
    text = file.read_text(encoding="utf-8-sig")
    try:
        return [("1", json.loads(text))]
    except json.JSONDecodeError:
        pass
    out: list[tuple[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            out.append((f"line {number}", f"not JSON: {exc.msg} at column {exc.colno}"))
    return out


def _redact(url: str) -> str:
    """Hide the password of a database URL before printing it."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True) if "://" in url else url


def register_demo(app: typer.Typer) -> None:
    """``gateway demo``: the README's run command (demo data, then serve)."""

    @app.command()
    def demo(
        host: Annotated[str | None, typer.Option(help="Listen address")] = None,
        port: Annotated[int | None, typer.Option(help="Listen port")] = None,
    ) -> None:
        """Start the gateway on the embedded default with the demo partners and generated files."""
        from gateway.server import run_server

        settings = get_settings()
        run_server(host or settings.host, port or settings.port, demo=True)
