"""Operator pages: dashboard, exchange explorer, dead letters (replay), conventions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.api.context import ApiContext, api_context
from gateway.api.conventions_view import expiring, set_status
from gateway.api.queries import (
    ExchangeFilter,
    dashboard,
    exchange_deliveries,
    exchange_records,
    get_exchange,
    list_dead_letters,
    list_exchanges,
)
from gateway.auth import Principal, Role
from gateway.console.web import PageAccess, check_csrf, current_session, redirect, render
from gateway.delivery.replay import replay
from gateway.errors import ConfigurationError

router = APIRouter(prefix="/console", include_in_schema=False)
STAFF = PageAccess(Role.OPERATOR, Role.DPO, Role.ADMIN)
OPERATIONS = PageAccess(Role.OPERATOR, Role.ADMIN)
ADMIN = PageAccess(Role.ADMIN)
PAGE_SIZE = 50
EXCHANGE_STATUSES = ("received", "processing", "processed", "failed")
Session = Annotated[dict[str, Any], Depends(current_session)]
Context = Annotated[ApiContext, Depends(api_context)]
REPLAY_MESSAGES = {
    "queued": "Relance acceptée : l'envoi est de nouveau en file d'attente.",
    "reprocessed": "Échange retraité depuis le message d'origine.",
    "refused": "Relance refusée par la convention en vigueur (voir le journal d'audit).",
    "already-replayed": "Ce message avait déjà été relancé.",
}
STATUS_ACTIONS: dict[str, Literal["active", "suspended", "revoked"]] = {
    "activer": "active",
    "suspendre": "suspended",
    "revoquer": "revoked",
}


def _day(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@router.get("/", response_class=HTMLResponse)
def dashboard_page(
    *, request: Request, context: Context, session: Session, _: Annotated[Principal, Depends(STAFF)]
) -> Response:
    figures = dashboard(context.gateway.engine)
    today = dt.datetime.now(dt.UTC).date()
    soon = expiring(context.gateway.registry, today)
    return render(
        request, "dashboard.html", {"figures": figures, "expiring": soon, "today": today}, session=session
    )


@router.get("/echanges", response_class=HTMLResponse)
def exchanges_page(
    *,
    request: Request,
    context: Context,
    session: Session,
    endpoint: Annotated[str | None, Query(max_length=128)] = None,
    statut: Annotated[str | None, Query(max_length=32)] = None,
    du: Annotated[str | None, Query(max_length=10)] = None,
    au: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    _: Annotated[Principal, Depends(OPERATIONS)],
) -> Response:
    end = _day(au)
    where = ExchangeFilter(
        endpoint=endpoint or None,
        status=statut or None,
        start=_day(du),
        end=end + dt.timedelta(days=1) if end else None,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    rows = list_exchanges(context.gateway.engine, where)
    values = {
        "rows": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "filters": {"endpoint": endpoint or "", "statut": statut or "", "du": du or "", "au": au or ""},
        "endpoints": sorted(
            e.name for e in context.gateway.endpoints.endpoints.values() if e.direction == "in"
        ),
        "statuses": EXCHANGE_STATUSES,
    }
    return render(request, "exchanges.html", values, session=session)


@router.get("/echanges/{exchange_id}", response_class=HTMLResponse)
def exchange_page(
    *,
    exchange_id: str,
    request: Request,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(OPERATIONS)],
) -> Response:
    exchange = get_exchange(context.gateway.engine, exchange_id)
    if exchange is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Échange introuvable.")
    values = {
        "exchange": exchange,
        "records": exchange_records(context.gateway.engine, exchange_id, limit=500),
        "deliveries": exchange_deliveries(context.gateway.engine, exchange_id, limit=500),
    }
    return render(request, "exchange.html", values, session=session)


@router.get("/messages-en-echec", response_class=HTMLResponse)
def dead_letters_page(
    *,
    request: Request,
    context: Context,
    session: Session,
    resultat: Annotated[str | None, Query(max_length=32)] = None,
    _: Annotated[Principal, Depends(OPERATIONS)],
) -> Response:
    rows = list_dead_letters(context.gateway.engine, limit=200)
    message = REPLAY_MESSAGES.get(resultat or "")
    return render(request, "dead_letters.html", {"rows": rows, "message": message}, session=session)


@router.post("/messages-en-echec/{dead_letter_id}/relance", dependencies=[Depends(check_csrf)])
async def replay_page(
    *, dead_letter_id: str, context: Context, principal: Annotated[Principal, Depends(OPERATIONS)]
) -> Response:
    try:
        result = await run_in_threadpool(replay, context.gateway, dead_letter_id, principal.actor)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Message introuvable.") from None
    return redirect(f"/console/messages-en-echec?resultat={result.outcome}")


@router.get("/conventions", response_class=HTMLResponse)
def conventions_page(
    *, request: Request, context: Context, session: Session, _: Annotated[Principal, Depends(STAFF)]
) -> Response:
    today = dt.datetime.now(dt.UTC).date()
    soon = {c.id for c in expiring(context.gateway.registry, today)}
    values = {"conventions": list(context.gateway.registry), "expiring": soon}
    return render(request, "conventions.html", values, session=session)


@router.get("/conventions/{convention_id}", response_class=HTMLResponse)
def convention_page(
    *,
    convention_id: str,
    request: Request,
    context: Context,
    session: Session,
    resultat: Annotated[str | None, Query(max_length=32)] = None,
    _: Annotated[Principal, Depends(STAFF)],
) -> Response:
    try:
        convention = context.gateway.registry.convention(convention_id)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Convention introuvable.") from None
    values = {"convention": convention, "message": resultat, "actions": STATUS_ACTIONS}
    return render(request, "convention.html", values, session=session)


@router.post("/conventions/{convention_id}/{action}", dependencies=[Depends(check_csrf)])
async def convention_status_page(
    *, convention_id: str, action: str, context: Context, principal: Annotated[Principal, Depends(ADMIN)]
) -> Response:
    if action not in STATUS_ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Action inconnue.")
    try:
        context.gateway.registry.convention(convention_id)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Convention introuvable.") from None
    try:
        await run_in_threadpool(
            set_status, context.gateway, convention_id, STATUS_ACTIONS[action], principal.actor
        )
    except ConfigurationError:
        return redirect(f"/console/conventions/{convention_id}?resultat=transition-refusee")
    return redirect(f"/console/conventions/{convention_id}?resultat=statut-modifie")
