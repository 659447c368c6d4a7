"""The pull inbox: partners whose outbound endpoint has transport ``pull`` fetch and acknowledge items.

Listing gives metadata only; fetching an item's content is a read of personal data and is audited under
the person's pseudonym; acknowledging marks the item delivered with a receipt (idempotent).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select, update

from gateway.api.context import ApiContext, api_context
from gateway.api.schemas import Acknowledgement, AckOut, InboxItem
from gateway.api.security import NOT_FOUND, allow
from gateway.auth import Principal, Role
from gateway.clock import aware, utcnow
from gateway.delivery.outbox import DELIVERED, PENDING, OutboxItem
from gateway.delivery.render import render
from gateway.pipeline.endpoints import Endpoint
from gateway.store.tables import outbox, records

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])


def _pull_endpoint(context: ApiContext, principal: Principal, name: str) -> Endpoint:
    endpoint = context.gateway.endpoints.endpoints.get(name)
    if (
        endpoint is None
        or endpoint.direction != "out"
        or endpoint.transport.type != "pull"
        or endpoint.partner != principal.party
    ):
        raise NOT_FOUND
    return endpoint


def _item(context: ApiContext, endpoint: Endpoint, item_id: str) -> Any:
    with context.gateway.engine.connect() as connection:
        row = connection.execute(
            select(outbox).where(outbox.c.id == item_id, outbox.c.endpoint == endpoint.name)
        ).first()
    if row is None:
        raise NOT_FOUND
    return row


@router.get("/{endpoint}", summary="Items waiting for the caller's organisation (metadata only)")
def list_inbox(
    *,
    endpoint: str,
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    principal: Annotated[Principal, allow(Role.PARTNER)],
) -> list[InboxItem]:
    target = _pull_endpoint(context, principal, endpoint)
    query = (
        select(outbox)
        .where(outbox.c.endpoint == target.name, outbox.c.status == PENDING)
        .order_by(outbox.c.created_at, outbox.c.id)
        .limit(limit)
    )
    with context.gateway.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        InboxItem(
            id=row.id,
            convention_id=row.convention_id,
            convention_version=row.convention_version,
            flow_id=row.flow_id,
            purpose=row.purpose,
            idempotency_key=OutboxItem.from_row(row).delivery_key,
            created_at=aware(row.created_at),
            content_url=request.url_for("fetch_inbox_item", endpoint=target.name, item_id=row.id).path,
        )
        for row in rows
    ]


@router.get(
    "/{endpoint}/{item_id}",
    name="fetch_inbox_item",
    summary="The item's content in the endpoint's format (audited read)",
    response_class=Response,
    responses={200: {"content": {"application/fhir+json": {}, "application/octet-stream": {}}}},
)
def fetch_inbox_item(
    *,
    endpoint: str,
    item_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(Role.PARTNER)],
) -> Response:
    target = _pull_endpoint(context, principal, endpoint)
    row = _item(context, target, item_id)
    item = OutboxItem.from_row(row)
    delivery = render(item, target, context.gateway.partner_format)
    with context.gateway.engine.connect() as connection:
        person_key = connection.execute(
            select(records.c.person_key).where(records.c.id == item.record_id)
        ).scalar_one_or_none()
    context.gateway.audit.record_event(
        "read",
        actor=principal.actor,
        exchange_id=item.exchange_id,
        convention_id=item.convention_id,
        convention_version=item.convention_version,
        flow_id=item.flow_id,
        purpose=item.purpose,
        receiver=item.receiver,
        pseudonyms=[person_key] if person_key else [],
        details={"what": "inbox-item", "item": item.id},
    )
    headers = {"Idempotency-Key": delivery.idempotency_key, **delivery.headers}
    return Response(delivery.body, media_type=delivery.content_type, headers=headers)


@router.post("/{endpoint}/{item_id}/ack", summary="Acknowledge an item: it is delivered, with your receipt")
def acknowledge(
    *,
    endpoint: str,
    item_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    body: Acknowledgement | None = None,
    principal: Annotated[Principal, allow(Role.PARTNER)],
) -> AckOut:
    target = _pull_endpoint(context, principal, endpoint)
    row = _item(context, target, item_id)
    if row.status == PENDING:
        receipt = (body.receipt if body and body.receipt else None) or f"pull:{principal.subject}"
        with context.gateway.engine.begin() as connection:
            moved = connection.execute(
                update(outbox)
                .where(outbox.c.id == row.id, outbox.c.status == PENDING)
                .values(status=DELIVERED, delivered_at=utcnow(), receipt=receipt, claimed_until=None)
            ).rowcount
        if moved:
            context.gateway.audit_delivery(OutboxItem.from_row(row), receipt)
        row = _item(context, target, item_id)
    delivered_at = aware(row.delivered_at) if row.delivered_at else None
    return AckOut(id=row.id, status=row.status, receipt=row.receipt, delivered_at=delivered_at)
