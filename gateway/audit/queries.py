"""What a DPO asks of the audit log: one person's history, one convention's exchanges, verification, purge.

Person searches recompute the keyed pseudonyms of the identifiers the DPO was given (and of each
identifier combined with the birth date), look them up in ``audit_person_index`` (one entry per identifier
and record, covering the record's rows) and keep the rows whose ``person_pseudonyms`` hold one of them;
the log itself never holds a clear identifier. Every person search is itself recorded (``dpo-read``)
under the same pseudonyms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TextIO

from sqlalchemy import Engine, select

from gateway.audit.export import ExportFormat, export_rows
from gateway.audit.purge import PurgeReport, purge_expired
from gateway.audit.verify import VerifyResult, verify_chain
from gateway.audit.writer import AuditLog
from gateway.settings import Settings
from gateway.store.tables import audit_log, audit_person_index

CHUNK = 500

Row = dict[str, Any]


class AuditQueries:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.log = AuditLog(engine, settings)

    def person_keys(self, identifiers: Mapping[str, str], birth_date: str | None) -> dict[str, str]:
        """pseudonym → what it stands for (``<system>`` or ``<system>+birthDate``); no value kept."""
        pseudonymiser = self.log.pseudonymiser
        keys: dict[str, str] = {}
        for system, value in identifiers.items():
            keys[pseudonymiser.pseudonym(system, value)] = system
            if birth_date:
                keys[pseudonymiser.with_birth_date(system, value, birth_date)] = f"{system}+birthDate"
        return keys

    def person_history(
        self,
        identifiers: Mapping[str, str],
        birth_date: str | None = None,
        *,
        actor: str = "dpo",
        record_read: bool = True,
    ) -> list[Row]:
        """Every row about the person, oldest first; each row says which keys matched (``matched_on``)."""
        keys = self.person_keys(identifiers, birth_date)
        pseudonyms = list(keys)
        with self.engine.connect() as connection:
            seqs: set[int] = set()
            for start in range(0, len(pseudonyms), CHUNK):
                chunk = pseudonyms[start : start + CHUNK]
                for first, last in connection.execute(
                    select(audit_person_index.c.seq, audit_person_index.c.last_seq).where(
                        audit_person_index.c.pseudonym.in_(chunk)
                    )
                ):
                    seqs.update(range(int(first), int(last if last is not None else first) + 1))
            candidates = self._rows_by_seq(connection, sorted(seqs))
        # An index entry covers a record's rows; some may be about another person of the same Bundle.
        rows = []
        for row in candidates:
            matched = {keys[p] for p in row["person_pseudonyms"] or () if p in keys}
            if matched:
                row["matched_on"] = sorted(matched)
                rows.append(row)
        if record_read:
            self.log.record_event(
                "dpo-read",
                actor=actor,
                pseudonyms=pseudonyms,
                details={"query": "person", "keys": sorted(set(keys.values())), "rows": len(rows)},
            )
        return rows

    @staticmethod
    def _rows_by_seq(connection: Any, seqs: list[int]) -> list[Row]:
        rows: list[Row] = []
        for start in range(0, len(seqs), CHUNK):
            chunk = seqs[start : start + CHUNK]
            result = connection.execute(
                select(audit_log).where(audit_log.c.seq.in_(chunk)).order_by(audit_log.c.seq)
            )
            rows.extend(dict(row) for row in result.mappings())
        return rows

    def by_convention(
        self, convention_id: str, start: dt.datetime | None = None, end: dt.datetime | None = None
    ) -> list[Row]:
        query = select(audit_log).where(audit_log.c.convention_id == convention_id)
        if start is not None:
            query = query.where(audit_log.c.at >= start)
        if end is not None:
            query = query.where(audit_log.c.at < end)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query.order_by(audit_log.c.seq)).mappings()]

    def period(self, start: dt.datetime | None = None, end: dt.datetime | None = None) -> list[Row]:
        query = select(audit_log)
        if start is not None:
            query = query.where(audit_log.c.at >= start)
        if end is not None:
            query = query.where(audit_log.c.at < end)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query.order_by(audit_log.c.seq)).mappings()]

    @staticmethod
    def export(rows: list[Row], format: ExportFormat, stream: TextIO) -> int:
        return export_rows(rows, format, stream)

    def verify(self) -> VerifyResult:
        return verify_chain(self.engine, self.log.signer, self.log.chain_key)

    def purge(self, now: dt.datetime | None = None, *, actor: str = "system") -> PurgeReport:
        return purge_expired(self.engine, self.log.signer, self.log, now or dt.datetime.now(dt.UTC), actor)
