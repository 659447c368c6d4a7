"""The canonical JSON Schemas as data: where they live, their URIs, loading them once.

One file per resource type in ``schemas/<ResourceType>.json`` plus ``schemas/common.json``. Each file's
``$id`` is ``urn:fr:reseau-emploi:schema:<name>``; files refer to each other by those URIs.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_URI_PREFIX = "urn:fr:reseau-emploi:schema:"
COMMON = "common"
BUNDLE = "Bundle"

Schema = dict[str, Any]


def schema_uri(name: str) -> str:
    """``$id`` of a schema file: ``urn:fr:reseau-emploi:schema:<name>``."""
    return SCHEMA_URI_PREFIX + name


@cache
def load_schemas() -> MappingProxyType[str, Schema]:
    """All schema files by name (resource type, ``Bundle`` or ``common``), read once."""
    schemas: dict[str, Schema] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        if schema.get("$id") != schema_uri(path.stem):
            raise ValueError(f"{path.name}: $id must be {schema_uri(path.stem)}")
        schemas[path.stem] = schema
    return MappingProxyType(schemas)


def resource_types() -> frozenset[str]:
    """Every resource type with a schema, ``Bundle`` included."""
    return frozenset(name for name in load_schemas() if name != COMMON)


def get_schema(name: str) -> Schema:
    """The schema of one resource type (or ``common``); KeyError if there is none."""
    return load_schemas()[name]
