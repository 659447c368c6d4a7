"""Canonical field paths: every ``<ResourceType>.<dotted.path>`` a schema allows.

Arrays are transparent (``Person.address.city``), ``$ref`` is followed across schema files, and every
intermediate path is listed too (``Person.name`` as well as ``Person.name.family``). Conditions (``if``)
are not fields; ``then``/``else``/``anyOf``/``oneOf``/``allOf`` branches contribute their properties.
Inside a Bundle, ``Bundle.entry.resource`` is a leaf: a resource's own paths start with its type.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from gateway.model.schema_store import SCHEMA_URI_PREFIX, Schema, load_schemas, resource_types

_SELECTOR = re.compile(r"\[[^\]]*\]")
_BRANCHES = ("anyOf", "oneOf", "allOf")


def _resolve(ref: str, base: str) -> tuple[str, Any]:
    """(document name, sub-schema) a ``$ref`` points at, ``base`` being the current document name."""
    uri, _, fragment = ref.partition("#")
    document = uri.removeprefix(SCHEMA_URI_PREFIX) if uri else base
    node: Any = load_schemas()[document]
    for part in filter(None, fragment.split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return document, node


class _Collector:
    def __init__(self) -> None:
        self.paths: set[str] = set()
        self._seen: set[tuple[str, int, str]] = set()
        self._resources = resource_types()

    def walk(self, schema: Any, document: str, prefix: str) -> None:
        if not isinstance(schema, dict):
            return
        key = (document, id(schema), prefix)
        if key in self._seen:
            return
        self._seen.add(key)
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref.startswith(SCHEMA_URI_PREFIX) and ref.removeprefix(SCHEMA_URI_PREFIX) in self._resources:
                return  # a whole other resource (Bundle entries): its paths belong to its own type
            target_document, target = _resolve(ref, document)
            self.walk(target, target_document, prefix)
        for name, sub in schema.get("properties", {}).items():
            path = f"{prefix}.{name}"
            self.paths.add(path)
            self.walk(sub, document, path)
        self.walk(schema.get("items"), document, prefix)
        for keyword in ("then", "else"):
            self.walk(schema.get(keyword), document, prefix)
        for keyword in _BRANCHES:
            for sub in schema.get(keyword, ()):
                self.walk(sub, document, prefix)


@cache
def field_paths(resource_type: str) -> frozenset[str]:
    """Every field path of ``resource_type`` (e.g. ``Person.name.family``). KeyError if unknown."""
    if resource_type not in resource_types():
        raise KeyError(f"unknown resource type {resource_type!r}")
    schema: Schema = load_schemas()[resource_type]
    collector = _Collector()
    collector.walk(schema, resource_type, resource_type)
    return frozenset(collector.paths)


def is_field_path(path: str) -> bool:
    """True if ``path`` names a canonical field, identifier selectors allowed.

    ``Person.identifier[urn:fr:insee:nir]`` and ``Person.identifier[urn:fr:insee:nir].value`` are fields:
    the bracket selects identifiers of one system and is dropped before the lookup.
    """
    resource_type, _, rest = path.partition(".")
    if not rest or resource_type not in resource_types():
        return False
    return _SELECTOR.sub("", path) in field_paths(resource_type)
