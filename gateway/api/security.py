"""Authentication of API calls (API key, bearer token, certificate pin) and role rules per route.

Every route under ``/api/v1`` declares who may call it with :func:`allow`; :func:`check_route_rules`
refuses to build an app where one does not, and the access-matrix test enumerates the same table.
Role refusals answer 403; a partner asking for another organisation's resource gets the same 404 as for
a resource that does not exist (the answer never tells whether it exists).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from gateway.api.context import CERT_HEADER, ApiContext, api_context
from gateway.auth import Principal, Role
from gateway.auth.clients import pin_matches
from gateway.auth.secrets import fingerprint
from gateway.auth.tokens import principal_of

API_PREFIX = "/api/v1"
PUBLIC_API_ROUTES = frozenset({("POST", f"{API_PREFIX}/token")})

api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="Clé d'API du client")
bearer_scheme = HTTPBearer(auto_error=False, description="Jeton obtenu sur /api/v1/token")

NOT_FOUND = HTTPException(status.HTTP_404_NOT_FOUND, "not found")
FORBIDDEN = HTTPException(status.HTTP_403_FORBIDDEN, "forbidden for this role")
UNAUTHENTICATED = HTTPException(
    status.HTTP_401_UNAUTHORIZED, "authentication required", headers={"WWW-Authenticate": "Bearer"}
)


def authenticate(
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    cert = request.headers.get(CERT_HEADER)
    principal: Principal | None = None
    if bearer is not None:
        principal = _from_token(context, bearer.credentials, cert)
    elif api_key:
        principal = context.clients.authenticate_key(api_key, cert)
    if principal is None:
        raise UNAUTHENTICATED
    request.state.principal = principal
    return principal


def _from_token(context: ApiContext, token: str, cert: str | None) -> Principal | None:
    claims = context.tokens.decode(token)
    if claims is None:
        return None
    record = context.clients.client(str(claims["sub"]))
    if record is None or record.revoked or record.role.value != claims["role"]:
        return None  # revoked or changed since the token was issued
    if record.cert_sha256:
        bound = (claims.get("cnf") or {}).get("x5t#S256", "")
        if not pin_matches(record, cert) or not hmac.compare_digest(
            fingerprint(str(bound)), record.cert_sha256
        ):
            return None
    return principal_of(claims)


class _RoleCheck:
    """A dependency that authenticates and checks the role; carries its roles for the route table."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.access_roles = roles

    def __call__(self, principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in self.access_roles:
            raise FORBIDDEN
        return principal


def allow(*roles: Role) -> Any:
    """``principal: Principal = allow(Role.OPERATOR, ...)`` in a route's parameters."""
    return Depends(_RoleCheck(frozenset(roles)))


def route_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles a route admits, found in its dependency tree; None when it declares no rule."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        call: Callable[..., Any] | None = dependency.call
        if isinstance(call, _RoleCheck):
            return call.access_roles
        stack.extend(dependency.dependencies)
    return None


def api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, APIRoute]]:
    """(method, path, route) of every route under ``/api/v1``, including those of included routers.

    FastAPI ≥ 0.16x keeps included routers as nested route objects (``original_router``) instead of
    copying their routes into the app: walk both shapes.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            path = prefix + route.path
            if path.startswith(API_PREFIX):
                for method in sorted(route.methods or ()):
                    yield method, path, route
        nested = getattr(route, "original_router", None)
        if nested is not None:
            context = getattr(route, "include_context", None)
            yield from api_routes(nested.routes, prefix + str(getattr(context, "prefix", "") or ""))


def check_route_rules(app: FastAPI) -> None:
    """Refuse an app with an ``/api/v1`` route that declares no access rule (deny by default)."""
    for method, path, route in api_routes(app.routes):
        if (method, path) not in PUBLIC_API_ROUTES and route_roles(route) is None:
            raise RuntimeError(f"route {method} {path} declares no access rule")


def own_party(principal: Principal, party: str | None) -> bool:
    """True for staff roles; for a partner, only when ``party`` is its own organisation."""
    if principal.role is not Role.PARTNER:
        return True
    return party is not None and principal.party == party


def require_own(principal: Principal, party: str | None) -> None:
    if not own_party(principal, party):
        raise NOT_FOUND
