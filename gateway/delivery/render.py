"""Turn an outbox item into the bytes its receiver expects: canonical JSON, or a partner format."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from gateway.delivery.outbox import OutboxItem
from gateway.pipeline.endpoints import Endpoint
from gateway.transports.base import Delivery

CANONICAL_CONTENT_TYPE = "application/fhir+json"


class PartnerFormat(Protocol):
    """What rendering needs from a mapping: the reverse direction and the codec that writes it."""

    def from_canonical(self, bundle: Mapping[str, Any]) -> list[dict[str, Any]]: ...

    def write_partner(self, records: Iterable[Mapping[str, Any]], stream: io.BytesIO) -> int: ...

    @property
    def media_type(self) -> str: ...

    @property
    def file_extension(self) -> str: ...


class MappingLookup(Protocol):
    def __call__(self, name: str) -> PartnerFormat: ...


def render(item: OutboxItem, endpoint: Endpoint, mappings: MappingLookup | None = None) -> Delivery:
    bundles = [item.payload["bundle"]]
    return render_many(item.delivery_key, bundles, endpoint, mappings, extra={"X-Flow": item.flow_id})


def render_many(
    key: str,
    bundles: list[Mapping[str, Any]],
    endpoint: Endpoint,
    mappings: MappingLookup | None = None,
    extra: dict[str, str] | None = None,
) -> Delivery:
    """Render one or several Bundles (a daily batch) in the endpoint's format."""
    headers = dict(extra or {})
    if endpoint.format == "canonical" or not endpoint.mapping:
        if len(bundles) == 1:
            body = json.dumps(bundles[0], ensure_ascii=False, separators=(",", ":")).encode()
            return Delivery(body, CANONICAL_CONTENT_TYPE, f"{key}.json", key, headers)
        lines = b"".join(
            json.dumps(b, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for b in bundles
        )
        return Delivery(lines, "application/x-ndjson", f"{key}.ndjson", key, headers)
    if mappings is None:
        raise ValueError("a partner-format endpoint needs the mapping catalog")
    partner = mappings(endpoint.mapping)
    records: list[dict[str, Any]] = []
    for bundle in bundles:
        records.extend(partner.from_canonical(bundle))
    stream = io.BytesIO()
    partner.write_partner(records, stream)
    return Delivery(stream.getvalue(), partner.media_type, f"{key}.{partner.file_extension}", key, headers)
