"""Static checks of the conventions for ``gateway check`` (and ``gateway conventions validate``).

Each finding is one line ``<level>: <file or convention>: <message>``; levels are ``error`` (the file does
not load), ``warning`` (it loads but contradicts itself) and ``info`` (worth a look, e.g. a mapping emits a
field no flow lets through: it will always be stripped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from gateway.errors import ConfigurationError
from gateway.model.identifiers import NIR
from gateway.policy.loader import load_convention
from gateway.policy.model import Convention, legal_date
from gateway.policy.registry import CONVENTION_GLOBS


class EmittingMapping(Protocol):
    def emitted_field_paths(self) -> frozenset[str]: ...


class MappingSource(Protocol):
    def names(self) -> list[str]: ...

    def get(self, name: str) -> EmittingMapping: ...


def check_conventions(
    conventions_dir: Path, mapping_catalog: MappingSource | None = None, *, today: dt.datetime | None = None
) -> list[str]:
    now = today or dt.datetime.now(dt.UTC)
    findings: list[str] = []
    conventions: list[Convention] = []
    files = sorted({path for pattern in CONVENTION_GLOBS for path in conventions_dir.glob(pattern)})
    for path in files:
        try:
            conventions.append(load_convention(path))
        except ConfigurationError as error:
            findings.append(f"error: {error}")
    for convention in conventions:
        findings.extend(_convention_findings(convention, now))
    if mapping_catalog is not None:
        findings.extend(_mapping_findings(conventions, mapping_catalog))
    return findings


def _convention_findings(convention: Convention, now: dt.datetime) -> Iterable[str]:
    where = f"{convention.source_file.name} ({convention.id})"
    if convention.status == "expired" or (
        convention.valid_to is not None and convention.valid_to < legal_date(now)
    ):
        yield f"info: {where}: expired (status {convention.status}, valid to {convention.valid_to})"
    for flow in convention.flows:
        sends_nir = any(f"identifier[{NIR}]" in path for path in flow.allow) or NIR in flow.matching_keys
        if sends_nir and not flow.nir_allowed and NIR not in flow.pseudonymise:
            yield f"warning: {where}: flow {flow.id} names the NIR (allow, matching_keys) without nir_allowed"
        for key in flow.pseudonymise:
            if key in flow.matching_keys:
                yield f"warning: {where}: flow {flow.id} matches on {key} but pseudonymises it"


def _mapping_findings(conventions: list[Convention], catalog: MappingSource) -> Iterable[str]:
    flows = [flow for convention in conventions for flow in convention.flows]
    for name in catalog.names():
        try:
            emitted = catalog.get(name).emitted_field_paths()
        except ConfigurationError as error:
            yield f"error: mapping {name}: {error}"
            continue
        for path in sorted(emitted):
            resource_type = path.split(".", 1)[0]
            if "." not in path or path.endswith((".resourceType", ".id")) or ".meta" in path:
                continue
            carriers = [flow for flow in flows if resource_type in flow.resource_types]
            if not any(flow.allowlist.covers(path) for flow in carriers):
                yield f"info: mapping {name}: emits {path}, which no convention flow allows (always stripped)"
