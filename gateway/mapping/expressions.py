"""JMESPath expressions of mapping specs, compiled once.

Three things beyond plain ``jmespath.compile``:

- roots: ``$record`` / ``$context`` / ``$view`` are tokens of the expression language itself, usable
  anywhere an expression is (``[$record.siret, id]``, ``join('', [$context.a, b])``,
  ``items[?code == $record.code]``). The lexer turns them into a ``root`` AST node (so quoted literals such as
  ``'$record'`` are never touched) and the interpreter evaluates that node to the root (JMESPath has no
  variables);
- a fast path: simple field chains (``a.b."c.d"``, ``$record.a.b``), literals, ``a || b``, ``[a, b]`` and
  ``a == 'x'`` become Python closures, several times faster than the JMESPath interpreter, which matters at
  tens of thousands of records per second;
- static analysis of the source paths an expression reads (for the coverage check).

Custom functions (``_GatewayFunctions``): ``resolve(reference)``, and date helpers for conditions
(``to_iso_date``, ``days_between``, ``months_between``, ``add_days``) that take token formats
(:mod:`gateway.mapping.dates`) and give null on empty or unparsable values.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
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
    _search: Fast = field(repr=False, compare=False)

    def evaluate(self, scope: Any, roots: Roots) -> Any:
        return self._search(scope, roots)

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
    tree: Any = ast
    roots = frozenset(_roots_of(ast))
    fast = _fast(ast)
    if fast is None:
        if roots:

            def search(data: Any, scope_roots: Roots) -> Any:
                return _Interpreter(scope_roots).visit(tree, data)

        else:
            shared = jp_visitor.TreeInterpreter(_OPTIONS)

            def search(data: Any, scope_roots: Roots) -> Any:
                return shared.visit(tree, data)

        fast = search
    return Expression(text, ast, _field_chain(ast), roots, fast)


def _roots_of(node: Mapping[str, Any]) -> set[str]:
    found = {str(node["value"])} if node["type"] == "root" else set()
    for child in node.get("children", ()):
        if isinstance(child, Mapping):
            found |= _roots_of(child)
    return found


def _truthy(value: Any) -> bool:
    return not (value is None or value is False or (isinstance(value, str | list | dict) and not value))


def _equal(left: Any, right: Any) -> bool:
    """JMESPath equality: booleans never equal numbers (Python says ``1 == True``)."""
    return isinstance(left, bool) == isinstance(right, bool) and bool(left == right)


def _fast(node: Mapping[str, Any]) -> Fast | None:
    """Closures for the common shapes (field chains, roots, literals, ``a || b``, ``[a, b]``, ``a == 'x'``),
    same semantics as the JMESPath interpreter; None for anything else (the interpreter does the work)."""
    kind = node["type"]
    chain = _field_chain(node)
    if chain is not None:
        return _getter(chain)
    if kind == "root":
        name = str(node["value"])
        return lambda data, roots: getattr(roots, name)
    if kind == "literal":
        constant = node["value"]
        return lambda data, roots: constant
    children = [_fast(child) for child in node.get("children", [])]
    if any(child is None for child in children) or not children:
        return None
    parts: list[Fast] = [c for c in children if c is not None]
    if kind == "subexpression":

        def chained(data: Any, roots: Roots) -> Any:
            for part in parts:
                data = part(data, roots)
            return data

        return chained
    if kind == "or_expression":
        left, right = parts

        def either(data: Any, roots: Roots) -> Any:
            value = left(data, roots)
            return value if _truthy(value) else right(data, roots)

        return either
    if kind == "multi_select_list":
        return lambda data, roots: None if data is None else [part(data, roots) for part in parts]
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        left, right = parts
        if node["value"] == "eq":
            return lambda data, roots: _equal(left(data, roots), right(data, roots))
        return lambda data, roots: not _equal(left(data, roots), right(data, roots))
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


def _getter(chain: Path) -> Fast:
    if len(chain) == 1:
        (key,) = chain

        def get_one(data: Any, roots: Roots) -> Any:
            return data.get(key) if isinstance(data, Mapping) else None

        return get_one

    def get_chain(data: Any, roots: Roots) -> Any:
        for key in chain:
            if not isinstance(data, Mapping):
                return None
            data = data.get(key)
        return data

    return get_chain


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
