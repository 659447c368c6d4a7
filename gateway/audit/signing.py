"""Ed25519 signatures of chain checkpoints and purge anchors, with the key from ``settings.checkpoint_key``.

A signed checkpoint (seq, head hash, time) proves the chain had that head at that time: rows cut from the
tail after a checkpoint, or a chain rewritten from some row on, no longer match it. Keep copies of
checkpoints outside the database (``gateway audit checkpoint`` prints one) — whoever can write the
database can also delete checkpoint rows.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.audit.chain import canonical_json, utc
from gateway.errors import ConfigurationError
from gateway.settings import Settings


@dataclass(frozen=True)
class SignedMark:
    """A checkpoint (``kind="checkpoint"``) or a purge anchor (``kind="purge"``)."""

    kind: str
    seq: int
    head_hash: str
    at: dt.datetime
    key_id: str
    signature: str


def mark_message(kind: str, seq: int, head_hash: str, at: dt.datetime) -> bytes:
    return canonical_json({"kind": kind, "seq": seq, "head_hash": head_hash, "at": utc(at)})


class CheckpointSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        raw = self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key_hex = raw.hex()
        self.key_id = hashlib.sha256(raw).hexdigest()

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckpointSigner:
        seed = settings.checkpoint_key.get_secret_value().strip()
        try:
            raw = bytes.fromhex(seed)
        except ValueError as exc:
            raise ConfigurationError(
                "checkpoint_key must be 64 hexadecimal characters (Ed25519 seed)"
            ) from exc
        if len(raw) != 32:
            raise ConfigurationError("checkpoint_key must be 64 hexadecimal characters (Ed25519 seed)")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def sign(self, kind: str, seq: int, head_hash: str, at: dt.datetime) -> SignedMark:
        signature = self._private.sign(mark_message(kind, seq, head_hash, at))
        return SignedMark(kind, seq, head_hash, utc(at), self.key_id, base64.b64encode(signature).decode())

    def is_valid(self, mark: SignedMark) -> bool:
        if mark.key_id != self.key_id:
            return False
        try:
            signature = base64.b64decode(mark.signature, validate=True)
            self.public_key.verify(signature, mark_message(mark.kind, mark.seq, mark.head_hash, mark.at))
        except (InvalidSignature, ValueError):
            return False
        return True
