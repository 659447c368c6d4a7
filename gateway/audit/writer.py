"""Append-only writer of the audit log: decisions, events, checkpoints.

Rows get ``seq`` = head + 1 (no gaps), ``prev_hash`` = head hash and their own hash, under the chain lock
(see ``locking``). ``record_decisions`` writes a whole batch in one transaction: the pipeline writes
thousands of rows per second that way. Rows hold keyed pseudonyms and field names, never values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from gateway.audit.chain import GENESIS_HASH, chain_key, has_float, row_hash, utc
from gateway.audit.locking import chain_transaction
from gateway.audit.pseudonyms import KeyedPseudonymiser
from gateway.audit.signing import CheckpointSigner, SignedMark
from gateway.audit.subjects import subjects_of
from gateway.policy.decisions import Decision
from gateway.settings import Settings
from gateway.store.tables import audit_checkpoints, audit_log, audit_person_index
from gateway.store.upsert import insert_rows

DEFAULT_RETENTION_DAYS = 365
"""Retention of rows no convention governs (refusals without a flow, operator and DPO events)."""


@dataclass(frozen=True)
class DecisionEntry:
    """One policy decision to record, with the Bundle it was taken on (its identifiers name the persons)."""

    decision: Decision
    exchange_id: str
    subject: Mapping[str, Any] | None = None
    record_ref: str | None = None
    receipt: str | None = None
    replay_of: int | None = None
    actor: str | None = None
    at: dt.datetime | None = None


@dataclass(frozen=True)
class AuditEvent:
    """A row that is not a policy decision. ``pseudonyms`` are keyed pseudonyms (never identifiers)."""

    event: str
    actor: str
    decision: str = "recorded"
    convention_id: str | None = None
    convention_version: str | None = None
    flow_id: str | None = None
    purpose: str | None = None
    sender: str | None = None
    receiver: str | None = None
    exchange_id: str | None = None
    pseudonyms: Sequence[str] = ()
    rules: Sequence[str] = ()
    details: Mapping[str, Any] | None = None
    receipt: str | None = None
    replay_of: int | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    at: dt.datetime | None = None


@dataclass
class _PendingRow:
    values: dict[str, Any]
    pseudonyms: list[str] = field(default_factory=list)
    """What the person index gets for this row."""
    group: tuple[str, str] | None = None
    """Consecutive rows of one group (the decisions about one record) share one index entry per
    pseudonym, covering their seqs: (pseudonym, first seq, last seq)."""


class AuditLog:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.pseudonymiser = KeyedPseudonymiser.from_settings(settings)
        self.chain_key = chain_key(settings.checkpoint_key.get_secret_value())
        self._settings = settings
        self._signer: CheckpointSigner | None = None

    @property
    def signer(self) -> CheckpointSigner:
        if self._signer is None:
            self._signer = CheckpointSigner.from_settings(self._settings)
        return self._signer

    def record_decision(
        self,
        decision: Decision,
        *,
        exchange_id: str,
        subject: Mapping[str, Any] | None = None,
        record_ref: str | None = None,
        receipt: str | None = None,
        replay_of: int | None = None,
        actor: str | None = None,
        at: dt.datetime | None = None,
    ) -> list[int]:
        """Write one row per person of ``subject`` (the Bundle as received); returns their seqs."""
        entry = DecisionEntry(decision, exchange_id, subject, record_ref, receipt, replay_of, actor, at)
        return self.record_decisions([entry])

    def record_decisions(
        self, entries: Sequence[DecisionEntry], connection: Connection | None = None
    ) -> list[int]:
        """Append the rows of ``entries``. With ``connection``, the caller's transaction must hold the
        chain lock (see :func:`gateway.audit.locking.chain_transaction`), so that the audit rows commit
        atomically with what they describe (records, outbox items)."""
        # A record's decisions (ingress, then one per flow) share its Bundle: name its persons once.
        persons: dict[int, list[tuple[list[str], list[str]]]] = {}
        rows = [row for entry in entries for row in self._decision_rows(entry, persons)]
        return self._append(rows, connection)

    def _persons(self, subject: Mapping[str, Any] | None) -> list[tuple[list[str], list[str]]]:
        """(all pseudonyms, indexed pseudonyms) of each person ``subject`` (a Bundle) names; one pair of
        empty lists if none."""
        subjects = subjects_of(subject) if subject is not None else subjects_of({})
        persons = []
        for person in subjects:
            plain, dated = person.pseudonym_sets(self.pseudonymiser)
            persons.append((sorted(plain | dated), sorted(plain)))
        return persons

    def _decision_rows(
        self, entry: DecisionEntry, persons: dict[int, list[tuple[list[str], list[str]]]]
    ) -> list[_PendingRow]:
        decision = entry.decision
        at = utc(entry.at or dt.datetime.now(dt.UTC))
        days = decision.retention_days or DEFAULT_RETENTION_DAYS
        base = {
            "at": at,
            "event": "replay" if entry.replay_of is not None else decision.kind,
            "exchange_id": entry.exchange_id,
            "record_ref": entry.record_ref,
            "convention_id": decision.convention_id,
            "convention_version": decision.convention_version,
            "flow_id": decision.flow_id,
            "purpose": decision.purpose,
            "sender": decision.sender,
            "receiver": decision.receiver,
            "actor": entry.actor or decision.sender,
            "resource_types": list(decision.resource_types),
            "fields": list(decision.fields),
            "removed_fields": list(decision.removed_fields),
            "decision": decision.outcome,
            "rules": list(decision.rules),
            "receipt": entry.receipt,
            "replay_of": entry.replay_of,
            "retention_until": at + dt.timedelta(days=days),
            "retention_category": decision.retention_category,
        }
        key = id(entry.subject)  # the entries (hence the Bundles) stay alive during the call
        if key not in persons:
            persons[key] = self._persons(entry.subject)
        group = (entry.exchange_id, entry.record_ref) if entry.record_ref is not None else None
        rows = []
        for pseudonyms, indexed in persons[key]:
            values = dict(base)
            removed = values.pop("removed_fields")
            values["person_pseudonyms"] = pseudonyms
            values["details"] = {"removed_fields": removed} if removed else None
            rows.append(_PendingRow(values, indexed, group))
        return rows

    def pseudonyms_of(self, bundle: Mapping[str, Any] | None) -> list[str]:
        """The keyed pseudonyms of every person a Bundle names (for events about that data)."""
        if not bundle:
            return []
        return sorted({p for subject in subjects_of(bundle) for p in subject.pseudonyms(self.pseudonymiser)})

    def record_event(self, event: str, *, actor: str, **fields: Any) -> int:
        """A non-exchange event (DPO read, replay refused, convention status change, purge...).

        ``fields`` are those of ``AuditEvent``; its ``details`` must never hold personal data.
        """
        return self.record_events([AuditEvent(event=event, actor=actor, **fields)])[0]

    def record_events(self, events: Sequence[AuditEvent], connection: Connection | None = None) -> list[int]:
        return self._append([event_row(event) for event in events], connection)

    def _append(self, rows: Sequence[_PendingRow], connection: Connection | None = None) -> list[int]:
        if not rows:
            return []
        if connection is not None:
            return append_rows(connection, rows, self.chain_key)
        with chain_transaction(self.engine) as locked:
            return append_rows(locked, rows, self.chain_key)

    def checkpoint(self, at: dt.datetime | None = None) -> SignedMark:
        """Sign the current chain head and store the checkpoint."""
        with chain_transaction(self.engine) as connection:
            seq, head = chain_head(connection)
            mark = self.signer.sign("checkpoint", seq, head, at or dt.datetime.now(dt.UTC))
            store_mark(connection, mark)
        return mark


def event_row(event: AuditEvent) -> _PendingRow:
    if has_float(event.details):
        raise ValueError(f"audit event {event.event!r}: details must hold no float (hash spelling)")
    at = utc(event.at or dt.datetime.now(dt.UTC))
    pseudonyms = sorted(set(event.pseudonyms))
    values = {
        "at": at,
        "event": event.event,
        "exchange_id": event.exchange_id,
        "record_ref": None,
        "convention_id": event.convention_id,
        "convention_version": event.convention_version,
        "flow_id": event.flow_id,
        "purpose": event.purpose,
        "sender": event.sender,
        "receiver": event.receiver,
        "actor": event.actor,
        "person_pseudonyms": pseudonyms,
        "resource_types": [],
        "fields": [],
        "decision": event.decision,
        "rules": list(event.rules),
        "receipt": event.receipt,
        "replay_of": event.replay_of,
        "retention_until": at + dt.timedelta(days=event.retention_days),
        "retention_category": "event",
        "details": dict(event.details) if event.details else None,
    }
    return _PendingRow(values, pseudonyms)


def chain_head(connection: Connection) -> tuple[int, str]:
    """(seq, hash) of the last row; after a purge of every row, the purge anchor's; else (0, genesis)."""
    last = connection.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    if last is not None:
        return int(last.seq), str(last.hash)
    anchor = latest_anchor(connection)
    return (anchor.seq, anchor.head_hash) if anchor else (0, GENESIS_HASH)


def latest_anchor(connection: Connection) -> SignedMark | None:
    row = connection.execute(
        select(audit_checkpoints)
        .where(audit_checkpoints.c.kind == "purge")
        .order_by(audit_checkpoints.c.seq.desc(), audit_checkpoints.c.id.desc())
        .limit(1)
    ).first()
    return mark_from_row(row._mapping) if row is not None else None


def mark_from_row(row: Mapping[Any, Any]) -> SignedMark:
    return SignedMark(
        kind=row["kind"],
        seq=int(row["seq"]),
        head_hash=row["head_hash"],
        at=utc(row["at"]),
        key_id=row["key_id"],
        signature=row["signature"],
    )


def store_mark(connection: Connection, mark: SignedMark) -> None:
    connection.execute(
        insert(audit_checkpoints).values(
            kind=mark.kind,
            seq=mark.seq,
            head_hash=mark.head_hash,
            at=mark.at,
            key_id=mark.key_id,
            signature=mark.signature,
        )
    )


def append_rows(connection: Connection, rows: Sequence[_PendingRow], key: bytes) -> list[int]:
    """Chain and insert ``rows`` after the current head; the caller holds the chain lock."""
    seq, previous = chain_head(connection)
    records: list[dict[str, Any]] = []
    for pending in rows:
        seq += 1
        values = {**pending.values, "seq": seq, "prev_hash": previous}
        values["hash"] = previous = row_hash(values, key)
        records.append(values)
    insert_rows(connection, audit_log, records)
    insert_rows(connection, audit_person_index, index_entries(rows, records))
    return [record["seq"] for record in records]


def index_entries(rows: Sequence[_PendingRow], records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Person index entries ``(pseudonym, first seq, last seq or None)``: one per pseudonym and run of
    rows of the same group (a record's decisions), one per pseudonym and row otherwise.

    A record routed to two flows gives three rows about the same person; one entry covers them. A search
    reads the covered rows and keeps those whose ``person_pseudonyms`` hold a searched pseudonym."""
    entries: list[dict[str, Any]] = []
    spans: dict[str, list[int]] = {}
    group: tuple[str, str] | None = None

    def flush() -> None:
        entries.extend(
            {"pseudonym": p, "seq": first, "last_seq": last if last != first else None}
            for p, (first, last) in spans.items()
        )
        spans.clear()

    for pending, record in zip(rows, records, strict=True):
        if pending.group is None or pending.group != group:
            flush()
        group = pending.group
        seq = record["seq"]
        for pseudonym in pending.pseudonyms:
            span = spans.get(pseudonym)
            if span is None:
                spans[pseudonym] = [seq, seq]
            else:
                span[1] = seq
    flush()
    return entries
