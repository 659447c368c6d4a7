"""Status changes of a convention (activate, suspend, revoke, expire), persisted with who and when.

The YAML file stays the source: the new status is written into it (round-trip, comments kept), then the
store row is updated with ``status_changed_at``/``status_changed_by`` and, when an audit log is given,
a ``convention-status`` event is appended (the chain records what was in force when).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine, update

from gateway.errors import ConfigurationError
from gateway.policy.model import STATUSES, Status
from gateway.policy.registry import ConventionRegistry, store_values
from gateway.policy.yaml_source import round_trip_yaml, to_plain
from gateway.store.tables import conventions as conventions_table

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active", "revoked"}),
    "active": frozenset({"suspended", "revoked", "expired"}),
    "suspended": frozenset({"active", "revoked", "expired"}),
    "revoked": frozenset(),
    "expired": frozenset(),
}
"""Revoked and expired are final: a new agreement needs a new version of the file."""


class StatusEventSink(Protocol):
    def record_event(self, event: str, *, actor: str, **fields: Any) -> int: ...


def change_status(
    registry: ConventionRegistry,
    convention_id: str,
    status: Status,
    *,
    by: str,
    engine: Engine,
    at: dt.datetime | None = None,
    audit: StatusEventSink | None = None,
) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    convention = registry.convention(convention_id)
    if status not in TRANSITIONS[convention.status]:
        raise ConfigurationError(
            f"convention {convention_id!r}: cannot go from {convention.status} to {status}",
            file=str(convention.source_file),
        )
    now = at or dt.datetime.now(dt.UTC)
    yaml = round_trip_yaml()
    path = convention.source_file
    tree = yaml.load(path.read_text(encoding="utf-8"))
    tree["status"] = status
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(tree, stream)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    content: Mapping[str, Any] = to_plain(tree)
    values = {**store_values(convention), "status": status, "digest": digest, "content": dict(content)}
    with engine.begin() as connection:
        key = (conventions_table.c.id == convention.id) & (conventions_table.c.version == convention.version)
        updated = connection.execute(
            update(conventions_table).where(key).values(**values, status_changed_at=now, status_changed_by=by)
        ).rowcount
        if not updated:
            connection.execute(
                conventions_table.insert().values(
                    **values, loaded_at=now, status_changed_at=now, status_changed_by=by
                )
            )
    if audit is not None:
        audit.record_event(
            "convention-status",
            actor=by,
            convention_id=convention.id,
            convention_version=convention.version,
            decision=status,
            details={"from": convention.status, "to": status},
            at=now,
        )
