"""``gateway clients add|list|revoke``: API clients and console users in config/clients.yaml.

The file is edited round-trip (comments kept). A new API key or password is printed once and only its
scrypt hash is stored: it cannot be shown again, only replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from gateway.auth import Role, hash_secret, new_api_key, new_password
from gateway.auth.clients import load_clients_file
from gateway.auth.secrets import CLIENT_ID_RE, fingerprint
from gateway.settings import get_settings


def _path(file: Path | None) -> Path:
    return file or get_settings().config_dir / "clients.yaml"


def _load(path: Path) -> tuple[YAML, CommentedMap]:
    yaml = YAML()
    yaml.preserve_quotes = True
    tree = yaml.load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return yaml, tree if isinstance(tree, CommentedMap) else CommentedMap()


def _save(path: Path, yaml: YAML, tree: CommentedMap) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(tree, stream)
    load_clients_file(path)  # refuse to leave a file the gateway cannot read


FileOption = Annotated[
    Path | None, typer.Option("--file", help="Clients file (default: config/clients.yaml)")
]


def register(app: typer.Typer) -> None:
    clients = typer.Typer(help="API clients and console users (secrets stored hashed).", no_args_is_help=True)
    app.add_typer(clients, name="clients")

    @clients.command("add")
    def add(
        name: Annotated[str, typer.Argument(help="Client id (API) or login (console user)")],
        role: Annotated[Role, typer.Option(help="partner, operator, dpo or admin")],
        party: Annotated[str | None, typer.Option(help="Party id of the conventions (partners)")] = None,
        login: Annotated[
            bool, typer.Option("--login", help="A console user (password) instead of an API client")
        ] = False,
        cert_sha256: Annotated[
            str | None, typer.Option(help="Pin the client certificate (SHA-256 fingerprint)")
        ] = None,
        file: FileOption = None,
    ) -> None:
        """Add a client or user and print its new secret once."""
        if not CLIENT_ID_RE.match(name):
            raise typer.BadParameter("2-63 lower-case letters, digits and dashes", param_hint="NAME")
        if role is Role.PARTNER and (login or not party):
            raise typer.BadParameter("a partner is an API client with --party", param_hint="--role")
        path = _path(file)
        yaml, tree = _load(path)
        section = "users" if login else "clients"
        entries = tree.setdefault(section, CommentedMap())
        if name in entries:
            raise typer.BadParameter(f"{name!r} already exists in {section}", param_hint="NAME")
        secret = new_password() if login else new_api_key(name)
        entry = CommentedMap(role=role.value)
        if party:
            entry["party"] = party
        entry["password_hash" if login else "key_hash"] = hash_secret(secret)
        if cert_sha256:
            entry["cert_sha256"] = fingerprint(cert_sha256)
        entries[name] = entry
        _save(path, yaml, tree)
        typer.echo(f"{'password' if login else 'API key'} for {name} (shown once, store it now):")
        typer.echo(secret)

    @clients.command("list")
    def list_(file: FileOption = None) -> None:
        """List clients and users (never their secrets)."""
        records, users = load_clients_file(_path(file))
        for client in records.values():
            state = "revoked" if client.revoked else ("demo" if client.demo else "active")
            pin = " cert-pinned" if client.cert_sha256 else ""
            typer.echo(
                f"client {client.id:<24} {client.role.value:<9} {client.party or '-':<16} {state}{pin}"
            )
        for user in users.values():
            state = "revoked" if user.revoked else ("demo" if user.demo else "active")
            typer.echo(f"user   {user.username:<24} {user.role.value:<9} {'-':<16} {state}")

    @clients.command("revoke")
    def revoke(
        name: Annotated[str, typer.Argument(help="Client id or login")],
        login: Annotated[bool, typer.Option("--login", help="Revoke a console user")] = False,
        file: FileOption = None,
    ) -> None:
        """Revoke a client or user: its key, tokens and sessions stop working within a second."""
        path = _path(file)
        yaml, tree = _load(path)
        section = "users" if login else "clients"
        entries = tree.get(section) or {}
        if name not in entries:
            typer.echo(f"no {section[:-1]} {name!r}", err=True)
            raise typer.Exit(1)
        entries[name]["revoked"] = True
        _save(path, yaml, tree)
        typer.echo(f"{name} revoked")
