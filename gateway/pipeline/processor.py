"""The exchange lifecycle after receipt: decode → map → validate → ingress policy → route → egress → outbox.

One exchange (a stored envelope) is processed in chunks; each chunk commits, in ONE transaction, the
records, the outbox items and the audit rows it produced, plus the exchange's counters. A process that
dies in the middle leaves a consistent store, and :meth:`Processor.process` called again resumes after the
last committed record (readers are deterministic, so record numbers are stable).

States of an exchange: ``received`` → ``processing`` → ``processed`` (every record handled, some perhaps
rejected or refused) or ``failed`` (the input itself is unreadable: dead-lettered with the reason, the
original kept for replay).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update

from gateway.audit import AuditLog, DecisionEntry, KeyedPseudonymiser
from gateway.audit.locking import chain_transaction
from gateway.clock import utcnow
from gateway.delivery.outbox import new_item_row
from gateway.delivery.render import CANONICAL_CONTENT_TYPE
from gateway.errors import (
    ConfigurationError,
    FatalError,
    PolicyDenied,
    SkippableRecordError,
    UnreadableFileError,
)
from gateway.logging_setup import get_logger
from gateway.mapping import MappingCatalog, translate_stream
from gateway.model.identifiers import is_personal
from gateway.model.validation import CanonicalValidator, get_validator
from gateway.pipeline.endpoints import Endpoint, EndpointConfig
from gateway.pipeline.routing import daily_batch_key
from gateway.policy import ConventionRegistry, Decision, enforce_egress, enforce_ingress
from gateway.store.ids import record_id as new_record_id
from gateway.store.payloads import open_payload, read_payload
from gateway.store.tables import dead_letters, exchanges, outbox, records
from gateway.store.upsert import insert_rows

log = get_logger("gateway.pipeline")

PROCESSING, PROCESSED, FAILED = "processing", "processed", "failed"


class ClaimLost(Exception):
    """Another processor took the exchange over (this one had not renewed its claim in time)."""


@dataclass
class ExchangeSummary:
    exchange_id: str
    status: str
    read: int = 0
    mapped: int = 0
    rejected: int = 0
    refused: int = 0
    queued: int = 0
    withheld: int = 0
    """Deliveries a flow's egress rules refused (population rule, nothing left to send)."""
    duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    """Rejection reasons without record locations, counted (for summaries)."""


@dataclass
class _Chunk:
    records: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    audit: list[tuple[Decision, str, dict[str, Any], str | None]] = field(default_factory=list)
    """(decision, record id, Bundle as received (names the persons), outbox idempotency key or None)."""


class Processor:
    """Processes stored exchanges; safe to call again on the same exchange (resumes, never duplicates)."""

    def __init__(
        self,
        engine: Any,
        endpoints: EndpointConfig,
        catalog: MappingCatalog,
        registry: ConventionRegistry,
        audit: AuditLog,
        pseudonymiser: KeyedPseudonymiser,
        validator: CanonicalValidator | None = None,
        chunk_size: int = 500,
        variables: Mapping[str, str] | None = None,
        lease: timedelta = timedelta(minutes=5),
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.endpoints = endpoints
        self.catalog = catalog
        self.registry = registry
        self.audit = audit
        self.pseudonymiser = pseudonymiser
        self.validator = validator or get_validator()
        self.chunk_size = chunk_size
        self.variables = dict(variables or {})
        self.lease = lease
        """A processor that stops renewing its claim for this long (it died) loses the exchange."""
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    # -- public ---------------------------------------------------------------------------------------

    def pending(self, limit: int = 50) -> list[str]:
        """Exchanges received (or interrupted) and not yet processed, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(exchanges.c.id)
                .where(exchanges.c.status.in_(("received", PROCESSING)))
                .order_by(exchanges.c.received_at)
                .limit(limit)
            )
            return [str(r) for r in rows.scalars()]

    def process(
        self,
        exchange_id: str,
        at: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ExchangeSummary:
        """Process (or resume) one exchange; ``progress`` is told how many records were read so far."""
        with self.engine.connect() as connection:
            row = connection.execute(select(exchanges).where(exchanges.c.id == exchange_id)).one()
        summary = ExchangeSummary(exchange_id, row.status)
        if row.status in (PROCESSED, FAILED) or not self._claim(exchange_id):
            return summary  # done already, or another processor (node) is on it
        # Read once the claim is ours: a processor whose claim we took over committed until then.
        with self.engine.connect() as connection:
            done = connection.execute(
                select(func.max(records.c.number)).where(records.c.exchange_id == exchange_id)
            ).scalar()
        try:
            endpoint = self.endpoints.endpoint(row.endpoint)
            outcomes = self._decode(row, endpoint)
            self._run(row, endpoint, outcomes, int(done or 0), at, summary, progress)
            self._finish(exchange_id)
        except FatalError as error:
            self._fail(exchange_id, error, summary)
            return summary
        except ClaimLost:
            summary.status = PROCESSING
            log.warning("exchange.claim_lost", exchange=exchange_id, processor=self.name, read=summary.read)
            return summary
        summary.status = PROCESSED
        log.info(
            "exchange.processed",
            exchange=exchange_id,
            endpoint=row.endpoint,
            read=summary.read,
            queued=summary.queued,
            rejected=summary.rejected,
            refused=summary.refused,
        )
        return summary

    def _decode(self, row: Any, endpoint: Endpoint) -> Iterator[dict[str, Any] | SkippableRecordError]:
        """Records of a stored exchange: canonical Bundles as they are, or the endpoint's mapping."""
        if row.content_type == CANONICAL_CONTENT_TYPE:
            payload = read_payload(self.engine, row.id)  # one API submission, small
            return iter([_canonical_bundle(payload, row.source_name or f"exchange {row.id}")])
        if not endpoint.mapping:
            raise ConfigurationError(f"endpoint {endpoint.name} has no mapping")
        return translate_stream(
            open_payload(self.engine, row.id, row.size),
            self.catalog.get(endpoint.mapping),
            source_name=row.source_name or f"exchange {row.id}",
            options=endpoint.codec_options or None,
            variables={**self.variables, **endpoint.variables},
        )

    def reprocess(self, exchange_id: str) -> ExchangeSummary:
        """Replay a failed exchange from its stored payload (after the cause was fixed)."""
        self._set_status(exchange_id, "received", error=None, claimed_by=None, claimed_until=None)
        return self.process(exchange_id)

    # -- the record loop ------------------------------------------------------------------------------

    def _run(
        self,
        row: Any,
        endpoint: Endpoint,
        outcomes: Iterator[dict[str, Any] | SkippableRecordError],
        done: int,
        at: datetime | None,
        summary: ExchangeSummary,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        chunk = _Chunk()
        for number, outcome in enumerate(outcomes, start=1):
            if number <= done:
                continue  # committed before an interruption
            summary.read += 1
            now = at or utcnow()
            record_id = new_record_id(row.id, number)
            if isinstance(outcome, SkippableRecordError):
                self._reject(chunk, row.id, record_id, number, outcome, summary, now)
            else:
                self._route(chunk, row, endpoint, record_id, number, outcome, summary, now)
            if len(chunk.records) >= self.chunk_size:
                self._commit(row.id, chunk, summary)
                chunk = _Chunk()
                if progress:
                    progress(summary.read)
        self._commit(row.id, chunk, summary)

    def _reject(
        self,
        chunk: _Chunk,
        exchange_id: str,
        record_id: str,
        number: int,
        error: SkippableRecordError,
        summary: ExchangeSummary,
        now: datetime,
    ) -> None:
        summary.rejected += 1
        summary.reasons[error.reason] = summary.reasons.get(error.reason, 0) + 1
        chunk.records.append(
            _record_row(
                record_id, exchange_id, number, error.line, "rejected", error.describe(), None, None, now
            )
        )

    def _route(
        self,
        chunk: _Chunk,
        row: Any,
        endpoint: Endpoint,
        record_id: str,
        number: int,
        bundle: dict[str, Any],
        summary: ExchangeSummary,
        now: datetime,
    ) -> None:
        issues = self.validator.validate(bundle)
        if issues:
            error = SkippableRecordError(
                f"invalid canonical data: {issues[0]}", file=row.source_name, record=number
            )
            self._reject(chunk, row.id, record_id, number, error, summary, now)
            return
        summary.mapped += 1
        person_key = self._person_key(bundle)
        ingress = enforce_ingress(self.registry, endpoint.partner, bundle, endpoint.purpose, now)
        if not ingress.allowed:
            summary.refused += 1
            chunk.records.append(
                _record_row(
                    record_id,
                    row.id,
                    number,
                    None,
                    "refused",
                    ",".join(ingress.rules),
                    bundle,
                    person_key,
                    now,
                )
            )
            chunk.audit.append((ingress, record_id, bundle, None))
            return
        chunk.records.append(
            _record_row(record_id, row.id, number, None, "routed", None, bundle, person_key, now)
        )
        if ingress.removed_fields:
            chunk.audit.append((ingress, record_id, bundle, None))
        flows = self.registry.routes(endpoint.partner, ingress.bundle, now)
        if endpoint.purpose:
            flows = [flow for flow in flows if flow.purpose == endpoint.purpose]
        for flow in flows:
            try:
                # Egress projects the Bundle as received: its allowlist is narrower than the ingress
                # coverage, and population rules need the context ingress may strip (e.g. the
                # Organization an Accompaniment names).
                decision = enforce_egress(
                    flow, bundle, now, self.pseudonymiser.derive(flow.pseudonym_context)
                )
            except PolicyDenied:  # routes() only returns runnable flows; a race with a status change
                continue
            if not decision.allowed:
                summary.withheld += 1
                chunk.audit.append((decision, record_id, bundle, None))
                continue
            target = self.endpoints.outbound_for(flow.receiver, flow.endpoint)
            key = _outbox_key(flow.key, target.name, decision.bundle)
            chunk.outbox.append(
                new_item_row(
                    exchange_id=row.id,
                    record_id=record_id,
                    convention_id=flow.convention.id,
                    convention_version=flow.convention.version,
                    flow_id=flow.id,
                    purpose=flow.purpose,
                    receiver=flow.receiver,
                    endpoint=target.name,
                    idempotency_key=key,
                    payload={"bundle": decision.bundle},
                    ordering_key=person_key if flow.ordered or target.ordered else None,
                    batch_key=daily_batch_key(target.name, now) if target.batch == "daily" else None,
                    now=now,
                )
            )
            chunk.audit.append((decision, record_id, bundle, key))

    # -- persistence ----------------------------------------------------------------------------------

    def _commit(self, exchange_id: str, chunk: _Chunk, summary: ExchangeSummary) -> None:
        if not chunk.records:
            return
        # One transaction holding the audit chain lock: records, outbox items and their audit rows
        # commit together or not at all.
        now = utcnow()
        with chain_transaction(self.engine) as connection:
            # First statement: renew the claim, or learn that it was taken over (this processor was
            # too slow to renew it and another one judged it dead). Its row lock on PostgreSQL makes a
            # concurrent take-over wait for this commit, and then see a live claim.
            claimed = connection.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id, exchanges.c.claimed_by == self.name)
                .values(
                    records_total=exchanges.c.records_total + len(chunk.records),
                    records_ok=exchanges.c.records_ok
                    + sum(1 for r in chunk.records if r["status"] == "routed"),
                    records_rejected=exchanges.c.records_rejected
                    + sum(1 for r in chunk.records if r["status"] != "routed"),
                    claimed_until=now + self.lease,
                    updated_at=now,
                )
            ).rowcount
            if claimed != 1:
                raise ClaimLost(exchange_id)  # rolls this chunk back: the new holder redoes it
            existing = _existing_keys(connection, [r["idempotency_key"] for r in chunk.outbox])
            fresh = [r for r in chunk.outbox if r["idempotency_key"] not in existing]
            summary.duplicates += len(chunk.outbox) - len(fresh)
            summary.queued += len(fresh)
            insert_rows(connection, records, chunk.records)
            insert_rows(connection, outbox, fresh, skip_conflicts_on=["idempotency_key"])
            self.audit.record_decisions(
                [
                    DecisionEntry(
                        decision,
                        exchange_id,
                        subject=subject,
                        record_ref=record_id,
                        receipt="duplicate: already queued" if key in existing else None,
                        at=_chunk_time(chunk),
                    )
                    for decision, record_id, subject, key in chunk.audit
                ],
                connection=connection,
            )

    def _claim(self, exchange_id: str) -> bool:
        """Take the exchange for this processor: unclaimed, or claimed by a processor that died."""
        now = utcnow()
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id)
                .where(
                    (exchanges.c.status == "received")
                    | ((exchanges.c.status == PROCESSING) & (exchanges.c.claimed_until < now))
                    | ((exchanges.c.status == PROCESSING) & (exchanges.c.claimed_by == self.name))
                )
                .values(
                    status=PROCESSING, claimed_by=self.name, claimed_until=now + self.lease, updated_at=now
                )
            ).rowcount
        return bool(taken == 1)

    def _finish(self, exchange_id: str) -> None:
        """Mark the exchange processed and release it, if it is still this processor's."""
        with self.engine.begin() as connection:
            finished = connection.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id, exchanges.c.claimed_by == self.name)
                .values(status=PROCESSED, claimed_until=None, updated_at=utcnow())
            ).rowcount
        if finished != 1:
            raise ClaimLost(exchange_id)  # the new holder marks it when it is done

    def _set_status(self, exchange_id: str, status: str, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id)
                .values(status=status, updated_at=utcnow(), **values)
            )

    def _fail(self, exchange_id: str, error: FatalError, summary: ExchangeSummary) -> None:
        reason = str(error)[:2000]
        summary.status = FAILED
        summary.reasons[reason] = 1
        with self.engine.begin() as connection:
            connection.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id)
                .values(status=FAILED, error=reason, updated_at=utcnow())
            )
            connection.execute(
                dead_letters.insert().values(
                    id=str(uuid.uuid4()),
                    outbox_id=None,
                    exchange_id=exchange_id,
                    stage="decode",
                    reason=reason,
                    error_class=type(error).__name__,
                    created_at=utcnow(),
                )
            )
        log.warning("exchange.failed", exchange=exchange_id, reason=reason)

    def _person_key(self, bundle: Mapping[str, Any]) -> str | None:
        """A keyed pseudonym of the first personal identifier (per-person ordering, record index)."""
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") != "Person":
                continue
            for identifier in resource.get("identifier") or []:
                system, value = identifier.get("system"), identifier.get("value")
                if system and value and is_personal(system):
                    return self.pseudonymiser.pseudonym(system, str(value))[:64]
        return None


def _canonical_bundle(payload: bytes, source: str) -> dict[str, Any] | SkippableRecordError:
    """A Bundle submitted in canonical form (partner API); validation happens like for mapped ones."""
    try:
        document = json.loads(payload)
    except ValueError as error:
        raise UnreadableFileError(f"not JSON: {type(error).__name__}", file=source) from None
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return SkippableRecordError("not a canonical Bundle", file=source, record=1, field="resourceType")
    return document


def _chunk_time(chunk: _Chunk) -> datetime:
    return chunk.records[-1]["created_at"]  # type: ignore[no-any-return]


def _record_row(
    record_id: str,
    exchange_id: str,
    number: int,
    line: int | None,
    status: str,
    error: str | None,
    bundle: dict[str, Any] | None,
    person_key: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": record_id,
        "exchange_id": exchange_id,
        "number": number,
        "line": line,
        "status": status,
        "error": error,
        "bundle": bundle,
        "person_key": person_key,
        "created_at": now,
    }


def _outbox_key(flow_key: str, endpoint: str, bundle: Mapping[str, Any]) -> str:
    """Same flow, same receiver, same content → same key: a record re-sent is not delivered twice."""
    try:
        content = orjson.dumps(_without_meta_times(bundle), option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson refuses (non-string keys, huge ints)
        content = json.dumps(_without_meta_times(bundle), sort_keys=True, default=str).encode()
    digest = hashlib.sha256(content).hexdigest()
    return f"{flow_key}>{endpoint}:{digest}"


def _without_meta_times(bundle: Mapping[str, Any]) -> Any:
    """The bundle minus timestamps that change on every reading of the same partner data."""
    copy = dict(bundle)
    copy.pop("timestamp", None)
    meta = dict(copy.get("meta") or {})
    meta.pop("lastUpdated", None)
    copy["meta"] = meta
    return copy


def _existing_keys(connection: Connection, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        found.update(
            connection.execute(select(outbox.c.idempotency_key).where(outbox.c.idempotency_key.in_(batch)))
            .scalars()
            .all()
        )
    return found
