"""Project one resource onto a flow's allowlist: copy what is allowed, report what was removed.

The input is never modified. Removed nodes are reported by field path (names, never values), at the
highest node removed, with the rule suffix that removed them. The leaf field paths of what is kept are
gathered on the way (``Projection.fields``, as ``present_paths`` names them), so that the decision need
not walk its result again.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.model.identifiers import NIR
from gateway.policy.paths import Action, CompiledAllowlist, PathNode

ALWAYS_KEPT = frozenset({"resourceType", "id", "meta"})
"""Structure every receiver gets: the type, the bundle-local id (references) and meta (security labels)."""
PSEUDONYM_SYSTEM = "urn:fr:reseau-emploi:pseudonym"
PSEUDONYM_OF_SYSTEM = "urn:fr:reseau-emploi:pseudonym-of"
NIR_RULE = "nir-not-allowed"

PseudonymFn = Callable[[str, str], str]
_SCALARS = (str, int, float, type(None))
"""JSON leaves, tested first: cheaper than the ``Mapping`` check they would fail anyway."""
MAPPINGS = (dict, Mapping)
"""For ``isinstance``: the exact ``dict`` check is several times cheaper than the ``Mapping`` ABC's."""
KEEP, DROP = Action.KEEP, Action.DROP


@dataclass
class Projection:
    removed: dict[str, str] = field(default_factory=dict)
    """field path → rule suffix (first rule that removed it)."""
    fields: list[str] = field(default_factory=list)
    """Leaf field paths of the projected resources, with repeats (see ``present_paths``)."""

    def remove(self, path: str, rule: str) -> None:
        self.removed.setdefault(path, rule)

    def detached(self) -> Projection:
        """Same removals, fields gathered apart (an identifier element is named by its system only)."""
        return Projection(self.removed)


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
    root = allowlist.root(str(resource.get("resourceType")))
    result: dict[str, Any] = {key: resource[key] for key in ALWAYS_KEPT if key in resource}
    for key, value in resource.items():
        if key in ALWAYS_KEPT:
            continue
        kept = _project_member(key, value, root[key], identifiers, report)
        if kept is not None:
            result[key] = kept
    return result


def _project_member(
    key: str, value: Any, node: PathNode, identifiers: IdentifierPolicy, report: Projection
) -> Any:
    if key == "identifier":
        return _project_identifiers(node, value, identifiers, report)
    action = node.action
    if action is DROP:
        report.remove(node.path, node.rule)
        return None
    if action is KEEP:
        # Copied as is, unless an ``identifier`` inside still needs the NIR and pseudonym rules.
        fields = report.fields
        if isinstance(value, _SCALARS):
            if value is not None:
                fields.append(node.path)
            return value
        mark = len(fields)
        if _plain_leaves(node, value, fields):
            return value
        del fields[mark:]
    return _descend(node, value, identifiers, report)


def _plain_leaves(node: PathNode, value: Any, leaves: list[str]) -> bool:
    """Append the leaf paths of a subtree; False (and stop) as soon as it holds an ``identifier``."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, _SCALARS):  # most items and children: no call
                leaves.append(node.path)
            elif not _plain_leaves(node, item, leaves):
                return False
        return True
    if isinstance(value, MAPPINGS):
        if "identifier" in value:
            return False
        for key, child in value.items():
            if isinstance(child, _SCALARS):
                leaves.append(node[key].path)
            elif not _plain_leaves(node[key], child, leaves):
                return False
        return True
    leaves.append(node.path)
    return True


def _descend(node: PathNode, value: Any, identifiers: IdentifierPolicy, report: Projection) -> Any:
    """Children of a partly allowed node (arrays transparent); scalars cannot be partly allowed."""
    if not isinstance(value, _SCALARS):
        if isinstance(value, list):
            items = [_descend(node, item, identifiers, report) for item in value]
            return [item for item in items if item is not None] or None
        if isinstance(value, MAPPINGS):
            kept = {}
            for key, child in value.items():
                projected = _project_member(key, child, node[key], identifiers, report)
                if projected is not None:
                    kept[key] = projected
            return kept or None
    if node.action is KEEP:
        if value is not None:
            report.fields.append(node.path)
        return value
    report.remove(node.path, node.rule)
    return None


def _project_identifiers(
    node: PathNode, value: Any, identifiers: IdentifierPolicy, report: Projection
) -> Any:
    """``identifier`` is an array (resources) or one object (references); each element is judged by system."""
    elements = value if isinstance(value, list) else [value]
    kept = []
    for element in elements:
        projected = _project_identifier(node, element, identifiers, report)
        if projected is not None:
            kept.append(projected)
            report.fields.append(_element_path(node.path, projected))
    if not kept:
        if not elements:
            report.remove(node.path, "not-allowed")
        return None
    if not isinstance(value, list):
        return kept[0]
    # Every element kept as it was: the array itself travels, one object less to allocate.
    return value if len(kept) == len(value) and all(map(operator.is_, kept, value)) else kept


def _project_identifier(
    node: PathNode, element: Any, identifiers: IdentifierPolicy, report: Projection
) -> Any:
    system = element.get("system") if isinstance(element, MAPPINGS) else None
    if not isinstance(system, str):
        return _descend(node, element, identifiers, report.detached())
    element_node = node.element(system)
    if element_node.action is DROP:
        report.remove(element_node.path, element_node.rule)
        return None
    if system in identifiers.pseudonymise and identifiers.pseudonym is not None:
        return _pseudonym_element(system, str(element.get("value", "")), identifiers.pseudonym)
    if system == NIR and not identifiers.nir_allowed:
        report.remove(element_node.path, NIR_RULE)
        return None
    if element_node.action is KEEP:
        return element
    kept = {}
    for key, child in element.items():
        child_node = element_node[key]
        if child_node.action is DROP:
            report.remove(child_node.path, child_node.rule)
        else:
            kept[key] = child
    return kept or None


def _element_path(path: str, element: Any) -> str:
    """``<path>[<system>]``, or ``<path>`` for an element without a system."""
    system = element.get("system") if isinstance(element, MAPPINGS) else None
    return f"{path}[{system}]" if isinstance(system, str) else path


def _pseudonym_element(system: str, value: str, pseudonym: PseudonymFn) -> dict[str, Any]:
    return {
        "system": PSEUDONYM_SYSTEM,
        "value": pseudonym(system, value),
        "type": {"coding": [{"system": PSEUDONYM_OF_SYSTEM, "code": system}]},
    }


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
                    paths.add(_element_path(f"{path}.identifier", element))
                continue
            _collect(f"{path}.{key}", child, paths)
    elif isinstance(value, list):
        for item in value:
            _collect(path, item, paths)
    else:
        paths.add(path)
