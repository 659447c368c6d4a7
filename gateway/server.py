"""One-process gateway for the embedded default: migrate the store, then serve API and console."""

from __future__ import annotations

import uvicorn

from gateway.api.app import create_app
from gateway.logging_setup import configure_logging, get_logger
from gateway.settings import get_settings
from gateway.store.engine import get_engine, upgrade


def run_server(host: str, port: int, *, demo: bool = False) -> None:
    """Migrate the store and serve; with ``demo`` also load the demo partners and files first."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger("gateway.server")
    url = settings.effective_database_url
    upgrade(url)
    engine = get_engine(url)
    app = create_app(settings, engine)
    log.info("gateway.start", host=host, port=port, store=engine.dialect.name)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
