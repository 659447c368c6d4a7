"""Assignments compiled to one Python function per object: evaluate each field, write it at its path.

``fill(out, scope, state) -> bool`` does what the loop ``for a in assignments: value = a.node.evaluate(…);
if not is_empty(value): write(out, a, value)`` does, and returns whether a non-constant field had a value
(an object made of constants only is dropped). Generated once per object of a spec, it runs several
times per record: the loop, the ``write`` calls and the emptiness tests cost as much as the fields'
expressions did.

The generated source holds no text of the spec but field names, written as Python literals (``repr``);
nodes are passed in as arguments, never spelled out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jmespath.exceptions import JMESPathError

from gateway.mapping.expressions import CONTAINERS
from gateway.mapping.nodes import (
    Assignment,
    ConstNode,
    FieldFailure,
    Node,
    RunState,
    ValueNode,
    is_empty,
    unexpected_data,
)

Fill = Callable[[dict[str, Any], Any, RunState], bool]


def compile_fill(assignments: Sequence[Assignment]) -> Fill:
    """The fill function of ``assignments`` (see the module docstring)."""
    lines = ["def fill(out, scope, state):", "    meaningful = False", "    roots = state.roots"]
    namespace: dict[str, Any] = {
        "CONTAINERS": CONTAINERS,
        "is_empty": is_empty,
        "JMESPathError": JMESPathError,
        "FieldFailure": FieldFailure,
        "unexpected_data": unexpected_data,
    }
    for index, assignment in enumerate(assignments):
        lines.extend(f"    {line}" for line in _evaluate(assignment.node, index, namespace))
        lines.append("    if value is not None and (value or not isinstance(value, CONTAINERS)):")
        lines.extend(f"        {line}" for line in _write(assignment))
        if not assignment.node.constant:
            lines.append("        meaningful = True")
    lines.append("    return meaningful")
    exec(compile("\n".join(lines), "<mapping fill>", "exec"), namespace)  # noqa: S102  # see docstring
    fill: Fill = namespace["fill"]
    return fill


def _evaluate(node: Node, index: int, namespace: dict[str, Any]) -> list[str]:
    """Lines setting ``value``: the node's ``evaluate``, inlined for the plain cases (a bare expression,
    a constant without condition) that make most fields."""
    if isinstance(node, ValueNode) and not (
        node.when or node.steps or node.required or node.default is not None
    ):
        namespace[f"expression_{index}"] = node.expr.evaluate
        namespace[f"label_{index}"] = node.label
        namespace[f"text_{index}"] = node.expr.text
        return [
            "try:",
            f"    value = expression_{index}(scope, roots)",
            "except JMESPathError as error:",
            f"    raise FieldFailure(label_{index}, unexpected_data(text_{index}, error)) from None",
        ]
    if isinstance(node, ConstNode) and node.when is None:
        namespace[f"constant_{index}"] = node.value
        return [f"value = constant_{index}"]
    namespace[f"evaluate_{index}"] = node.evaluate
    return [f"value = evaluate_{index}(scope, state)"]


def _write(assignment: Assignment) -> list[str]:
    """``nodes.write`` for one path: parents created as objects, lists without their empty items."""
    lines = ["target = out"]
    for part in assignment.parents:
        lines += [
            f"child = target.get({part!r})",
            "if not isinstance(child, dict):",
            f"    child = target[{part!r}] = {{}}",
            "target = child",
        ]
    last = repr(assignment.last)
    if assignment.append:
        store = [
            f"items = target.get({last})",
            "if not isinstance(items, list):",
            f"    items = target[{last}] = []",
            "if isinstance(value, list):",
            "    items.extend(value)",
            "else:",
            "    items.append(value)",
        ]
    else:
        store = [f"target[{last}] = value"]
    return [
        *lines,
        "if isinstance(value, list):",
        "    value = [item for item in value if not is_empty(item)]",
        "if not isinstance(value, list) or value:",
        *(f"    {line}" for line in store),
    ]
