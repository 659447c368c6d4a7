"""The ``gateway`` command line (typer).

Each area adds its commands from its own module through ``register(app)``, so that the root stays small.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="gateway",
    help="Interoperability gateway of the Réseau pour l'emploi: translate partner formats, enforce "
    "conventions, deliver reliably, keep a tamper-evident audit log.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress (JSON lines on stderr)"),
) -> None:
    """Commands log warnings only, unless --verbose; the server logs at the configured level."""
    from gateway.logging_setup import configure_logging
    from gateway.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level if verbose else "warning", settings.log_format)


COMMAND_MODULES = (
    "gateway.cli.core",
    "gateway.cli.translate",
    "gateway.cli.conventions",
    "gateway.cli.audit",
    "gateway.cli.pipeline",
    "gateway.cli.generate",
    "gateway.cli.clients",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # area not built yet in this checkout
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    app()
