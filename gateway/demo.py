"""The demo: synthetic partner files dropped on first start, and demo receivers on the gateway itself.

``make run`` starts the gateway with ``config/endpoints.yaml``: partners drop files in ``var/drop/<partner>``
and the pollers take them. France Travail's APIs are stood in for by receivers served by the gateway
under ``/demo/partners/<party>/inbox``. The receiver of ``ft-hdf`` (France Travail Hauts-de-France)
starts *down* (it answers 503), so a newcomer sees retries, then dead letters; switching it up
(``POST /demo/partners/ft-hdf/up``) and replaying the dead letters delivers them once.

Everything here is synthetic (generated identities with valid NIR keys); nothing is a real person.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Header, HTTPException, Request
from sqlalchemy import func, select

from gateway import registry
from gateway.logging_setup import get_logger
from gateway.store.tables import exchanges

if TYPE_CHECKING:
    from gateway.runtime import Gateway

log = get_logger("gateway.demo")

PLIE_SIRET = "78451209300013"

# (inbound endpoint, generator, records, file name, generator options)
DEMO_FILES: tuple[tuple[str, str, int, str, dict[str, Any]], ...] = (
    ("plie-mel-participants", "plie-csv", 60, "participants-plie-mel.csv", {"plie_siret": PLIE_SIRET}),
    ("caf26-flux-rsa", "caf-vrsb0801", 40, "RSABEM-demo.xml", {"residence_departement": "26"}),
    ("cd26-beneficiaires", "departement-csv", 40, "beneficiaires-drome.csv", {"residence_departement": "26"}),
    ("aci-dsn", "dsn", 30, "DSN-aci-ateliers-avenir.dsn", {}),
    ("ft-hdf-extraction", "france-travail-csv", 30, "extraction-ft-hdf.csv", {}),
)


@dataclass
class DemoReceivers:
    """In-memory partner receivers: up or down, deduplicating on the Idempotency-Key like a real API."""

    down: set[str] = field(default_factory=lambda: {"ft-hdf"})
    received: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, party: str, key: str, size: int) -> bool:
        with self.lock:
            inbox = self.received.setdefault(party, {})
            fresh = key not in inbox
            inbox.setdefault(key, size)
            return fresh

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                party: {"up": party not in self.down, "received": len(self.received.get(party, {}))}
                for party in sorted({*self.down, *self.received, "ft-hdf", "ft-ara"})
            }


RECEIVERS = DemoReceivers()


def demo_router(receivers: DemoReceivers = RECEIVERS) -> APIRouter:
    router = APIRouter(prefix="/demo/partners", tags=["demo"])

    @router.post("/{party}/inbox", status_code=201)
    async def inbox(
        party: str,
        request: Request,
        idempotency_key: str = Header(default=""),
    ) -> dict[str, Any]:
        """A partner API standing in for France Travail in the demo."""
        if party in receivers.down:
            raise HTTPException(status_code=503, detail=f"{party} is down (demo)")
        body = await request.body()
        fresh = receivers.accept(party, idempotency_key, len(body))
        return {"receipt": f"{party}-{idempotency_key[-12:]}", "duplicate": not fresh}

    @router.post("/{party}/up")
    def up(party: str) -> dict[str, Any]:
        receivers.down.discard(party)
        return receivers.state()

    @router.post("/{party}/down")
    def down(party: str) -> dict[str, Any]:
        receivers.down.add(party)
        return receivers.state()

    @router.get("")
    def state() -> dict[str, Any]:
        return receivers.state()

    return router


def prepare(gateway: Gateway, say: Callable[[str], None] = print) -> list[Path]:
    """Drop the demo partner files on the first start (an empty store); returns the files written."""
    with gateway.engine.connect() as connection:
        if connection.execute(select(func.count()).select_from(exchanges)).scalar_one():
            return []
    written = []
    for endpoint_name, generator, records, filename, options in DEMO_FILES:
        if endpoint_name not in gateway.endpoints.endpoints:
            continue
        endpoint = gateway.endpoints.endpoint(endpoint_name)
        directory = Path(endpoint.transport.options["directory"])
        directory.mkdir(parents=True, exist_ok=True)
        stream = io.BytesIO()
        registry.generator(generator)(generator, records, stream, seed=2026, **options)
        target = directory / filename
        target.write_bytes(stream.getvalue())
        written.append(target)
    folders = sorted({str(path.parent.parent) for path in written})
    say(f"demo: {len(written)} partner files dropped under {', '.join(folders)}")
    say("demo: France Travail Hauts-de-France's receiver starts DOWN: the PLIE's deliveries are retried,")
    say("      then become dead letters (console > Lettres mortes). Switch it up with")
    say("      `curl -X POST http://127.0.0.1:PORT/demo/partners/ft-hdf/up`, then replay them (button or")
    say("      `gateway dlq replay --all`): each is delivered once.")
    log.info("demo.prepared", files=len(written))
    return written
