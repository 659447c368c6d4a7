"""Purge past retention without breaking the chain.

Rows are removed from the oldest seq up to (not including) the first row whose retention has not ended;
a signed *purge anchor* (seq, hash of the last removed row) is stored, and verification starts from it.
A row past its retention that follows a younger one stays until that one expires: ``expired_kept`` in
the report counts them. The purge itself is appended to the chain as a ``purge`` event with the counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, select

from gateway.audit.chain import utc
from gateway.audit.locking import chain_transaction
from gateway.audit.signing import CheckpointSigner
from gateway.audit.writer import AuditEvent, AuditLog, latest_anchor, store_mark
from gateway.store.tables import audit_log, audit_person_index

BATCH = 5000


@dataclass
class PurgeReport:
    purged: int = 0
    up_to_seq: int | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """convention id (``-`` for events) → retention category → rows removed."""
    expired_kept: int = 0


def purge_expired(
    engine: Engine, signer: CheckpointSigner, log: AuditLog, now: dt.datetime, actor: str
) -> PurgeReport:
    now = utc(now)
    report = PurgeReport()
    with chain_transaction(engine) as connection:
        anchor = latest_anchor(connection)
        start = anchor.seq if anchor else 0
        last_hash: str | None = None
        query = (
            select(
                audit_log.c.seq,
                audit_log.c.hash,
                audit_log.c.retention_until,
                audit_log.c.convention_id,
                audit_log.c.retention_category,
            )
            .where(audit_log.c.seq > start)
            .order_by(audit_log.c.seq)
        )
        for row in connection.execution_options(yield_per=BATCH).execute(query):
            if row.retention_until is None or utc(row.retention_until) > now:
                break
            report.purged += 1
            report.up_to_seq, last_hash = int(row.seq), str(row.hash)
            per_category = report.counts.setdefault(row.convention_id or "-", {})
            category = row.retention_category or "default"
            per_category[category] = per_category.get(category, 0) + 1
        if report.up_to_seq is not None and last_hash is not None:
            entries = audit_person_index.c
            connection.execute(
                delete(audit_person_index)
                .where(entries.seq <= report.up_to_seq)
                .where(func.coalesce(entries.last_seq, entries.seq) <= report.up_to_seq)
            )
            connection.execute(delete(audit_log).where(audit_log.c.seq <= report.up_to_seq))
            store_mark(connection, signer.sign("purge", report.up_to_seq, last_hash, now))
        report.expired_kept = int(
            connection.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.retention_until <= now)
            ).scalar_one()
        )
        details = {
            "purged": report.purged,
            "up_to_seq": report.up_to_seq,
            "counts": report.counts,
            "expired_kept": report.expired_kept,
        }
        log.record_events([AuditEvent(event="purge", actor=actor, details=details, at=now)], connection)
    return report
