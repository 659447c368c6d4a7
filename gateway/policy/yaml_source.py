"""Read a YAML file keeping line numbers, so that every error can name the file and the line.

ruamel.yaml's round-trip loader records the position of every key and list item; ``Located`` wraps the
plain data (what the JSON Schema and the compiler see) with a function that finds the line of any path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from gateway.errors import ConfigurationError

PathPart = str | int


@dataclass(frozen=True)
class Located:
    """Plain data of a YAML file and its round-trip tree (for line numbers)."""

    file: str
    data: Any
    tree: Any

    def line(self, path: Sequence[PathPart]) -> int | None:
        """1-based line of the deepest node of ``path`` that the file locates."""
        node = self.tree
        line: int | None = 1
        for part in path:
            if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        return line

    def error(self, message: str, path: Sequence[PathPart] = ()) -> ConfigurationError:
        return ConfigurationError(message, file=self.file, line=self.line(path))


def to_plain(node: Any) -> Any:
    """Round-trip tree → plain dicts/lists/str; YAML dates become ISO strings (the schema checks them)."""
    if isinstance(node, dict):
        return {str(key): to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    if isinstance(node, dt.datetime | dt.date):
        return node.isoformat()
    if isinstance(node, str):
        return str(node)
    return node


def round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def load_located(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read convention file: {exc.__class__.__name__}", file=str(path)
        ) from exc
    try:
        tree = round_trip_yaml().load(text)
    except Exception as exc:  # ruamel raises several classes; all mean a malformed file
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise ConfigurationError(f"invalid YAML: {problem}", file=str(path), line=line) from exc
    return Located(file=str(path), data=to_plain(tree), tree=tree)
