"""Authentication: hashed API keys, OAuth2 client credentials tokens, certificate pinning, revocation."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.auth import clients as clients_module
from gateway.auth import hash_secret, new_api_key, verify_secret
from gateway.auth.tokens import TokenIssuer
from tests.api_support import FAST_HASH, ApiEnv, api_env

CERT_DER = b"fake DER bytes of the partner certificate"
CERT_SHA256 = hashlib.sha256(CERT_DER).hexdigest()
CERT_COLONS = ":".join(CERT_SHA256[i : i + 2] for i in range(0, 64, 2)).upper()
CONVENTIONS = "/api/v1/conventions"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ApiEnv:
    monkeypatch.setattr(clients_module, "RELOAD_CHECK_SECONDS", 0.0)
    return api_env(tmp_path)


@pytest.fixture
def client(env: ApiEnv) -> Iterator[TestClient]:
    with TestClient(create_app(env.settings, env.gateway.engine, env.gateway)) as test_client:
        yield test_client


def _append_client(env: ApiEnv, name: str, extra: str = "") -> str:
    key = new_api_key(name)
    key_hash = hash_secret(key, **FAST_HASH)
    text = f"  {name}:\n    role: partner\n    party: plie-mel\n    key_hash: '{key_hash}'\n{extra}"
    path = env.settings.config_dir / "clients.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("users:\n", text + "users:\n"), encoding="utf-8")
    return key


def _revoke(env: ApiEnv, name: str) -> None:
    path = env.settings.config_dir / "clients.yaml"
    content = path.read_text(encoding="utf-8").replace(f"  {name}:\n", f"  {name}:\n    revoked: true\n")
    path.write_text(content, encoding="utf-8")


def _token(client: TestClient, client_id: str, secret: str, **headers: str) -> str:
    response = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    return str(body["access_token"])


def test_secret_hashing() -> None:
    encoded = hash_secret("s3cret", **FAST_HASH)
    assert "s3cret" not in encoded and encoded.startswith("scrypt$1024$")
    assert verify_secret("s3cret", encoded) and not verify_secret("s3creT", encoded)
    assert not verify_secret("s3cret", "scrypt$bad") and not verify_secret("s3cret", None)


def test_api_key_wrong_or_missing(env: ApiEnv, client: TestClient) -> None:
    assert client.get(CONVENTIONS).status_code == 401
    wrong = env.keys["plie-mel-si"][:-2] + "xx"
    assert client.get(CONVENTIONS, headers={"X-API-Key": wrong}).status_code == 401
    other_clients_key = env.keys["cd26-si"].replace("cd26-si", "plie-mel-si")
    assert client.get(CONVENTIONS, headers={"X-API-Key": other_clients_key}).status_code == 401
    assert client.get(CONVENTIONS, headers=env.headers("plie-mel-si")).status_code == 200


def test_client_credentials_token(env: ApiEnv, client: TestClient) -> None:
    token = _token(client, "plie-mel-si", env.keys["plie-mel-si"])
    assert client.get(CONVENTIONS, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    basic = base64.b64encode(f"ft-hdf-api:{env.keys['ft-hdf-api']}".encode()).decode()
    response = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert client.get(CONVENTIONS, headers={"Authorization": f"Bearer {token[:-3]}abc"}).status_code == 401
    mismatched = {
        "grant_type": "client_credentials",
        "client_id": "cd26-si",
        "client_secret": env.keys["plie-mel-si"],
    }
    assert client.post("/api/v1/token", data=mismatched).status_code == 401
    assert client.post("/api/v1/token", data={"grant_type": "password"}).status_code == 400


def test_expired_or_foreign_token_is_refused(env: ApiEnv, client: TestClient) -> None:
    record = client.app.state.api.clients.client("plie-mel-si")  # type: ignore[attr-defined]
    expired = TokenIssuer(client.app.state.api.tokens._key, lifetime=-60).issue(record)  # type: ignore[attr-defined]
    assert client.get(CONVENTIONS, headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    forged = TokenIssuer(b"another key" * 3).issue(record)
    assert client.get(CONVENTIONS, headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_revocation_stops_keys_and_tokens(env: ApiEnv, client: TestClient) -> None:
    key = _append_client(env, "plie-mel-second")
    token = _token(client, "plie-mel-second", key)
    assert client.get(CONVENTIONS, headers={"X-API-Key": key}).status_code == 200
    _revoke(env, "plie-mel-second")
    assert client.get(CONVENTIONS, headers={"X-API-Key": key}).status_code == 401
    assert client.get(CONVENTIONS, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_certificate_pinning(env: ApiEnv, client: TestClient) -> None:
    key = _append_client(env, "plie-mel-mtls", f"    cert_sha256: '{CERT_COLONS}'\n")
    assert client.get(CONVENTIONS, headers={"X-API-Key": key}).status_code == 401
    wrong = {"X-API-Key": key, "X-Client-Cert-Fingerprint": "00" * 32}
    assert client.get(CONVENTIONS, headers=wrong).status_code == 401
    right = {"X-API-Key": key, "X-Client-Cert-Fingerprint": CERT_SHA256}
    assert client.get(CONVENTIONS, headers=right).status_code == 200
    token = _token(client, "plie-mel-mtls", key, **{"X-Client-Cert-Fingerprint": CERT_COLONS})
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(CONVENTIONS, headers=bearer).status_code == 401
    assert (
        client.get(CONVENTIONS, headers={**bearer, "X-Client-Cert-Fingerprint": CERT_SHA256}).status_code
        == 200
    )


def test_secrets_never_reach_the_logs(
    env: ApiEnv, client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    key = env.keys["plie-mel-si"]
    client.get(CONVENTIONS, headers={"X-API-Key": key})
    client.get(CONVENTIONS, headers={"X-API-Key": key + "x"})
    client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials", "client_id": "plie-mel-si", "client_secret": key},
    )
    captured = capsys.readouterr()
    assert key not in caplog.text and key not in captured.out and key not in captured.err
