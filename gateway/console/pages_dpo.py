"""DPO pages: search a person by identifiers, history across conventions, CSV export, chain verification.

Identifiers travel in POST bodies only (never in URLs), pages are not cached, and every search or export
is recorded in the audit log under the person's pseudonyms. An unknown person gives an empty history.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.api import audit_access
from gateway.api.context import ApiContext, api_context
from gateway.auth import Principal, Role
from gateway.console.web import SECURITY_HEADERS, PageAccess, check_csrf, current_session, render
from gateway.model import identifiers as systems

router = APIRouter(prefix="/console/dpo", include_in_schema=False)
DPO = PageAccess(Role.DPO)
Session = Annotated[dict[str, Any], Depends(current_session)]
Context = Annotated[ApiContext, Depends(api_context)]
OTHER_SYSTEMS = (
    (systems.FRANCE_TRAVAIL_ID, "Identifiant France Travail"),
    (systems.FRANCE_TRAVAIL_IDRCI, "Identifiant national France Travail (IDRCI)"),
    (systems.CAF_MATRICULE, "Matricule CAF (numéro allocataire)"),
    (systems.MSA_MATRICULE, "Matricule MSA"),
    (systems.DSN_INDIVIDU, "Matricule salarié (DSN)"),
    (systems.RDV_INSERTION, "Identifiant rdv-insertion"),
)


class SearchForm:
    """The search fields, validated; error messages never repeat the values typed."""

    def __init__(
        self,
        nir: Annotated[str, Form(max_length=30)] = "",
        date_naissance: Annotated[str, Form(max_length=10)] = "",
        systeme: Annotated[str, Form(max_length=200)] = "",
        identifiant: Annotated[str, Form(max_length=100)] = "",
    ) -> None:
        self.nir, self.date_naissance = nir.strip(), date_naissance.strip()
        self.systeme, self.identifiant = systeme.strip(), identifiant.strip()
        self.errors: list[str] = []
        self.birth_date: dt.date | None = None
        if self.date_naissance:
            try:
                self.birth_date = dt.date.fromisoformat(self.date_naissance)
            except ValueError:
                self.errors.append("La date de naissance doit être au format AAAA-MM-JJ.")
        if self.nir and len(self.nir.replace(" ", "")) not in (13, 15):
            self.errors.append("Le NIR doit comporter 13 ou 15 caractères.")
        if (
            self.identifiant
            and self.systeme not in {system for system, _ in OTHER_SYSTEMS}
            and not (self.systeme.startswith(("urn:fr:departement:", "urn:fr:plie:")))
        ):
            self.errors.append("Choisissez le type de l'identifiant.")
        if not self.nir and not self.identifiant:
            self.errors.append("Indiquez un NIR ou un autre identifiant.")

    def identifiers(self) -> dict[str, str]:
        found = {}
        if self.nir:
            found[systems.NIR] = self.nir
        if self.identifiant:
            found[self.systeme] = self.identifiant
        return found


def _form_page(request: Request, session: dict[str, Any], **values: Any) -> HTMLResponse:
    return render(request, "dpo.html", {"systems": OTHER_SYSTEMS, **values}, session=session)


async def _history(context: Any, principal: Principal, form: SearchForm) -> Any:
    """The person's audited history (the search itself is audited by audit_access)."""
    return await run_in_threadpool(
        audit_access.person_history, context.gateway, principal, form.identifiers(), form.birth_date
    )


@router.get("", response_class=HTMLResponse)
def dpo_home(*, request: Request, session: Session, _: Annotated[Principal, Depends(DPO)]) -> Response:
    return _form_page(request, session)


@router.post("/recherche", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def search(
    *,
    request: Request,
    context: Context,
    session: Session,
    form: Annotated[SearchForm, Depends()],
    principal: Annotated[Principal, Depends(DPO)],
) -> Response:
    if form.errors:
        return _form_page(request, session, form=form, errors=form.errors)
    rows = await _history(context, principal, form)
    return _form_page(request, session, form=form, rows=rows, searched=True)


@router.post("/export", dependencies=[Depends(check_csrf)])
async def export(
    *,
    request: Request,
    context: Context,
    session: Session,
    form: Annotated[SearchForm, Depends()],
    principal: Annotated[Principal, Depends(DPO)],
) -> Response:
    if form.errors:
        return _form_page(request, session, form=form, errors=form.errors)
    body = audit_access.export_text(await _history(context, principal, form), "csv")
    headers = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="historique-personne.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/verification", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def verification(
    *, request: Request, context: Context, session: Session, principal: Annotated[Principal, Depends(DPO)]
) -> Response:
    result = await run_in_threadpool(audit_access.verify, context.gateway, principal)
    return _form_page(request, session, verification=result)
