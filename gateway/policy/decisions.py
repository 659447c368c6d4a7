"""What the policy decided about one record, for the pipeline and the audit log.

Decisions carry field NAMES and rule ids, never values; ``bundle`` is the only part holding data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class Pseudonymiser(Protocol):
    """Keyed pseudonyms for identifiers a receiver must not see in clear (see gateway.audit.pseudonyms)."""

    def pseudonym(self, system: str, value: str) -> str: ...


@dataclass(frozen=True)
class Decision:
    allowed: bool
    bundle: dict[str, Any]
    removed_fields: tuple[str, ...]
    rules: tuple[str, ...]
    convention_id: str | None
    convention_version: str | None
    flow_id: str | None
    purpose: str | None
    sender: str
    receiver: str | None
    resource_types: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    sensitive_categories: tuple[str, ...] = ()
    retention_category: str = "default"
    retention_days: int | None = None
    """``None`` when no convention governs the decision; the audit log then uses its own default."""

    @property
    def kind(self) -> str:
        raise NotImplementedError

    @property
    def outcome(self) -> str:
        """``allowed``, ``stripped`` (allowed with fields removed) or ``refused``."""
        if not self.allowed:
            return "refused"
        return "stripped" if self.removed_fields else "allowed"


@dataclass(frozen=True)
class IngressDecision(Decision):
    flows: tuple[str, ...] = field(default=())
    """``<convention>@<version>/<flow>`` of every runnable flow that covered the sender."""

    @property
    def kind(self) -> str:
        return "ingress"


@dataclass(frozen=True)
class EgressDecision(Decision):
    @property
    def kind(self) -> str:
        return "egress"
