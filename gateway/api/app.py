"""The FastAPI application: health endpoints now; partner API, console and metrics plug in here."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from sqlalchemy import Engine, text

from gateway import __version__
from gateway.settings import Settings


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """Build the app for one store. Routers of later areas are included here."""
    app = FastAPI(
        title="Passerelle Réseau pour l'emploi",
        version=__version__,
        description="Interoperability gateway: partner exchanges governed by conventions, audited.",
    )
    app.state.settings = settings
    app.state.engine = engine

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"])
    def readyz(response: Response) -> dict[str, Any]:
        """Readiness: the store is reachable."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready"
            response.status_code = 503
            return {"status": "unavailable", "store": type(exc).__name__}
        return {"status": "ok", "store": engine.dialect.name}

    return app
