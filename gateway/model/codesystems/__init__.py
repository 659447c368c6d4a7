"""Code systems of the canonical model, kept as data files beside this module.

Each ``<name>.json`` is ``{"uri", "source", "concepts": [{"code", "display", "definition"?, "alias"?}]}``.
The URI is ``urn:fr:reseau-emploi:cs:<name>`` (the one exception, ``sensitivity``, keeps the URI the
contract fixed: ``urn:fr:reseau-emploi:sensitivity``). ``alias`` lists the partner spellings of a code
(``PED`` for ``emploi``) so that a lookup by alias finds the canonical concept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

CODESYSTEM_DIR = Path(__file__).resolve().parent
URI_PREFIX = "urn:fr:reseau-emploi:cs:"


@dataclass(frozen=True)
class Concept:
    code: str
    display: str
    definition: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeSystem:
    name: str
    uri: str
    source: str
    concepts: tuple[Concept, ...]
    _index: MappingProxyType[str, Concept] = field(repr=False, compare=False)
    _codes: frozenset[str] = field(repr=False, compare=False)

    @classmethod
    def from_data(cls, name: str, data: dict[str, Any]) -> CodeSystem:
        """Build and check a code system: codes and aliases must be unique, source and uri present."""
        uri, source = data.get("uri"), data.get("source")
        if not isinstance(uri, str) or not uri:
            raise ValueError(f"code system {name}: uri missing")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"code system {name}: source missing")
        concepts = tuple(
            Concept(
                code=c["code"],
                display=c["display"],
                definition=c.get("definition"),
                aliases=tuple(c.get("alias", ())),
            )
            for c in data["concepts"]
        )
        index: dict[str, Concept] = {}
        for concept in concepts:
            if concept.code in index:
                raise ValueError(f"code system {name}: duplicate code {concept.code!r}")
            index[concept.code] = concept
        for concept in concepts:
            for alias in concept.aliases:
                if alias in index:
                    raise ValueError(f"code system {name}: alias {alias!r} clashes with a code or alias")
                index[alias] = concept
        return cls(name, uri, source, concepts, MappingProxyType(index), frozenset(c.code for c in concepts))

    def lookup(self, code: str) -> Concept | None:
        """The concept with this code, or with this alias; None if unknown."""
        return self._index.get(code)

    def codes(self) -> frozenset[str]:
        """The canonical codes (aliases excluded)."""
        return self._codes

    def __contains__(self, code: object) -> bool:
        """True for a canonical code (not an alias): what a canonical Coding may hold."""
        return isinstance(code, str) and code in self._codes


def names() -> frozenset[str]:
    """Names of every code system file."""
    return frozenset(p.stem for p in CODESYSTEM_DIR.glob("*.json"))


@cache
def load(name: str) -> CodeSystem:
    """The code system ``<name>.json``; KeyError if there is no such file."""
    path = CODESYSTEM_DIR / f"{name}.json"
    if "/" in name or not path.is_file():
        raise KeyError(f"no code system named {name!r}")
    return CodeSystem.from_data(name, json.loads(path.read_text(encoding="utf-8")))


@cache
def all_codesystems() -> MappingProxyType[str, CodeSystem]:
    """Every code system by name."""
    return MappingProxyType({name: load(name) for name in sorted(names())})


@cache
def _by_uri() -> MappingProxyType[str, CodeSystem]:
    return MappingProxyType({cs.uri: cs for cs in all_codesystems().values()})


def by_uri(uri: str) -> CodeSystem | None:
    """The code system with this URI, or None."""
    return _by_uri().get(uri)


def uri_of(name: str) -> str:
    """URI of a code system, by name (KeyError if unknown)."""
    return load(name).uri
