"""The API over real HTTP (uvicorn on loopback): token, submission, pull inbox, dead-letter replay that
ends delivered at a real HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.api.app import create_app
from tests.api_support import ApiEnv, ServerThread, api_env
from tests.peers.http_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    peer = Receiver().start()
    yield peer
    peer.stop()


@pytest.fixture
def served(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[ApiEnv, str]]:
    env = api_env(tmp_path, receiver.url)
    with ServerThread(create_app(env.settings, env.gateway.engine, env.gateway)) as server:
        yield env, server.url


def test_partner_flow_over_http(served: tuple[ApiEnv, str]) -> None:
    env, url = served
    with httpx.Client(base_url=url, timeout=10) as http:
        granted = http.post(
            "/api/v1/token",
            data={"grant_type": "client_credentials"},
            auth=("plie-mel-si", env.keys["plie-mel-si"]),
        )
        bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}
        submitted = http.post(
            "/api/v1/endpoints/plie-mel-depot/files",
            content=b"plie_siret;id_participant\n78451209300013;P1\n",
            headers={**bearer, "Idempotency-Key": "envoi-1", "Content-Type": "text/csv"},
        )
        assert submitted.status_code == 202
        status = http.get(submitted.json()["status_url"], headers=bearer).json()
        assert status["sender"] == "plie-mel" and status["size"] == 44

        ft = {"X-API-Key": env.keys["ft-hdf-api"]}
        (item,) = http.get("/api/v1/inbox/ft-api-partenaires-hdf", headers=ft).json()
        assert http.get(item["content_url"], headers=ft).json()["resourceType"] == "Bundle"
        ack = http.post(f"/api/v1/inbox/ft-api-partenaires-hdf/{item['id']}/ack", headers=ft)
        assert ack.json()["status"] == "delivered"


def test_replayed_dead_letter_is_delivered(served: tuple[ApiEnv, str], receiver: Receiver) -> None:
    env, url = served
    with httpx.Client(base_url=url, timeout=10, headers={"X-API-Key": env.keys["ops-api"]}) as http:
        (letter,) = http.get("/api/v1/dead-letters").json()
        replayed = http.post(f"/api/v1/dead-letters/{letter['id']}/replay").json()
        assert replayed["outcome"] == "queued"
        stats = env.gateway.worker("peer-test").run_once(endpoints=["sftp-cd26-insertion"])
        assert stats.delivered == 1
        assert len(receiver.accepted) == 1
        deliveries = http.get(f"/api/v1/exchanges/{letter['exchange_id']}/deliveries").json()
        assert [d["status"] for d in deliveries] == ["dead", "delivered"]
        assert http.get("/api/v1/dead-letters").json() == []


def test_background_worker_leaves_pull_items_to_the_partner(served: tuple[ApiEnv, str]) -> None:
    env, url = served
    env.gateway.worker("peer-test").run_once()
    with httpx.Client(base_url=url, timeout=10, headers={"X-API-Key": env.keys["ft-hdf-api"]}) as http:
        assert [item["id"] for item in http.get("/api/v1/inbox/ft-api-partenaires-hdf").json()] == [
            env.seeded.inbox_item
        ]
