"""``gateway generate FORMAT --records N --output FILE [--seed S]``: synthetic partner files.

The generators live in ``adapters/synthetic``; the CLI reaches them through :mod:`gateway.registry` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway import registry
from gateway.errors import ConfigurationError

_NAMES = ", ".join(sorted(registry.BUILTIN_GENERATORS))


def register(app: typer.Typer) -> None:
    @app.command()
    def generate(
        fmt: Annotated[
            str,
            typer.Argument(
                metavar="FORMAT", help=f"One of: {', '.join(sorted(registry.BUILTIN_GENERATORS))}"
            ),
        ],
        records: Annotated[int, typer.Option("--records", "-n", min=0, help="Number of records")],
        output: Annotated[Path, typer.Option("--output", "-o", dir_okay=False, help="File to write")],
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same file)")] = 0,
    ) -> None:
        """Write a synthetic partner file (fake identities with valid NIRs) for tests and benchmarks."""
        try:
            generate_fn = registry.generator(fmt)
        except ConfigurationError as exc:
            raise typer.BadParameter(str(exc), param_hint="FORMAT") from exc
        with output.open("wb") as stream:
            written = generate_fn(fmt, records, stream, seed=seed)
        typer.echo(f"{written} {fmt} record(s) written to {output}", err=True)
