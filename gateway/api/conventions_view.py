"""Conventions as partners, operators and the console see them; status changes by admins."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

from gateway.api.schemas import ConventionOut, FlowOut, PartyOut
from gateway.auth import Principal, Role
from gateway.policy import Convention, ConventionRegistry, change_status
from gateway.policy.model import Status

if TYPE_CHECKING:
    from gateway.runtime import Gateway

EXPIRY_WARNING_DAYS = 90
_STATUS_LOCK = threading.Lock()
"""One status change at a time in this process (each rewrites a YAML file and reloads the registry)."""


def convention_out(convention: Convention) -> ConventionOut:
    return ConventionOut(
        id=convention.id,
        version=convention.version,
        title=convention.title,
        status=convention.status,
        valid_from=convention.valid_from,
        valid_to=convention.valid_to,
        purposes=sorted(convention.purposes),
        parties=[
            PartyOut(id=p.id, name=p.name, type=p.type, role=p.role) for p in convention.parties.values()
        ],
        flows=[
            FlowOut(
                id=flow.id,
                sender=flow.sender,
                receiver=flow.receiver,
                purpose=flow.purpose,
                resource_types=sorted(flow.resource_types),
                allow=list(flow.allow),
                deny=list(flow.deny),
                nir_allowed=flow.nir_allowed,
                pseudonymise=sorted(flow.pseudonymise),
                sensitive_categories_allowed=sorted(flow.sensitive_categories_allowed),
                population=[f"{rule.id} ({rule.kind})" for rule in flow.population],
                endpoint=flow.endpoint,
                description=flow.description,
            )
            for flow in convention.flows
        ],
    )


def visible_conventions(registry: ConventionRegistry, principal: Principal) -> list[Convention]:
    """All conventions for staff; for a partner, those it is a party to."""
    return [c for c in registry if principal.role is not Role.PARTNER or principal.party in c.parties]


def find_visible(registry: ConventionRegistry, principal: Principal, convention_id: str) -> Convention | None:
    for convention in visible_conventions(registry, principal):
        if convention.id == convention_id:
            return convention
    return None


def expiring(
    registry: ConventionRegistry, today: dt.date, days: int = EXPIRY_WARNING_DAYS
) -> list[Convention]:
    limit = today + dt.timedelta(days=days)
    return [
        c for c in registry
        if c.status in ("active", "suspended") and c.valid_to is not None and today <= c.valid_to <= limit
    ]  # fmt: skip


def set_status(gateway: Gateway, convention_id: str, status: Status, actor: str) -> None:
    """Change the status (file, store row, audit event), then reload the conventions everywhere."""
    with _STATUS_LOCK:
        change_status(
            gateway.registry, convention_id, status, by=actor, engine=gateway.engine, audit=gateway.audit
        )
        gateway.reload_conventions()
