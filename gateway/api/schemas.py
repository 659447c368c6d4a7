"""Request and response bodies of the API (they make the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = str


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SubmissionAccepted(_Out):
    exchange_id: str
    duplicate: bool = Field(description="True when this submission had been received before (same key)")
    status_url: str


class ExchangeOut(_Out):
    id: str
    received_at: dt.datetime
    updated_at: dt.datetime
    endpoint: str
    sender: str
    transport: str
    source_name: str | None
    content_type: str | None
    size: int
    digest: str
    status: str
    records_total: int
    records_ok: int
    records_rejected: int
    error: str | None


class RecordOut(_Out):
    id: str
    number: int
    line: int | None
    status: str
    error: str | None = Field(description="Location and rule only, never a personal value")


class DeliveryOut(_Out):
    id: str
    record_id: str | None
    convention_id: str
    convention_version: str
    flow_id: str
    purpose: str
    receiver: str
    endpoint: str
    status: str
    attempts: int
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    receipt: str | None
    last_error: str | None
    replay_of: str | None


class InboxItem(_Out):
    id: str
    convention_id: str
    convention_version: str
    flow_id: str
    purpose: str
    idempotency_key: str = Field(description="Stable across redeliveries and replays: deduplicate on it")
    created_at: dt.datetime
    content_url: str


class Acknowledgement(BaseModel):
    receipt: str | None = Field(None, max_length=256, description="Your own reference for this item")


class AckOut(_Out):
    id: str
    status: str
    receipt: str | None
    delivered_at: dt.datetime | None


class PartyOut(_Out):
    id: str
    name: str
    type: str
    role: str


class FlowOut(_Out):
    id: str
    sender: str
    receiver: str
    purpose: str
    resource_types: list[str]
    allow: list[str]
    deny: list[str]
    nir_allowed: bool
    pseudonymise: list[str]
    sensitive_categories_allowed: list[str]
    population: list[str]
    endpoint: str | None
    description: str | None


class ConventionOut(_Out):
    id: str
    version: str
    title: str
    status: str
    valid_from: dt.date
    valid_to: dt.date | None
    purposes: list[str]
    parties: list[PartyOut]
    flows: list[FlowOut]


class StatusChanged(_Out):
    id: str
    status: str


class DeadLetterOut(_Out):
    id: str
    outbox_id: str | None
    exchange_id: str | None
    stage: str
    reason: str
    error_class: str
    created_at: dt.datetime
    replayed_at: dt.datetime | None
    replayed_by: str | None
    replay_outbox_id: str | None
    endpoint: str | None
    convention_id: str | None
    receiver: str | None


class ReplayOut(_Out):
    dead_letter_id: str
    outcome: str
    detail: str
    outbox_id: str | None


class PersonQuery(BaseModel):
    """Identifiers of one person; the gateway recomputes their keyed pseudonyms, never stores them."""

    nir: str | None = Field(None, min_length=13, max_length=21, description="NIR, 13 or 15 characters")
    birth_date: dt.date | None = Field(None, description="Confirms the match (YYYY-MM-DD)")
    identifiers: dict[str, str] = Field(
        default_factory=dict, description="Other identifier systems: {system URI: value}", max_length=10
    )

    @model_validator(mode="after")
    def _one_identifier(self) -> PersonQuery:
        if not self.nir and not self.identifiers:
            raise ValueError("give a NIR or at least one identifier")
        for system, value in self.identifiers.items():
            if not (0 < len(system) <= 200 and 0 < len(value) <= 100):
                raise ValueError("identifier systems and values must be non-empty and short")
        return self

    def as_identifiers(self) -> dict[str, str]:
        found = dict(self.identifiers)
        if self.nir:
            found["urn:fr:insee:nir"] = self.nir
        return found


class VerifyOut(_Out):
    ok: bool
    first_bad_seq: int | None
    reason: str | None
    checked: int


AuditRow = dict[str, Any]
