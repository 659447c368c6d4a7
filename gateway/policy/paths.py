"""Field-path allowlists compiled once, and the verdict on any concrete path of a resource.

Paths are ``<ResourceType>.<dotted.path>`` with arrays transparent; an identifier element is written
``<...>.identifier[<system>]`` and also matches the unqualified ``<...>.identifier``. A listed path covers
its whole subtree. The verdict on a concrete node is one of:

* ``KEEP``: allowed and nothing below is denied, copy the subtree as is;
* ``DROP``: denied (explicit deny wins) or not allowed and nothing below is allowed;
* ``DESCEND``: partly allowed, look at the children.

Verdicts are memoised per concrete path: a flow meets a few hundred distinct paths, then only dict hits.
Projection walks a tree of ``PathNode``s (one per concrete path, children memoised by key), so that a record
costs dict lookups only: no path string is built or split once a path has been met.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

_SELECTOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([^\]]+)\]$")


MEMO_LIMIT = 20_000
"""Concrete paths memoised per allowlist: beyond, verdicts are computed per use, so that data bringing ever
new keys or identifier systems cannot grow memory without bound."""


class Action(Enum):
    KEEP = "keep"
    DROP = "drop"
    DESCEND = "descend"


@dataclass(frozen=True)
class Verdict:
    action: Action
    rule: str | None = None
    """Why a node is dropped: ``deny:<path>`` or ``not-allowed``."""


def split_path(path: str) -> list[str]:
    """Split on dots outside ``[...]`` (identifier systems are URNs with colons, never dots in brackets)."""
    if "[" not in path and "]" not in path:
        return path.split(".")
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _forms(segments: list[str]) -> set[str]:
    """Every spelling of a path: each ``name[system]`` segment also as plain ``name``."""
    forms = [""]
    for index, segment in enumerate(segments):
        match = _SELECTOR.match(segment)
        variants = [segment, match.group(1)] if match else [segment]
        joiner = "" if index == 0 else "."
        forms = [form + joiner + variant for form in forms for variant in variants]
    return set(forms)


def _ancestor_forms(segments: list[str], *, proper: bool) -> set[str]:
    """Forms of every prefix of ``segments`` (the path itself too unless ``proper``)."""
    result: set[str] = set()
    stop = len(segments) - 1 if proper else len(segments)
    for length in range(1, stop + 1):
        result |= _forms(segments[:length])
    return result


def _array_forms(segments: list[str]) -> set[str]:
    """For a path ending in ``identifier[s]``: the forms of the array that holds such elements."""
    match = _SELECTOR.match(segments[-1]) if segments else None
    return _forms([*segments[:-1], match.group(1)]) if match else set()


def _inside(paths: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(proper ancestors of ``paths``, arrays holding a selected identifier of ``paths``)."""
    ancestors: set[str] = set()
    arrays: set[str] = set()
    for path in paths:
        segments = split_path(path)
        ancestors |= _ancestor_forms(segments, proper=True)
        arrays |= _array_forms(segments)
    return frozenset(ancestors), frozenset(arrays)


class CompiledAllowlist:
    """Allow and deny paths of one flow, ready for verdicts on concrete paths."""

    def __init__(self, allow: Iterable[str], deny: Iterable[str]) -> None:
        self.allow = frozenset(allow)
        self.deny = frozenset(deny)
        self._allow_inside, self._allow_arrays = _inside(self.allow)
        self._deny_inside, self._deny_arrays = _inside(self.deny)
        self._memo: dict[str, Verdict] = {}
        self._roots: dict[str, PathNode] = {}

    def verdict(self, path: str) -> Verdict:
        cached = self._memo.get(path)
        if cached is None:
            cached = self._compute(path)
            if self.has_room():
                self._memo[path] = cached
        return cached

    def has_room(self) -> bool:
        """True while the memo (and the node tree, one node per memoised path) is under ``MEMO_LIMIT``."""
        return len(self._memo) < MEMO_LIMIT

    def _compute(self, path: str) -> Verdict:
        segments = split_path(path)
        covering = _ancestor_forms(segments, proper=False)
        denied = sorted(covering & self.deny)
        if denied:
            return Verdict(Action.DROP, f"deny:{denied[0]}")
        own_forms = _forms(segments)
        # An identifier element is not "inside" a path that selects another system; its array is.
        is_element = bool(_SELECTOR.match(segments[-1]))
        if covering & self.allow:
            deny_below = own_forms & self._deny_inside or (not is_element and own_forms & self._deny_arrays)
            return Verdict(Action.DESCEND if deny_below else Action.KEEP)
        if own_forms & self._allow_inside or (not is_element and own_forms & self._allow_arrays):
            return Verdict(Action.DESCEND)
        return Verdict(Action.DROP, "not-allowed")

    def covers(self, path: str) -> bool:
        """True if a field path (as a mapping declares it) would reach the receiver at least in part."""
        return self.verdict(path).action is not Action.DROP

    def root(self, resource_type: str) -> PathNode:
        """The node of a resource type, from which projection reaches every concrete path below."""
        node = self._roots.get(resource_type)
        if node is None:
            node = self._roots[resource_type] = PathNode(self, resource_type)
        return node


class PathNode(dict[str, "PathNode"]):
    """One concrete path under one allowlist: its verdict, and its children built once then reused.

    The node is the dict of its children by key (``node[key]`` is ``<path>.<key>``, made on first use), so
    that a walk costs one dict lookup per node.
    """

    __slots__ = ("_allowlist", "_elements", "action", "path", "rule")

    def __init__(self, allowlist: CompiledAllowlist, path: str) -> None:
        super().__init__()
        verdict = allowlist.verdict(path)
        self.path = path
        self.action = verdict.action
        self.rule = verdict.rule or "not-allowed"  # the rule suffix reported when the node is removed
        self._allowlist = allowlist
        self._elements: dict[str, PathNode] = {}

    def __missing__(self, key: str) -> PathNode:
        node = PathNode(self._allowlist, f"{self.path}.{key}")
        if self._allowlist.has_room():
            self[key] = node
        return node

    def element(self, system: str) -> PathNode:
        """``<path>[<system>]``: an identifier element of this array, by system."""
        node = self._elements.get(system)
        if node is None:
            node = PathNode(self._allowlist, f"{self.path}[{system}]")
            if self._allowlist.has_room():
                self._elements[system] = node
        return node
