"""Named value transforms, registered in one table, with their parameters checked at load.

Each transform is built for a direction:

- ``forward``: partner value → canonical value (the ``resources`` section);
- ``reverse``: written in a ``reverse`` section, canonical value → partner value (dates are *formatted*,
  crosswalks looked up backwards, codings and identifiers give their code/value);
- ``inverse``: the undo of a forward transform, used by ``reverse: auto``; ``NotInvertible`` when none.

A transform function receives a non-empty value and raises :class:`TransformError` with the rule that
failed — never the value (it may be personal data).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.mapping.crosswalks import Crosswalk
from gateway.mapping.dates import DateFormat, DateFormatError, compile_format
from gateway.model import codesystems, identifiers
from gateway.model.nir import complete_nir, is_valid_nir, nir_key

Direction = Literal["forward", "reverse", "inverse"]
CODE_SYSTEM_PREFIX = "urn:fr:reseau-emploi:cs:"


class TransformError(ValueError):
    """A value breaks a transform's rule. The message names the rule, never the value."""


class ParamError(ValueError):
    """A transform's parameters are invalid (a load-time error)."""


class NotInvertible(ParamError):
    """The transform has no inverse, so ``reverse: auto`` cannot derive the field."""


@dataclass(frozen=True, slots=True)
class Step:
    """One built transform."""

    name: str
    fn: Callable[[Any], Any]
    whole_list: bool = False
    """True: receives a list as a whole (join, concat, first); False: applied to each item."""
    accepts_empty: bool = False
    """True: also called on empty values (default)."""
    detail: str | None = None
    """A static fact for analysis (the identifier system of ``identifier``)."""


@dataclass(frozen=True)
class BuildEnv:
    """What transforms may need at build time."""

    crosswalks: Mapping[str, Crosswalk]


Builder = Callable[[dict[str, Any], BuildEnv, Direction], Step]


@dataclass(frozen=True)
class TransformDef:
    name: str
    main: str | None
    """Parameter a scalar shorthand stands for (``{date: DDMMYYYY}`` = ``{date: {formats: DDMMYYYY}}``)."""
    params: frozenset[str]
    build: Builder


TRANSFORMS: dict[str, TransformDef] = {}


def register(
    name: str, main: str | None = None, params: tuple[str, ...] = ()
) -> Callable[[Builder], Builder]:
    """Add a transform builder to the table."""

    def add(builder: Builder) -> Builder:
        TRANSFORMS[name] = TransformDef(name, main, frozenset(params), builder)
        return builder

    return add


def build_step(name: str, raw: Any, env: BuildEnv, direction: Direction) -> Step:
    """Build transform ``name`` with raw params (None, a shorthand scalar/list, or a mapping)."""
    definition = TRANSFORMS.get(name)
    if definition is None:
        raise ParamError(f"unknown transform {name!r} (known: {', '.join(sorted(TRANSFORMS))})")
    params: dict[str, Any]
    if raw is None:
        params = {}
    elif isinstance(raw, Mapping) and (definition.name != "map" or "values" in raw):
        params = dict(raw)
        unknown = sorted(set(params) - definition.params)
        if unknown:
            allowed = ", ".join(sorted(definition.params)) or "none"
            raise ParamError(f"transform {name!r}: unknown parameter(s) {unknown} (allowed: {allowed})")
    elif definition.main is not None:
        params = {definition.main: raw}
    else:
        raise ParamError(f"transform {name!r} takes no parameter")
    return definition.build(params, env, direction)


# ----------------------------------------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TransformError("expects a text value")


def _str_param(params: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = params.get(key, default)
    if not isinstance(value, str):
        raise ParamError(f"parameter {key!r} must be a string")
    return value


def _str_list_param(params: Mapping[str, Any], key: str, default: list[str] | None = None) -> list[str]:
    value = params.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str | int) for v in value):
        raise ParamError(f"parameter {key!r} must be a non-empty list of strings")
    return [str(v) for v in value]


def _identity(name: str) -> Step:
    return Step(name, lambda value: value)


def _on_missing(params: Mapping[str, Any]) -> str:
    choice = params.get("on_missing", "error")
    if choice not in ("error", "keep", "default"):
        raise ParamError("on_missing must be error, keep or default")
    if choice == "default" and "default" not in params:
        raise ParamError("on_missing: default needs a 'default' parameter")
    return str(choice)


def _missing(choice: str, params: Mapping[str, Any], value: Any, table: str) -> Any:
    if choice == "keep":
        return value
    if choice == "default":
        return params["default"]
    raise TransformError(f"code not found in {table}")


# ------------------------------------------------------------------------------------------ text and case


def _text_step(name: str, op: Callable[[str], str]) -> Builder:
    def build(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
        if direction == "inverse":
            return _identity(name)
        # Most values are already text: skip the call to _text for them (a hot path).
        return Step(name, lambda value: op(value if value.__class__ is str else _text(value)))

    return build


register("trim")(_text_step("trim", str.strip))
register("upper")(_text_step("upper", str.upper))
register("lower")(_text_step("lower", str.lower))
register("title")(_text_step("title", str.title))


def _split(sep: str) -> Callable[[Any], Any]:
    return lambda value: [part.strip() for part in _text(value).split(sep) if part.strip()]


def _join(sep: str) -> Callable[[Any], Any]:
    def join(value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        return sep.join(_text(item) for item in items if item not in (None, ""))

    return join


@register("split", main="sep", params=("sep",))
def _build_split(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    sep = _str_param(params, "sep", ",")
    if direction == "inverse":
        return Step("split", _join(sep), whole_list=True)
    return Step("split", _split(sep))


@register("join", main="sep", params=("sep",))
def _build_join(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    sep = _str_param(params, "sep", ",")
    if direction == "inverse":
        return Step("join", _split(sep))
    return Step("join", _join(sep), whole_list=True)


@register("concat", main="sep", params=("sep",))
def _build_concat(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    if direction == "inverse":
        raise NotInvertible("concat is not invertible")
    return Step("concat", _join(_str_param(params, "sep", "")), whole_list=True)


@register("first")
def _build_first(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    if direction == "inverse":
        return _identity("first")

    def first(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return next((item for item in value if item not in (None, "", [], {})), None)

    return Step("first", first, whole_list=True)


@register("default", main="value", params=("value",))
def _build_default(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    if "value" not in params:
        raise ParamError("default needs a value")
    fallback = params["value"]
    if direction == "inverse":
        return _identity("default")

    def default(value: Any) -> Any:
        return fallback if value in (None, "", [], {}) else value

    return Step("default", default, accepts_empty=True)


@register("regex_extract", main="pattern", params=("pattern", "group"))
def _build_regex(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    if direction == "inverse":
        raise NotInvertible("regex_extract is not invertible")
    try:
        pattern = re.compile(_str_param(params, "pattern"))
    except re.error as exc:
        raise ParamError(f"invalid pattern: {exc}") from exc
    group = params.get("group", 1 if pattern.groups else 0)
    if not isinstance(group, int) or isinstance(group, bool) or not 0 <= group <= pattern.groups:
        raise ParamError("group must be an integer between 0 and the number of groups of the pattern")

    def extract(value: Any) -> Any:
        match = pattern.search(_text(value))
        if match is None:
            raise TransformError("does not match the regex_extract pattern")
        return match.group(group)

    return Step("regex_extract", extract)


# ------------------------------------------------------------------------------------------ numbers, bools


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TransformError("expects an integer")
    if isinstance(value, int):
        return value
    try:
        return int(_text(value).strip())
    except ValueError:
        raise TransformError("not an integer") from None


def _to_decimal(value: Any) -> float:
    if isinstance(value, bool):
        raise TransformError("expects a number")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(_text(value).strip().replace(",", "."))
    except ValueError:
        raise TransformError("not a decimal number") from None


@register("integer")
def _build_integer(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    return Step("integer", str if direction == "inverse" else _to_int)


@register("decimal")
def _build_decimal(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    return Step("decimal", str if direction == "inverse" else _to_decimal)


_TRUE = ["1", "O", "OUI", "Y", "YES", "TRUE", "VRAI"]
_FALSE = ["0", "N", "NON", "NO", "FALSE", "FAUX"]


@register("boolean", params=("true", "false", "output"))
def _build_boolean(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    trues = _str_list_param(params, "true", _TRUE)
    falses = _str_list_param(params, "false", _FALSE)
    output = params.get("output", [trues[0], falses[0]])
    if not isinstance(output, list) or len(output) != 2:
        raise ParamError("output must be a pair [value for true, value for false]")
    if direction != "forward":
        out_true, out_false = output

        def to_partner(value: Any) -> Any:
            if not isinstance(value, bool):
                raise TransformError("expects a boolean")
            return out_true if value else out_false

        return Step("boolean", to_partner)
    true_set = {t.upper() for t in trues}
    false_set = {f.upper() for f in falses}

    def to_bool(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = _text(value).strip().upper()
        if text in true_set:
            return True
        if text in false_set:
            return False
        raise TransformError("not a recognised boolean value")

    return Step("boolean", to_bool)


# ------------------------------------------------------------------------------------------------ dates


def _formats(params: Mapping[str, Any], *, dated: bool = True) -> list[DateFormat]:
    """The ``formats`` parameter compiled; with ``dated``, time-only formats are refused."""
    try:
        formats = [compile_format(f) for f in _str_list_param(params, "formats")]
    except ParamError:
        raise
    except ValueError as exc:
        raise ParamError(str(exc)) from exc
    if dated:
        for date_format in formats:
            if not date_format.has_date:
                raise ParamError(
                    f"format {date_format.text!r} has no date part: use the time transform for times"
                )
    return formats


def _zone(params: Mapping[str, Any]) -> ZoneInfo:
    name = _str_param(params, "timezone", "Europe/Paris")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParamError(f"unknown timezone {name!r}") from None


def _parse_any(formats: list[DateFormat], value: Any, *, times: bool = False) -> dt.datetime:
    """Parse with the first matching format; ``times``: ``ISO`` also reads a bare time (on 1900-01-01)."""
    text = _text(value)
    for date_format in formats:
        try:
            return date_format.parse(text)
        except DateFormatError:
            if times and date_format.regex is None:
                try:  # ISO for times: "09:30:00", "09:30:00+02:00"
                    clock = dt.time.fromisoformat(text.strip().replace("Z", "+00:00"))
                    return dt.datetime.combine(dt.date(1900, 1, 1), clock)
                except ValueError:
                    pass
            continue
    raise TransformError(f"matches none of the date formats {[f.text for f in formats]}")


_MEMO_SIZE = 4096


def _memoised(convert: Callable[[Any], str]) -> Callable[[Any], str]:
    """``convert`` with its results for text values remembered (dates repeat across a file's records:
    birth dates, period starts). Bounded (least recently used dropped); failures are not remembered."""
    remembered = functools.lru_cache(maxsize=_MEMO_SIZE)(convert)

    def cached(value: Any) -> str:
        return remembered(value) if type(value) is str else convert(value)

    return cached


def _parse_iso(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
    except ValueError:
        raise TransformError("not an ISO 8601 date") from None


def _parse_iso_time(value: Any) -> dt.datetime:
    """An ISO date-time, or an ISO time (``09:30:00``) on 1900-01-01."""
    text = _text(value).strip().replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.combine(dt.date(1900, 1, 1), dt.time.fromisoformat(text))
    except ValueError:
        raise TransformError("not an ISO 8601 time or date-time") from None


@register("date", main="formats", params=("formats", "timezone"))
def _build_date(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    formats, zone = _formats(params), _zone(params)
    if direction != "forward":
        first = formats[0]
        return Step("date", lambda value: first.format(_parse_iso(value).date()))

    def to_iso_date(value: Any) -> str:
        moment = _parse_any(formats, value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        return moment.date().isoformat()

    if any(date_format.two_digit_year for date_format in formats):
        return Step("date", to_iso_date)  # the century depends on today's date: never cached
    return Step("date", _memoised(to_iso_date))


@register("datetime", main="formats", params=("formats", "timezone"))
def _build_datetime(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    # Writing may keep only the time of a date-time (first format `HH:mm:ss`); reading needs a date.
    formats, zone = _formats(params, dated=direction == "forward"), _zone(params)
    if direction != "forward":
        first = formats[0]

        def to_partner(value: Any) -> str:
            moment = _parse_iso(value)
            if first.regex is not None and moment.tzinfo is not None:
                moment = moment.astimezone(zone)
            return first.format(moment)

        return Step("datetime", to_partner)

    def to_iso(value: Any) -> str:
        moment = _parse_any(formats, value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.isoformat()

    return Step("datetime", to_iso)


@register("time", main="formats", params=("formats", "timezone"))
def _build_time(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    """Times of day: ``HH:mm:ss`` (ISO 8601 local time) from time-only or date-time formats."""
    formats, zone = _formats(params, dated=False), _zone(params)
    if direction != "forward":
        first = formats[0]
        if first.has_date and first.regex is not None:
            raise ParamError(f"time: the first format (used to write) must be time-only ({first.text!r})")

        def to_partner(value: Any) -> str:
            moment = _parse_iso_time(value)
            if moment.tzinfo is not None:
                moment = moment.astimezone(zone)
            if first.regex is None:
                return moment.time().isoformat()
            return first.format(moment)

        return Step("time", to_partner)

    def to_iso_time(value: Any) -> str:
        moment = _parse_any(formats, value, times=True)
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        return moment.time().isoformat()

    return Step("time", to_iso_time)


# -------------------------------------------------------------------------------------------------- NIR


def _nir15(value: Any) -> str:
    nir = _text(value).replace(" ", "").upper()
    if len(nir) == 13:
        try:
            return complete_nir(nir)
        except ValueError:
            raise TransformError("not a 13-character NIR") from None
    if len(nir) == 15 and is_valid_nir(nir):
        return nir
    raise TransformError("not a NIR with a valid key (13 characters, or 15 with the key)")


def _nir13(value: Any) -> str:
    nir = _text(value).replace(" ", "").upper()
    if len(nir) == 15 and is_valid_nir(nir):
        return nir[:13]
    if len(nir) == 13:
        try:
            nir_key(nir)
        except ValueError:
            raise TransformError("not a 13-character NIR") from None
        return nir
    raise TransformError("not a NIR with a valid key (13 characters, or 15 with the key)")


@register("nir15")
def _build_nir15(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    return Step("nir15", _nir13 if direction == "inverse" else _nir15)


@register("nir13")
def _build_nir13(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    return Step("nir13", _nir15 if direction == "inverse" else _nir13)


# --------------------------------------------------------------------------------------- codes and ids


def system_uri(name_or_uri: str) -> str:
    """A code system name (``etatdosrsa``) → its URI; a URI is returned as is."""
    if ":" in name_or_uri:
        return name_or_uri
    try:
        return codesystems.uri_of(name_or_uri)
    except KeyError:
        return CODE_SYSTEM_PREFIX + name_or_uri


def _codesystem(name_or_uri: str) -> codesystems.CodeSystem | None:
    if ":" in name_or_uri:
        return codesystems.by_uri(name_or_uri)
    try:
        return codesystems.load(name_or_uri)
    except KeyError:
        return None


def _make_coding(system: str, code: str, display: str | None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _code_of(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("code")
        if value is None:
            raise TransformError("coding without a code")
    return _text(value)


@register("crosswalk", main="name", params=("name", "on_missing", "default", "output", "system"))
def _build_crosswalk(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    name = _str_param(params, "name")
    table = env.crosswalks.get(name)
    if table is None:
        raise ParamError(f"unknown crosswalk {name!r} (declare it under crosswalks:)")
    choice = _on_missing(params)
    output = params.get("output", "code")
    if output not in ("code", "coding"):
        raise ParamError("output must be code or coding")
    default_system = system_uri(_str_param(params, "system")) if "system" in params else None
    if (
        output == "coding"
        and default_system is None
        and any(t.system is None for targets in table.forward.values() for t in targets)
    ):
        raise ParamError("output: coding needs a 'system' parameter or a system column in the crosswalk")
    label = f"crosswalk {name}"
    if direction != "forward":

        def backward(value: Any) -> Any:
            source = table.reverse_lookup(_code_of(value))
            return _missing(choice, params, value, label) if source is None else source

        return Step("crosswalk", backward)

    def forward(value: Any) -> Any:
        targets = table.lookup(_text(value))
        if not targets:
            return _missing(choice, params, value, label)
        if output == "coding":
            codings = [
                _make_coding(system_uri(t.system) if t.system else str(default_system), t.code, t.display)
                for t in targets
            ]
            return codings[0] if len(codings) == 1 else codings
        codes = [t.code for t in targets]
        return codes[0] if len(codes) == 1 else codes

    return Step("crosswalk", forward)


@register("map", main="values", params=("values", "on_missing", "default"))
def _build_map(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    values = params.get("values")
    if not isinstance(values, Mapping) or not values:
        raise ParamError("map needs a non-empty 'values' mapping")
    table = {str(k): v for k, v in values.items()}
    choice = _on_missing(params)
    if direction != "forward":
        inverted: dict[str, str] = {}
        for key, target in table.items():
            inverted.setdefault(str(target), key)

        def backward(value: Any) -> Any:
            key = inverted.get(_code_of(value))
            return _missing(choice, params, value, "map") if key is None else key

        return Step("map", backward)

    def forward(value: Any) -> Any:
        key = _text(value)
        return table[key] if key in table else _missing(choice, params, value, "map")

    return Step("map", forward)


@register("coding", main="system", params=("system", "display", "strict", "output"))
def _build_coding(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    name = _str_param(params, "system")
    uri = system_uri(name)
    system = _codesystem(name)
    with_display = params.get("display", True)
    strict = params.get("strict", False)
    output = params.get("output", "code")
    if not isinstance(with_display, bool) or not isinstance(strict, bool):
        raise ParamError("display and strict must be booleans")
    if output not in ("code", "alias"):
        raise ParamError("output must be code or alias")
    if strict and system is None:
        raise ParamError(f"strict: no code system {name!r} in gateway/model/codesystems")
    if direction != "forward":

        def to_code(value: Any) -> Any:
            code = _code_of(value)
            if output == "alias" and system is not None:
                concept = system.lookup(code)
                if concept is not None and concept.aliases:
                    return concept.aliases[0]
            return code

        return Step("coding", to_code)

    def to_coding(value: Any) -> Any:
        if isinstance(value, Mapping):
            return dict(value)
        code = _text(value)
        concept = system.lookup(code) if system is not None else None
        if concept is None:
            if strict:
                raise TransformError(f"code not in code system {name}")
            return _make_coding(uri, code, None)
        return _make_coding(uri, concept.code, concept.display if with_display else None)

    return Step("coding", to_coding)


def identifier_system(name_or_uri: str) -> str:
    """``NIR`` → ``urn:fr:insee:nir`` (a constant of gateway.model.identifiers); a URI as is."""
    if ":" in name_or_uri:
        return name_or_uri
    value = getattr(identifiers, name_or_uri, None)
    if not isinstance(value, str) or not name_or_uri.isupper():
        raise ParamError(
            f"unknown identifier system {name_or_uri!r} (a constant of gateway.model.identifiers or a URI)"
        )
    return value


@register("identifier", main="system", params=("system",))
def _build_identifier(params: dict[str, Any], env: BuildEnv, direction: Direction) -> Step:
    system = identifier_system(_str_param(params, "system"))
    if direction != "forward":

        def to_value(value: Any) -> Any:
            if isinstance(value, Mapping):
                return value.get("value") if value.get("system") == system else None
            return value

        return Step("identifier", to_value)
    return Step("identifier", lambda value: {"system": system, "value": _text(value)}, detail=system)
