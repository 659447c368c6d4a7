"""OAuth2 client credentials: exchange a client id and secret (the API key) for a short-lived token."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gateway.api.context import CERT_HEADER, ApiContext, api_context

router = APIRouter(prefix="/api/v1", tags=["auth"])

INVALID_CLIENT = HTTPException(
    status.HTTP_401_UNAUTHORIZED, "invalid_client", headers={"WWW-Authenticate": 'Basic realm="gateway"'}
)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


@router.post("/token", summary="OAuth2 client credentials grant (secret = the client's API key)")
async def token(
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    grant_type: Annotated[str, Form(max_length=64)],
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
) -> TokenOut:
    if grant_type != "client_credentials":
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "unsupported_grant_type")
    credentials = _basic(request) or ((client_id, client_secret) if client_id and client_secret else None)
    if credentials is None:
        raise INVALID_CLIENT
    claimed_id, secret = credentials
    principal = await run_in_threadpool(
        context.clients.authenticate_key, secret, request.headers.get(CERT_HEADER), "token"
    )
    record = context.clients.client(claimed_id)
    if principal is None or record is None or principal.subject != claimed_id:
        raise INVALID_CLIENT
    return TokenOut(access_token=context.tokens.issue(record), expires_in=context.tokens.lifetime)
