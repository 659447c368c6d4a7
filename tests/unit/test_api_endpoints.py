"""Behaviour of the API routes: submission stored before the answer, idempotency, pull inbox, conventions,
audit reads (themselves audited), readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from gateway.api.app import create_app
from gateway.model.identifiers import NIR
from gateway.store.payloads import read_payload
from gateway.store.tables import audit_log, exchanges
from tests.api_support import ApiEnv, api_env

INBOX = "/api/v1/inbox/ft-api-partenaires-hdf"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> ApiEnv:
    return api_env(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(env: ApiEnv) -> Iterator[TestClient]:
    with TestClient(create_app(env.settings, env.gateway.engine, env.gateway)) as test_client:
        yield test_client


def _audit_rows(env: ApiEnv, event: str) -> list[dict[str, object]]:
    with env.gateway.engine.connect() as connection:
        query = select(audit_log).where(audit_log.c.event == event).order_by(audit_log.c.seq)
        return [dict(row) for row in connection.execute(query).mappings()]


def test_file_is_stored_before_the_answer_and_idempotent(env: ApiEnv, client: TestClient) -> None:
    body = b"plie_siret;id_participant\n78451209300013;P9\n"
    headers = {**env.headers("plie-mel-si"), "Idempotency-Key": "lot-2025-06-01", "Content-Type": "text/csv"}
    first = client.post(
        "/api/v1/endpoints/plie-mel-depot/files?filename=lot.csv", content=body, headers=headers
    )
    assert first.status_code == 202
    answer = first.json()
    assert answer["duplicate"] is False
    with env.gateway.engine.connect() as connection:
        row = connection.execute(select(exchanges).where(exchanges.c.id == answer["exchange_id"])).one()
    assert (read_payload(env.gateway.engine, row.id), row.sender, row.endpoint, row.source_name) == (
        body,
        "plie-mel",
        "plie-mel-depot",
        "lot.csv",
    )
    again = client.post("/api/v1/endpoints/plie-mel-depot/files", content=b"other bytes", headers=headers)
    assert again.json() == {**answer, "duplicate": True}
    status = client.get(answer["status_url"], headers=env.headers("plie-mel-si"))
    assert status.status_code == 200 and status.json()["status"] == "received"


def test_same_bytes_without_key_are_one_exchange(env: ApiEnv, client: TestClient) -> None:
    body = b"plie_siret;id_participant\n78451209300013;P10\n"
    answers = [
        client.post(
            "/api/v1/endpoints/plie-mel-depot/files", content=body, headers=env.headers("plie-mel-si")
        ).json()
        for _ in range(2)
    ]
    assert answers[0]["exchange_id"] == answers[1]["exchange_id"] and answers[1]["duplicate"] is True


def test_bundle_submission_checks_the_document(env: ApiEnv, client: TestClient) -> None:
    url = "/api/v1/endpoints/plie-mel-depot/bundles"
    headers = {**env.headers("plie-mel-si"), "Content-Type": "application/json"}
    assert client.post(url, content=b"{not json", headers=headers).status_code == 422
    assert client.post(url, content=b'{"resourceType": "Person"}', headers=headers).status_code == 422
    assert client.post(url, content=b"", headers=headers).status_code == 422
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    accepted = client.post(url, content=json.dumps(bundle).encode(), headers=headers)
    assert accepted.status_code == 202
    with env.gateway.engine.connect() as connection:
        content_type = connection.execute(
            select(exchanges.c.content_type).where(exchanges.c.id == accepted.json()["exchange_id"])
        ).scalar_one()
    assert content_type == "application/fhir+json"


def test_foreign_and_unknown_resources_answer_alike(env: ApiEnv, client: TestClient) -> None:
    foreign = env.headers("cd26-si")
    pairs = [
        (
            f"/api/v1/exchanges/{env.seeded.plie_exchange}",
            "/api/v1/exchanges/00000000-0000-0000-0000-000000000000",
        ),
        ("/api/v1/conventions/plie-lille-ft", "/api/v1/conventions/no-such-convention"),
        (f"{INBOX}/{env.seeded.inbox_item}", f"{INBOX}/00000000-0000-0000-0000-000000000000"),
    ]
    for existing, unknown in pairs:
        a, b = client.get(existing, headers=foreign), client.get(unknown, headers=foreign)
        assert (a.status_code, a.json(), a.headers.get("content-type")) == (
            b.status_code,
            b.json(),
            b.headers.get("content-type"),
        )
        assert a.status_code == 404


def test_pull_inbox_fetch_is_audited_and_ack_delivers(env: ApiEnv, client: TestClient) -> None:
    ft = env.headers("ft-hdf-api")
    listed = client.get(INBOX, headers=ft).json()
    assert [item["id"] for item in listed] == [env.seeded.inbox_item]
    assert "bundle" not in listed[0]  # metadata only
    content = client.get(listed[0]["content_url"], headers=ft)
    assert content.status_code == 200 and content.headers["content-type"] == "application/fhir+json"
    assert content.headers["idempotency-key"] == listed[0]["idempotency_key"]
    assert content.json()["resourceType"] == "Bundle"
    assert env.seeded.nir not in content.text  # the flow does not allow the NIR
    reads = [r for r in _audit_rows(env, "read") if (r["details"] or {}).get("what") == "inbox-item"]
    assert reads and reads[-1]["actor"] == "partner:ft-hdf:ft-hdf-api"
    pseudonym = env.gateway.pseudonymiser.pseudonym(NIR, env.seeded.nir)
    assert pseudonym in (reads[-1]["person_pseudonyms"] or [])
    ack = client.post(f"{INBOX}/{env.seeded.inbox_item}/ack", json={"receipt": "FT-REC-1"}, headers=ft)
    assert (
        ack.status_code == 200 and ack.json()["status"] == "delivered" and ack.json()["receipt"] == "FT-REC-1"
    )
    repeat = client.post(f"{INBOX}/{env.seeded.inbox_item}/ack", json={"receipt": "other"}, headers=ft)
    assert repeat.json() == ack.json()
    assert client.get(INBOX, headers=ft).json() == []
    deliveries = client.get(
        f"/api/v1/exchanges/{env.seeded.plie_exchange}/deliveries", headers=env.headers("plie-mel-si")
    ).json()
    assert [(d["status"], d["receipt"]) for d in deliveries] == [("delivered", "FT-REC-1")]


def test_person_search_is_audited_and_reveals_no_identifier(env: ApiEnv, client: TestClient) -> None:
    dpo = env.headers("dpo-api")
    query = {"nir": env.seeded.nir, "birth_date": env.seeded.birth_date}
    found = client.post("/api/v1/audit/person", json=query, headers=dpo)
    assert found.status_code == 200
    rows = found.json()
    assert {row["event"] for row in rows} >= {"egress"}
    assert any("urn:fr:insee:nir+birthDate" in row["matched_on"] for row in rows)
    assert env.seeded.nir not in found.text
    unknown = client.post("/api/v1/audit/person", json={"nir": "299122A00412345"}, headers=dpo)
    assert (unknown.status_code, unknown.json()) == (200, [])
    exported = client.post("/api/v1/audit/person?format=csv", json=query, headers=dpo)
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == len(rows) + 1  # the first search is now in the person's history too
    assert env.seeded.nir not in exported.text
    searches = _audit_rows(env, "dpo-read")
    assert searches[-1]["actor"] == "dpo:dpo-api"
    assert env.gateway.pseudonymiser.pseudonym(NIR, env.seeded.nir) in searches[-1]["person_pseudonyms"]


def test_person_query_needs_an_identifier(env: ApiEnv, client: TestClient) -> None:
    response = client.post(
        "/api/v1/audit/person", json={"birth_date": "1990-01-01"}, headers=env.headers("dpo-api")
    )
    assert response.status_code == 422


def test_convention_and_export_reads_are_audited(env: ApiEnv, client: TestClient) -> None:
    dpo = env.headers("dpo-api")
    rows = client.get("/api/v1/audit/conventions/plie-lille-ft", headers=dpo).json()
    assert rows and {row["convention_id"] for row in rows} == {"plie-lille-ft"}
    export = client.get("/api/v1/audit/export?format=json", headers=dpo)
    assert isinstance(export.json(), list)
    reads = [(r["actor"], (r["details"] or {}).get("query")) for r in _audit_rows(env, "read")]
    assert ("dpo:dpo-api", "convention") in reads and ("dpo:dpo-api", "period") in reads
    verified = client.get("/api/v1/audit/verify", headers=dpo).json()
    assert verified["ok"] is True and verified["checked"] > 0


def test_partner_sees_only_its_conventions(env: ApiEnv, client: TestClient) -> None:
    ids = {c["id"] for c in client.get("/api/v1/conventions", headers=env.headers("plie-mel-si")).json()}
    assert ids == {"plie-lille-ft", "plie-lille-dsn-employeurs"}
    detail = client.get("/api/v1/conventions/plie-lille-ft", headers=env.headers("plie-mel-si")).json()
    flow = next(f for f in detail["flows"] if f["id"] == "plie-to-ft")
    assert "Person.address" in flow["deny"] and flow["nir_allowed"] is False


def test_admin_changes_status_file_and_audit(env: ApiEnv, client: TestClient) -> None:
    admin = env.headers("admin-api")
    url = "/api/v1/conventions/caf-drome-departement-rsa"
    assert client.post(f"{url}/suspend", headers=admin).json() == {
        "id": "caf-drome-departement-rsa",
        "status": "suspended",
    }
    assert client.get(url, headers=admin).json()["status"] == "suspended"
    source = (env.settings.conventions_dir / "caf-drome-departement-rsa.yaml").read_text(encoding="utf-8")
    assert "status: suspended" in source
    assert client.post(f"{url}/revoke", headers=admin).status_code == 200
    refused = client.post(f"{url}/activate", headers=admin)
    assert refused.status_code == 409
    events = [
        r for r in _audit_rows(env, "convention-status") if r["convention_id"] == "caf-drome-departement-rsa"
    ]
    assert [r["actor"] for r in events] == ["admin:admin-api", "admin:admin-api"]


def test_readyz_checks_the_audit_log_is_writable(env: ApiEnv, client: TestClient, tmp_path: Path) -> None:
    assert client.get("/readyz").json() == {"status": "ok", "store": "sqlite", "audit": "writable"}
    with env.gateway.engine.connect() as connection:
        assert connection.execute(select(audit_log).where(audit_log.c.seq < 0)).first() is None
    from gateway.store.engine import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'broken.db'}"
    upgrade(url)
    broken = make_engine(url)
    with broken.begin() as connection:
        connection.execute(text("DROP TABLE audit_person_index"))
        connection.execute(text("DROP TABLE audit_log"))
    response = TestClient(create_app(env.settings, broken)).get("/readyz")
    assert response.status_code == 503 and response.json()["audit"] == "OperationalError"


def test_metrics_from_the_store_and_requests(env: ApiEnv, client: TestClient) -> None:
    client.get("/api/v1/conventions", headers=env.headers("ops-api"))
    body = client.get("/metrics").text
    assert 'gateway_exchanges_received_total{endpoint="ft-ara-depot"} 1.0' in body
    assert (
        'gateway_dead_letters_total{stage="deliver",state="open"}' in body
        or "gateway_dead_letters_total" in body
    )
    assert 'gateway_policy_decisions_total{convention="plie-lille-ft",decision=' in body
    dead = 'convention="departement-drome-ft",endpoint="sftp-cd26-insertion",status="dead"'
    assert f"gateway_outbox_items{{{dead}}} 1.0" in body
    assert 'gateway_api_request_seconds_count{method="GET",route="/api/v1/conventions",status="200"}' in body
    for line in body.splitlines():
        assert env.seeded.nir not in line


def test_openapi_document_and_docs(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/api/v1/endpoints/{endpoint}/files" in document["paths"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(document["components"]["securitySchemes"])
    assert not any(path.startswith("/console") for path in document["paths"])
    assert client.get("/docs").status_code == 200


def test_export_filename_of_any_convention_id(env: ApiEnv, client: TestClient) -> None:
    """Found by schemathesis: a non-ASCII id in the URL must not break the Content-Disposition header."""
    response = client.get("/api/v1/audit/conventions/%C4%80?format=csv", headers=env.headers("dpo-api"))
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="audit-_.csv"'


def test_a_file_larger_than_the_in_memory_spool_is_stored_whole(env: ApiEnv, client: TestClient) -> None:
    """Files are spooled to disk past 8 MiB, then streamed into the store: nothing lost or cut."""
    row = b"78451209300013;P%07d\n"
    body = b"plie_siret;id_participant\n" + b"".join(row % n for n in range(500_000))  # about 10 MB
    headers = {**env.headers("plie-mel-si"), "Content-Type": "text/csv"}
    answer = client.post(
        "/api/v1/endpoints/plie-mel-depot/files?filename=big.csv", content=body, headers=headers
    )
    assert answer.status_code == 202, answer.text
    assert read_payload(env.gateway.engine, answer.json()["exchange_id"]) == body
