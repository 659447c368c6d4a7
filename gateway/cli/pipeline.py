"""Pipeline commands: ingest, worker, exchanges, dead letters (dlq)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select

from gateway.settings import get_settings

err = Console(stderr=True)
out = Console()


def _gateway() -> Any:
    from gateway.runtime import Gateway

    return Gateway(get_settings())


def register(app: typer.Typer) -> None:
    exchanges_app = typer.Typer(help="Received exchanges and their records.", no_args_is_help=True)
    dlq = typer.Typer(help="Dead letters: list, show, replay.", no_args_is_help=True)
    app.add_typer(exchanges_app, name="exchanges")
    app.add_typer(dlq, name="dlq")

    @app.command()
    def ingest(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Partner file to ingest")],
        endpoint: Annotated[str, typer.Option(help="Inbound endpoint name (config/endpoints.yaml)")],
        deliver: Annotated[bool, typer.Option(help="Also run delivery until the outbox is idle")] = False,
    ) -> None:
        """Store a partner file as an exchange of ENDPOINT, process it, and print a summary."""
        from gateway.pipeline.intake import Envelope, receive

        gateway = _gateway()
        gateway.warm_up()
        target = gateway.endpoints.endpoint(endpoint)
        if target.direction != "in":
            raise typer.BadParameter(f"{endpoint} is not an inbound endpoint", param_hint="--endpoint")
        with file.open("rb") as payload:  # streamed: a large file is never held whole
            receipt = receive(
                gateway.engine,
                Envelope(target.name, target.partner, "cli", payload, source_name=file.name),
            )
        if receipt.duplicate:
            err.print(
                f"[yellow]{file.name}: already received as exchange {receipt.exchange_id}; nothing new."
            )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task(f"processing {file.name}", total=None, info="")
            summary = gateway.processor.process(
                receipt.exchange_id,
                progress=lambda n: progress.update(task, info=f"{n} records"),
            )
        err.print(
            f"exchange {summary.exchange_id}: {summary.status} — read {summary.read}, "
            f"mapped {summary.mapped}, rejected {summary.rejected}, refused {summary.refused}, "
            f"queued {summary.queued}, withheld {summary.withheld}, duplicates {summary.duplicates}"
        )
        for reason, count in sorted(summary.reasons.items(), key=lambda kv: -kv[1])[:20]:
            err.print(f"  {count} × {reason}")
        if deliver:
            stats = gateway.worker().run_once(limit=10_000)
            err.print(f"delivery: {stats.delivered} delivered, {stats.retried} to retry, {stats.dead} dead")
        raise typer.Exit(1 if summary.status == "failed" else 0)

    @app.command()
    def worker(
        once: Annotated[bool, typer.Option(help="Process and deliver what is due, then exit")] = False,
        flush: Annotated[
            bool, typer.Option(help="With --once: also send today's daily batches now (end-of-day run)")
        ] = False,
    ) -> None:
        """Run the processor and a delivery worker (scale out: run as many as needed on PostgreSQL)."""
        gateway = _gateway()
        gateway.warm_up()
        if once:
            processed = gateway.process_pending()
            worker = gateway.worker()
            stats = worker.run_once(limit=10_000)
            if flush:
                stats.delivered += worker.flush_batches(force=True).delivered
            err.print(f"{processed} exchange(s) processed; {stats.delivered} delivered, {stats.dead} dead")
            return
        stop = threading.Event()
        threads = gateway.run_background(stop)
        try:
            for thread in threads:
                thread.join()
        except KeyboardInterrupt:
            stop.set()

    @exchanges_app.command("list")
    def exchanges_list(
        limit: Annotated[int, typer.Option(help="How many, newest first")] = 20,
        status: Annotated[str | None, typer.Option(help="Only this status")] = None,
    ) -> None:
        """List exchanges, newest first."""
        from gateway.store.tables import exchanges

        gateway = _gateway()
        query = select(exchanges).order_by(exchanges.c.received_at.desc()).limit(limit)
        if status:
            query = query.where(exchanges.c.status == status)
        table = Table("id", "received", "endpoint", "sender", "source", "status", "total", "ok", "rejected")
        with gateway.engine.connect() as connection:
            for row in connection.execute(query):
                table.add_row(
                    row.id,
                    str(row.received_at)[:19],
                    row.endpoint,
                    row.sender,
                    row.source_name or "",
                    row.status,
                    str(row.records_total),
                    str(row.records_ok),
                    str(row.records_rejected),
                )
        out.print(table)

    @exchanges_app.command("show")
    def exchanges_show(exchange_id: str) -> None:
        """Show one exchange: its records' statuses and errors, and its outbox items."""
        from gateway.store.tables import exchanges, outbox, records

        gateway = _gateway()
        with gateway.engine.connect() as connection:
            row = connection.execute(select(exchanges).where(exchanges.c.id == exchange_id)).one_or_none()
            if row is None:
                err.print(f"no exchange {exchange_id}")
                raise typer.Exit(1)
            info = dict(row._mapping)
            out.print_json(json.dumps(info, default=str))
            for record in connection.execute(
                select(records.c.number, records.c.line, records.c.status, records.c.error)
                .where(records.c.exchange_id == exchange_id)
                .where(records.c.status != "routed")
                .order_by(records.c.number)
            ):
                out.print(f"record {record.number} (line {record.line}): {record.status}: {record.error}")
            for item in connection.execute(
                select(
                    outbox.c.id, outbox.c.receiver, outbox.c.endpoint, outbox.c.status, outbox.c.attempts
                ).where(outbox.c.exchange_id == exchange_id)
            ):
                out.print(
                    f"outbox {item.id} → {item.receiver} via {item.endpoint}: {item.status} "
                    f"({item.attempts} attempt(s))"
                )

    @dlq.command("list")
    def dlq_list(
        endpoint: Annotated[str | None, typer.Option(help="Only this endpoint")] = None,
        stage: Annotated[str | None, typer.Option(help="decode or deliver")] = None,
    ) -> None:
        """Dead letters not yet replayed."""
        from gateway.delivery.replay import open_dead_letters

        table = Table("id", "created", "stage", "endpoint", "receiver", "reason")
        for row in open_dead_letters(_gateway(), endpoint=endpoint, stage=stage):
            table.add_row(
                row.id,
                str(row.created_at)[:19],
                row.stage,
                row.endpoint or "",
                row.receiver or "",
                row.reason[:80],
            )
        out.print(table)

    @dlq.command("show")
    def dlq_show(dead_letter_id: str) -> None:
        """One dead letter with its reason and original item (payload fields names only)."""
        from gateway.store.tables import dead_letters, outbox

        gateway = _gateway()
        with gateway.engine.connect() as connection:
            letter = connection.execute(
                select(dead_letters).where(dead_letters.c.id == dead_letter_id)
            ).one_or_none()
            if letter is None:
                err.print(f"no dead letter {dead_letter_id}")
                raise typer.Exit(1)
            out.print_json(json.dumps(dict(letter._mapping), default=str))
            if letter.outbox_id:
                item = connection.execute(select(outbox).where(outbox.c.id == letter.outbox_id)).one()
                entries = item.payload.get("bundle", {}).get("entry", [])
                types = [e.get("resource", {}).get("resourceType") for e in entries]
                out.print(
                    f"item {item.id}: {item.convention_id}/{item.flow_id} → {item.receiver} "
                    f"({item.attempts} attempts); resources: {', '.join(map(str, types))}"
                )

    @dlq.command("replay")
    def dlq_replay(
        dead_letter_id: Annotated[str | None, typer.Argument(help="Dead letter id")] = None,
        endpoint: Annotated[
            str | None, typer.Option(help="Replay all open dead letters of this endpoint")
        ] = None,
        all_open: Annotated[bool, typer.Option("--all", help="Replay every open dead letter")] = False,
        actor: Annotated[str, typer.Option(help="Who replays (kept in the audit log)")] = "operator:cli",
    ) -> None:
        """Replay dead letters (re-checks the conventions as they stand now; audited)."""
        from gateway.delivery.replay import open_dead_letters, replay

        gateway = _gateway()
        if dead_letter_id:
            targets = [dead_letter_id]
        elif endpoint or all_open:
            targets = [row.id for row in open_dead_letters(gateway, endpoint=endpoint, limit=10_000)]
        else:
            raise typer.BadParameter("give a dead letter id, --endpoint or --all")
        refused = 0
        for target in targets:
            result = replay(gateway, target, actor)
            refused += result.outcome == "refused"
            out.print(f"{target}: {result.outcome} {result.detail}".rstrip())
        raise typer.Exit(1 if refused else 0)
