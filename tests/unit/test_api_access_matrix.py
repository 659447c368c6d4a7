"""The full access matrix: every API route × every role × own or foreign organisation.

The routes are read from the application itself: a route added without a line in ``EXPECTED`` fails
``test_every_route_has_an_expected_rule`` and its own matrix cases, so no route ships without a decision.
Allowed means "past authorisation" (any status but 401, 403 and 404); a partner reaching for another
organisation's resource gets 404, the same answer as for a resource that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.api.security import PUBLIC_API_ROUTES, api_routes
from gateway.runtime import Gateway
from gateway.settings import Settings
from gateway.store.engine import make_engine
from tests.api_support import Seeded, make_settings, seed

PARTNER, OPERATOR, DPO, ADMIN = "partner", "operator", "dpo", "admin"
CALLERS = ("anonymous", "partner-own", "partner-foreign", "operator", "dpo", "admin")
STAFF_CLIENTS = {"operator": "ops-api", "dpo": "dpo-api", "admin": "admin-api"}
FOREIGN = "cd26-si"
BUNDLE = {"resourceType": "Bundle", "type": "collection", "entry": []}


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    owner: str
    """The partner client that owns the route's resource (its "own" case)."""
    listing: bool = False
    """A list that a foreign partner may call but that must not show the owner's resource."""


def rule(*roles: str, owner: str = "plie-mel-si", listing: bool = False) -> Rule:
    return Rule(frozenset(roles), owner, listing)


V1 = "/api/v1"
EXPECTED: dict[tuple[str, str], Rule] = {
    ("POST", f"{V1}/endpoints/{{endpoint}}/files"): rule(PARTNER),
    ("POST", f"{V1}/endpoints/{{endpoint}}/bundles"): rule(PARTNER),
    ("GET", f"{V1}/exchanges"): rule(PARTNER, OPERATOR, ADMIN, listing=True),
    ("GET", f"{V1}/exchanges/{{exchange_id}}"): rule(PARTNER, OPERATOR, ADMIN),
    ("GET", f"{V1}/exchanges/{{exchange_id}}/records"): rule(PARTNER, OPERATOR, ADMIN),
    ("GET", f"{V1}/exchanges/{{exchange_id}}/deliveries"): rule(PARTNER, OPERATOR, ADMIN),
    ("GET", f"{V1}/inbox/{{endpoint}}"): rule(PARTNER, owner="ft-hdf-api"),
    ("GET", f"{V1}/inbox/{{endpoint}}/{{item_id}}"): rule(PARTNER, owner="ft-hdf-api"),
    ("POST", f"{V1}/inbox/{{endpoint}}/{{item_id}}/ack"): rule(PARTNER, owner="ft-hdf-api"),
    ("GET", f"{V1}/conventions"): rule(PARTNER, OPERATOR, DPO, ADMIN, listing=True),
    ("GET", f"{V1}/conventions/{{convention_id}}"): rule(PARTNER, OPERATOR, DPO, ADMIN),
    ("POST", f"{V1}/conventions/{{convention_id}}/{{action}}"): rule(ADMIN),
    ("GET", f"{V1}/dead-letters"): rule(OPERATOR, ADMIN),
    ("POST", f"{V1}/dead-letters/{{dead_letter_id}}/replay"): rule(OPERATOR, ADMIN),
    ("POST", f"{V1}/audit/person"): rule(DPO),
    ("GET", f"{V1}/audit/conventions/{{convention_id}}"): rule(DPO),
    ("GET", f"{V1}/audit/export"): rule(DPO),
    ("GET", f"{V1}/audit/verify"): rule(DPO, ADMIN),
}


def _route_table() -> list[tuple[str, str]]:
    """(method, path) of every /api/v1 route of a freshly built app (no store is touched)."""
    settings = Settings(data_dir=Path("/nonexistent"), config_dir=Path("/nonexistent"))
    app = create_app(settings, make_engine("sqlite://"), Gateway(settings, migrate=False))
    return sorted(
        (method, path)
        for method, path, _ in api_routes(app.routes)
        if (method, path) not in PUBLIC_API_ROUTES
    )


ROUTES = _route_table()


def test_every_route_has_an_expected_rule() -> None:
    assert set(ROUTES) == set(EXPECTED), "routes and the access table differ: add the new route to EXPECTED"


@dataclass
class Env:
    client: TestClient
    keys: dict[str, str]
    seeded: Seeded


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    settings, keys = make_settings(tmp_path_factory.mktemp("matrix"))
    gateway = Gateway(settings)
    seeded = seed(gateway)
    with TestClient(create_app(settings, gateway.engine, gateway)) as client:
        yield Env(client, keys, seeded)


def _request(env: Env, method: str, path: str) -> tuple[str, dict[str, Any]]:
    s = env.seeded
    values = {
        "endpoint": "ft-api-partenaires-hdf" if "/inbox/" in path else "plie-mel-depot",
        "exchange_id": s.plie_exchange,
        "item_id": s.inbox_item,
        "convention_id": "plie-lille-ft",
        "action": "suspend",
        "dead_letter_id": s.dead_letter,
    }
    if path.endswith("/{action}"):
        values["convention_id"] = "data-inclusion-drome"
    kwargs: dict[str, Any] = {}
    if path.endswith("/files"):
        kwargs["content"] = b"plie_siret;id_participant\n78451209300013;P1\n"
    elif path.endswith("/bundles"):
        kwargs["content"] = json.dumps(BUNDLE).encode()
        kwargs["headers"] = {"Content-Type": "application/json"}
    elif path.endswith("/audit/person"):
        kwargs["json"] = {"nir": s.nir, "birth_date": s.birth_date}
    return path.format(**values), kwargs


def _key(env: Env, caller: str, rule: Rule) -> str | None:
    if caller == "anonymous":
        return None
    if caller == "partner-own":
        return env.keys[rule.owner]
    if caller == "partner-foreign":
        return env.keys[FOREIGN]
    return env.keys[STAFF_CLIENTS[caller]]


def _expected(caller: str, rule: Rule) -> str:
    if caller == "anonymous":
        return "401"
    role = PARTNER if caller.startswith("partner") else caller
    if role not in rule.roles:
        return "403"
    if caller == "partner-foreign" and not rule.listing:
        return "404"
    return "allowed"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_access(env: Env, method: str, path: str, caller: str) -> None:
    access = EXPECTED.get((method, path))
    if access is None:
        pytest.fail(f"{method} {path} has no rule in the access table")
    url, kwargs = _request(env, method, path)
    headers = dict(kwargs.pop("headers", {}))
    key = _key(env, caller, access)
    if key:
        headers["X-API-Key"] = key
    response = env.client.request(method, url, headers=headers, **kwargs)
    expected = _expected(caller, access)
    if expected == "allowed":
        assert response.status_code not in (401, 403, 404), (caller, response.status_code, response.text)
        assert response.status_code < 500
    else:
        assert response.status_code == int(expected), (caller, response.text)
        assert (
            response.json()
            == {
                "401": {"detail": "authentication required"},
                "403": {"detail": "forbidden for this role"},
                "404": {"detail": "not found"},
            }[expected]
        )
    if access.listing and caller == "partner-foreign":
        listed = response.text
        assert env.seeded.plie_exchange not in listed and "plie-lille-ft" not in listed
