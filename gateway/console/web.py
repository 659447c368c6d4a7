"""Console plumbing: templates, the signed session, CSRF checks, role checks and security headers."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.api.context import ApiContext, api_context
from gateway.auth import Principal, Role

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
SESSION_COOKIE = "gw_session"
LOGIN_COOKIE = "gw_login"
COOKIE_PATH = "/console"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ROLE_LABELS = {
    Role.PARTNER: "partenaire",
    Role.OPERATOR: "opérateur",
    Role.DPO: "délégué à la protection des données",
    Role.ADMIN: "administrateur",
}


class LoginRequired(Exception):
    """Raised by page dependencies; turned into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def secure_cookies(request: Request, context: ApiContext) -> bool:
    return request.url.scheme == "https" or context.settings.environment == "production"


def session_of(request: Request, context: ApiContext) -> dict[str, Any] | None:
    data = context.sessions.loads(request.cookies.get(SESSION_COOKIE))
    if data is None or not context.clients.user_active(str(data.get("u")), str(data.get("r"))):
        return None
    return data


def current_session(request: Request, context: Annotated[ApiContext, Depends(api_context)]) -> dict[str, Any]:
    data = session_of(request, context)
    if data is None:
        raise LoginRequired(request.url.path)
    return data


class PageAccess:
    """Dependency: a logged-in user with one of ``roles`` (else the login page, or 403)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, session: Annotated[dict[str, Any], Depends(current_session)]) -> Principal:
        principal = Principal(str(session["u"]), Role(session["r"]), None, "session")
        if principal.role not in self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Accès refusé pour ce rôle.")
        return principal


async def check_csrf(
    request: Request,
    session: Annotated[dict[str, Any], Depends(current_session)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> None:
    """POST forms carry the session's CSRF token (synchroniser token pattern)."""
    if not csrf_token or not hmac.compare_digest(csrf_token, str(session.get("csrf", ""))):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Jeton de formulaire invalide : rechargez la page.")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    session: dict[str, Any] | None = None,
) -> HTMLResponse:
    values = {
        "request": request,
        "session": session,
        "csrf_token": session.get("csrf") if session else None,
        "role_label": ROLE_LABELS.get(Role(session["r"])) if session else None,
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(path: str) -> RedirectResponse:
    response = RedirectResponse(path, status_code=status.HTTP_303_SEE_OTHER)
    response.headers.update(SECURITY_HEADERS)
    return response


def login_redirect(next_path: str) -> Response:
    safe = next_path if next_path.startswith("/console") and not next_path.startswith("//") else "/console/"
    return redirect(f"/console/connexion?suite={quote(safe)}")
