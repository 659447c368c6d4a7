"""Load a mapping spec: YAML (round-trip loader, for line numbers) → JSON Schema check → compile.

Every error is a ``ConfigurationError`` naming the spec file and the line of the offending node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from gateway.errors import ConfigurationError
from gateway.mapping.compiled import CompiledMapping
from gateway.mapping.compiler import Location, SpecError, compile_spec


@cache
def _validator() -> Any:
    schema = json.loads(resources.files("gateway.mapping").joinpath("spec_schema.json").read_text("utf-8"))
    return jsonschema_rs.validator_for(schema)


def plain(node: Any) -> Any:
    """ruamel's commented containers → plain dicts/lists (what the schema validator and compiler read)."""
    if isinstance(node, Mapping):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def line_of(tree: Any, location: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of ``location`` found in the round-trip tree."""
    line: int | None = 1
    node = tree
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
    return line


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


def load_mapping(path: str | Path) -> CompiledMapping:
    """Load, validate and compile one spec file."""
    path = Path(path)
    tree = read_tree(path)
    data = plain(tree)
    if not isinstance(data, dict):
        raise ConfigurationError("a mapping spec must be a YAML mapping", file=str(path), line=1)
    errors = sorted(_validator().iter_errors(data), key=lambda e: len(e.instance_path), reverse=True)
    if errors:
        first = errors[0]
        location = tuple(first.instance_path)
        raise ConfigurationError(
            f"{describe(location)}: {first.message}", file=str(path), line=line_of(tree, location)
        )
    try:
        spec = compile_spec(data, path)
    except SpecError as exc:
        raise ConfigurationError(
            f"{describe(exc.location)}: {exc.message}", file=str(path), line=line_of(tree, exc.location)
        ) from None
    if spec.name != path.parent.name and path.name == "mapping.yaml":
        raise ConfigurationError(
            f"name {spec.name!r} must equal the folder name {path.parent.name!r}",
            file=str(path),
            line=line_of(tree, ("name",)),
        )
    option_lines = {key: line_of(tree, loc) for key, loc in spec.source.option_locations.items()}
    return CompiledMapping(spec, option_lines)
