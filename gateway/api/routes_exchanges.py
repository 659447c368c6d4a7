"""Partners submit files or canonical Bundles to their inbound endpoints; everyone reads what they may."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from typing import IO, Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from starlette.concurrency import run_in_threadpool

from gateway.api.context import ApiContext, api_context
from gateway.api.queries import (
    ExchangeFilter,
    exchange_deliveries,
    exchange_records,
    get_exchange,
    list_exchanges,
)
from gateway.api.schemas import DeliveryOut, ExchangeOut, RecordOut, SubmissionAccepted
from gateway.api.security import NOT_FOUND, allow, own_party
from gateway.auth import Principal, Role
from gateway.delivery.render import CANONICAL_CONTENT_TYPE
from gateway.pipeline.endpoints import Endpoint
from gateway.pipeline.intake import Envelope, receive

router = APIRouter(prefix="/api/v1", tags=["exchanges"])

MAX_BODY = 64 * 1024 * 1024
SUBMIT_TRANSPORTS = frozenset({"api", "http"})
BINARY_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "canonical Bundle"}}},
    }
}
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Same key, same exchange: safe to resend"),
]


def _inbound(context: ApiContext, principal: Principal, name: str) -> Endpoint:
    endpoint = context.gateway.endpoints.endpoints.get(name)
    if (
        endpoint is None
        or endpoint.direction != "in"
        or endpoint.transport.type not in SUBMIT_TRANSPORTS
        or principal.party != endpoint.partner
    ):
        raise NOT_FOUND
    return endpoint


async def _spooled_body(request: Request) -> IO[bytes]:
    """The request body in a temporary file (in memory up to 8 MiB): a large file is never held whole;
    the size limit and the empty check apply to every submission."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "payload too large")
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 (closed by the caller)
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "payload too large")
            spool.write(chunk)
        if not size:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "empty payload")
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


async def _store(request: Request, context: ApiContext, envelope: Envelope) -> SubmissionAccepted:
    receipt = await run_in_threadpool(receive, context.gateway.engine, envelope)
    return SubmissionAccepted(
        exchange_id=receipt.exchange_id,
        duplicate=receipt.duplicate,
        status_url=str(request.url_for("read_exchange", exchange_id=receipt.exchange_id).path),
    )


@router.post(
    "/endpoints/{endpoint}/files",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=BINARY_BODY,
    summary="Submit a file in the endpoint's partner format (stored before the answer)",
)
async def submit_file(
    *,
    endpoint: str,
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    idempotency_key: IdempotencyKey = None,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    principal: Annotated[Principal, allow(Role.PARTNER)],
) -> SubmissionAccepted:
    target = _inbound(context, principal, endpoint)
    with await _spooled_body(request) as body:
        envelope = Envelope(
            target.name,
            target.partner,
            "api",
            body,
            source_name=filename,
            content_type=request.headers.get("content-type"),
            message_id=idempotency_key,
        )
        return await _store(request, context, envelope)


@router.post(
    "/endpoints/{endpoint}/bundles",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=BUNDLE_BODY,
    summary="Submit one canonical Bundle (JSON) to an inbound endpoint",
)
async def submit_bundle(
    *,
    endpoint: str,
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    idempotency_key: IdempotencyKey = None,
    principal: Annotated[Principal, allow(Role.PARTNER)],
) -> SubmissionAccepted:
    target = _inbound(context, principal, endpoint)
    with await _spooled_body(request) as spool:
        body = spool.read()  # one JSON document, parsed whole
    try:
        document = json.loads(body)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "body is not JSON") from None
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "body is not a canonical Bundle")
    envelope = Envelope(
        target.name,
        target.partner,
        "api",
        body,
        content_type=CANONICAL_CONTENT_TYPE,
        message_id=idempotency_key,
    )
    return await _store(request, context, envelope)


@router.get("/exchanges", summary="Exchanges (a partner sees only those it sent)")
def list_exchanges_route(
    *,
    context: Annotated[ApiContext, Depends(api_context)],
    endpoint: Annotated[str | None, Query(max_length=128)] = None,
    status_filter: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    received_from: Annotated[dt.datetime | None, Query(alias="from")] = None,
    received_to: Annotated[dt.datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    principal: Annotated[Principal, allow(Role.PARTNER, Role.OPERATOR, Role.ADMIN)],
) -> list[ExchangeOut]:
    where = ExchangeFilter(
        endpoint=endpoint,
        status=status_filter,
        sender=principal.party if principal.role is Role.PARTNER else None,
        start=received_from,
        end=received_to,
        limit=limit,
        offset=offset,
    )
    return [ExchangeOut.model_validate(row) for row in list_exchanges(context.gateway.engine, where)]


def _visible_exchange(context: ApiContext, principal: Principal, exchange_id: str) -> ExchangeOut:
    row = get_exchange(context.gateway.engine, exchange_id)
    if row is None or not own_party(principal, row["sender"]):
        raise NOT_FOUND
    return ExchangeOut.model_validate(row)


@router.get("/exchanges/{exchange_id}", name="read_exchange", summary="Status and counters of one exchange")
def read_exchange(
    *,
    exchange_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(Role.PARTNER, Role.OPERATOR, Role.ADMIN)],
) -> ExchangeOut:
    return _visible_exchange(context, principal, exchange_id)


@router.get("/exchanges/{exchange_id}/records", summary="Outcome of each record (no payload)")
def read_records(
    *,
    exchange_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    principal: Annotated[Principal, allow(Role.PARTNER, Role.OPERATOR, Role.ADMIN)],
) -> list[RecordOut]:
    _visible_exchange(context, principal, exchange_id)
    rows = exchange_records(context.gateway.engine, exchange_id, limit, offset)
    return [RecordOut.model_validate(row) for row in rows]


@router.get("/exchanges/{exchange_id}/deliveries", summary="Deliveries and receivers' receipts")
def read_deliveries(
    *,
    exchange_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(Role.PARTNER, Role.OPERATOR, Role.ADMIN)],
) -> list[DeliveryOut]:
    _visible_exchange(context, principal, exchange_id)
    return [
        DeliveryOut.model_validate(row) for row in exchange_deliveries(context.gateway.engine, exchange_id)
    ]
