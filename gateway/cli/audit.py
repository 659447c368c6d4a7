"""``gateway audit``: DPO queries, export, verification, purge and checkpoints of the audit log."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, Any

import typer

from gateway.audit.export import ExportFormat
from gateway.audit.queries import AuditQueries, Row
from gateway.model.identifiers import NIR
from gateway.settings import get_settings

TABLE_COLUMNS = (
    "seq",
    "at",
    "event",
    "convention_id",
    "flow_id",
    "sender",
    "receiver",
    "decision",
    "matched_on",
)


def _queries() -> AuditQueries:
    from gateway.store.engine import get_engine

    settings = get_settings()
    return AuditQueries(get_engine(settings.effective_database_url), settings)


def _moment(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def _print(rows: list[Row], output: str) -> None:
    if output in ("csv", "json"):
        fmt: ExportFormat = "csv" if output == "csv" else "json"
        AuditQueries.export(rows, fmt, sys.stdout)
        return
    typer.echo("\t".join(TABLE_COLUMNS))
    for row in rows:
        typer.echo("\t".join(_cell(row.get(column)) for column in TABLE_COLUMNS))
    typer.echo(f"({len(rows)} rows)")


FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Audit log: DPO queries, export, verify, purge, checkpoints.", no_args_is_help=True
    )
    app.add_typer(group, name="audit")

    @group.command("person")
    def person(
        nir: Annotated[str | None, typer.Option(help="NIR (13 or 15 characters)")] = None,
        birth_date: Annotated[str | None, typer.Option(help="Birth date YYYY-MM-DD")] = None,
        identifier: Annotated[
            list[str] | None, typer.Option("--id", help="Other identifier: system=value")
        ] = None,
        actor: Annotated[str, typer.Option(help="Who asks (recorded as a dpo-read event)")] = "dpo",
        output: FormatOption = "table",
    ) -> None:
        """Every exchange about one person, found from identifiers (pseudonyms are recomputed)."""
        identifiers: dict[str, str] = {NIR: nir} if nir else {}
        for item in identifier or []:
            system, separator, value = item.partition("=")
            if not separator or not value:
                raise typer.BadParameter("--id expects system=value")
            identifiers[system] = value
        if not identifiers:
            raise typer.BadParameter("give --nir or at least one --id")
        _print(_queries().person_history(identifiers, birth_date, actor=actor), output)

    @group.command("convention")
    def convention(
        convention_id: str,
        start: Annotated[str | None, typer.Option("--from", help="From (ISO date or date-time)")] = None,
        end: Annotated[str | None, typer.Option("--to", help="Before (ISO date or date-time)")] = None,
        output: FormatOption = "table",
    ) -> None:
        """Exchanges under one convention, in a period."""
        _print(_queries().by_convention(convention_id, _moment(start), _moment(end)), output)

    @group.command("export")
    def export(
        start: Annotated[str | None, typer.Option("--from")] = None,
        end: Annotated[str | None, typer.Option("--to")] = None,
        output: FormatOption = "json",
    ) -> None:
        """Every row of a period, as CSV or JSON on standard output."""
        if output not in ("csv", "json"):
            raise typer.BadParameter("--format must be csv or json")
        _print(_queries().period(_moment(start), _moment(end)), output)

    @group.command("verify")
    def verify() -> None:
        """Check the hash chain and the signed checkpoints; exit 1 naming the first bad seq."""
        result = _queries().verify()
        if not result.ok:
            typer.echo(
                f"CHAIN BROKEN at seq {result.first_bad_seq}: {result.reason} ({result.checked} rows ok)"
            )
            raise typer.Exit(1)
        typer.echo(f"chain ok: {result.checked} rows verified")

    @group.command("purge")
    def purge(actor: Annotated[str, typer.Option(help="Who runs the purge")] = "system") -> None:
        """Remove rows past retention (oldest first) and record a signed purge anchor."""
        report = _queries().purge(actor=actor)
        typer.echo(
            f"purged {report.purged} rows (up to seq {report.up_to_seq}); "
            f"expired but kept {report.expired_kept}"
        )
        for convention_id, categories in sorted(report.counts.items()):
            for category, count in sorted(categories.items()):
                typer.echo(f"  {convention_id}\t{category}\t{count}")

    @group.command("checkpoint")
    def checkpoint() -> None:
        """Sign the chain head; print the checkpoint (keep a copy outside the database)."""
        queries = _queries()
        mark = queries.log.checkpoint()
        typer.echo(
            f"checkpoint seq={mark.seq} head={mark.head_hash} at={mark.at.isoformat()} "
            f"key={queries.log.signer.public_key_hex} signature={mark.signature}"
        )
