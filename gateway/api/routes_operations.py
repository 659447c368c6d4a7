"""Dead letters: operators list them and replay them (the replay re-checks the convention as it stands)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from gateway.api.context import ApiContext, api_context
from gateway.api.queries import list_dead_letters
from gateway.api.schemas import DeadLetterOut, ReplayOut
from gateway.api.security import NOT_FOUND, allow
from gateway.auth import Principal, Role
from gateway.delivery.replay import replay

router = APIRouter(prefix="/api/v1/dead-letters", tags=["operations"])


@router.get("", summary="Dead letters, newest first")
def dead_letters_route(
    *,
    context: Annotated[ApiContext, Depends(api_context)],
    endpoint: Annotated[str | None, Query(max_length=128)] = None,
    stage: Annotated[str | None, Query(max_length=32)] = None,
    include_replayed: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    principal: Annotated[Principal, allow(Role.OPERATOR, Role.ADMIN)],
) -> list[DeadLetterOut]:
    rows = list_dead_letters(
        context.gateway.engine, endpoint=endpoint, stage=stage, open_only=not include_replayed, limit=limit
    )
    return [DeadLetterOut.model_validate(row) for row in rows]


@router.post("/{dead_letter_id}/replay", summary="Replay one dead letter (audited)")
async def replay_route(
    *,
    dead_letter_id: str,
    context: Annotated[ApiContext, Depends(api_context)],
    principal: Annotated[Principal, allow(Role.OPERATOR, Role.ADMIN)],
) -> ReplayOut:
    try:
        result = await run_in_threadpool(replay, context.gateway, dead_letter_id, principal.actor)
    except KeyError:
        raise NOT_FOUND from None
    return ReplayOut(
        dead_letter_id=result.dead_letter_id,
        outcome=result.outcome,
        detail=result.detail,
        outbox_id=result.outbox_id,
    )
