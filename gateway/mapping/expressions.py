"""JMESPath expressions of mapping specs, compiled once.

Three things beyond plain ``jmespath.compile``:

- root prefixes: ``$record.x`` / ``$context.x`` / ``$view.x`` evaluate ``x`` on another root than the
  current scope (JMESPath has no variables);
- a fast path: simple field chains (``a.b."c.d"``) become dict look-ups, several times faster than the
  JMESPath interpreter, which matters at tens of thousands of records per second;
- static analysis of the source paths an expression reads (for the coverage check).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jmespath import functions as jp_functions
from jmespath.exceptions import JMESPathError

Path = tuple[str, ...]

_ROOT_PREFIX = re.compile(r"^\$(record|context|view)(?:\.(.+))?$", re.DOTALL)

REFERENCE_INDEX: ContextVar[Mapping[str, Any] | None] = ContextVar("mapping_reference_index", default=None)
"""Resources of the Bundle being reversed, by "Type/id": what ``resolve()`` looks up."""


class _GatewayFunctions(jp_functions.Functions):
    """Custom JMESPath functions: safe, side-effect free helpers written in Python."""

    @jp_functions.signature({"types": ["object", "null"]})
    def _func_resolve(self, reference: Any) -> Any:
        if not isinstance(reference, Mapping):
            return None
        target, index = reference.get("reference"), REFERENCE_INDEX.get()
        return index.get(target) if isinstance(target, str) and index is not None else None


_OPTIONS = jmespath.Options(custom_functions=_GatewayFunctions())


@dataclass(frozen=True, slots=True)
class Roots:
    """The roots a prefixed expression can reach."""

    record: Any = None
    context: Any = None
    view: Any = None


class ExpressionError(ValueError):
    """An expression does not compile (message names the problem, never data)."""


@dataclass(frozen=True)
class Expression:
    """A compiled expression: ``evaluate(scope, roots)``."""

    text: str
    root: str | None
    """None (current scope), "record", "context" or "view"."""
    ast: Mapping[str, Any] | None
    simple_path: Path | None
    """The field chain when the expression is one (fast path)."""
    _search: Callable[[Any], Any] = field(repr=False, compare=False)

    def evaluate(self, scope: Any, roots: Roots) -> Any:
        if self.root is None:
            return self._search(scope)
        return self._search(getattr(roots, self.root))

    def read_paths(self, base: Path | None) -> set[Path]:
        """Source paths (relative to the record root) this expression reads, given the scope's path."""
        if self.root == "record":
            base = ()
        elif self.root is not None:
            return set()
        if self.ast is None:
            return {base} if base is not None else set()
        reads, out = _walk(self.ast, base)
        if out is not None:
            reads.add(out)
        return reads

    def selector_reads(self, base: Path | None) -> set[Path]:
        """Paths a selector reads to choose items (filter conditions), its result excluded."""
        if self.ast is None or self.root not in (None, "record"):
            return set()
        return _walk(self.ast, () if self.root == "record" else base)[0]

    def result_path(self, base: Path | None) -> Path | None:
        """Path of the data the expression returns (for foreach scopes), if it is a record subtree."""
        if self.root == "record":
            base = ()
        elif self.root is not None:
            return None
        if self.ast is None:
            return base
        return _walk(self.ast, base)[1]


def compile_expression(text: str) -> Expression:
    """Compile ``text``; raises ExpressionError with JMESPath's message on a syntax error."""
    root: str | None = None
    body: str | None = text
    match = _ROOT_PREFIX.match(text.strip())
    if match:
        root, body = match.group(1), match.group(2)
    if body is None:
        return Expression(text, root, None, (), lambda data: data)
    try:
        parsed = jmespath.compile(body)
    except JMESPathError as exc:
        raise ExpressionError(f"invalid JMESPath expression {text!r}: {exc}") from exc
    ast: Mapping[str, Any] = parsed.parsed
    chain = _field_chain(ast)
    if chain is not None:
        return Expression(text, root, ast, chain, _getter(chain))
    fast = _fast(ast)
    if fast is not None:
        return Expression(text, root, ast, None, fast)

    def search(data: Any) -> Any:
        return parsed.search(data, options=_OPTIONS)

    return Expression(text, root, ast, None, search)


def _truthy(value: Any) -> bool:
    return not (value is None or value is False or (isinstance(value, str | list | dict) and not value))


def _equal(left: Any, right: Any) -> bool:
    """JMESPath equality: booleans never equal numbers (Python says ``1 == True``)."""
    return isinstance(left, bool) == isinstance(right, bool) and bool(left == right)


def _fast(node: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    """Closures for the common shapes (literals, ``a || b``, ``[a, b]``, ``a == 'x'``), same semantics
    as the JMESPath interpreter; None for anything else (the interpreter then does the work)."""
    kind = node["type"]
    chain = _field_chain(node)
    if chain is not None:
        return _getter(chain)
    if kind == "literal":
        constant = node["value"]
        return lambda data: constant
    children = [_fast(child) for child in node.get("children", [])]
    if any(child is None for child in children) or not children:
        return None
    parts: list[Callable[[Any], Any]] = [c for c in children if c is not None]
    if kind == "or_expression":
        left, right = parts

        def either(data: Any) -> Any:
            value = left(data)
            return value if _truthy(value) else right(data)

        return either
    if kind == "multi_select_list":
        return lambda data: None if data is None else [part(data) for part in parts]
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        left, right = parts
        if node["value"] == "eq":
            return lambda data: _equal(left(data), right(data))
        return lambda data: not _equal(left(data), right(data))
    return None


def _field_chain(node: Mapping[str, Any]) -> Path | None:
    kind = node["type"]
    if kind == "field":
        return (str(node["value"]),)
    if kind == "subexpression":
        parts: list[str] = []
        for child in node["children"]:
            sub = _field_chain(child)
            if sub is None:
                return None
            parts.extend(sub)
        return tuple(parts)
    return None


def _getter(chain: Path) -> Callable[[Any], Any]:
    if len(chain) == 1:
        (key,) = chain

        def get_one(data: Any) -> Any:
            return data.get(key) if isinstance(data, Mapping) else None

        return get_one

    def get_chain(data: Any) -> Any:
        for key in chain:
            if not isinstance(data, Mapping):
                return None
            data = data.get(key)
        return data

    return get_chain


def _walk(node: Mapping[str, Any], base: Path | None) -> tuple[set[Path], Path | None]:
    """(paths read, path of the result) for a JMESPath AST node evaluated at ``base``.

    Lists are transparent in paths (``a[].b`` reads ``a.b``). Conditions read what they compare.
    The analysis is conservative where it cannot follow (functions, multi-selects): each argument's
    result path counts as read.
    """
    kind = node["type"]
    children: list[Mapping[str, Any]] = [c for c in node.get("children", []) if isinstance(c, Mapping)]
    if kind == "field":
        return set(), (*base, str(node["value"])) if base is not None else None
    if kind in ("current", "identity"):
        return set(), base
    if kind == "literal" or kind in ("index", "slice"):
        return set(), None
    if kind in ("subexpression", "pipe", "index_expression"):
        chain_reads: set[Path] = set()
        chain_out = base
        for child in children:
            child_reads, chain_out = _walk(child, chain_out)
            chain_reads |= child_reads
        return chain_reads, chain_out
    if kind in ("projection", "filter_projection"):
        left_reads, left_out = _walk(children[0], base)
        reads = set(left_reads)
        out: Path | None = left_out
        if len(children) > 1:
            right_reads, out = _walk(children[1], left_out)
            reads |= right_reads
        if kind == "filter_projection" and len(children) > 2:
            cond_reads, cond_out = _walk(children[2], left_out)
            reads |= cond_reads
            if cond_out is not None:
                reads.add(cond_out)
        return reads, out
    if kind == "flatten":
        return _walk(children[0], base) if children else (set(), base)
    reads = set()
    for child in children:
        child_reads, child_out = _walk(child, base)
        reads |= child_reads
        if child_out is not None:
            reads.add(child_out)
    return reads, None
