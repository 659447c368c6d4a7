"""``gateway conventions``: list, show and validate convention files; change their status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from gateway.errors import ConfigurationError
from gateway.policy.checks import MappingSource, check_conventions
from gateway.policy.model import Status
from gateway.policy.registry import ConventionRegistry
from gateway.settings import get_settings

__all__ = ["check_conventions", "register"]

DirOption = Annotated[Path | None, typer.Option("--dir", help="Conventions directory (default: settings)")]


def _directory(directory: Path | None) -> Path:
    return directory or get_settings().conventions_dir


def _registry(directory: Path | None) -> ConventionRegistry:
    try:
        return ConventionRegistry.load(_directory(directory))
    except ConfigurationError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _mapping_catalog() -> MappingSource | None:
    try:
        from gateway.mapping.catalog import MappingCatalog
    except ImportError:
        return None
    directory = get_settings().mappings_dir
    return MappingCatalog(directory) if directory.is_dir() else None


def register(app: typer.Typer) -> None:
    from gateway.cli.translate import add_check

    # `gateway check` lints conventions with mappings: fields no flow allows, NIR flags, legal bases, expiry.
    add_check(lambda: check_conventions(_directory(None), _mapping_catalog()))
    group = typer.Typer(
        help="Conventions (data-sharing agreements) as enforced policy.", no_args_is_help=True
    )
    app.add_typer(group, name="conventions")

    @group.command("list")
    def list_conventions(directory: DirOption = None) -> None:
        """One line per convention: id, version, status, validity, flows."""
        for convention in _registry(directory):
            until = convention.valid_to or "…"
            flows = ", ".join(flow.id for flow in convention.flows)
            line = (
                f"{convention.id}\t{convention.version}\t{convention.status}\t{convention.valid_from}→{until}"
            )
            typer.echo(f"{line}\t{flows}")

    @group.command("show")
    def show(convention_id: str, directory: DirOption = None) -> None:
        """Parties, purposes and flows of one convention."""
        registry = _registry(directory)
        try:
            convention = registry.convention(convention_id)
        except KeyError as error:
            typer.echo(f"no convention {convention_id!r}", err=True)
            raise typer.Exit(1) from error
        typer.echo(f"{convention.id} v{convention.version} — {convention.title}")
        typer.echo(
            f"status {convention.status}, valid {convention.valid_from} → {convention.valid_to or '…'}"
        )
        typer.echo(f"file {convention.source_file} (sha256 {convention.digest[:12]}…)")
        for party in convention.parties.values():
            typer.echo(f"  party {party.id}: {party.name} [{party.type}, {party.role}] SIRET {party.siret}")
        for purpose in convention.purposes.values():
            typer.echo(f"  purpose {purpose.id}: {purpose.label}")
        for flow in convention.flows:
            typer.echo(f"  flow {flow.id}: {flow.sender} → {flow.receiver} ({flow.purpose})")
            typer.echo(f"    types {', '.join(sorted(flow.resource_types))}; nir_allowed={flow.nir_allowed}")
            for path in flow.allow:
                typer.echo(f"    allow {path}")
            for path in flow.deny:
                typer.echo(f"    deny  {path}")
            for rule in flow.population:
                typer.echo(f"    population {rule.id}: {rule.kind} {dict(rule.params) or ''}")

    @group.command("validate")
    def validate(directory: DirOption = None, with_mappings: bool = True) -> None:
        """Load every file and run the static checks; exit 1 if any file does not load."""
        findings = check_conventions(_directory(directory), _mapping_catalog() if with_mappings else None)
        for finding in findings:
            typer.echo(finding)
        if any(finding.startswith("error:") for finding in findings):
            raise typer.Exit(1)
        typer.echo(f"ok: {len(list(_registry(directory)))} conventions")

    def _status_command(status: Status, verb: str) -> None:
        @group.command(verb, help=f"Set a convention's status to {status} (file, store and audit log).")
        def command(
            convention_id: str,
            by: Annotated[str, typer.Option(help="Who decides (name or role), recorded in the audit log")],
            directory: DirOption = None,
        ) -> None:
            from gateway.audit.writer import AuditLog
            from gateway.policy.status import change_status
            from gateway.store.engine import get_engine

            settings = get_settings()
            engine = get_engine(settings.effective_database_url)
            registry = _registry(directory)
            try:
                change_status(
                    registry,
                    convention_id,
                    status,
                    by=by,
                    engine=engine,
                    at=dt.datetime.now(dt.UTC),
                    audit=AuditLog(engine, settings),
                )
            except (ConfigurationError, KeyError) as error:
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(1) from error
            typer.echo(f"{convention_id}: {status}")

    _status_command("active", "activate")
    _status_command("suspended", "suspend")
    _status_command("revoked", "revoke")
