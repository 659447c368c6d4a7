"""All conventions of a directory, compiled once, and the questions routing asks of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from gateway.errors import ConfigurationError
from gateway.policy.loader import load_convention
from gateway.policy.model import Convention, Flow
from gateway.policy.projection import MAPPINGS
from gateway.store.tables import conventions as conventions_table
from gateway.store.upsert import insert_ignore_one

CONVENTION_GLOBS = ("*.yaml", "*.yml")


class ConventionRegistry:
    """Conventions by id; flows indexed by sender. Immutable: reload after a file changes."""

    def __init__(self, conventions: Iterable[Convention]) -> None:
        self._conventions: dict[str, Convention] = {}
        for convention in conventions:
            previous = self._conventions.get(convention.id)
            if previous is not None:
                raise ConfigurationError(
                    f"convention id {convention.id!r} also defined in {previous.source_file}",
                    file=str(convention.source_file),
                    line=1,
                )
            self._conventions[convention.id] = convention
        self._by_sender: dict[str, list[Flow]] = {}
        for convention in self._conventions.values():
            for flow in convention.flows:
                self._by_sender.setdefault(flow.sender, []).append(flow)

    @classmethod
    def load(cls, directory: Path) -> ConventionRegistry:
        if not directory.is_dir():
            raise ConfigurationError("conventions directory not found", file=str(directory))
        files = sorted({path for pattern in CONVENTION_GLOBS for path in directory.glob(pattern)})
        return cls(load_convention(path) for path in files)

    def __iter__(self) -> Iterator[Convention]:
        return iter(sorted(self._conventions.values(), key=lambda c: c.id))

    def __len__(self) -> int:
        return len(self._conventions)

    def convention(self, convention_id: str) -> Convention:
        return self._conventions[convention_id]

    def flow(self, convention_id: str, flow_id: str) -> Flow:
        for flow in self._conventions[convention_id].flows:
            if flow.id == flow_id:
                return flow
        raise KeyError(f"convention {convention_id!r} has no flow {flow_id!r}")

    def flows_from(
        self,
        sender: str,
        resource_types: Iterable[str] | None = None,
        purpose: str | None = None,
        *,
        at: dt.datetime,
    ) -> list[Flow]:
        """Runnable flows from ``sender`` (active, in validity), optionally for some types or one purpose."""
        wanted = frozenset(resource_types) if resource_types is not None else None
        return [
            flow
            for flow in self._by_sender.get(sender, ())
            if flow.blocking_rule(at) is None
            and (purpose is None or flow.purpose == purpose)
            and (wanted is None or flow.resource_types & wanted)
        ]

    def routes(self, sender: str, bundle: Mapping[str, Any], at: dt.datetime) -> list[Flow]:
        """Runnable flows from ``sender`` that carry at least one resource type present in ``bundle``."""
        types = {
            str(entry["resource"].get("resourceType"))
            for entry in bundle.get("entry") or []
            if isinstance(entry, MAPPINGS) and isinstance(entry.get("resource"), MAPPINGS)
        }
        return self.flows_from(sender, types, at=at) if types else []

    def sync_to_store(self, engine: Engine, at: dt.datetime | None = None) -> int:
        """Record every convention version in the store; returns how many rows were written or changed.

        The files are the source; the store keeps each (id, version) as it was loaded, with its digest, so
        that an audit row can always be tied to the text that was in force.
        """
        now = at or dt.datetime.now(dt.UTC)
        changed = 0
        with engine.begin() as connection:
            for convention in self:
                key = (conventions_table.c.id == convention.id) & (
                    conventions_table.c.version == convention.version
                )
                row = connection.execute(select(conventions_table).where(key)).mappings().first()
                values = store_values(convention)
                if row is None:
                    # Several nodes may start at once: the first insert wins, the others skip.
                    changed += insert_ignore_one(
                        connection, conventions_table, {**values, "loaded_at": now}, ["id", "version"]
                    )
                elif row["digest"] != convention.digest:
                    status_moved = row["status"] != convention.status
                    extra = {"status_changed_at": now, "status_changed_by": "file"} if status_moved else {}
                    connection.execute(
                        update(conventions_table).where(key).values(**values, loaded_at=now, **extra)
                    )
                    changed += 1
        return changed


def store_values(convention: Convention) -> dict[str, Any]:
    def midnight(day: dt.date | None) -> dt.datetime | None:
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None

    return {
        "id": convention.id,
        "version": convention.version,
        "status": convention.status,
        "valid_from": midnight(convention.valid_from),
        "valid_to": midnight(convention.valid_to),
        "source_file": str(convention.source_file),
        "digest": convention.digest,
        "content": dict(convention.content),
    }
