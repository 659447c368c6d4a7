"""Operator and DPO web console: server-rendered Jinja2 pages in French, no JavaScript build."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gateway.console import pages_dpo, pages_login, pages_operations
from gateway.console.web import LoginRequired, login_redirect, render, session_of

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_console(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    for module in (pages_login, pages_operations, pages_dpo):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login_required(_request: Request, exc: LoginRequired) -> Response:
        return login_redirect(exc.next_path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/console"):
            return await http_exception_handler(request, exc)
        session = session_of(request, request.app.state.api)
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else "Page introuvable."
        return render(request, "error.html", {"detail": detail, "code": exc.status_code},
                      status_code=exc.status_code, session=session)  # fmt: skip
