"""Property tests: jsonschema-rs and the pure-Python jsonschema agree on generated valid resources and on
targeted mutations of them, and no issue message repeats a mutated (personal) value."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gateway.model.identifiers import NIR
from gateway.model.nir import complete_nir
from gateway.model.schema_store import load_schemas, resource_types, schema_uri
from gateway.model.strategies import bundles, nir13, resources
from gateway.model.validation import get_validator

TYPES = sorted(resource_types() - {"Bundle"})
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A personal-looking value, long enough not to occur in a message by chance.
PERSONAL = st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ", min_size=8, max_size=16).map(lambda s: f"Dupont-{s}")


@cache
def second_opinion(resource_type: str) -> Draft202012Validator:
    """The pure-Python validator of one schema, with every schema in its registry."""
    registry: Registry[Any] = Registry().with_resources(
        (schema_uri(name), Resource.from_contents(schema, default_specification=DRAFT202012))
        for name, schema in load_schemas().items()
    )
    return Draft202012Validator(load_schemas()[resource_type], registry=registry)


def both_accept(resource: dict[str, Any]) -> None:
    issues = get_validator().validate(resource)
    assert issues == [], [str(i) for i in issues]
    assert list(second_opinion(resource["resourceType"]).iter_errors(resource)) == []


def both_reject(resource: dict[str, Any], resource_type: str, *secrets: str) -> None:
    issues = get_validator().validate(resource)
    assert issues
    assert not second_opinion(resource_type).is_valid(resource)
    for issue in issues:
        for secret in secrets:
            assert secret not in str(issue)


def required_fields(resource_type: str) -> list[str]:
    return list(load_schemas()[resource_type]["required"])


def date_fields(resource_type: str) -> list[str]:
    """Top-level fields holding a date (or date-time), from the schema."""
    properties = load_schemas()[resource_type]["properties"]
    return sorted(
        name
        for name, sub in properties.items()
        if sub.get("$ref", "").endswith(("/date", "/dateTime", "/dateOrDateTime")) or name == "date_maj"
    )


@pytest.mark.parametrize("resource_type", TYPES)
@SETTINGS
@given(data=st.data())
def test_generated_resources_are_valid_for_both(resource_type: str, data: st.DataObject) -> None:
    both_accept(data.draw(resources(resource_type)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundles())
def test_generated_bundles_are_valid_for_both(bundle: dict[str, Any]) -> None:
    both_accept(bundle)


@pytest.mark.parametrize("resource_type", TYPES)
@SETTINGS
@given(data=st.data())
def test_dropping_a_required_field_is_rejected(resource_type: str, data: st.DataObject) -> None:
    resource = data.draw(resources(resource_type))
    field = data.draw(st.sampled_from(required_fields(resource_type)))
    del resource[field]
    both_reject(resource, resource_type)


@pytest.mark.parametrize("resource_type", TYPES)
@SETTINGS
@given(data=st.data())
def test_wrong_type_is_rejected(resource_type: str, data: st.DataObject) -> None:
    resource = data.draw(resources(resource_type))
    field = data.draw(st.sampled_from(sorted(resource)))
    # No field of ours accepts both a boolean and a string.
    resource[field] = "true" if isinstance(resource[field], bool) else True
    both_reject(resource, resource_type)


@pytest.mark.parametrize("resource_type", TYPES)
@SETTINGS
@given(data=st.data(), value=PERSONAL)
def test_unknown_property_is_rejected_without_echoing_its_value(
    resource_type: str, data: st.DataObject, value: str
) -> None:
    resource = data.draw(resources(resource_type))
    resource["birthdate" if "birthdate" not in resource else "nom_de_naissance"] = value
    both_reject(resource, resource_type, value)


@pytest.mark.parametrize("resource_type", [t for t in TYPES if date_fields(t)])
@SETTINGS
@given(data=st.data(), day=st.dates())
def test_partner_date_formats_are_rejected_without_echoing_them(
    resource_type: str, data: st.DataObject, day: Any
) -> None:
    resource = data.draw(resources(resource_type))
    field = data.draw(st.sampled_from(date_fields(resource_type)))
    bad = data.draw(st.sampled_from([day.strftime("%d/%m/%Y"), day.strftime("%d%m%Y"), f"{day.year}-13-01"]))
    resource[field] = bad
    both_reject(resource, resource_type, bad)


@SETTINGS
@given(data=st.data(), body=nir13(), bad_key=st.sampled_from(["00", "98", "99", "1X", "7"]))
def test_nir_with_a_bad_key_pattern_is_rejected_without_echoing_it(
    data: st.DataObject, body: str, bad_key: str
) -> None:
    resource = data.draw(resources("Person"))
    nir = body + bad_key
    resource["identifier"] = [{"system": NIR, "value": nir}]
    both_reject(resource, "Person", nir)


@SETTINGS
@given(data=st.data(), body=nir13(), delta=st.integers(1, 96))
def test_nir_with_a_wrong_key_is_rejected_by_our_validator(
    data: st.DataObject, body: str, delta: int
) -> None:
    resource = data.draw(resources("Person"))
    right = int(complete_nir(body)[13:])
    nir = body + f"{(right - 1 + delta) % 97 + 1:02d}"
    resource["identifier"] = [{"system": NIR, "value": nir}]
    issues = get_validator().validate(copy.deepcopy(resource))
    assert [(i.path, i.rule) for i in issues] == [("$.identifier[0].value", "nir-key")]
    assert nir not in str(issues[0])
