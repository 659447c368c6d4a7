"""One-process gateway for the embedded default: migrate the store, then serve API, console and workers."""

from __future__ import annotations

import sys
import threading

import uvicorn

from gateway.api.app import create_app
from gateway.auth import ClientDirectory
from gateway.auth.demo import issue_demo_credentials, print_credentials
from gateway.demo import demo_router
from gateway.demo import prepare as prepare_demo
from gateway.logging_setup import configure_logging, get_logger
from gateway.runtime import Gateway
from gateway.settings import get_settings


def run_server(host: str, port: int, *, demo: bool = False) -> None:
    """Migrate the store and serve; with ``demo`` load the demo data and print demo credentials first."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger("gateway.server")
    gateway = Gateway(settings)
    clients = ClientDirectory(settings.config_dir / "clients.yaml")
    if demo:
        prepare_demo(gateway)
        print_credentials(issue_demo_credentials(clients), f"http://{host}:{port}", sys.stdout)
    app = create_app(settings, gateway.engine, gateway, clients=clients)
    if demo:
        app.include_router(demo_router())
    gateway.warm_up()
    stop = threading.Event()
    gateway.run_background(stop)
    log.info("gateway.start", host=host, port=port, store=gateway.engine.dialect.name, demo=demo)
    try:
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    finally:
        stop.set()
