"""JMESPath expressions of mapping specs, compiled once.

Three things beyond plain ``jmespath.compile``:

- roots: ``$record`` / ``$context`` / ``$view`` are tokens of the expression language itself, usable
  anywhere an expression is (``[$record.siret, id]``, ``join('', [$context.a, b])``,
  ``items[?code == $record.code]``). The lexer turns them into a ``root`` AST node (so quoted literals such as
  ``'$record'`` are never touched) and the interpreter evaluates that node to the root (JMESPath has no
  variables);
- a fast path: every expression but those holding an expression reference (``&a``) becomes a tree of
  Python closures with the semantics of JMESPath's interpreter, several times faster than its visitor,
  which matters at tens of thousands of records per second (``interpreted`` is the reference the tests
  compare them with);
- static analysis of the source paths an expression reads (for the coverage check).

Custom functions (``_GatewayFunctions``): ``resolve(reference)``, and date helpers for conditions
(``to_iso_date``, ``days_between``, ``months_between``, ``add_days``) that take token formats
(:mod:`gateway.mapping.dates`) and give null on empty or unparsable values.
"""

from __future__ import annotations

import calendar
import datetime as dt
import operator
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from numbers import Number
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from jmespath import functions as jp_functions
from jmespath import lexer as jp_lexer
from jmespath import parser as jp_parser
from jmespath import visitor as jp_visitor
from jmespath.exceptions import JMESPathError, LexerError, ParseError

from gateway.mapping.dates import DateFormat, DateFormatError, compile_format

Path = tuple[str, ...]
Fast = Callable[[Any, "Roots"], Any]

ROOT_NAMES = ("record", "context", "view")
"""``$record``: the record data; ``$context``: the record's context; ``$view``: the reverse Bundle view."""
_ROOT_TOKEN = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?")
_DATE_FUNCTIONS = {"to_iso_date": 1, "days_between": 2, "months_between": 2, "add_days": 2}
"""Date functions → index of their format argument (checked at load when it is a literal)."""
_ZONE = ZoneInfo("Europe/Paris")

REFERENCE_INDEX: ContextVar[Mapping[str, Any] | None] = ContextVar("mapping_reference_index", default=None)
"""Resources of the Bundle being reversed, by "Type/id": what ``resolve()`` looks up."""


@lru_cache(maxsize=256)
def _date_format(text: str) -> DateFormat:
    return compile_format(text)


def _parse_date(value: Any, fmt: str) -> dt.date | None:
    """A date from ``value`` written in token format ``fmt`` (``ISO`` accepted); None if empty or invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        date_format = _date_format(fmt)
        moment = date_format.parse(value)
    except (DateFormatError, ValueError):
        return None
    if not date_format.has_date:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(_ZONE)
    return moment.date()


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (negative when ``end`` is before ``start``).

    A month is complete when ``end`` reaches the day-of-month of ``start``, or the last day of a month
    too short to have it (31 January → 28 February is one month).
    """
    if end < start:
        return -months_between(end, start)
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < min(start.day, calendar.monthrange(end.year, end.month)[1]):
        months -= 1
    return months


_DATE_ARG: Any = {"types": ["string", "null"]}
_FORMAT_ARG: Any = {"types": ["string"]}


class _GatewayFunctions(jp_functions.Functions):
    """Custom JMESPath functions: safe, side-effect free helpers written in Python."""

    @jp_functions.signature({"types": ["object", "null"]})
    def _func_resolve(self, reference: Any) -> Any:
        if not isinstance(reference, Mapping):
            return None
        target, index = reference.get("reference"), REFERENCE_INDEX.get()
        return index.get(target) if isinstance(target, str) and index is not None else None

    @jp_functions.signature(_DATE_ARG, _FORMAT_ARG)
    def _func_to_iso_date(self, value: Any, fmt: str) -> Any:
        day = _parse_date(value, fmt)
        return day.isoformat() if day is not None else None

    @jp_functions.signature(_DATE_ARG, _DATE_ARG, _FORMAT_ARG)
    def _func_days_between(self, start: Any, end: Any, fmt: str) -> Any:
        first, last = _parse_date(start, fmt), _parse_date(end, fmt)
        return (last - first).days if first is not None and last is not None else None

    @jp_functions.signature(_DATE_ARG, _DATE_ARG, _FORMAT_ARG)
    def _func_months_between(self, start: Any, end: Any, fmt: str) -> Any:
        first, last = _parse_date(start, fmt), _parse_date(end, fmt)
        return months_between(first, last) if first is not None and last is not None else None

    @jp_functions.signature(_DATE_ARG, {"types": ["number"]}, _FORMAT_ARG)
    def _func_add_days(self, value: Any, days: Any, fmt: str) -> Any:
        day = _parse_date(value, fmt)
        if day is None or isinstance(days, bool) or int(days) != days:
            return None
        try:
            moved = day + dt.timedelta(days=int(days))
            return _date_format(fmt).format(moved)
        except (OverflowError, ValueError):
            return None


_FUNCTIONS = _GatewayFunctions()
_OPTIONS = jp_visitor.Options(custom_functions=_FUNCTIONS)


@dataclass(frozen=True, slots=True)
class Roots:
    """The roots ``$record``, ``$context`` and ``$view`` evaluate to."""

    record: Any = None
    context: Any = None
    view: Any = None


class ExpressionError(ValueError):
    """An expression does not compile (message names the problem, never data)."""


# ------------------------------------------------------------------------------------ parsing


def _tokens(expression: str) -> list[dict[str, Any]]:
    """JMESPath tokens plus ``root`` tokens for ``$name``.

    The stock lexer stops with an error on ``$``, and only outside literals and quoted identifiers (it reads
    those whole), so a ``$`` it stops on is a root: emit a ``root`` token and lex the rest.
    """
    tokens: list[dict[str, Any]] = []
    offset = 0
    while True:
        if offset >= len(expression):
            tokens.append({"type": "eof", "value": "", "start": offset, "end": offset})
            return tokens
        try:
            for token in jp_lexer.Lexer().tokenize(expression[offset:]):
                tokens.append({**token, "start": token["start"] + offset, "end": token["end"] + offset})
            return tokens
        except LexerError as exc:
            position = offset + int(exc.lexer_position)
            if expression[position : position + 1] != "$":
                exc.lexer_position = position
                raise
            match = _ROOT_TOKEN.match(expression, position)
            name = match.group(1) if match else None
            if name not in ROOT_NAMES:
                known = ", ".join(f"${root}" for root in ROOT_NAMES)
                raise LexerError(
                    lexer_position=position,
                    lexer_value="$" + (name or ""),
                    message=f"unknown root '${name or ''}' (known: {known})",
                ) from None
            assert match is not None
            tokens.append({"type": "root", "value": name, "start": position, "end": match.end()})
            offset = match.end()


class _Parser(jp_parser.Parser):
    """JMESPath's parser with ``root`` tokens as primary expressions (its private parts are untyped)."""

    BINDING_POWER: ClassVar[dict[str, int]] = {**jp_parser.Parser.BINDING_POWER, "root": 0}
    _CACHE: ClassVar[dict[str, Any]] = {}

    def _parse(self, expression: str) -> Any:
        engine: Any = self
        engine._tokens = _tokens(expression)
        engine._index = 0
        parsed = engine._expression(binding_power=0)
        if engine._current_token() != "eof":
            token = engine._lookahead_token(0)
            message = f"Unexpected token: {token['value']}"
            raise ParseError(token["start"], token["value"], token["type"], message)
        return parsed

    def _token_nud_root(self, token: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "root", "value": token["value"], "children": []}


class _Interpreter(jp_visitor.TreeInterpreter):
    """JMESPath's interpreter, knowing the roots of one evaluation."""

    def __init__(self, roots: Roots) -> None:
        super().__init__(_OPTIONS)
        self._roots = roots

    def visit_root(self, node: Mapping[str, Any], value: Any) -> Any:
        return getattr(self._roots, node["value"])


def parse(text: str) -> Mapping[str, Any]:
    """The AST of ``text``; ExpressionError with JMESPath's message on a syntax error."""
    if not text.strip():
        raise ExpressionError("empty expression")
    parser: Any = _Parser()
    try:
        ast: Mapping[str, Any] = parser._do_parse(text)
    except JMESPathError as exc:
        raise ExpressionError(f"invalid JMESPath expression {text!r}: {exc}") from None
    _check_calls(ast, text)
    return ast


def _check_calls(node: Mapping[str, Any], text: str) -> None:
    """Unknown functions, and literal formats of the date functions, are load-time errors."""
    if node["type"] == "function_expression":
        name = node["value"]
        if name not in _FUNCTIONS.FUNCTION_TABLE:
            raise ExpressionError(f"unknown function {name}() in {text!r}")
        position = _DATE_FUNCTIONS.get(name)
        args = node["children"]
        if position is not None and len(args) > position and args[position]["type"] == "literal":
            fmt = args[position]["value"]
            try:
                if not isinstance(fmt, str) or not _date_format(fmt).has_date:
                    raise ValueError(f"{name}() needs a date format (a string with a date part)")
            except ValueError as exc:
                raise ExpressionError(f"{exc} in {text!r}") from None
    for child in node.get("children", ()):
        if isinstance(child, Mapping):
            _check_calls(child, text)


# ------------------------------------------------------------------------------------ expressions


@dataclass(frozen=True)
class Expression:
    """A compiled expression: ``evaluate(scope, roots)``."""

    text: str
    ast: Mapping[str, Any]
    simple_path: Path | None
    """The field chain when the expression is one, from the current scope (fast path, auto-reverse)."""
    roots: frozenset[str]
    """The roots the expression uses (``record``, ``context``, ``view``)."""
    evaluate: Fast = field(repr=False, compare=False)
    """``evaluate(scope, roots)``: the compiled closure itself (no method call in between)."""

    def read_paths(self, base: Path | None) -> set[Path]:
        """Source paths (relative to the record root) this expression reads, given the scope's path."""
        reads, out = _walk(self.ast, base)
        if out is not None:
            reads.add(out)
        return reads

    def selector_reads(self, base: Path | None) -> set[Path]:
        """Paths a selector reads to choose items (filter conditions), its result excluded."""
        return _walk(self.ast, base)[0]

    def result_path(self, base: Path | None) -> Path | None:
        """Path of the data the expression returns (for foreach scopes), if it is a record subtree."""
        return _walk(self.ast, base)[1]


def compile_expression(text: str) -> Expression:
    """Compile ``text``; raises ExpressionError with JMESPath's message on a syntax error."""
    ast = parse(text)
    search = _fast(ast) or interpreted(ast)
    return Expression(text, ast, _field_chain(ast), frozenset(_roots_of(ast)), search)


def interpreted(ast: Mapping[str, Any]) -> Fast:
    """``ast`` evaluated by the JMESPath interpreter: for expression references, and the reference the
    closures are tested against."""
    tree: Any = ast

    def search(data: Any, roots: Roots) -> Any:
        return _Interpreter(roots).visit(tree, data)

    return search


def _roots_of(node: Mapping[str, Any]) -> set[str]:
    found = {str(node["value"])} if node["type"] == "root" else set()
    for child in node.get("children", ()):
        if isinstance(child, Mapping):
            found |= _roots_of(child)
    return found


CONTAINERS = (str, list, dict)
"""The types that can be empty. A constant tuple: ``isinstance(x, str | list | dict)`` would build the union
at every call."""


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null and empty strings/lists/objects are false (0 is true). The
    interpreter compares with ``''``, ``[]`` and ``{}`` instead: the same on the JSON-like values mapped."""
    return not (value is None or value is False or (not value and isinstance(value, CONTAINERS)))


def _equal(left: Any, right: Any) -> bool:
    """JMESPath equality: booleans never equal numbers (Python says ``1 == True``)."""
    return isinstance(left, bool) == isinstance(right, bool) and bool(left == right)


def _is_number(value: Any) -> bool:
    """A JMESPath number: booleans are not numbers (Python says they are ints)."""
    return not isinstance(value, bool) and isinstance(value, Number)


def _comparable(value: Any) -> bool:
    """What JMESPath's ordering comparators accept: numbers and strings."""
    return isinstance(value, str) or _is_number(value)


_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "lt": operator.lt,
    "gt": operator.gt,
    "lte": operator.le,
    "gte": operator.ge,
}

Builder = Callable[[Mapping[str, Any], list[Fast]], Fast]
"""(AST node, closures of its child nodes) → closure of the node."""


def _fast(node: Mapping[str, Any]) -> Fast | None:
    """A closure computing ``node`` exactly as JMESPath's TreeInterpreter does (one Python call per node
    instead of a visitor dispatch); None when the tree holds an expression reference (``&a``, for
    ``sort_by``-like functions), which only the interpreter evaluates."""
    chain = _field_chain(node)
    if chain is not None:
        return _getter(chain)
    build = _BUILDERS.get(node["type"])
    if build is None:
        return None
    parts: list[Fast] = []
    for child in node.get("children", ()):
        if isinstance(child, Mapping):  # slice bounds are plain integers
            part = _fast(child)
            if part is None:
                return None
            parts.append(part)
    return build(node, parts)


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


def _getter(chain: Path) -> Fast:
    """``a.b.c``: None as soon as a step is not an object (JMESPath's ``visit_field``)."""
    if len(chain) == 1:
        (key,) = chain

        def get_one(data: Any, roots: Roots) -> Any:
            if data.__class__ is dict:  # the common cases first: the ABC check is slow
                return data.get(key)
            if data is None:
                return None
            return data.get(key) if isinstance(data, Mapping) else None

        return get_one

    def get_chain(data: Any, roots: Roots) -> Any:
        for key in chain:
            if data.__class__ is not dict and (data is None or not isinstance(data, Mapping)):
                return None
            data = data.get(key)
        return data

    return get_chain


def _root(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    name = str(node["value"])
    return lambda data, roots: getattr(roots, name)


def _literal(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    constant = node["value"]
    return lambda data, roots: constant


def _current(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    return lambda data, roots: data


def _sequence(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    """``a.b``, ``a | b``, ``a[0]``: each part applies to the result of the previous one."""
    children = node["children"]
    if node["type"] == "subexpression" and children[0]["type"] == "root":
        rest = [_field_chain(child) for child in children[1:]]
        if all(path is not None for path in rest):  # $record.a.b
            name = str(children[0]["value"])
            get = _getter(tuple(key for path in rest if path is not None for key in path))
            return lambda data, roots: get(getattr(roots, name), roots)
    if len(parts) == 2:
        first, second = parts
        return lambda data, roots: second(first(data, roots), roots)

    def chained(data: Any, roots: Roots) -> Any:
        for part in parts:
            data = part(data, roots)
        return data

    return chained


def _index(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    position: int = node["value"]

    def index(data: Any, roots: Roots) -> Any:
        if isinstance(data, list) and -len(data) <= position < len(data):
            return data[position]
        return None

    return index


def _slice(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    bounds = slice(*node["children"])
    return lambda data, roots: data[bounds] if isinstance(data, list) else None


def _flatten(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    (base,) = parts

    def flatten(data: Any, roots: Roots) -> Any:
        items = base(data, roots)
        if not isinstance(items, list):
            return None
        merged: list[Any] = []
        for item in items:
            if isinstance(item, list):
                merged.extend(item)
            else:
                merged.append(item)
        return merged

    return flatten


def _projection(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    base, each = parts

    def project(data: Any, roots: Roots) -> Any:
        items = base(data, roots)
        if not isinstance(items, list):
            return None
        return [value for value in (each(item, roots) for item in items) if value is not None]

    return project


def _value_projection(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    base, each = parts

    def project(data: Any, roots: Roots) -> Any:
        found = base(data, roots)
        try:
            items = found.values()
        except AttributeError:
            return None
        return [value for value in (each(item, roots) for item in items) if value is not None]

    return project


def _filter_projection(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    base, each, condition = parts

    def select(data: Any, roots: Roots) -> Any:
        items = base(data, roots)
        if not isinstance(items, list):
            return None
        selected: list[Any] = []
        for item in items:
            if truthy(condition(item, roots)):
                value = each(item, roots)
                if value is not None:
                    selected.append(value)
        return selected

    return select


def _multi_select_list(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    return lambda data, roots: None if data is None else [part(data, roots) for part in parts]


def _multi_select_dict(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    keys = [child["value"] for child in node["children"]]
    pairs = list(zip(keys, parts, strict=True))
    return lambda data, roots: None if data is None else {key: part(data, roots) for key, part in pairs}


def _key_val_pair(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    return parts[0]


def _or(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    left, right = parts

    def either(data: Any, roots: Roots) -> Any:
        value = left(data, roots)
        return value if truthy(value) else right(data, roots)

    return either


def _and(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    left, right = parts

    def both(data: Any, roots: Roots) -> Any:
        value = left(data, roots)
        return right(data, roots) if truthy(value) else value

    return both


def _not(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    (operand,) = parts

    def negate(data: Any, roots: Roots) -> Any:
        value = operand(data, roots)
        if _is_number(value) and value == 0:
            return False  # JMESPath: 0 is true, so !0 is false
        return not value

    return negate


def _comparator(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    left, right = parts
    kind = node["value"]
    if kind == "eq":
        return lambda data, roots: _equal(left(data, roots), right(data, roots))
    if kind == "ne":
        return lambda data, roots: not _equal(left(data, roots), right(data, roots))
    order = _ORDERING[kind]

    def compare(data: Any, roots: Roots) -> Any:
        first, second = left(data, roots), right(data, roots)
        if not (_comparable(first) and _comparable(second)):
            return None  # JMESPath orders numbers and strings only
        return order(first, second)

    return compare


def _function(node: Mapping[str, Any], parts: list[Fast]) -> Fast:
    name = str(node["value"])
    spec = _FUNCTIONS.FUNCTION_TABLE[name]
    checks = _argument_types(spec["signature"], len(parts))
    if checks is None:

        def call(data: Any, roots: Roots) -> Any:
            return _FUNCTIONS.call_function(name, [part(data, roots) for part in parts])

        return call
    function = spec["function"]

    def call_checked(data: Any, roots: Roots) -> Any:
        args = [part(data, roots) for part in parts]
        for arg, (allowed, item_allowed) in zip(args, checks, strict=True):
            if (allowed is not None and type(arg).__name__ not in allowed) or (
                item_allowed is not None
                and not (type(arg) is list and all(type(item).__name__ in item_allowed for item in arg))
            ):
                return _FUNCTIONS.call_function(name, args)  # JMESPath raises its own type error
        return function(_FUNCTIONS, *args)

    return call_checked


TypeNames = frozenset[str] | None
"""Python type names an argument may have (as JMESPath checks them); None: any."""


def _argument_types(signature: Any, count: int) -> list[tuple[TypeNames, TypeNames]] | None:
    """Per argument, the type names JMESPath's signature check accepts for it and for its items, so that
    the closure checks the arguments without ``call_function``'s per-call work; None when that check
    is not a simple one (variadic function, wrong arity, several possible item types)."""
    if len(signature) != count or any(argument.get("variadic") for argument in signature):
        return None
    checks: list[tuple[TypeNames, TypeNames]] = []
    for argument in signature:
        types = argument["types"]
        if not types:
            checks.append((None, None))
            continue
        allowed, item_types = _FUNCTIONS._get_allowed_pytypes(types)  # type: ignore[attr-defined]
        if len(item_types) > 1:
            return None
        checks.append((frozenset(allowed), frozenset(item_types[0]) if item_types else None))
    return checks


_BUILDERS: dict[str, Builder] = {
    "root": _root,
    "literal": _literal,
    "current": _current,
    "identity": _current,
    "subexpression": _sequence,
    "pipe": _sequence,
    "index_expression": _sequence,
    "index": _index,
    "slice": _slice,
    "flatten": _flatten,
    "projection": _projection,
    "value_projection": _value_projection,
    "filter_projection": _filter_projection,
    "multi_select_list": _multi_select_list,
    "multi_select_dict": _multi_select_dict,
    "key_val_pair": _key_val_pair,
    "or_expression": _or,
    "and_expression": _and,
    "not_expression": _not,
    "comparator": _comparator,
    "function_expression": _function,
}
"""Every JMESPath node type but ``expref``, with the semantics of ``jmespath.visitor.TreeInterpreter``."""


def _walk(node: Mapping[str, Any], base: Path | None) -> tuple[set[Path], Path | None]:
    """(paths read, path of the result) for a JMESPath AST node evaluated at ``base``.

    Lists are transparent in paths (``a[].b`` reads ``a.b``). Conditions read what they compare.
    ``$record`` is the record root (path ``()``); ``$context`` and ``$view`` are not record data.
    The analysis is conservative where it cannot follow (functions, multi-selects): each argument's
    result path counts as read.
    """
    kind = node["type"]
    children: list[Mapping[str, Any]] = [c for c in node.get("children", []) if isinstance(c, Mapping)]
    if kind == "root":
        return set(), () if node["value"] == "record" else None
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
