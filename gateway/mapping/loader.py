"""Load a mapping spec: YAML (round-trip, for line numbers) → ``extends`` → JSON Schema check → compile.

Every error is a ``ConfigurationError`` naming the spec file and the line of the offending node (with
``extends``, the file that holds that node: the spec itself or the one it extends).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from gateway.errors import ConfigurationError
from gateway.mapping.compiled import CompiledMapping
from gateway.mapping.compiler import Location, SpecError, compile_spec

SPEC_FILE = "mapping.yaml"
EXTENSIBLE = frozenset({"name", "version", "description", "partner", "source", "variables", "crosswalks"})
"""Top-level keys a spec with ``extends`` may give (everything else comes from the spec it extends)."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@cache
def _validator() -> Any:
    schema = json.loads(resources.files("gateway.mapping").joinpath("spec_schema.json").read_text("utf-8"))
    return jsonschema_rs.validator_for(schema)


class _PlainError(Exception):
    def __init__(self, location: Location, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(message)


def plain(node: Any, location: Location = ()) -> Any:
    """ruamel's round-trip nodes → plain Python (what the schema validator and compiler read).

    Commented containers become dicts/lists; scalar subclasses (folded ``>-`` and literal ``|`` strings,
    anchored booleans, hex/underscored ints, floats) their plain type; dates and timestamps ISO strings;
    ``!!str`` tagged scalars their text. Other tags are refused (``_PlainError`` with the location).
    """
    if isinstance(node, Mapping):
        return {str(k): plain(v, (*location, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v, (*location, i)) for i, v in enumerate(node)]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool | ScalarBoolean):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, dt.date):
        return node.isoformat()
    if isinstance(node, TaggedScalar):
        if str(node.tag) in ("tag:yaml.org,2002:str", "!!str"):
            return str(node.value)
        raise _PlainError(location, f"unsupported YAML tag {node.tag!s}")
    if node is None:
        return None
    raise _PlainError(location, f"unsupported YAML value of type {type(node).__name__}")


def line_of(tree: Any, location: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of ``location`` found in the round-trip tree."""
    return _find(tree, location)[1]


def _find(tree: Any, location: Sequence[str | int]) -> tuple[int, int | None]:
    """(how many steps of ``location`` exist in ``tree``, line of the deepest one)."""
    line: int | None = 1
    node = tree
    depth = 0
    for step in location:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, Mapping) and step in node:
                if lc is not None:
                    line = lc.key(step)[0] + 1
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                if lc is not None:
                    line = lc.item(step)[0] + 1
                node = node[step]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
        depth += 1
    return depth, line


def describe(location: Location) -> str:
    out = ""
    for step in location:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(top level)"


def read_tree(path: Path) -> Any:
    """Parse the YAML file with line information; ConfigurationError on a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read mapping spec: {exc.strerror}", file=str(path)) from exc
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigurationError(
            f"YAML syntax error: {exc.problem or exc}", file=str(path), line=line
        ) from exc
    except YAMLError as exc:
        raise ConfigurationError(f"YAML error: {exc}", file=str(path)) from exc


@dataclass(frozen=True)
class SpecDocument:
    """A spec's data after ``extends`` is applied, and the files (round-trip trees) it came from."""

    path: Path
    data: dict[str, Any]
    layers: tuple[tuple[Path, Any], ...]
    """(file, tree), the spec itself first, then what it extends."""

    def locate(self, location: Location) -> tuple[str, int | None]:
        """The file and line of ``location``: the layer holding most of it (the spec itself on a tie)."""
        best_file, best_depth, best_line = self.layers[0][0], -1, None
        for file, tree in self.layers:
            depth, line = _find(tree, location)
            if depth > best_depth:
                best_file, best_depth, best_line = file, depth, line
        return str(best_file), best_line

    def error(self, location: Location, message: str) -> ConfigurationError:
        file, line = self.locate(location)
        return ConfigurationError(f"{describe(location)}: {message}", file=file, line=line)


def read_document(path: Path, _seen: frozenset[Path] = frozenset()) -> SpecDocument:
    """Read a spec file and, when it has ``extends: <mapping name>``, the spec it extends (recursively)."""
    tree = read_tree(path)
    try:
        data = plain(tree)
    except _PlainError as exc:
        raise ConfigurationError(
            f"{describe(exc.location)}: {exc.message}", file=str(path), line=line_of(tree, exc.location)
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError("a mapping spec must be a YAML mapping", file=str(path), line=1)
    _absolute_crosswalks(data, path)
    if "extends" not in data:
        return SpecDocument(path, data, ((path, tree),))

    def fail(location: Location, message: str) -> ConfigurationError:
        return ConfigurationError(
            f"{describe(location)}: {message}", file=str(path), line=line_of(tree, location)
        )

    base_name = data.pop("extends")
    if not isinstance(base_name, str) or not _NAME.match(base_name):
        raise fail(("extends",), "extends names another mapping (its folder name)")
    for key in data:
        if key not in EXTENSIBLE:
            raise fail(
                (key,),
                f"a spec with extends cannot give {key!r} (it may give: {', '.join(sorted(EXTENSIBLE))})",
            )
    base_path = (path.parent.parent / base_name / SPEC_FILE).resolve()
    if base_path in _seen or base_path == path.resolve():
        raise fail(("extends",), f"extends cycle through {base_name!r}")
    if not base_path.is_file():
        raise fail(("extends",), f"extends {base_name!r}: no {base_name}/{SPEC_FILE} next to this mapping")
    base = read_document(base_path, _seen | {path.resolve()})
    return SpecDocument(path, _merge(base.data, data), ((path, tree), *base.layers))


def _absolute_crosswalks(data: dict[str, Any], path: Path) -> None:
    """Crosswalk paths are relative to the file that declares them: make them absolute before merging."""
    crosswalks = data.get("crosswalks")
    if isinstance(crosswalks, dict):
        for name, relative in crosswalks.items():
            if isinstance(relative, str):
                crosswalks[name] = str((path.parent / relative).resolve())


def _merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """``extends``: the child's keys override; partner, source options, variables and crosswalks merge."""
    merged = dict(base)
    for key, value in child.items():
        old = merged.get(key)
        if key == "source" and isinstance(value, Mapping) and isinstance(old, Mapping):
            source = dict(old)
            for part, setting in value.items():
                previous = source.get(part)
                if part in ("options", "writer_options") and isinstance(setting, Mapping):
                    source[part] = {**(previous if isinstance(previous, Mapping) else {}), **setting}
                else:
                    source[part] = setting
            merged[key] = source
        elif key in ("partner", "variables", "crosswalks") and isinstance(value, Mapping):
            merged[key] = {**(old if isinstance(old, Mapping) else {}), **value}
        else:
            merged[key] = value
    return merged


def load_mapping(path: str | Path, variables: Mapping[str, str] | None = None) -> CompiledMapping:
    """Load, validate and compile one spec file.

    ``variables`` override the defaults of the spec's ``variables:`` section (``${NAME}`` in constants and
    transform parameters); names the spec does not declare are ignored.
    """
    path = Path(path)
    document = read_document(path)
    errors = sorted(_validator().iter_errors(document.data), key=lambda e: len(e.instance_path), reverse=True)
    if errors:
        first = errors[0]
        raise document.error(tuple(first.instance_path), first.message)
    return _build(document, variables or {})


def _build(document: SpecDocument, variables: Mapping[str, str]) -> CompiledMapping:
    declared: Mapping[str, str] = document.data.get("variables") or {}
    values = {**declared, **{k: str(v) for k, v in variables.items() if k in declared}}
    try:
        spec = compile_spec(document.data, document.path, values)
    except SpecError as exc:
        raise document.error(exc.location, exc.message) from None
    path = document.path
    if spec.name != path.parent.name and path.name == SPEC_FILE:
        file, line = document.locate(("name",))
        raise ConfigurationError(
            f"name {spec.name!r} must equal the folder name {path.parent.name!r}", file=file, line=line
        )
    option_sources = {
        (section, key): document.locate(("source", section, key))
        for section, options in (
            ("options", spec.source.options),
            ("writer_options", spec.source.writer_options),
        )
        for key in options
    }
    return CompiledMapping(spec, option_sources, rebuild=partial(_build, document))
