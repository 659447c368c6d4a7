"""France Travail partner API client: OAuth2 (client credentials, realm, scopes per API), identity
resolution to a ``jeton usager``, then diagnostic / orientation / rendez-vous calls mapped to canonical.

Errors: connection failures, timeouts, 408/425/429/5xx → RetriableError; 401 → the access token is
dropped and fetched again once, then FatalError; other 4xx → FatalError. Messages and logs name the API
and the status or ``codeRetour``, never the person, the jeton, the token or the agent.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from gateway.errors import FatalError, RetriableError, SkippableRecordError
from gateway.logging_setup import get_logger
from gateway.mapping import CompiledMapping, MappingCatalog, translate_stream
from gateway.transports.france_travail.config import AgentIdentity, FranceTravailConfig
from gateway.transports.france_travail.identity import (
    OUTCOMES,
    RETRIABLE_CODES,
    IdentityQuery,
    Resolution,
    ResolutionOutcome,
)
from gateway.transports.france_travail.jeton import JetonCache, UsagerHandle
from gateway.transports.http import RETRIABLE_STATUS, OAuth2ClientCredentials, classify_response

log = get_logger(__name__)
Bundle = dict[str, Any]


class FranceTravailClient:
    def __init__(
        self,
        config: FranceTravailConfig,
        *,
        catalog: MappingCatalog | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.catalog = catalog or MappingCatalog()
        self.http = http or httpx.Client(timeout=httpx.Timeout(config.timeout), verify=config.verify)
        self.jetons = JetonCache(config.jeton_ttl_seconds)
        self._auths: dict[str, OAuth2ClientCredentials] = {}
        self._lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------------------

    def resolve(self, query: IdentityQuery, *, agent: AgentIdentity | None = None) -> Resolution:
        """rechercher-usager: FOUND (with a handle), NOT_FOUND or AMBIGUOUS; R-codes raise."""
        key = self.jetons.key(*query.cache_parts())
        cached = self.jetons.get(key)
        if cached is not None:
            return Resolution(ResolutionOutcome.FOUND, "S001", None, UsagerHandle(cached, query.context()))
        path = "rechercher_usager_nir" if query.by_nir else "rechercher_usager_numero"
        response = self._send("rechercher_usager", "POST", path, agent=agent, json_body=query.body())
        body = _json_object(response)
        code = str(body.get("codeRetour") or "")
        what = "France Travail rechercher-usager"
        if code.startswith("R"):
            error = RetriableError if code in RETRIABLE_CODES else FatalError
            raise error(f"{what} refused the request (codeRetour {code}, HTTP {response.status_code})")
        classify_response(response, what)
        outcome = OUTCOMES.get(code)
        if outcome is None:
            raise FatalError(f"{what}: unexpected codeRetour {code or 'absent'}")
        log.info("france_travail.resolved", outcome=outcome.value, code=code)
        if outcome is not ResolutionOutcome.FOUND:
            return Resolution(outcome, code, None, None)
        jeton = body.get("jetonUsager")
        if not isinstance(jeton, str) or not jeton:
            raise FatalError(f"{what}: {code} without a jeton usager")
        self.jetons.put(key, jeton)
        certified = body.get("topIdentiteCertifiee") == "O"
        return Resolution(outcome, code, certified, UsagerHandle(jeton, query.context()))

    def forget(self, query: IdentityQuery) -> None:
        """Drop the cached jeton of this person (e.g. after FT refused it)."""
        self.jetons.forget(self.jetons.key(*query.cache_parts()))

    # -- data calls ----------------------------------------------------------------------------------

    def diagnostic(self, handle: UsagerHandle, *, agent: AgentIdentity | None = None) -> list[Bundle]:
        """The diagnostic argumenté (dossier individu) as canonical Bundles; [] when FT has none."""
        response = self._send("diagnostic", "GET", "diagnostic", handle=handle, agent=agent)
        if response.status_code in (204, 404):
            return []
        classify_response(response, "France Travail diagnostic")
        return self._mapped("diagnostic", response, handle)

    def send_orientation(
        self, handle: UsagerHandle, bundle: Mapping[str, Any], *, agent: AgentIdentity | None = None
    ) -> list[Bundle]:
        """POST the orientation of ``bundle`` (reverse mapping); France Travail's answer, mapped back."""
        return self._post_mapped("orientation", handle, bundle, agent)

    def send_rendez_vous(
        self, handle: UsagerHandle, bundle: Mapping[str, Any], *, agent: AgentIdentity | None = None
    ) -> list[Bundle]:
        """POST the appointment of ``bundle`` (reverse mapping); France Travail's answer, mapped back."""
        return self._post_mapped("rendez_vous", handle, bundle, agent)

    def close(self) -> None:
        self.http.close()

    # -- plumbing ------------------------------------------------------------------------------------

    def _post_mapped(
        self, api: str, handle: UsagerHandle, bundle: Mapping[str, Any], agent: AgentIdentity | None
    ) -> list[Bundle]:
        records = self._mapping(api).from_canonical(bundle)
        if len(records) != 1:
            raise FatalError(f"France Travail {api}: the Bundle gives {len(records)} payloads, expected 1")
        response = self._send(api, "POST", api, handle=handle, agent=agent, json_body=records[0])
        classify_response(response, f"France Travail {api}")
        if response.status_code == 204 or not response.content:
            return []
        return self._mapped(api, response, handle)

    def _auth(self, api: str) -> OAuth2ClientCredentials:
        with self._lock:
            auth = self._auths.get(api)
            if auth is None:
                auth = OAuth2ClientCredentials(
                    token_url=self.config.token_url,
                    client_id=self.config.client_id,
                    client_secret=self.config.client_secret,
                    scope=self.config.scopes[api],
                    extra_params={"realm": self.config.realm},
                )
                self._auths[api] = auth
            return auth

    def _send(
        self,
        api: str,
        method: str,
        path_key: str,
        *,
        handle: UsagerHandle | None = None,
        agent: AgentIdentity | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        auth = self._auth(api)
        what = f"France Travail {api}"
        for attempt in (1, 2):
            headers = {
                "Accept": "application/json",
                "Authorization": f"Bearer {auth.token(self.http)}",
                **(agent or self.config.agent).headers(),
                **(handle.header() if handle else {}),
            }
            try:
                response = self.http.request(
                    method,
                    self.config.url(path_key),
                    headers=headers,
                    json=dict(json_body) if json_body is not None else None,
                )
            except httpx.TimeoutException as exc:
                raise RetriableError(f"{what} timed out") from exc
            except httpx.TransportError as exc:
                raise RetriableError(f"{what} unreachable ({type(exc).__name__})") from exc
            if response.status_code == 401 and attempt == 1:
                log.info("france_travail.token_refused", api=api)
                auth.invalidate()
                continue
            if response.status_code == 401:
                raise FatalError(f"{what} refused the credentials (401)")
            if response.status_code in RETRIABLE_STATUS:
                raise RetriableError(f"{what} answered {response.status_code}")
            return response
        raise AssertionError("unreachable")

    def _mapping(self, api: str) -> CompiledMapping:
        return self.catalog.get(self.config.mappings[api])

    def _mapped(self, api: str, response: httpx.Response, handle: UsagerHandle) -> list[Bundle]:
        bundles: list[Bundle] = []
        stream = io.BytesIO(response.content)
        for outcome in translate_stream(
            stream, self._mapping(api), source_name=f"france-travail:{api}", context=handle.context
        ):
            if isinstance(outcome, SkippableRecordError):
                raise outcome
            if handle.appears_in(json.dumps(outcome, ensure_ascii=False)):
                raise FatalError(
                    f"France Travail {api}: the mapped output contains the jeton usager (refused)"
                )
            bundles.append(outcome)
        return bundles


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
