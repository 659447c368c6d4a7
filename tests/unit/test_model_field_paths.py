"""field_paths lists every canonical field a schema allows, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.model.field_paths import field_paths, is_field_path
from gateway.model.schema_store import resource_types
from gateway.model.strategies import resources


def paths_of(value: Any, prefix: str) -> set[str]:
    """The field paths an instance actually uses (arrays transparent)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            found.add(f"{prefix}.{key}")
            found |= paths_of(sub, f"{prefix}.{key}")
    elif isinstance(value, list):
        for item in value:
            found |= paths_of(item, prefix)
    return found


def test_contract_examples() -> None:
    person = field_paths("Person")
    assert {"Person.name.family", "Person.name.given", "Person.birthDate", "Person.identifier"} <= person
    assert {"Person.identifier.value", "Person.address.city", "Person.meta.security.code"} <= person
    assert "Diagnostic.constraint.code" in field_paths("Diagnostic")
    assert "Service.thematiques" in field_paths("Service")
    assert "Person.birthdate" not in person and "Person.name.first" not in person


def test_bundle_entries_stop_at_the_resource() -> None:
    bundle = field_paths("Bundle")
    assert {"Bundle.entry.resource", "Bundle.entry.fullUrl", "Bundle.type"} <= bundle
    assert not any(path.startswith("Bundle.entry.resource.") and path != "Bundle.entry.resource.resourceType"
                   for path in bundle)  # fmt: skip


def test_is_field_path_with_identifier_selectors() -> None:
    assert is_field_path("Person.identifier[urn:fr:insee:nir]")
    assert is_field_path("Person.identifier[urn:fr:plie:123.45:participant].value")
    assert is_field_path("Person.name.family")
    assert not is_field_path("Person")
    assert not is_field_path("Person.nom")
    assert not is_field_path("Patient.name")


def test_unknown_type_raises() -> None:
    with pytest.raises(KeyError):
        field_paths("Patient")


@pytest.mark.parametrize("resource_type", sorted(resource_types() - {"Bundle"}))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_path_of_a_valid_resource_is_listed(resource_type: str, data: st.DataObject) -> None:
    resource = data.draw(resources(resource_type))
    assert paths_of(resource, resource_type) <= field_paths(resource_type)
