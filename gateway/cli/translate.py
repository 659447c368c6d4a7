"""``gateway translate`` (partner file ↔ canonical NDJSON) and ``gateway check`` (lint the configuration).

``check`` runs every function of :data:`CHECKS`; each returns its problems as ``file:line: message`` lines.
Other areas (conventions…) add theirs with :func:`add_check`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from gateway.errors import ConfigurationError, GatewayError, SkippableRecordError
from gateway.mapping import (
    MappingCatalog,
    default_mappings_dir,
    reverse_bundles,
    translate_file,
    write_partner,
)

Check = Callable[[], list[str]]
CHECKS: list[Check] = []
"""The checks ``gateway check`` runs, in order."""
MAX_REASON_GROUPS = 20


def add_check(check: Check) -> Check:
    """Register a check for ``gateway check`` (usable as a decorator)."""
    CHECKS.append(check)
    return check


def check_mappings(directory: Path | None = None) -> list[str]:
    """Load every mapping spec; one ``file:line: message`` per spec that does not load."""
    return [str(error) for error in MappingCatalog(directory or default_mappings_dir()).errors()]


add_check(check_mappings)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or ():
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        out[name] = text
    return out


def _summary(console: Console, read: int, written: int, rejected: Counter[str], what: str) -> None:
    console.print(f"records read: {read}, {what}: {written}, rejected: {sum(rejected.values())}")
    for reason, count in rejected.most_common(MAX_REASON_GROUPS):
        console.print(f"  {count:>6} × {reason}")
    if len(rejected) > MAX_REASON_GROUPS:
        console.print(f"  … and {len(rejected) - MAX_REASON_GROUPS} other reasons")


def _reason(error: SkippableRecordError) -> str:
    """What groups rejections: the field and the rule, without the record location (never values)."""
    return f"{error.field}: {error.reason}" if error.field else error.reason


def _bundles(path: Path, rejected: Counter[str]) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError:
                rejected[f"line {number}: not JSON"] += 1
                continue
            if isinstance(document, dict):
                yield document
            else:
                rejected[f"line {number}: not a JSON object"] += 1


def register(app: typer.Typer) -> None:
    """Add ``translate`` and ``check`` to the gateway CLI."""

    @app.command()
    def translate(
        file: Annotated[
            Path,
            typer.Argument(
                exists=True, dir_okay=False, help="Partner file (canonical NDJSON with --reverse)"
            ),
        ],
        mapping: Annotated[
            str, typer.Option("--mapping", "-m", help="Mapping name (folder under the mappings dir)")
        ],
        reverse: Annotated[bool, typer.Option(help="Canonical NDJSON → partner format")] = False,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Output file (default: stdout)")
        ] = None,
        var: Annotated[
            list[str] | None, typer.Option(help="NAME=VALUE: ${NAME} in codec options, spec variables")
        ] = None,
        option: Annotated[list[str] | None, typer.Option(help="Codec option override KEY=VALUE")] = None,
        context: Annotated[
            list[str] | None, typer.Option(help="KEY=VALUE added to every record's context")
        ] = None,
        mappings_dir: Annotated[Path | None, typer.Option(help="Mappings folder (default: settings)")] = None,
    ) -> None:
        """Translate a partner file to canonical Bundles (NDJSON), or Bundles back with --reverse."""
        console = Console(stderr=True)
        catalog = MappingCatalog(mappings_dir or default_mappings_dir())
        try:
            compiled = catalog.get(mapping)
        except ConfigurationError as exc:
            for error in catalog.errors():
                console.print(f"[red]{error}[/red]", markup=True, highlight=False)
            raise typer.BadParameter(str(exc), param_hint="--mapping") from None
        variables, overrides = _pairs(var, "--var"), _pairs(option, "--option")
        extra_context = _pairs(context, "--context")
        rejected: Counter[str] = Counter()
        try:
            with ExitStack() as stack:
                sink: BinaryIO = stack.enter_context(output.open("wb")) if output else sys.stdout.buffer
                progress = stack.enter_context(
                    Progress(
                        SpinnerColumn(),
                        TextColumn("{task.description}"),
                        TextColumn("{task.completed} records"),
                        TimeElapsedColumn(),
                        console=console,
                        transient=True,
                        disable=not console.is_terminal,
                    )
                )
                task = progress.add_task(file.name, total=None)
                read = written = 0
                if reverse:
                    records: list[dict[str, Any]] = []
                    for item in reverse_bundles(_bundles(file, rejected), compiled, variables=variables):
                        read += 1
                        progress.advance(task)
                        if isinstance(item, SkippableRecordError):
                            rejected[_reason(item)] += 1
                        else:
                            records.append(item)
                    written = write_partner(records, compiled, sink, options=overrides, variables=variables)
                    _summary(console, read, written, rejected, "partner records written")
                else:
                    outcomes = translate_file(
                        file, compiled, options=overrides, variables=variables, context=extra_context
                    )
                    for outcome in outcomes:
                        read += 1
                        progress.advance(task)
                        if isinstance(outcome, SkippableRecordError):
                            rejected[_reason(outcome)] += 1
                            continue
                        sink.write(json.dumps(outcome, ensure_ascii=False).encode("utf-8") + b"\n")
                        written += 1
                    _summary(console, read, written, rejected, "mapped")
        except GatewayError as exc:
            console.print(f"error: {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        raise typer.Exit(1 if rejected else 0)

    @app.command()
    def check() -> None:
        """Lint mappings and conventions together; exit 1 on errors or warnings (``info:`` lines inform)."""
        findings = [finding for run in CHECKS for finding in run()]
        for finding in findings:
            typer.echo(finding, err=True)
        problems = [finding for finding in findings if not finding.startswith("info:")]
        typer.echo(f"{len(problems)} problem(s), {len(findings) - len(problems)} note(s)", err=True)
        raise typer.Exit(1 if problems else 0)
