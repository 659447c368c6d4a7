"""Runtime nodes of a compiled mapping: values, constants, references and object builders.

A node evaluates in a scope (the record, a ``foreach`` item, or the reverse Bundle view) and returns a
value, or None when there is nothing to write. Nodes raise :class:`FieldFailure` (field label + rule);
the caller adds the record's location and turns it into a ``SkippableRecordError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any, Protocol

from jmespath.exceptions import JMESPathError

from gateway.mapping.expressions import CONTAINERS, Expression, Roots, truthy
from gateway.mapping.transforms import Step, TransformError

_KEY_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
"""``json.dumps`` with these options builds an encoder at every call; this one is built once."""


class FieldFailure(Exception):
    """A field could not be produced: names the field, the source expression and the rule, not the value."""

    def __init__(self, field_label: str, reason: str) -> None:
        self.field_label = field_label
        self.reason = reason
        super().__init__(f"{field_label}: {reason}")


def unexpected_data(expression: str, error: JMESPathError) -> str:
    """The reason for a JMESPath error met at run time, without its message (which quotes the value)."""
    return f"source {expression!r}: the data has an unexpected type ({type(error).__name__})"


def is_empty(value: Any) -> bool:
    """Null, ``""``, ``[]`` or ``{}`` (``0`` and ``false`` are values)."""
    return value is None or (not value and isinstance(value, CONTAINERS))


def as_items(value: Any) -> list[Any]:
    """A ``foreach`` result as a list: null → [], a single object → [it]."""
    if value is None:
        return []
    if isinstance(value, list):
        return [item for item in value if item is not None]
    return [value]


@dataclass(slots=True)
class RunState:
    """What nodes need during one record: roots for prefixed expressions and the ids for references."""

    roots: Roots
    ids: dict[str, Any] = field(default_factory=dict)
    """Resource template name → id (single instance) or {key: id} (foreach template)."""
    types: Mapping[str, str] = field(default_factory=dict)
    """Resource template name → resourceType."""


class Node(Protocol):
    @property
    def constant(self) -> bool:
        """True for constants: an object made only of constants is dropped."""
        ...

    def evaluate(self, scope: Any, state: RunState) -> Any: ...


def run_steps(steps: Sequence[Step], value: Any) -> Any:
    """Apply transforms in order; an empty value stops the chain unless a step accepts empties."""
    for step in steps:
        if is_empty(value):
            if not step.accepts_empty:
                return None
            value = step.fn(value)
        elif isinstance(value, list) and not step.whole_list:
            out: list[Any] = []
            for item in value:
                if is_empty(item):
                    continue
                result = step.fn(item)
                if isinstance(result, list):
                    out.extend(r for r in result if not is_empty(r))
                elif not is_empty(result):
                    out.append(result)
            value = out
        else:
            value = step.fn(value)
    return value


@dataclass(frozen=True)
class ValueNode:
    label: str
    expr: Expression
    steps: tuple[Step, ...] = ()
    when: Expression | None = None
    default: Any = None
    required: bool = False
    constant: bool = False

    def evaluate(self, scope: Any, state: RunState) -> Any:
        try:
            if self.when is not None and not truthy(self.when.evaluate(scope, state.roots)):
                return None
            value = self.expr.evaluate(scope, state.roots)
        except JMESPathError as exc:  # e.g. join() meeting an object in partner data
            raise FieldFailure(self.label, unexpected_data(self.expr.text, exc)) from None
        if self.steps:
            try:
                value = run_steps(self.steps, value)
            except TransformError as exc:
                raise FieldFailure(self.label, f"source {self.expr.text!r}: {exc}") from None
        if is_empty(value):
            value = self.default
            if self.required and is_empty(value):
                raise FieldFailure(self.label, f"required, but source {self.expr.text!r} gives no value")
        return value


@dataclass(frozen=True)
class ConstNode:
    value: Any
    when: Expression | None = None
    constant: bool = True

    def evaluate(self, scope: Any, state: RunState) -> Any:
        if self.when is not None and not truthy(self.when.evaluate(scope, state.roots)):
            return None
        return self.value


def key_text(key: Any) -> str | None:
    """The text an id key hashes: scalars as text, lists/objects as canonical JSON; None when empty."""
    if is_empty(key):
        return None
    if isinstance(key, str):
        return key
    if isinstance(key, int | float) and not isinstance(key, bool):
        return str(key)
    if isinstance(key, list):
        if all(type(k) is str for k in key):  # the usual [a, b] key: what the encoder writes, directly
            return "[" + ",".join(map(encode_basestring, key)) + "]" if any(key) else None
        if all(is_empty(k) for k in key):
            return None
    return _KEY_JSON.encode(key)


@dataclass(frozen=True)
class ListNode:
    """Several specs appended to the same list (``identifier[]: [{…NIR…}, {…matricule…}]``)."""

    nodes: tuple[Node, ...]

    @property
    def constant(self) -> bool:
        return all(node.constant for node in self.nodes)

    def evaluate(self, scope: Any, state: RunState) -> Any:
        out: list[Any] = []
        for node in self.nodes:
            value = node.evaluate(scope, state)
            if isinstance(value, list):
                out.extend(value)
            elif not is_empty(value):
                out.append(value)
        return out


@dataclass(frozen=True)
class RefNode:
    label: str
    target: str
    key: Expression | None = None
    when: Expression | None = None
    constant: bool = False

    def evaluate(self, scope: Any, state: RunState) -> Any:
        if self.when is not None and not truthy(self.when.evaluate(scope, state.roots)):
            return None
        ids = state.ids.get(self.target)
        if ids is None:
            return None
        if isinstance(ids, str):
            target_id: Any = ids
        elif self.key is not None:
            text = key_text(self.key.evaluate(scope, state.roots))
            target_id = ids.get(text) if isinstance(ids, dict) and text is not None else None
        else:
            target_id = None
        if not isinstance(target_id, str):
            return None
        return {"reference": f"{state.types[self.target]}/{target_id}"}


@dataclass(frozen=True)
class Assignment:
    """Write a node's value at ``parts`` (appending when ``append``)."""

    parts: tuple[str, ...]
    append: bool
    node: Node
    parents: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """``parts`` but the last: the objects to walk (or create) before writing."""
    last: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parents", self.parts[:-1])
        object.__setattr__(self, "last", self.parts[-1])


@dataclass(frozen=True)
class ObjectNode:
    assignments: tuple[Assignment, ...]
    foreach: Expression | None = None
    when: Expression | None = None
    constant: bool = False
    fill: Callable[[dict[str, Any], Any, RunState], bool] = field(init=False, repr=False, compare=False)
    """The assignments compiled (``fill.compile_fill``)."""

    def __post_init__(self) -> None:
        from gateway.mapping.fill import compile_fill  # fill builds on this module's nodes

        object.__setattr__(self, "fill", compile_fill(self.assignments))

    def evaluate(self, scope: Any, state: RunState) -> Any:
        if self.when is not None and not truthy(self.when.evaluate(scope, state.roots)):
            return None
        if self.foreach is None:
            return self._build(scope, state)
        built = (self._build(item, state) for item in as_items(self.foreach.evaluate(scope, state.roots)))
        return [obj for obj in built if obj is not None]

    def _build(self, scope: Any, state: RunState) -> dict[str, Any] | None:
        """A new object of the assignments; None when no non-constant field has a value."""
        out: dict[str, Any] = {}
        return out if self.fill(out, scope, state) else None
