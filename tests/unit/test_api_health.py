"""Health and readiness endpoints."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.settings import Settings
from gateway.store.engine import make_engine, upgrade


def test_healthz_and_readyz(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    upgrade(url)
    client = TestClient(create_app(Settings(data_dir=tmp_path), make_engine(url)))
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["store"] == "sqlite"


def test_readyz_reports_unreachable_store(tmp_path: Path) -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    client = TestClient(create_app(Settings(data_dir=tmp_path), engine))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
