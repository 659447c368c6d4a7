"""Helpers shared by the API, console and browser tests: a gateway home in a temp folder with known
clients, endpoints and conventions, and seeded data (exchanges, an inbox item, a dead letter, audit rows).

The seeded data go through the real policy (``enforce_ingress`` / ``enforce_egress``), the real outbox and
the real audit log; only the decoding of partner files is skipped (exchanges are marked processed).
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import update

from gateway.api.queries import list_dead_letters
from gateway.auth.secrets import hash_secret, new_api_key
from gateway.delivery.outbox import Outbox, new_item_row
from gateway.errors import FatalError
from gateway.model.identifiers import NIR
from gateway.pipeline.intake import Envelope, receive
from gateway.policy import enforce_egress, enforce_ingress
from gateway.runtime import Gateway
from gateway.settings import Settings
from gateway.store.tables import exchanges, records
from tests.conftest import PROJECT_ROOT
from tests.fixtures.policy.bundles import CLEAR_NIR, bundle_for

CHECKPOINT_KEY = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
FAST_HASH = {"n": 2**10}
"""Tests hash secrets with a small scrypt cost (the cost is read back from each hash)."""

PASSWORDS = {"operateur": "mdp-operateur-1", "dpo": "mdp-dpo-1", "admin": "mdp-admin-1"}
API_CLIENTS = {
    "plie-mel-si": ("partner", "plie-mel"),
    "ft-hdf-api": ("partner", "ft-hdf"),
    "cd26-si": ("partner", "cd26"),
    "ops-api": ("operator", None),
    "dpo-api": ("dpo", None),
    "admin-api": ("admin", None),
}


def endpoints_yaml(receiver_url: str) -> str:
    return f"""
partners:
  plie-mel: {{name: PLIE MEL}}
  ft-hdf: {{name: France Travail HDF}}
  cd26: {{name: Département de la Drôme}}
  ft-ara: {{name: France Travail ARA}}
  caf26: {{name: CAF de la Drôme}}
endpoints:
  plie-mel-depot:
    direction: in
    partner: plie-mel
    mapping: plie-participants-csv
    transport: {{type: api}}
  ft-ara-depot:
    direction: in
    partner: ft-ara
    mapping: france-travail-extraction-csv
    transport: {{type: api}}
  cd26-depot:
    direction: in
    partner: cd26
    mapping: departement-export-generique
    transport: {{type: api}}
  ft-api-partenaires-hdf:
    direction: out
    partner: ft-hdf
    transport: {{type: pull}}
  sftp-cd26-insertion:
    direction: out
    partner: cd26
    transport: {{type: http, options: {{url: "{receiver_url}", timeout: 2}}}}
"""


def clients_yaml() -> tuple[str, dict[str, str]]:
    """The clients file and the clear API keys by client id."""
    keys = {client: new_api_key(client) for client in API_CLIENTS}
    lines = ["clients:"]
    for client, (role, party) in API_CLIENTS.items():
        lines += [
            f"  {client}:",
            f"    role: {role}",
            f"    key_hash: '{hash_secret(keys[client], **FAST_HASH)}'",
        ]
        if party:
            lines.append(f"    party: {party}")
    lines.append("users:")
    roles = {"operateur": "operator", "dpo": "dpo", "admin": "admin"}
    for user, password in PASSWORDS.items():
        lines += [
            f"  {user}:",
            f"    role: {roles[user]}",
            f"    password_hash: '{hash_secret(password, **FAST_HASH)}'",
        ]
    return "\n".join(lines) + "\n", keys


def make_settings(
    home: Path, receiver_url: str = "http://127.0.0.1:9/inbox"
) -> tuple[Settings, dict[str, str]]:
    (home / "config").mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "conventions", home / "conventions", dirs_exist_ok=True)
    (home / "config" / "endpoints.yaml").write_text(endpoints_yaml(receiver_url), encoding="utf-8")
    text, keys = clients_yaml()
    (home / "config" / "clients.yaml").write_text(text, encoding="utf-8")
    settings = Settings(
        home=home,
        data_dir=home / "var",
        config_dir=home / "config",
        conventions_dir=home / "conventions",
        mappings_dir=PROJECT_ROOT / "mappings",
        pseudonym_key="test-pseudonym-key-0123456789abcdef",  # type: ignore[arg-type]
        checkpoint_key=CHECKPOINT_KEY,  # type: ignore[arg-type]
        api_token_key="test-api-token-key-0123456789abcdef",  # type: ignore[arg-type]
        environment="test",
    )
    return settings, keys


@dataclass
class Seeded:
    plie_exchange: str
    ft_exchange: str
    inbox_item: str
    dead_letter: str
    birth_date: str
    nir: str = CLEAR_NIR
    other: dict[str, Any] = field(default_factory=dict)


def _exchange(gateway: Gateway, endpoint: str, sender: str) -> str:
    exchange_id = receive(gateway.engine, Envelope(endpoint, sender, "api", uuid.uuid4().bytes)).exchange_id
    with gateway.engine.begin() as connection:
        connection.execute(update(exchanges).where(exchanges.c.id == exchange_id).values(status="processed"))
    return exchange_id


def _route(
    gateway: Gateway, exchange_id: str, convention: str, flow_id: str, endpoint: str
) -> tuple[str, str]:
    """One record through the real policy into the outbox and the audit log; returns (record, item) ids."""
    flow = gateway.registry.flow(convention, flow_id)
    bundle = bundle_for(flow)
    now = dt.datetime.now(dt.UTC)
    ingress = enforce_ingress(flow, flow.sender, bundle, flow.purpose, now)
    decision = enforce_egress(flow, ingress.bundle, now, gateway.pseudonymiser.derive(flow.pseudonym_context))
    assert decision.allowed, decision.rules
    record_id = str(uuid.uuid4())
    with gateway.engine.begin() as connection:
        connection.execute(
            records.insert().values(
                id=record_id, exchange_id=exchange_id, number=1, status="routed", bundle=bundle,
                person_key=gateway.pseudonymiser.pseudonym(NIR, CLEAR_NIR), created_at=now,
            )
        )  # fmt: skip
    row = new_item_row(
        exchange_id=exchange_id, record_id=record_id, convention_id=convention,
        convention_version=flow.convention.version, flow_id=flow_id, purpose=flow.purpose,
        receiver=flow.receiver, endpoint=endpoint, idempotency_key=f"{flow.key}>{endpoint}:{record_id}",
        payload={"bundle": decision.bundle},
    )  # fmt: skip
    gateway.outbox.enqueue([row])
    gateway.audit.record_decision(decision, exchange_id=exchange_id, subject=bundle, record_ref=record_id)
    return record_id, row["id"]


def seed(gateway: Gateway) -> Seeded:
    plie_exchange = _exchange(gateway, "plie-mel-depot", "plie-mel")
    ft_exchange = _exchange(gateway, "ft-ara-depot", "ft-ara")
    _, inbox_item = _route(gateway, plie_exchange, "plie-lille-ft", "plie-to-ft", "ft-api-partenaires-hdf")
    _, doomed = _route(
        gateway, ft_exchange, "departement-drome-ft", "ft-to-cd26-orientation", "sftp-cd26-insertion"
    )
    outbox = Outbox(gateway.engine)
    (item,) = outbox.claim("test-worker", endpoints=["sftp-cd26-insertion"])
    assert item.id == doomed
    outbox.failed(item, FatalError("receiver refused the message (HTTP 400)"), "test-worker")
    letters = list_dead_letters(gateway.engine)
    flow = gateway.registry.flow("plie-lille-ft", "plie-to-ft")
    person = next(
        e["resource"] for e in bundle_for(flow)["entry"] if e["resource"]["resourceType"] == "Person"
    )
    return Seeded(plie_exchange, ft_exchange, inbox_item, letters[0]["id"], str(person.get("birthDate", "")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """A real uvicorn server on 127.0.0.1:<ephemeral> in a thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class ApiEnv:
    settings: Settings
    gateway: Gateway
    keys: dict[str, str]
    seeded: Seeded

    def headers(self, client: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[client]}


def api_env(home: Path, receiver_url: str = "http://127.0.0.1:9/inbox") -> ApiEnv:
    settings, keys = make_settings(home, receiver_url)
    gateway = Gateway(settings)
    return ApiEnv(settings, gateway, keys, seed(gateway))
