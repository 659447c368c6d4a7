"""Load one convention file: YAML → JSON Schema → semantic checks → compiled ``Convention``.

Every error is a ``ConfigurationError`` naming the file and the line of the offending node.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import jsonschema_rs

from gateway.model.field_paths import is_field_path
from gateway.policy.model import (
    Convention,
    ExpectedVolume,
    Flow,
    LegalBasis,
    Party,
    PopulationRule,
    Status,
)
from gateway.policy.paths import CompiledAllowlist, split_path
from gateway.policy.purposes import Purpose, national_purposes
from gateway.policy.siret import is_valid_siret
from gateway.policy.yaml_source import Located, PathPart, load_located

SCHEMA_FILE = Path(__file__).with_name("convention.schema.json")


@cache
def _validator() -> Any:
    return jsonschema_rs.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def load_convention(path: Path) -> Convention:
    located = load_located(path)
    _check_schema(located)
    return _compile(located, hashlib.sha256(path.read_bytes()).hexdigest(), path)


def _check_schema(located: Located) -> None:
    if not isinstance(located.data, dict):
        raise located.error("a convention file must be a mapping")
    errors = sorted(_validator().iter_errors(located.data), key=lambda e: len(list(e.instance_path)))
    if errors:
        deepest = max(errors, key=lambda e: len(list(e.instance_path)))
        where = "/".join(str(part) for part in deepest.instance_path) or "(root)"
        raise located.error(f"{where}: {deepest.message}", list(deepest.instance_path))


def _compile(located: Located, digest: str, path: Path) -> Convention:
    data: dict[str, Any] = located.data
    parties = _parties(located)
    legal_basis = _legal_basis(located)
    purposes = _purposes(located)
    valid_from = dt.date.fromisoformat(data["validity"]["from"])
    valid_to = dt.date.fromisoformat(data["validity"]["to"]) if "to" in data["validity"] else None
    if valid_to is not None and valid_to < valid_from:
        raise located.error("validity.to is before validity.from", ["validity", "to"])
    convention = Convention(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        status=cast(Status, data["status"]),
        valid_from=valid_from,
        valid_to=valid_to,
        parties=MappingProxyType(parties),
        legal_basis=legal_basis,
        purposes=MappingProxyType(purposes),
        on_uncovered_field=data.get("settings", {}).get("on_uncovered_field", "strip"),
        retention_days=MappingProxyType(dict(data.get("retention", {"default": 365}))),
        source_file=path,
        digest=digest,
        content=data,
        description=data.get("description"),
    )
    flagged = {category for basis in legal_basis for category in basis.sensitive_categories}
    flows = []
    seen: set[str] = set()
    for index, raw in enumerate(data["flows"]):
        where: list[PathPart] = ["flows", index]
        if raw["id"] in seen:
            raise located.error(f"duplicate flow id {raw['id']!r}", [*where, "id"])
        seen.add(raw["id"])
        flows.append(_flow(located, where, raw, convention, flagged))
    convention.flows = tuple(flows)
    return convention


def _parties(located: Located) -> dict[str, Party]:
    parties: dict[str, Party] = {}
    for index, raw in enumerate(located.data["parties"]):
        if raw["id"] in parties:
            raise located.error(f"duplicate party id {raw['id']!r}", ["parties", index, "id"])
        if not is_valid_siret(raw["siret"]):
            raise located.error(
                f"party {raw['id']!r}: SIRET fails the Luhn check", ["parties", index, "siret"]
            )
        parties[raw["id"]] = Party(
            id=raw["id"],
            name=raw["name"],
            siret=raw["siret"],
            type=raw["type"],
            role=raw["role"],
            dpo_email=raw["dpo"]["email"],
            dpo_name=raw["dpo"].get("name"),
        )
    return parties


def _legal_basis(located: Located) -> tuple[LegalBasis, ...]:
    result = []
    seen: set[str] = set()
    for index, raw in enumerate(located.data["legal_basis"]):
        if raw["id"] in seen:
            raise located.error(f"duplicate legal basis id {raw['id']!r}", ["legal_basis", index, "id"])
        seen.add(raw["id"])
        result.append(
            LegalBasis(
                id=raw["id"],
                article=raw["article"],
                title=raw["title"],
                url=raw.get("url"),
                sensitive_categories=frozenset(raw.get("sensitive_categories", ())),
            )
        )
    return tuple(result)


def _purposes(located: Located) -> dict[str, Purpose]:
    national = national_purposes()
    local = {
        item["id"]: Purpose(id=item["id"], label=item["label"])
        for item in located.data.get("local_purposes", ())
    }
    result: dict[str, Purpose] = {}
    for index, purpose_id in enumerate(located.data["purposes"]):
        purpose = national.get(purpose_id) or local.get(purpose_id)
        if purpose is None:
            hint = (
                "declare it under local_purposes"
                if purpose_id.startswith("local:")
                else ("not one of the purposes of article R. 5312-38-1 (gateway/policy/purposes.yaml)")
            )
            raise located.error(f"unknown purpose {purpose_id!r}: {hint}", ["purposes", index])
        result[purpose_id] = purpose
    return result


def _flow(
    located: Located, where: list[PathPart], raw: Mapping[str, Any], convention: Convention, flagged: set[str]
) -> Flow:
    for end in ("from", "to"):
        if raw[end] not in convention.parties:
            raise located.error(f"flow {raw['id']!r}: {end} {raw[end]!r} is not a party", [*where, end])
    if raw["from"] == raw["to"]:
        raise located.error(f"flow {raw['id']!r}: from and to are the same party", [*where, "to"])
    if raw["purpose"] not in convention.purposes:
        raise located.error(
            f"flow {raw['id']!r}: purpose {raw['purpose']!r} is not among the convention's purposes",
            [*where, "purpose"],
        )
    resource_types = frozenset(raw["resource_types"])
    for key in ("allow", "deny"):
        _check_paths(located, [*where, key], raw.get(key, ()), resource_types)
    sensitive = frozenset(raw.get("sensitive_categories_allowed", ()))
    for index, category in enumerate(sorted(sensitive)):
        if category not in flagged:
            raise located.error(
                f"flow {raw['id']!r}: sensitive category {category!r} needs a legal_basis entry listing it "
                "under sensitive_categories",
                [*where, "sensitive_categories_allowed", index],
            )
    volume = raw.get("expected_volume")
    return Flow(
        id=raw["id"],
        convention=convention,
        sender=raw["from"],
        receiver=raw["to"],
        purpose=raw["purpose"],
        resource_types=resource_types,
        allow=tuple(raw["allow"]),
        deny=tuple(raw.get("deny", ())),
        nir_allowed=bool(raw.get("nir_allowed", False)),
        sensitive_categories_allowed=sensitive,
        population=_population(located, [*where, "population"], raw.get("population", ())),
        matching_keys=tuple(raw.get("matching_keys", ())),
        pseudonymise=frozenset(raw.get("pseudonymise", ())),
        endpoint=raw.get("endpoint"),
        expected_volume=ExpectedVolume(volume["records"], volume["per"]) if volume else None,
        allowlist=CompiledAllowlist(raw["allow"], raw.get("deny", ())),
        description=raw.get("description"),
        ordered=raw.get("ordering", "none") == "per-person",
    )


def _check_paths(
    located: Located, where: list[PathPart], paths: Sequence[str], resource_types: frozenset[str]
) -> None:
    for index, path in enumerate(paths):
        resource_type = split_path(path)[0]
        if resource_type not in resource_types:
            raise located.error(
                f"field path {path!r}: {resource_type} is not in the flow's resource_types", [*where, index]
            )
        if "." in path and not is_field_path(path):
            raise located.error(
                f"field path {path!r} is not a field of the canonical model (docs/canonical-model.md)",
                [*where, index],
            )


def _population(
    located: Located, where: list[PathPart], raws: Sequence[Mapping[str, Any]]
) -> tuple[PopulationRule, ...]:
    rules = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        if raw["id"] in seen:
            raise located.error(f"duplicate population rule id {raw['id']!r}", [*where, index, "id"])
        seen.add(raw["id"])
        if raw["kind"] == "age_between" and raw.get("min", 0) > raw.get("max", 130):
            raise located.error("age_between: min is greater than max", [*where, index])
        params = {key: value for key, value in raw.items() if key not in {"id", "kind", "description"}}
        rules.append(PopulationRule(id=raw["id"], kind=raw["kind"], params=MappingProxyType(params)))
    return tuple(rules)
