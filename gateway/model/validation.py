"""Validation of canonical resources and Bundles against the JSON Schemas, compiled once.

jsonschema-rs does the work (one compiled validator per resource type, all schemas in one registry).
Instance values are masked in its messages, and issues carry the resource, the path and the rule, never
the value: a validation report may be logged and shown to operators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs

from gateway.errors import SkippableRecordError
from gateway.model import codesystems
from gateway.model.field_paths import field_paths, is_field_path
from gateway.model.identifiers import NIR
from gateway.model.nir import is_valid_nir
from gateway.model.schema_store import BUNDLE, load_schemas, resource_types, schema_uri

__all__ = [
    "CanonicalValidator",
    "InvalidResourceError",
    "ValidationIssue",
    "field_paths",
    "get_validator",
    "is_field_path",
]

MASK = "***"
_SAFE_ID = re.compile(r"^[A-Za-z0-9\-._:]{1,128}$")
_SAFE_TYPE = re.compile(r"^[A-Z][A-Za-z]{0,63}$")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNKNOWN = "?"
CODE_SYSTEM_PREFIX = "urn:fr:reseau-emploi:"
"""Codings whose system starts with this are checked against our code systems."""


@dataclass(frozen=True)
class ValidationIssue:
    """One reason a resource is invalid, safe to log: no personal value in any field."""

    resource_type: str
    resource_id: str | None
    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.resource_type}/{self.resource_id or _UNKNOWN}: {self.path}: {self.rule}: {self.message}"
        )


class InvalidResourceError(SkippableRecordError):
    """A resource (or Bundle) failed validation; ``issues`` says where and which rule."""

    def __init__(self, issues: Iterable[ValidationIssue]) -> None:
        self.issues = tuple(issues)
        first = self.issues[0] if self.issues else None
        summary = f"{len(self.issues)} validation issue(s)" + (f", first: {first}" if first else "")
        super().__init__(summary, field=first.path if first else None)


def format_path(parts: Iterable[str | int]) -> str:
    """``["entry", 2, "resource", "birthDate"]`` -> ``$.entry[2].resource.birthDate``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


def _safe_id(value: object) -> str | None:
    return value if isinstance(value, str) and _SAFE_ID.match(value) else None


def _safe_type(value: object) -> str:
    return value if isinstance(value, str) and _SAFE_TYPE.match(value) else _UNKNOWN


def _rule(error: jsonschema_rs.ValidationError) -> str:
    keywords = [p for p in error.schema_path if isinstance(p, str)]
    return keywords[-1] if keywords else type(error.kind).__name__


def _scrub(message: str, instance: object) -> str:
    """Defence in depth: the mask already hides values; also drop any scalar that slipped through."""
    if isinstance(instance, str) and len(instance) >= 2 and instance in message:
        message = message.replace(instance, MASK)
    return message


def _owner(resource: Mapping[str, Any], parts: list[str | int]) -> tuple[str, str | None]:
    """The resource an error belongs to: a Bundle entry's own resource when the path goes into one."""
    if (
        resource.get("resourceType") == BUNDLE
        and len(parts) >= 3
        and parts[0] == "entry"
        and parts[2] == "resource"
    ):
        entries = resource.get("entry")
        index = parts[1]
        if isinstance(entries, list) and isinstance(index, int) and index < len(entries):
            entry = entries[index]
            inner = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(inner, Mapping):
                return _safe_type(inner.get("resourceType")), _safe_id(inner.get("id"))
    return _safe_type(resource.get("resourceType")), _safe_id(resource.get("id"))


class CanonicalValidator:
    """Validates canonical resources and Bundles; build once (``get_validator()``) and share."""

    def __init__(self, *, check_codes: bool = True) -> None:
        """``check_codes``: also report Codings whose system is one of ours but whose code it lacks.

        Beyond the schemas, every NIR identifier's key is checked (rule ``nir-key``): the schema can
        only check its shape.
        """
        schemas = load_schemas()
        registry = jsonschema_rs.Registry([(schema_uri(name), schema) for name, schema in schemas.items()])
        self._types = resource_types()
        self._validators = {
            name: jsonschema_rs.validator_for(schemas[name], registry=registry, mask=MASK)
            for name in self._types
        }
        self._check_codes = check_codes
        self._nir_shape = jsonschema_rs.validator_for(
            {"$ref": schema_uri("common") + "#/$defs/nir"}, registry=registry, mask=MASK
        )

    def resource_types(self) -> frozenset[str]:
        """Every resource type this validator knows, ``Bundle`` included."""
        return self._types

    def validate(self, resource: Mapping[str, Any]) -> list[ValidationIssue]:
        """All the issues of a resource or Bundle (empty list when valid)."""
        if not isinstance(resource, Mapping):
            return [ValidationIssue(_UNKNOWN, None, "$", "type", "a resource must be a JSON object")]
        resource_type = resource.get("resourceType")
        validator = self._validators.get(resource_type) if isinstance(resource_type, str) else None
        if validator is None:
            rule = "required" if resource_type is None else "resourceType"
            message = "resourceType is missing" if resource_type is None else "unknown resource type"
            return [
                ValidationIssue(
                    _safe_type(resource_type), _safe_id(resource.get("id")), "$.resourceType", rule, message
                )
            ]
        issues: list[ValidationIssue] = []
        instance = resource if isinstance(resource, dict) else dict(resource)
        if not validator.is_valid(instance):
            for error in validator.iter_errors(instance):
                parts = list(error.instance_path)
                owner_type, owner_id = _owner(resource, parts)
                issues.append(
                    ValidationIssue(
                        owner_type,
                        owner_id,
                        format_path(parts),
                        _rule(error),
                        _scrub(error.message, error.instance),
                    )
                )
        if self._has_value_issue(resource):
            # Rare: walk again, this time keeping paths, to say where.
            issues.extend(self._nir_key_issues(resource))
            if self._check_codes:
                issues.extend(self._code_issues(resource))
        return issues

    def is_valid(self, resource: Mapping[str, Any]) -> bool:
        """True when ``validate`` would return no issue."""
        return not self.validate(resource)

    def ensure_valid(self, resource: Mapping[str, Any]) -> None:
        """Raise InvalidResourceError (a SkippableRecordError) if the resource has issues."""
        issues = self.validate(resource)
        if issues:
            raise InvalidResourceError(issues)

    def _has_value_issue(self, resource: Mapping[str, Any]) -> bool:
        """Whether any NIR key or code is wrong: one walk without paths (the common, valid case)."""
        for node in _system_objects(resource):
            if "value" in node and self._wrong_nir_key(node):
                return True
            if self._check_codes and "code" in node and _code_problem(node) is not None:
                return True
        return False

    def _wrong_nir_key(self, identifier: Mapping[str, Any]) -> bool:
        """A well-shaped NIR whose key does not match (a bad shape is already the schema's to report)."""
        value = identifier.get("value")
        return (
            identifier.get("system") == NIR
            and isinstance(value, str)
            and self._nir_shape.is_valid(value)
            and not is_valid_nir(value)
        )

    def _nir_key_issues(self, resource: Mapping[str, Any]) -> list[ValidationIssue]:
        issues: list[ValidationIssue] = []
        for parts, identifier in _objects_with(resource, "system", "value"):
            if self._wrong_nir_key(identifier):
                owner_type, owner_id = _owner(resource, parts)
                path = format_path([*parts, "value"])
                issues.append(
                    ValidationIssue(owner_type, owner_id, path, "nir-key", "NIR key does not match")
                )
        return issues

    def _code_issues(self, resource: Mapping[str, Any]) -> list[ValidationIssue]:
        issues: list[ValidationIssue] = []
        for parts, coding in _objects_with(resource, "system", "code"):
            problem = _code_problem(coding)
            if problem is not None:
                member, rule, message = problem
                owner_type, owner_id = _owner(resource, parts)
                issues.append(
                    ValidationIssue(owner_type, owner_id, format_path([*parts, member]), rule, message)
                )
        return issues


def _code_problem(coding: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(member, rule, message) when a Coding of one of our code systems is wrong, else None."""
    system = coding.get("system")
    if not isinstance(system, str) or not system.startswith(CODE_SYSTEM_PREFIX):
        return None
    codesystem = codesystems.by_uri(system)
    if codesystem is None:
        return "system", "code-system", "unknown code system"
    if coding.get("code") not in codesystem:
        return "code", "code", f"code not in {codesystem.name}"
    return None


def _system_objects(node: object, found: list[Mapping[str, Any]] | None = None) -> list[Mapping[str, Any]]:
    """Every object with a ``system`` key (Codings, Identifiers), found without building paths.

    JSON documents are dicts and lists: exact type tests keep this walk cheap (it runs on every record).
    """
    found = [] if found is None else found
    if type(node) is dict or isinstance(node, Mapping):
        if "system" in node:
            found.append(node)
        children: Iterable[object] = node.values()
    elif type(node) is list:
        children = node
    else:
        return found
    for child in children:
        kind = type(child)
        if kind is dict or kind is list or (kind is not str and isinstance(child, Mapping)):
            _system_objects(child, found)
    return found


def _objects_with(
    node: object, first: str, second: str, parts: tuple[str | int, ...] = ()
) -> Iterable[tuple[list[str | int], Mapping[str, Any]]]:
    """Every object holding both keys (``system``/``code``: a Coding; ``system``/``value``: an Identifier)."""
    if isinstance(node, Mapping):
        if first in node and second in node:
            yield list(parts), node
        for key, value in node.items():
            yield from _objects_with(value, first, second, (*parts, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects_with(value, first, second, (*parts, index))


@cache
def get_validator() -> CanonicalValidator:
    """The shared validator (compiled on first use)."""
    return CanonicalValidator()
