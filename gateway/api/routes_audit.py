"""The audit log for DPOs: a person's history, a convention's exchanges, exports, chain verification.

Person searches are POSTed so that identifiers never appear in URLs (and so in no access log). An unknown
person and a person without rows get the same empty answer.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from gateway.api import audit_access
from gateway.api.context import ApiContext, api_context
from gateway.api.schemas import PersonQuery, VerifyOut
from gateway.api.security import allow
from gateway.auth import Principal, Role

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Format = Literal["csv", "json"]
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
ROWS_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "text/csv": {}}}}


def _answer(rows: list[audit_access.Row], format: Format, filename: str) -> Response:
    body = audit_access.export_text(rows, format)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100]  # a header is latin-1: keep it plain ASCII
    headers = (
        {"Content-Disposition": f'attachment; filename="{filename}.{format}"'} if format == "csv" else {}
    )
    return Response(body, media_type=MEDIA[format], headers=headers)


@router.post("/person", summary="Every exchange about one person (audited search)", responses=ROWS_RESPONSE)
async def person(
    *,
    query: PersonQuery,
    context: Annotated[ApiContext, Depends(api_context)],
    format: Format = "json",
    principal: Annotated[Principal, allow(Role.DPO)],
) -> Response:
    rows = await run_in_threadpool(
        audit_access.person_history, context.gateway, principal, query.as_identifiers(), query.birth_date
    )
    return _answer(rows, format, "historique-personne")


@router.get(
    "/conventions/{convention_id}", summary="Rows of one convention (audited)", responses=ROWS_RESPONSE
)
async def by_convention(
    *,
    convention_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    start: Annotated[dt.datetime | None, Query(alias="from")] = None,
    end: Annotated[dt.datetime | None, Query(alias="to")] = None,
    format: Format = "json",
    principal: Annotated[Principal, allow(Role.DPO)],
) -> Response:
    rows = await run_in_threadpool(
        audit_access.convention_rows, context.gateway, principal, convention_id, start, end
    )
    return _answer(rows, format, f"audit-{convention_id}")


@router.get("/export", summary="Rows of a period as CSV or JSON (audited)", responses=ROWS_RESPONSE)
async def export(
    *,
    context: Annotated[ApiContext, Depends(api_context)],
    start: Annotated[dt.datetime | None, Query(alias="from")] = None,
    end: Annotated[dt.datetime | None, Query(alias="to")] = None,
    format: Format = "csv",
    principal: Annotated[Principal, allow(Role.DPO)],
) -> Response:
    rows = await run_in_threadpool(audit_access.period_rows, context.gateway, principal, start, end)
    return _answer(rows, format, "audit-export")


@router.get("/verify", summary="Verify the hash chain and signed checkpoints")
async def verify(
    *,
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(Role.DPO, Role.ADMIN)],
) -> VerifyOut:
    result = await run_in_threadpool(audit_access.verify, context.gateway, principal)
    return VerifyOut(
        ok=result.ok, first_bad_seq=result.first_bad_seq, reason=result.reason, checked=result.checked
    )
