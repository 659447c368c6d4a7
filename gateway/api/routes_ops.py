"""Liveness, readiness (store reachable and audit log writable) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine, insert, text

from gateway import __version__
from gateway.clock import utcnow
from gateway.store.tables import audit_log

router = APIRouter(tags=["ops"])
PROBE_SEQ = -1


def audit_writable(engine: Engine) -> None:
    """Insert a probe row into ``audit_log`` and roll it back: proves the INSERT right and a free lock."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            connection.execute(
                insert(audit_log).values(
                    seq=PROBE_SEQ, at=utcnow(), event="probe", decision="probe",
                    prev_hash="0" * 64, hash="0" * 64,
                )
            )  # fmt: skip
        finally:
            transaction.rollback()


@router.get("/healthz")
def healthz() -> dict[str, Any]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(request: Request, response: Response) -> dict[str, Any]:
    """Readiness: the store is reachable and the audit log accepts writes."""
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        response.status_code = 503
        return {"status": "unavailable", "store": type(exc).__name__}
    try:
        audit_writable(engine)
    except Exception as exc:  # missing table, no INSERT right, read-only store
        response.status_code = 503
        return {"status": "unavailable", "store": engine.dialect.name, "audit": type(exc).__name__}
    return {"status": "ok", "store": engine.dialect.name, "audit": "writable"}


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """Prometheus exposition: store figures per convention and endpoint, API request latency."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
