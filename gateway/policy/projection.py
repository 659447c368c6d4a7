"""Project one resource onto a flow's allowlist: copy what is allowed, report what was removed.

The input is never modified. Removed nodes are reported by field path (names, never values), at the
highest node removed, with the rule suffix that removed them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.model.identifiers import NIR
from gateway.policy.paths import Action, CompiledAllowlist

ALWAYS_KEPT = frozenset({"resourceType", "id", "meta"})
"""Structure every receiver gets: the type, the bundle-local id (references) and meta (security labels)."""
PSEUDONYM_SYSTEM = "urn:fr:reseau-emploi:pseudonym"
PSEUDONYM_OF_SYSTEM = "urn:fr:reseau-emploi:pseudonym-of"
NIR_RULE = "nir-not-allowed"

PseudonymFn = Callable[[str, str], str]


@dataclass
class Projection:
    removed: dict[str, str] = field(default_factory=dict)
    """field path → rule suffix (first rule that removed it)."""

    def remove(self, path: str, rule: str) -> None:
        self.removed.setdefault(path, rule)


@dataclass(frozen=True)
class IdentifierPolicy:
    nir_allowed: bool
    pseudonymise: frozenset[str]
    pseudonym: PseudonymFn | None


def project_resource(
    resource: Mapping[str, Any],
    allowlist: CompiledAllowlist,
    identifiers: IdentifierPolicy,
    report: Projection,
) -> dict[str, Any]:
    resource_type = str(resource.get("resourceType"))
    result: dict[str, Any] = {key: resource[key] for key in ALWAYS_KEPT if key in resource}
    for key, value in resource.items():
        if key in ALWAYS_KEPT:
            continue
        kept = _project_member(key, value, resource_type, allowlist, identifiers, report)
        if kept is not None:
            result[key] = kept
    return result


def _project_member(
    key: str,
    value: Any,
    parent: str,
    allowlist: CompiledAllowlist,
    identifiers: IdentifierPolicy,
    report: Projection,
) -> Any:
    path = f"{parent}.{key}"
    if key == "identifier":
        return _project_identifiers(path, value, allowlist, identifiers, report)
    verdict = allowlist.verdict(path)
    if verdict.action is Action.DROP:
        report.remove(path, verdict.rule or "not-allowed")
        return None
    if verdict.action is Action.KEEP and not _holds_identifiers(value):
        return value
    return _descend(path, value, allowlist, identifiers, report)


def _descend(
    path: str, value: Any, allowlist: CompiledAllowlist, identifiers: IdentifierPolicy, report: Projection
) -> Any:
    """Children of a partly allowed node (arrays transparent); scalars cannot be partly allowed."""
    if isinstance(value, Mapping):
        kept = {}
        for key, child in value.items():
            projected = _project_member(key, child, path, allowlist, identifiers, report)
            if projected is not None:
                kept[key] = projected
        return kept or None
    if isinstance(value, list):
        items = [_descend(path, item, allowlist, identifiers, report) for item in value]
        return [item for item in items if item is not None] or None
    verdict = allowlist.verdict(path)
    if verdict.action is Action.KEEP:
        return value
    report.remove(path, verdict.rule or "not-allowed")
    return None


def _project_identifiers(
    path: str, value: Any, allowlist: CompiledAllowlist, identifiers: IdentifierPolicy, report: Projection
) -> Any:
    """``identifier`` is an array (resources) or one object (references); each element is judged by system."""
    elements = value if isinstance(value, list) else [value]
    kept = []
    for element in elements:
        projected = _project_identifier(path, element, allowlist, identifiers, report)
        if projected is not None:
            kept.append(projected)
    if not kept:
        if not elements:
            report.remove(path, "not-allowed")
        return None
    return kept if isinstance(value, list) else kept[0]


def _project_identifier(
    path: str, element: Any, allowlist: CompiledAllowlist, identifiers: IdentifierPolicy, report: Projection
) -> Any:
    system = element.get("system") if isinstance(element, Mapping) else None
    if not isinstance(system, str):
        return _descend(path, element, allowlist, identifiers, report)
    element_path = f"{path}[{system}]"
    verdict = allowlist.verdict(element_path)
    if verdict.action is Action.DROP:
        report.remove(element_path, verdict.rule or "not-allowed")
        return None
    if system in identifiers.pseudonymise and identifiers.pseudonym is not None:
        return _pseudonym_element(system, str(element.get("value", "")), identifiers.pseudonym)
    if system == NIR and not identifiers.nir_allowed:
        report.remove(element_path, NIR_RULE)
        return None
    if verdict.action is Action.KEEP:
        return element
    kept = {}
    for key, child in element.items():
        child_verdict = allowlist.verdict(f"{element_path}.{key}")
        if child_verdict.action is Action.DROP:
            report.remove(f"{element_path}.{key}", child_verdict.rule or "not-allowed")
        else:
            kept[key] = child
    return kept or None


def _pseudonym_element(system: str, value: str, pseudonym: PseudonymFn) -> dict[str, Any]:
    return {
        "system": PSEUDONYM_SYSTEM,
        "value": pseudonym(system, value),
        "type": {"coding": [{"system": PSEUDONYM_OF_SYSTEM, "code": system}]},
    }


def _holds_identifiers(value: Any) -> bool:
    """A kept subtree still needs the NIR and pseudonym rules if it contains an ``identifier``."""
    if isinstance(value, Mapping):
        return "identifier" in value or any(_holds_identifiers(child) for child in value.values())
    if isinstance(value, list):
        return any(_holds_identifiers(item) for item in value)
    return False


def present_paths(resource: Mapping[str, Any]) -> set[str]:
    """Leaf field paths present in a resource (identifier elements as ``identifier[system]``)."""
    paths: set[str] = set()
    _collect(str(resource.get("resourceType")), resource, paths, top=True)
    return paths


def _collect(path: str, value: Any, paths: set[str], *, top: bool = False) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if top and key in ALWAYS_KEPT:
                continue
            if key == "identifier":
                for element in child if isinstance(child, list) else [child]:
                    system = element.get("system") if isinstance(element, Mapping) else None
                    paths.add(
                        f"{path}.identifier[{system}]" if isinstance(system, str) else f"{path}.identifier"
                    )
                continue
            _collect(f"{path}.{key}", child, paths)
    elif isinstance(value, list):
        for item in value:
            _collect(path, item, paths)
    else:
        paths.add(path)
