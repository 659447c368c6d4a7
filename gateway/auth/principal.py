"""The authenticated caller: a partner organisation's client, or an operator, DPO or admin."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PARTNER = "partner"
    OPERATOR = "operator"
    DPO = "dpo"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    """Client id or username; never a personal identifier of a person the gateway carries data about."""
    role: Role
    party: str | None = None
    """Party id of the conventions (partners only): what the caller may submit and read."""
    via: str = "api-key"
    """How it authenticated: ``api-key``, ``token`` or ``session``."""

    @property
    def actor(self) -> str:
        """The name written in the audit log's ``actor`` column."""
        if self.role is Role.PARTNER:
            return f"partner:{self.party}:{self.subject}"
        return f"{self.role.value}:{self.subject}"
