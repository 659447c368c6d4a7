"""Property-based requests generated from the OpenAPI document (schemathesis) against the real server
(uvicorn on loopback), authenticated with the role each route needs: no input gives a server error.

The number of examples per operation is bounded so that the whole run stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gateway.api.app import create_app
from gateway.runtime import Gateway
from gateway.settings import Settings
from gateway.store.engine import make_engine
from tests.api_support import ApiEnv, ServerThread, api_env

MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiEnv, str]]:
    env = api_env(Path(tmp_path_factory.mktemp("schemathesis")))
    with ServerThread(create_app(env.settings, env.gateway.engine, env.gateway)) as server:
        yield env, server.url


def _operations() -> list[Any]:
    """The API operations of the OpenAPI document of a freshly built app (no store is touched)."""
    settings_ = Settings(data_dir=Path("/nonexistent"), config_dir=Path("/nonexistent"))
    app = create_app(settings_, make_engine("sqlite://"), Gateway(settings_, migrate=False))
    loaded = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in loaded.get_all_operations()]


OPERATIONS = _operations()


def _client_for(method: str, path: str) -> str:
    """The client whose role the route admits (partners for their own resources)."""
    if path.startswith("/api/v1/audit"):
        return "dpo-api"
    if path.startswith("/api/v1/dead-letters"):
        return "ops-api"
    if path.startswith("/api/v1/inbox"):
        return "ft-hdf-api"
    if path.startswith("/api/v1/conventions/") and method == "POST":
        return "admin-api"
    return "plie-mel-si"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_error(operation: Any, served: tuple[ApiEnv, str]) -> None:
    env, url = served
    key = env.keys[_client_for(operation.method.upper(), operation.path)]

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        headers = {**(case.headers or {}), "X-API-Key": key}
        headers.pop("Authorization", None)
        response = case.call(base_url=url, headers=headers, timeout=15)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"

    call()
