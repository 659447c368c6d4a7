"""Hypothesis strategies generating valid canonical resources, derived from the JSON Schemas.

For property tests (here and in the mapping, policy and audit tests). Needs ``hypothesis`` (a dev
dependency): import this module from tests only.

The schema walk covers what our schemas use (``$ref``, ``const``, ``enum``, ``anyOf``, objects with
required/optional properties, arrays, patterned strings, bounded numbers); the few definitions whose
rules are not structural get hand-written strategies (Identifier: a NIR gets a valid key; Reference:
typed targets; Extension: exactly one value; SecurityLabel: the sensitivity code list).
Patterned strings use ASCII only: ``\\d``/``\\w``/``\\S`` differ between ECMA 262 (jsonschema-rs) and
Python's ``re`` outside ASCII.
"""

from __future__ import annotations

import re
import string
from functools import cache
from typing import Any

from hypothesis import strategies as st

from gateway.model.codesystems import all_codesystems
from gateway.model.identifiers import CAF_MATRICULE, FRANCE_TRAVAIL_ID, NIR, SIRET
from gateway.model.nir import complete_nir
from gateway.model.schema_store import SCHEMA_URI_PREFIX, load_schemas, resource_types

Json = Any
ASCII = string.ascii_letters + string.digits + string.punctuation + " "
_TYPED_REFERENCE = re.compile(r"^\^\(\(([A-Za-z|]+)\)/")
_MAX_ITEMS = 3


def ids() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True)


def nir13() -> st.SearchStrategy[str]:
    """A 13-character NIR body: sex, year, month, département (Corsica included), commune, order."""
    return st.builds(
        lambda sex, year, month, dept, rest: f"{sex}{year:02d}{month:02d}{dept}{rest:06d}",
        st.sampled_from("12"),
        st.integers(0, 99),
        st.integers(1, 12),
        st.one_of(st.integers(1, 95).map(lambda d: f"{d:02d}"), st.sampled_from(["2A", "2B"])),
        st.integers(0, 999_999),
    )


def nirs() -> st.SearchStrategy[str]:
    """A 15-character NIR with its correct key."""
    return nir13().map(complete_nir)


def _identifier() -> st.SearchStrategy[dict[str, Json]]:
    other = st.fixed_dictionaries(
        {
            "system": st.sampled_from([CAF_MATRICULE, FRANCE_TRAVAIL_ID, SIRET, "urn:fr:departement:26:id"]),
            "value": st.text(min_size=1, max_size=20),
        }
    )
    nir = st.fixed_dictionaries({"system": st.just(NIR), "value": nirs()})
    return st.one_of(nir, other)


def _reference(types: list[str] | None) -> st.SearchStrategy[dict[str, Json]]:
    targets = st.sampled_from(types or sorted(resource_types() - {"Bundle"}))
    by_reference = st.fixed_dictionaries(
        {"reference": st.builds(lambda t, i: f"{t}/{i}", targets, ids())},
        optional={"display": st.sampled_from(["référent", "CAF"])},
    )
    by_identifier = st.fixed_dictionaries({"identifier": _identifier()})
    return st.one_of(by_reference, by_identifier)


def _extension() -> st.SearchStrategy[dict[str, Json]]:
    values = st.one_of(
        st.tuples(st.just("valueString"), st.text(max_size=20)),
        st.tuples(st.just("valueBoolean"), st.booleans()),
        st.tuples(st.just("valueInteger"), st.integers(-(10**6), 10**6)),
    )
    return st.builds(lambda kv: {"url": "urn:fr:cnaf:flux:vrsb0801:QUAL", kv[0]: kv[1]}, values)


def _security_label() -> st.SearchStrategy[dict[str, Json]]:
    return st.fixed_dictionaries(
        {
            "system": st.just("urn:fr:reseau-emploi:sensitivity"),
            "code": st.sampled_from(["health", "disability", "social-difficulty", "justice", "nir"]),
        }
    )


def _coding_of(name: str) -> st.SearchStrategy[dict[str, Json]]:
    codesystem = all_codesystems()[name]
    return st.fixed_dictionaries(
        {"system": st.just(codesystem.uri), "code": st.sampled_from(sorted(codesystem.codes()))},
        optional={"display": st.text(min_size=1, max_size=20)},
    )


def _coding() -> st.SearchStrategy[dict[str, Json]]:
    """A Coding of one of our code systems (with one of its codes) or of a partner's system."""
    ours = st.sampled_from(sorted(all_codesystems())).flatmap(_coding_of)
    partner = st.fixed_dictionaries(
        {
            "system": st.just("urn:fr:cnaf:flux:vrsb0801:code"),
            "code": st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True),
        }
    )
    return st.one_of(ours, partner)


_OVERRIDES = {
    ("common", "Coding"): _coding,
    ("common", "Identifier"): _identifier,
    ("common", "Extension"): _extension,
    ("common", "SecurityLabel"): _security_label,
}


def _resolve(ref: str, document: str) -> tuple[str, str, Json]:
    uri, _, fragment = ref.partition("#")
    target_document = uri.removeprefix(SCHEMA_URI_PREFIX) if uri else document
    node: Json = load_schemas()[target_document]
    parts = [p for p in fragment.split("/") if p]
    for part in parts:
        node = node[part]
    return target_document, parts[-1] if parts else target_document, node


def from_schema(schema: Json, document: str) -> st.SearchStrategy[Json]:
    """A strategy for instances of ``schema`` (a node of the schema file ``document``)."""
    if "$ref" in schema:
        target_document, name, target = _resolve(schema["$ref"], document)
        if (target_document, name) == ("common", "Reference"):
            pattern = schema.get("properties", {}).get("reference", {}).get("pattern", "")
            match = _TYPED_REFERENCE.match(pattern)
            return _reference(match.group(1).split("|") if match else None)
        override = _OVERRIDES.get((target_document, name))
        return override() if override else from_schema(target, target_document)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema and "properties" not in schema:
        return st.one_of([from_schema(branch, document) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _object(schema, document)
    if kind == "array":
        return _array(schema, document)
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low = schema.get("minimum", -(10**6))
        return st.integers(low, schema.get("maximum", low + 10**6))
    if kind == "number":
        low = schema.get("minimum", -1e6)
        return st.floats(low, schema.get("maximum", low + 1e6), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise NotImplementedError(f"no strategy for schema keywords {sorted(schema)} in {document}")


def _object(schema: Json, document: str) -> st.SearchStrategy[dict[str, Json]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    strategy = st.fixed_dictionaries(
        {name: from_schema(sub, document) for name, sub in properties.items() if name in required},
        optional={
            name: from_schema(sub, document) for name, sub in properties.items() if name not in required
        },
    )
    min_properties = schema.get("minProperties", 0)
    return strategy.filter(lambda d: len(d) >= min_properties) if min_properties else strategy


def _array(schema: Json, document: str) -> st.SearchStrategy[list[Json]]:
    items = from_schema(schema.get("items", {"type": "string"}), document)
    low = schema.get("minItems", 0)
    unique_by = repr if schema.get("uniqueItems") else None
    return st.lists(items, min_size=low, max_size=max(low, _MAX_ITEMS), unique_by=unique_by)


def _string(schema: Json) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if "pattern" in schema:
        strategy = st.from_regex(schema["pattern"], fullmatch=True, alphabet=ASCII)
        return strategy.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))
    return st.text(min_size=low, max_size=high if high is not None else max(low, 40))


@cache
def resources(resource_type: str) -> st.SearchStrategy[dict[str, Json]]:
    """Valid resources of one type (not Bundle)."""
    return from_schema(load_schemas()[resource_type], resource_type)


def bundles(max_entries: int = 4) -> st.SearchStrategy[dict[str, Json]]:
    """Valid Bundles of valid resources of any types."""
    types = sorted(resource_types() - {"Bundle"})
    entry = st.one_of([resources(t) for t in types]).map(lambda r: {"resource": r})
    return st.fixed_dictionaries(
        {
            "resourceType": st.just("Bundle"),
            "type": st.sampled_from(["collection", "transaction", "message"]),
            "entry": st.lists(entry, max_size=max_entries),
        },
        optional={"id": ids()},
    )
