"""Conventions: parties read theirs; admins activate, suspend or revoke them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from starlette.concurrency import run_in_threadpool

from gateway.api.context import ApiContext, api_context
from gateway.api.conventions_view import convention_out, find_visible, set_status, visible_conventions
from gateway.api.schemas import ConventionOut, StatusChanged
from gateway.api.security import NOT_FOUND, allow
from gateway.auth import Principal, Role
from gateway.errors import ConfigurationError

router = APIRouter(prefix="/api/v1/conventions", tags=["conventions"])
ALL_ROLES = (Role.PARTNER, Role.OPERATOR, Role.DPO, Role.ADMIN)
ACTIONS: dict[str, Literal["active", "suspended", "revoked"]] = {
    "activate": "active",
    "suspend": "suspended",
    "revoke": "revoked",
}


@router.get("", summary="Conventions (a partner sees those it is party to)")
def list_conventions(
    *,
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(*ALL_ROLES)],
) -> list[ConventionOut]:
    return [convention_out(c) for c in visible_conventions(context.gateway.registry, principal)]


@router.get("/{convention_id}", summary="One convention with its flows, allowlists and denies")
def read_convention(
    *,
    convention_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(*ALL_ROLES)],
) -> ConventionOut:
    convention = find_visible(context.gateway.registry, principal, convention_id)
    if convention is None:
        raise NOT_FOUND
    return convention_out(convention)


@router.post("/{convention_id}/{action}", summary="Activate, suspend or revoke (admins; audited)")
async def change_convention_status(
    *,
    convention_id: str,
    action: Literal["activate", "suspend", "revoke"],
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(Role.ADMIN)],
) -> StatusChanged:
    if find_visible(context.gateway.registry, principal, convention_id) is None:
        raise NOT_FOUND
    new_status = ACTIONS[action]
    try:
        await run_in_threadpool(set_status, context.gateway, convention_id, new_status, principal.actor)
    except ConfigurationError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"transition to {new_status} not allowed") from None
    return StatusChanged(id=convention_id, status=new_status)
