"""Static facts about a compiled mapping: the canonical paths it emits, the source paths it reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from gateway.mapping.compiler import ResourceTemplate
from gateway.mapping.expressions import Path
from gateway.mapping.nodes import ConstNode, ListNode, Node, ObjectNode, ValueNode


def emitted_paths(resources: Sequence[ResourceTemplate]) -> frozenset[str]:
    """``Type.dotted.path`` of every leaf the resources can write; identifiers by system."""
    out: set[str] = set()
    for template in resources:
        for assignment in template.assignments:
            _emit(assignment.node, f"{template.resource_type}.{'.'.join(assignment.parts)}", out)
    return frozenset(out)


def _emit(node: Node, path: str, out: set[str]) -> None:
    if isinstance(node, ListNode):
        for child in node.nodes:
            _emit(child, path, out)
    elif isinstance(node, ObjectNode):
        system = next(
            (
                a.node.value
                for a in node.assignments
                if a.parts == ("system",) and isinstance(a.node, ConstNode) and isinstance(a.node.value, str)
            ),
            None,
        )
        if path.endswith(".identifier") and system is not None:
            out.add(f"{path}[{system}]")
            return
        for assignment in node.assignments:
            _emit(assignment.node, f"{path}.{'.'.join(assignment.parts)}", out)
    elif (
        isinstance(node, ValueNode)
        and node.steps
        and node.steps[-1].name == "identifier"
        and node.steps[-1].detail
    ):
        out.add(f"{path}[{node.steps[-1].detail}]" if path.endswith(".identifier") else path)
    else:
        out.add(path)


def read_paths(resources: Sequence[ResourceTemplate]) -> frozenset[Path]:
    """Source paths (from the record root, lists transparent) read by field ``from`` expressions.

    ``when`` conditions and ids do not count: a source field is *used* when its value can land in a
    canonical field, or when a field-level ``foreach`` filter selects items by it.
    """
    out: set[Path] = set()
    for template in resources:
        base: Path | None = template.foreach.result_path(()) if template.foreach else ()
        if base is None:
            continue
        for assignment in template.assignments:
            _reads(assignment.node, base, out)
    return frozenset(out)


def _reads(node: Node, base: Path, out: set[Path]) -> None:
    if isinstance(node, ValueNode):
        out |= node.expr.read_paths(base)
    elif isinstance(node, ListNode):
        for child in node.nodes:
            _reads(child, base, out)
    elif isinstance(node, ObjectNode):
        inner = node.foreach.result_path(base) if node.foreach else base
        if node.foreach is not None:
            out |= node.foreach.selector_reads(base)
        if inner is None:
            return
        for assignment in node.assignments:
            _reads(assignment.node, inner, out)


def leaf_paths(data: Any, prefix: Path = ()) -> Iterator[Path]:
    """Paths of the non-empty scalar leaves of a dict tree (list indices dropped)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaf_paths(value, (*prefix, str(key)))
    elif isinstance(data, list):
        for item in data:
            yield from leaf_paths(item, prefix)
    elif data is not None and data != "":
        yield prefix
