"""The FastAPI application: ops endpoints, the partner API under ``/api/v1`` and the console."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from sqlalchemy import Engine

from gateway import __version__
from gateway.api import (
    routes_audit,
    routes_conventions,
    routes_exchanges,
    routes_inbox,
    routes_operations,
    routes_ops,
    routes_token,
)
from gateway.api.context import ApiContext
from gateway.api.metrics import build_registry, latency_middleware
from gateway.api.security import check_route_rules
from gateway.auth import ClientDirectory, SessionSigner, TokenIssuer
from gateway.auth.keys import SigningKeys
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.runtime import Gateway

DESCRIPTION = """Passerelle d'interopérabilité du Réseau pour l'emploi.

Partners authenticate with an API key (`X-API-Key`) or a bearer token from `/api/v1/token` (OAuth2 client
credentials). A partner only reaches the endpoints, exchanges, inbox and conventions of its own
organisation; operators, DPOs and admins have the rights of their role. See docs/api.md."""


def create_app(
    settings: Settings,
    engine: Engine,
    gateway: Gateway | None = None,
    *,
    clients: ClientDirectory | None = None,
) -> FastAPI:
    """Build the app for one store. Without a ``gateway`` only the ops endpoints are served."""
    app = FastAPI(title="Passerelle Réseau pour l'emploi", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = engine
    registry, request_latency = build_registry(engine)
    app.state.metrics = registry
    app.middleware("http")(latency_middleware(request_latency))
    app.include_router(routes_ops.router)
    if gateway is None:
        return app
    keys = SigningKeys.from_settings(settings)
    app.state.api = ApiContext(
        settings=settings,
        gateway=gateway,
        clients=clients or ClientDirectory(settings.config_dir / "clients.yaml"),
        tokens=TokenIssuer(keys.token),
        sessions=SessionSigner(keys.session),
    )
    for module in (
        routes_token,
        routes_exchanges,
        routes_inbox,
        routes_conventions,
        routes_operations,
        routes_audit,
    ):
        app.include_router(module.router)
    from gateway.console import mount_console  # the console needs Jinja2 templates: loaded with the API

    mount_console(app)
    check_route_rules(app)
    return app
