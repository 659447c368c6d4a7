"""Operator and DPO web console: server-rendered Jinja2 pages in French, no JavaScript build."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.console import pages_dpo, pages_login, pages_operations

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_console(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    for module in (pages_login, pages_operations, pages_dpo):
        app.include_router(module.router)
