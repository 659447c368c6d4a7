"""HTTP outbound (httpx): timeouts, TLS verification, OAuth2 client credentials with a token cache.

Errors are classified for the outbox: connection failures, timeouts, 408, 425, 429 and 5xx are
retriable; other 4xx are fatal (the receiver refuses this message as it is). The idempotency key travels
in the ``Idempotency-Key`` header so that the receiver can drop a message it already has.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.errors import FatalError, RetriableError
from gateway.transports.base import Delivery

RETRIABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class OAuth2ClientCredentials:
    """Fetches and caches an access token (``grant_type=client_credentials``) until shortly before expiry."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    extra_params: dict[str, str] = field(default_factory=dict)
    """E.g. ``{"realm": "/partenaire"}`` for France Travail's partner APIs."""
    margin_seconds: float = 30.0
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self, client: httpx.Client) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._expires_at - self.margin_seconds:
                return self._token
            data = {"grant_type": "client_credentials", "client_id": self.client_id}
            data["client_secret"] = self.client_secret
            if self.scope:
                data["scope"] = self.scope
            try:
                response = client.post(self.token_url, data=data, params=self.extra_params or None)
            except httpx.TransportError as exc:
                raise RetriableError(f"token endpoint unreachable: {type(exc).__name__}") from exc
            if response.status_code in RETRIABLE_STATUS:
                raise RetriableError(f"token endpoint answered {response.status_code}")
            if response.status_code != 200:
                raise FatalError(f"token endpoint refused the client credentials ({response.status_code})")
            body = response.json()
            self._token = str(body["access_token"])
            self._expires_at = time.monotonic() + float(body.get("expires_in", 300))
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


def classify_response(response: httpx.Response, what: str) -> None:
    """Raise the right error for a non-2xx answer."""
    if response.is_success:
        return
    if response.status_code in RETRIABLE_STATUS:
        raise RetriableError(f"{what} answered {response.status_code}")
    raise FatalError(f"{what} refused the message ({response.status_code})")


class HttpOut:
    """POSTs each message to a URL."""

    def __init__(
        self,
        url: str,
        *,
        auth: OAuth2ClientCredentials | None = None,
        timeout: float = 10.0,
        verify: bool | str = True,
        headers: dict[str, str] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.auth = auth
        self.headers = headers or {}
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout), verify=verify)

    def _headers(self, delivery: Delivery) -> dict[str, Any]:
        headers = {
            "Content-Type": delivery.content_type,
            "Idempotency-Key": delivery.idempotency_key,
            **self.headers,
            **delivery.headers,
        }
        if self.auth:
            headers["Authorization"] = f"Bearer {self.auth.token(self.client)}"
        return headers

    def send(self, delivery: Delivery) -> str | None:
        for attempt in (1, 2):
            try:
                response = self.client.post(self.url, content=delivery.body, headers=self._headers(delivery))
            except httpx.TimeoutException as exc:
                raise RetriableError(f"receiver timed out ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                raise RetriableError(f"receiver unreachable ({type(exc).__name__})") from exc
            if response.status_code == 401 and self.auth and attempt == 1:
                self.auth.invalidate()  # token revoked or expired early: fetch a new one once
                continue
            classify_response(response, "receiver")
            return response.headers.get("X-Receipt") or _receipt_from_body(response)
        raise FatalError("receiver refused the credentials (401)")

    def close(self) -> None:
        self.client.close()


def _receipt_from_body(response: httpx.Response) -> str | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("receipt", "id", "reference"):
            if isinstance(body.get(key), str | int):
                return str(body[key])
    return None
