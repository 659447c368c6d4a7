"""What every request handler needs, built once per app and kept on ``app.state.api``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from gateway.auth import ClientDirectory, SessionSigner, TokenIssuer
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.runtime import Gateway

CERT_HEADER = "X-Client-Cert-Fingerprint"
"""Set by the TLS-terminating proxy from the verified client certificate; the proxy must strip it from
incoming requests. Without such a proxy, certificate pinning protects nothing."""


@dataclass
class ApiContext:
    settings: Settings
    gateway: Gateway
    clients: ClientDirectory
    tokens: TokenIssuer
    sessions: SessionSigner


def api_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context
