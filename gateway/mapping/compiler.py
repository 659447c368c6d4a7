"""Compile a validated spec tree (plain mappings/lists from YAML) into runtime nodes, once.

Errors are :class:`SpecError` carrying the location inside the spec (``("resources", 1, "fields", "x")``);
the loader turns the location into the file's line number.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.mapping.crosswalks import Crosswalk, load_crosswalk
from gateway.mapping.expressions import Expression, ExpressionError, compile_expression
from gateway.mapping.nodes import Assignment, ConstNode, ListNode, Node, ObjectNode, RefNode, ValueNode
from gateway.mapping.transforms import (
    BuildEnv,
    Direction,
    NotInvertible,
    ParamError,
    Step,
    build_step,
    identifier_system,
)
from gateway.model import codesystems

Location = tuple[str | int, ...]
SENSITIVITY_CODES = frozenset({"health", "disability", "social-difficulty", "justice", "nir"})
_FIELD_PATH = re.compile(r"^[^.\[\]]+(?:\.[^.\[\]]+)*(?:\[\])?$")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""``${NAME}``: a spec variable in constants and transform parameters, a run-time one in codec options."""
DUPLICATE_KEY_POLICIES = ("reject", "merge", "first")
_FORMS: dict[str, frozenset[str]] = {
    "from": frozenset({"from", "transforms", "default", "when", "required", "description"}),
    "const": frozenset({"const", "when", "description"}),
    "ref": frozenset({"ref", "key", "when", "description"}),
    "fields": frozenset({"fields", "foreach", "when", "description"}),
}


class SpecError(Exception):
    def __init__(self, location: Location, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class SecurityLabel:
    code: str
    when: Expression | None = None


@dataclass(frozen=True)
class ResourceTemplate:
    name: str
    resource_type: str
    id_expr: Expression
    assignments: tuple[Assignment, ...]
    when: Expression | None = None
    foreach: Expression | None = None
    security: tuple[SecurityLabel, ...] = ()
    on_duplicate_key: str = "reject"
    """``foreach`` items with one id key: ``reject`` the record, ``merge`` their resources or keep the
    ``first``."""


@dataclass(frozen=True)
class ReverseSpec:
    assignments: tuple[Assignment, ...]
    foreach: Expression | None = None
    when: Expression | None = None
    flat: bool = False
    derived: tuple[str, ...] = ()
    """Partner fields derived by ``auto`` (for documentation and tests)."""


@dataclass(frozen=True)
class SourceSpec:
    codec: str
    options: Mapping[str, Any]
    null_values: frozenset[str] = frozenset()
    writer_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MappingSpec:
    name: str
    version: str
    description: str
    partner_system: str
    format_version: str
    source: SourceSpec
    crosswalks: Mapping[str, Crosswalk]
    resources: tuple[ResourceTemplate, ...]
    reverse: ReverseSpec | None
    path: Path
    variables: Mapping[str, str] = field(default_factory=dict)
    """Spec variables (``variables:`` defaults, overridden by ``extends`` and ``load_mapping``/``bind``)."""


def substitute(value: Any, variables: Mapping[str, str], location: Location) -> Any:
    """``${NAME}`` replaced in every string of ``value`` (recursively); SpecError for an undeclared name."""
    if isinstance(value, str):
        if "${" not in value:
            return value

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                declared = ", ".join(sorted(variables)) or "none"
                raise SpecError(
                    location, f"variable ${{{name}}} is not declared under variables: ({declared})"
                )
            return variables[name]

        return VARIABLE.sub(one, value)
    if isinstance(value, list):
        return [substitute(item, variables, (*location, index)) for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        return {key: substitute(item, variables, (*location, key)) for key, item in value.items()}
    return value


@dataclass
class _Compiler:
    env: BuildEnv
    direction: Direction
    variables: Mapping[str, str] = field(default_factory=dict)
    refs: list[tuple[Location, str, bool]] = field(default_factory=list)

    def expression(self, text: Any, location: Location) -> Expression:
        if not isinstance(text, str) or not text.strip():
            raise SpecError(location, "expected a JMESPath expression (a non-empty string)")
        try:
            return compile_expression(text)
        except ExpressionError as exc:
            raise SpecError(location, str(exc)) from None

    def optional_expression(self, raw: Mapping[str, Any], key: str, location: Location) -> Expression | None:
        return self.expression(raw[key], (*location, key)) if key in raw else None

    def steps(self, raw: Any, location: Location, direction: Direction | None = None) -> tuple[Step, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise SpecError(location, "transforms must be a list")
        return tuple(
            self.step(item, (*location, index), direction or self.direction) for index, item in enumerate(raw)
        )

    def step(self, item: Any, location: Location, direction: Direction) -> Step:
        name, params = split_transform(item, location)
        params = substitute(params, self.variables, location)
        try:
            return build_step(name, params, self.env, direction)
        except ParamError as exc:
            raise SpecError(location, str(exc)) from None

    def fields(self, raw: Any, location: Location, label: str, flat: bool = False) -> tuple[Assignment, ...]:
        if not isinstance(raw, Mapping) or not raw:
            raise SpecError(location, "fields must be a non-empty mapping of field path → field spec")
        out: list[Assignment] = []
        for key, spec in raw.items():
            parts, append = parse_field_path(key, (*location, key), flat)
            field_label = f"{label}.{'.'.join(parts)}" if label else ".".join(parts)
            out.append(Assignment(parts, append, self.node(spec, (*location, key), field_label, append)))
        return tuple(out)

    def node(self, spec: Any, location: Location, label: str, append: bool = False) -> Node:
        if isinstance(spec, list):
            if not append or not spec:
                raise SpecError(location, "a list of field specs is only allowed on a path ending with []")
            return ListNode(tuple(self.node(item, (*location, i), label) for i, item in enumerate(spec)))
        if isinstance(spec, str):
            return ValueNode(label, self.expression(spec, location))
        if not isinstance(spec, Mapping):
            raise SpecError(
                location, "a field spec is an expression string or a mapping (use {const: …} for constants)"
            )
        forms = [form for form in _FORMS if form in spec]
        if len(forms) != 1:
            raise SpecError(location, "a field spec needs exactly one of: from, const, ref, fields")
        form = forms[0]
        unknown = sorted(set(spec) - _FORMS[form])
        if unknown:
            raise SpecError(
                location, f"unknown key(s) {unknown} for a {form!r} field (allowed: {sorted(_FORMS[form])})"
            )
        when = self.optional_expression(spec, "when", location)
        if form == "const":
            return ConstNode(substitute(spec["const"], self.variables, (*location, "const")), when)
        if form == "ref":
            if self.direction != "forward":
                raise SpecError(location, "ref is only for resources (forward direction)")
            target = spec["ref"]
            if not isinstance(target, str):
                raise SpecError((*location, "ref"), "ref names a resource template")
            key = self.optional_expression(spec, "key", location)
            self.refs.append(((*location, "ref"), target, key is not None))
            return RefNode(label, target, key, when)
        if form == "fields":
            foreach = self.optional_expression(spec, "foreach", location)
            return ObjectNode(self.fields(spec["fields"], (*location, "fields"), label), foreach, when)
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise SpecError((*location, "required"), "required must be true or false")
        return ValueNode(
            label,
            self.expression(spec["from"], (*location, "from")),
            self.steps(spec.get("transforms"), (*location, "transforms")),
            when,
            spec.get("default"),
            required,
        )


def split_transform(item: Any, location: Location) -> tuple[str, Any]:
    """``trim`` → ("trim", None); ``{date: DDMMYYYY}`` → ("date", "DDMMYYYY")."""
    if isinstance(item, str):
        return item, None
    if isinstance(item, Mapping) and len(item) == 1:
        ((name, params),) = item.items()
        if isinstance(name, str):
            return name, params
    raise SpecError(location, "a transform is a name or a one-key mapping {name: params}")


def parse_field_path(key: Any, location: Location, flat: bool = False) -> tuple[tuple[str, ...], bool]:
    """``name.given[]`` → (("name", "given"), True). Flat (CSV columns): the key is one name."""
    if not isinstance(key, str) or not _FIELD_PATH.match(key if not flat else key.replace(".", "_")):
        raise SpecError(location, f"invalid field path {key!r} (dotted names, optional [] at the end)")
    append = key.endswith("[]")
    body = key[:-2] if append else key
    return ((body,) if flat else tuple(body.split("."))), append


def compile_spec(
    data: Mapping[str, Any], spec_file: Path, variables: Mapping[str, str] | None = None
) -> MappingSpec:
    """Build a :class:`MappingSpec` from a spec tree that passed the JSON Schema.

    ``variables``: the values of the spec variables (default: the ``variables:`` section's defaults).
    """
    values = dict(data.get("variables") or {}) if variables is None else dict(variables)
    crosswalks = {
        name: load_crosswalk(name, (spec_file.parent / str(path)).resolve())
        for name, path in (data.get("crosswalks") or {}).items()
    }
    env = BuildEnv(crosswalks)
    compiler = _Compiler(env, "forward", values)
    resources = tuple(
        _resource(compiler, raw, ("resources", index)) for index, raw in enumerate(data["resources"])
    )
    names = Counter(r.name for r in resources)
    for index, template in enumerate(resources):
        if names[template.name] > 1:
            raise SpecError(("resources", index, "name"), f"duplicate resource name {template.name!r}")
    by_name = {r.name: r for r in resources}
    for location, target, has_key in compiler.refs:
        if target not in by_name:
            raise SpecError(location, f"ref to unknown resource {target!r} (known: {sorted(by_name)})")
        if by_name[target].foreach is not None and not has_key:
            raise SpecError(location, f"resource {target!r} has a foreach: the ref needs a key")
    source = data["source"]
    partner = data["partner"]
    return MappingSpec(
        name=data["name"],
        version=str(data["version"]),
        description=data.get("description", ""),
        partner_system=substitute(partner["system"], values, ("partner", "system")),
        format_version=substitute(
            str(partner.get("format_version", "")), values, ("partner", "format_version")
        ),
        source=SourceSpec(
            source["codec"],
            dict(source.get("options") or {}),
            frozenset(source.get("null_values") or ()),
            dict(source.get("writer_options") or {}),
        ),
        crosswalks=crosswalks,
        resources=resources,
        reverse=_reverse(data, resources, env, values),
        path=spec_file,
        variables=values,
    )


def _sensitivity_codes() -> frozenset[str]:
    try:
        return codesystems.load("sensitivity").codes()
    except KeyError:
        return SENSITIVITY_CODES


def _resource(compiler: _Compiler, raw: Mapping[str, Any], location: Location) -> ResourceTemplate:
    resource_type = raw["resourceType"]
    security: list[SecurityLabel] = []
    allowed = _sensitivity_codes()
    for index, item in enumerate(raw.get("security") or ()):
        code = item if isinstance(item, str) else item["code"]
        if code not in allowed:
            raise SpecError(
                (*location, "security", index),
                f"unknown sensitivity code {code!r} (known: {sorted(allowed)})",
            )
        when = (
            None
            if isinstance(item, str)
            else compiler.optional_expression(item, "when", (*location, "security", index))
        )
        security.append(SecurityLabel(code, when))
    foreach = compiler.optional_expression(raw, "foreach", location)
    on_duplicate_key = raw.get("on_duplicate_key", "reject")
    if on_duplicate_key not in DUPLICATE_KEY_POLICIES:
        raise SpecError(
            (*location, "on_duplicate_key"), f"on_duplicate_key is one of {', '.join(DUPLICATE_KEY_POLICIES)}"
        )
    if foreach is None and "on_duplicate_key" in raw:
        raise SpecError(
            (*location, "on_duplicate_key"), "on_duplicate_key applies to a resource with a foreach"
        )
    return ResourceTemplate(
        name=raw["name"],
        resource_type=resource_type,
        id_expr=compiler.expression(raw["id"], (*location, "id")),
        assignments=compiler.fields(raw["fields"], (*location, "fields"), resource_type),
        when=compiler.optional_expression(raw, "when", location),
        foreach=foreach,
        security=tuple(security),
        on_duplicate_key=str(on_duplicate_key),
    )


def _reverse(
    data: Mapping[str, Any],
    resources: Sequence[ResourceTemplate],
    env: BuildEnv,
    variables: Mapping[str, str],
) -> ReverseSpec | None:
    raw = data.get("reverse")
    if raw is None:
        return None
    if raw == "auto":
        raw = {"auto": True}
    compiler = _Compiler(env, "reverse", variables)
    flat = bool(raw.get("flat", False))
    derived = _derive(data, resources, env, flat, variables) if raw.get("auto") else {}
    explicit = compiler.fields(raw["fields"], ("reverse", "fields"), "", flat) if raw.get("fields") else ()
    by_parts: dict[tuple[str, ...], Assignment] = dict(derived)
    for assignment in explicit:
        by_parts[assignment.parts] = assignment
    if not by_parts:
        raise SpecError(("reverse",), "reverse produces no field (nothing derivable by auto and no fields)")
    return ReverseSpec(
        assignments=tuple(by_parts.values()),
        foreach=compiler.optional_expression(raw, "foreach", ("reverse",)),
        when=compiler.optional_expression(raw, "when", ("reverse",)),
        flat=flat,
        derived=tuple(".".join(parts) for parts in derived),
    )


def _quote(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def _derive(
    data: Mapping[str, Any],
    resources: Sequence[ResourceTemplate],
    env: BuildEnv,
    flat: bool,
    variables: Mapping[str, str],
) -> dict[tuple[str, ...], Assignment]:
    """Reverse assignments for the simple 1:1 forward fields (see docs/mapping-spec.md, auto-derivation)."""
    type_count = Counter(r.resource_type for r in resources)
    derived: dict[tuple[str, ...], Assignment] = {}
    for template, raw_template in zip(resources, data["resources"], strict=True):
        if template.foreach is not None or type_count[template.resource_type] > 1:
            continue
        raw_fields: Mapping[str, Any] = raw_template["fields"]
        for key, spec in raw_fields.items():
            specs = spec if isinstance(spec, list) else [spec]
            for item in specs:
                derived_assignment = _derive_one(
                    template.resource_type, key, item, len(specs), env, flat, variables
                )
                if derived_assignment is not None:
                    derived.setdefault(derived_assignment.parts, derived_assignment)
    return derived


def _derive_one(
    resource_type: str,
    key: str,
    spec: Any,
    same_appends: int,
    env: BuildEnv,
    flat: bool,
    variables: Mapping[str, str],
) -> Assignment | None:
    if isinstance(spec, str):
        spec = {"from": spec}
    if not isinstance(spec, Mapping) or "from" not in spec or "when" in spec:
        return None
    source = compile_expression(spec["from"])
    if source.simple_path is None:
        return None
    transforms = [
        (name, substitute(params, variables, ()))
        for name, params in (split_transform(item, ()) for item in spec.get("transforms") or ())
    ]
    try:
        inverse = tuple(build_step(name, params, env, "inverse") for name, params in reversed(transforms))
    except NotInvertible:
        return None
    parts, append = parse_field_path(key, ())
    path = ".".join(_quote(p) for p in (resource_type, *parts))
    if append:
        if parts[-1] == "identifier" and transforms and transforms[-1][0] == "identifier":
            system_param = transforms[-1][1]
            system = identifier_system(
                system_param["system"] if isinstance(system_param, Mapping) else system_param
            )
            expression = f"{path}[?system==`{_quote(system)}`] | [0]"
        elif same_appends == 1:
            expression = f"{path}[0]"
        else:
            return None
    else:
        expression = path
    partner_parts = (".".join(source.simple_path),) if flat else source.simple_path
    label = ".".join(partner_parts)
    return Assignment(partner_parts, False, ValueNode(label, compile_expression(expression), inverse))
