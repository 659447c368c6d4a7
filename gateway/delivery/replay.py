"""Replay of dead letters, by id or by filter.

A replay re-checks the convention *as it stands now*: the record's canonical Bundle (kept in the store)
goes through ingress and egress again with the current registry. A convention revoked, suspended or
expired since — or a flow removed — refuses the replay, and the refusal is audited. A delivery replay
keeps the original idempotency key for the receiver, so a message that had in fact arrived is not taken
twice. A decode failure (unreadable input) is replayed by processing the stored envelope again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from gateway.audit import DecisionEntry
from gateway.audit.locking import chain_transaction
from gateway.clock import utcnow
from gateway.delivery.outbox import new_item_row
from gateway.errors import PolicyDenied
from gateway.policy import enforce_egress, enforce_ingress
from gateway.store.tables import audit_log, dead_letters, exchanges, outbox, records

if TYPE_CHECKING:
    from gateway.runtime import Gateway


@dataclass(frozen=True, slots=True)
class ReplayResult:
    dead_letter_id: str
    outcome: str
    """``queued`` (a new outbox item), ``reprocessed`` (decode replay), ``refused``, ``already-replayed``."""
    detail: str = ""
    outbox_id: str | None = None


def replay(gateway: Gateway, dead_letter_id: str, actor: str, at: datetime | None = None) -> ReplayResult:
    at = at or utcnow()
    with gateway.engine.connect() as connection:
        letter = connection.execute(
            select(dead_letters).where(dead_letters.c.id == dead_letter_id)
        ).one_or_none()
    if letter is None:
        raise KeyError(dead_letter_id)
    if letter.replayed_at is not None:
        return ReplayResult(dead_letter_id, "already-replayed", outbox_id=letter.replay_outbox_id)
    if letter.stage == "decode":
        summary = gateway.processor.reprocess(letter.exchange_id)
        _mark(gateway, dead_letter_id, actor, None, at)
        gateway.audit.record_event(
            "replay", actor=actor, exchange_id=letter.exchange_id, decision=summary.status
        )
        return ReplayResult(dead_letter_id, "reprocessed", detail=summary.status)
    return _replay_delivery(gateway, letter, actor, at)


def _replay_delivery(gateway: Gateway, letter: Any, actor: str, at: datetime) -> ReplayResult:
    with gateway.engine.connect() as connection:
        item = connection.execute(select(outbox).where(outbox.c.id == letter.outbox_id)).one()
        record = connection.execute(select(records).where(records.c.id == item.record_id)).one_or_none()
        sender = connection.execute(
            select(exchanges.c.sender).where(exchanges.c.id == item.exchange_id)
        ).scalar_one()
        replays = connection.execute(select(func.count()).where(outbox.c.replay_of == item.id)).scalar_one()
    refusal = _refusal(gateway, item, record, sender, at)
    if isinstance(refusal, str):
        gateway.audit.record_event(
            "replay-refused",
            actor=actor,
            exchange_id=item.exchange_id,
            convention_id=item.convention_id,
            flow_id=item.flow_id,
            receiver=item.receiver,
            decision="refused",
            rules=[refusal],
            pseudonyms=gateway.audit.pseudonyms_of(record.bundle if record is not None else None),
        )
        return ReplayResult(letter.id, "refused", detail=refusal)
    decision = refusal
    assert record is not None  # a decision is only returned for a stored record
    row = new_item_row(
        exchange_id=item.exchange_id,
        record_id=item.record_id,
        convention_id=decision.convention_id or item.convention_id,
        convention_version=decision.convention_version or item.convention_version,
        flow_id=item.flow_id,
        purpose=item.purpose,
        receiver=item.receiver,
        endpoint=item.endpoint,
        idempotency_key=f"{item.idempotency_key}#replay:{replays + 1}",
        payload={"bundle": decision.bundle},
        ordering_key=item.ordering_key,
        batch_key=item.batch_key,
        replay_of=item.id,
        now=at,
    )
    row["payload"]["idempotency_key"] = item.payload.get("idempotency_key", item.idempotency_key)
    with chain_transaction(gateway.engine) as connection:
        original = connection.execute(
            select(func.max(audit_log.c.seq)).where(
                audit_log.c.record_ref == item.record_id,
                audit_log.c.flow_id == item.flow_id,
                audit_log.c.receiver == item.receiver,
            )
        ).scalar()
        connection.execute(outbox.insert().values(**row))
        gateway.audit.record_decisions(
            [
                DecisionEntry(
                    decision,
                    item.exchange_id,
                    subject=record.bundle,
                    record_ref=item.record_id,
                    replay_of=int(original) if original is not None else None,
                    actor=actor,
                    at=at,
                )
            ],
            connection=connection,
        )
    _mark(gateway, letter.id, actor, row["id"], at)
    return ReplayResult(letter.id, "queued", outbox_id=row["id"])


def _refusal(gateway: Gateway, item: Any, record: Any, sender: str, at: datetime) -> Any:
    """The new egress decision, or the rule id that refuses the replay."""
    if record is None or record.bundle is None:
        return "replay:record-missing"
    try:
        flow = gateway.registry.flow(item.convention_id, item.flow_id)
    except KeyError:
        return f"conv:{item.convention_id}:flow:{item.flow_id}:removed"
    try:
        ingress = enforce_ingress(flow, sender, record.bundle, flow.purpose, at)
        if not ingress.allowed:
            return ingress.rules[0] if ingress.rules else "replay:ingress-refused"
        decision = enforce_egress(
            flow, record.bundle, at, gateway.pseudonymiser.derive(flow.pseudonym_context)
        )
    except PolicyDenied as denied:
        return denied.rules[0] if denied.rules else str(denied)
    if not decision.allowed:
        return decision.rules[-1] if decision.rules else "replay:egress-refused"
    return decision


def _mark(gateway: Gateway, letter_id: str, actor: str, outbox_id: str | None, at: datetime) -> None:
    with gateway.engine.begin() as connection:
        connection.execute(
            update(dead_letters)
            .where(dead_letters.c.id == letter_id)
            .values(replayed_at=at, replayed_by=actor, replay_outbox_id=outbox_id)
        )


def open_dead_letters(
    gateway: Gateway, *, endpoint: str | None = None, stage: str | None = None, limit: int = 100
) -> list[Any]:
    """Dead letters not yet replayed, newest first, optionally filtered."""
    query = select(dead_letters, outbox.c.endpoint, outbox.c.convention_id, outbox.c.receiver).join(
        outbox, outbox.c.id == dead_letters.c.outbox_id, isouter=True
    )
    query = query.where(dead_letters.c.replayed_at.is_(None))
    if endpoint:
        query = query.where(outbox.c.endpoint == endpoint)
    if stage:
        query = query.where(dead_letters.c.stage == stage)
    with gateway.engine.connect() as connection:
        return list(connection.execute(query.order_by(dead_letters.c.created_at.desc()).limit(limit)))
