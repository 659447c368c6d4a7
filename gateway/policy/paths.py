"""Field-path allowlists compiled once, and the verdict on any concrete path of a resource.

Paths are ``<ResourceType>.<dotted.path>`` with arrays transparent; an identifier element is written
``<...>.identifier[<system>]`` and also matches the unqualified ``<...>.identifier``. A listed path covers
its whole subtree. The verdict on a concrete node is one of:

* ``KEEP``: allowed and nothing below is denied, copy the subtree as is;
* ``DROP``: denied (explicit deny wins) or not allowed and nothing below is allowed;
* ``DESCEND``: partly allowed, look at the children.

Verdicts are memoised per concrete path: a flow meets a few hundred distinct paths, then only dict hits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

_SELECTOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([^\]]+)\]$")


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

    def verdict(self, path: str) -> Verdict:
        cached = self._memo.get(path)
        if cached is None:
            cached = self._memo[path] = self._compute(path)
        return cached

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
