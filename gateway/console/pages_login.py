"""Login and logout of operators, DPOs and admins (username and password from config/clients.yaml)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.api.context import ApiContext, api_context
from gateway.auth import Role
from gateway.auth.sessions import new_csrf_token
from gateway.console.web import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    redirect,
    render,
    secure_cookies,
    session_of,
)

router = APIRouter(prefix="/console", include_in_schema=False)
CONSOLE_ROLES = frozenset({Role.OPERATOR, Role.DPO, Role.ADMIN})
LOGIN_SECONDS = 3600


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/"


def _login_page(
    request: Request, context: ApiContext, suite: str, error: str | None, status_code: int = 200
) -> HTMLResponse:
    token = new_csrf_token()
    response = render(
        request, "login.html", {"suite": suite, "error": error, "login_csrf": token}, status_code=status_code
    )
    response.set_cookie(
        LOGIN_COOKIE, context.sessions.dumps({"csrf": token}, LOGIN_SECONDS), max_age=LOGIN_SECONDS,
        path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure_cookies(request, context),
    )  # fmt: skip
    return response


@router.get("/connexion", response_class=HTMLResponse)
def login_form(
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    suite: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    if session_of(request, context) is not None:
        return redirect(_safe_next(suite))
    return _login_page(request, context, _safe_next(suite), None)


@router.post("/connexion", response_class=HTMLResponse)
async def login(
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    suite: Annotated[str, Form(max_length=300)] = "/console/",
) -> Response:
    pending = context.sessions.loads(request.cookies.get(LOGIN_COOKIE)) or {}
    if not csrf_token or not hmac.compare_digest(csrf_token, str(pending.get("csrf", ""))):
        return _login_page(request, context, _safe_next(suite), "Le formulaire a expiré : réessayez.", 403)
    principal = await run_in_threadpool(context.clients.authenticate_user, username, password)
    if principal is None or principal.role not in CONSOLE_ROLES:
        return _login_page(request, context, _safe_next(suite), "Identifiant ou mot de passe incorrect.", 401)
    response = redirect(_safe_next(suite))
    session = {"u": principal.subject, "r": principal.role.value, "csrf": new_csrf_token()}
    response.set_cookie(
        SESSION_COOKIE, context.sessions.dumps(session), max_age=context.sessions.lifetime,
        path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure_cookies(request, context),
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/deconnexion", dependencies=[Depends(check_csrf)])
def logout() -> Response:
    response = redirect("/console/connexion")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
