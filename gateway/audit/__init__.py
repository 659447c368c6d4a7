"""Tamper-evident audit log for DPOs: hash chain, keyed pseudonyms, signed checkpoints, queries, purge.

See docs/audit.md.
"""

from gateway.audit.pseudonyms import KeyedPseudonymiser, normalise_identifier
from gateway.audit.purge import PurgeReport
from gateway.audit.queries import AuditQueries
from gateway.audit.signing import CheckpointSigner, SignedMark
from gateway.audit.verify import VerifyResult
from gateway.audit.writer import AuditEvent, AuditLog, DecisionEntry

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditQueries",
    "CheckpointSigner",
    "DecisionEntry",
    "KeyedPseudonymiser",
    "PurgeReport",
    "SignedMark",
    "VerifyResult",
    "normalise_identifier",
]
