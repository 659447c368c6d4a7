"""Verification of the audit chain: finds the first inserted, removed or altered row.

Checks, in seq order from the latest purge anchor (or from seq 1): no gap in ``seq``; each row's hash
recomputed from its columns; each ``prev_hash`` equal to the previous row's hash; each signed checkpoint
equal to the hash of the row it names; no checkpoint beyond the last row (rows cut from the tail). Every
checkpoint and anchor signature is checked first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from gateway.audit.chain import GENESIS_HASH, row_hash
from gateway.audit.signing import CheckpointSigner, SignedMark
from gateway.audit.writer import mark_from_row
from gateway.store.tables import audit_checkpoints, audit_log

BATCH = 5000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_bad_seq: int | None
    reason: str | None
    checked: int


def verify_chain(engine: Engine, signer: CheckpointSigner, key: bytes) -> VerifyResult:
    with engine.connect() as connection:
        marks = [
            mark_from_row(row._mapping)
            for row in connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id))
        ]
        for mark in marks:
            if not signer.is_valid(mark):
                return VerifyResult(False, mark.seq, f"{mark.kind} at seq {mark.seq}: signature invalid", 0)
        anchors = [mark for mark in marks if mark.kind == "purge"]
        anchor: SignedMark | None = max(anchors, key=lambda mark: mark.seq) if anchors else None
        start, previous = (anchor.seq, anchor.head_hash) if anchor else (0, GENESIS_HASH)
        checkpoints = {
            mark.seq: mark.head_hash for mark in marks if mark.kind == "checkpoint" and mark.seq > start
        }
        expected = start + 1
        checked = 0
        rows = connection.execution_options(yield_per=BATCH).execute(
            select(audit_log).order_by(audit_log.c.seq)
        )
        for row in rows.mappings():
            seq = int(row["seq"])
            if seq < expected:
                return VerifyResult(False, seq, f"row {seq} lies before the chain start {expected}", checked)
            if seq > expected:
                return VerifyResult(False, expected, f"rows {expected}..{seq - 1} missing", checked)
            if row_hash(row, key) != row["hash"]:
                return VerifyResult(False, seq, "hash mismatch: the row was altered", checked)
            if row["prev_hash"] != previous:
                return VerifyResult(False, seq, "prev_hash does not match the previous row", checked)
            signed = checkpoints.get(seq)
            if signed is not None and signed != row["hash"]:
                return VerifyResult(False, seq, "row differs from the signed checkpoint", checked)
            previous = row["hash"]
            expected += 1
            checked += 1
        last = expected - 1
        beyond = [seq for seq in checkpoints if seq > last]
        if beyond:
            reason = f"log ends at seq {last} but a checkpoint signed seq {max(beyond)}: tail rows removed"
            return VerifyResult(False, last + 1, reason, checked)
    return VerifyResult(True, None, None, checked)
