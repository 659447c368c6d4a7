"""Audit reads for DPOs, each recorded in the audit log itself (who read what, never the identifiers).

Shared by the API and the console so that both record reads the same way.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import Any, Literal

from gateway.audit import AuditQueries, VerifyResult
from gateway.auth import Principal
from gateway.runtime import Gateway

Row = dict[str, Any]


def queries(gateway: Gateway) -> AuditQueries:
    return AuditQueries(gateway.engine, gateway.settings)


def person_history(
    gateway: Gateway, principal: Principal, identifiers: Mapping[str, str], birth_date: dt.date | None
) -> list[Row]:
    """The person's rows; the search itself is recorded (``dpo-read``) under the person's pseudonyms."""
    return queries(gateway).person_history(
        identifiers, birth_date.isoformat() if birth_date else None, actor=principal.actor
    )


def convention_rows(
    gateway: Gateway,
    principal: Principal,
    convention_id: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list[Row]:
    rows = queries(gateway).by_convention(convention_id, start, end)
    _record_read(gateway, principal, "convention", len(rows), convention_id=convention_id)
    return rows


def period_rows(
    gateway: Gateway, principal: Principal, start: dt.datetime | None, end: dt.datetime | None
) -> list[Row]:
    rows = queries(gateway).period(start, end)
    _record_read(gateway, principal, "period", len(rows))
    return rows


def verify(gateway: Gateway, principal: Principal) -> VerifyResult:
    result = queries(gateway).verify()
    _record_read(gateway, principal, "verify", result.checked)
    return result


def export_text(rows: list[Row], format: Literal["csv", "json"]) -> str:
    stream = io.StringIO()
    AuditQueries.export(rows, format, stream)
    return stream.getvalue()


def _record_read(gateway: Gateway, principal: Principal, query: str, count: int, **fields: Any) -> None:
    gateway.audit.record_event(
        "read", actor=principal.actor, details={"query": query, "rows": count}, **fields
    )
