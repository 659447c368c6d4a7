"""The compiled allowlists and verdicts that enforcement memoises never outlive the conventions in force:
a status change, a reload of edited files or a validity boundary is honoured by the very next decision,
even right after a decision that warmed the caches. And the fields a decision reports are those of its
Bundle.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from gateway.audit import KeyedPseudonymiser
from gateway.errors import PolicyDenied
from gateway.model.strategies import resources
from gateway.policy import ConventionRegistry, change_status, enforce_egress, enforce_ingress, paths
from gateway.policy.paths import CompiledAllowlist
from gateway.policy.projection import IdentifierPolicy, Projection, present_paths, project_resource
from tests.fixtures.policy.bundles import bundle_for, full_resource

ROOT = Path(__file__).resolve().parents[2]
AT = dt.datetime(2025, 9, 15, 9, 30, tzinfo=dt.UTC)
KEY = KeyedPseudonymiser(b"cache-test-key-0123456789abcdef!")
REGISTRY = ConventionRegistry.load(ROOT / "conventions")
FLOWS = [flow for convention in REGISTRY for flow in convention.flows]


def _bundle(*resource_types: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "entry": [{"resource": full_resource(t)} for t in resource_types]}


def test_a_suspension_after_a_first_ingress_shrinks_the_coverage(editable: Path, engine: Engine) -> None:
    # cd26 sends under three conventions; only departement-drome-ft carries Diagnostic.
    registry = ConventionRegistry.load(editable)
    bundle = _bundle("Diagnostic", "Household")
    first = enforce_ingress(registry, "cd26", bundle, None, AT)
    assert "Diagnostic" not in first.removed_fields  # covered (some of its fields are not)
    assert "departement-drome-ft@1.3/cd26-to-ft-diagnostic" in first.flows

    change_status(registry, "departement-drome-ft", "suspended", by="dpo", engine=engine, at=AT)
    reloaded = ConventionRegistry.load(editable)  # what Gateway.reload_conventions does
    after = enforce_ingress(reloaded, "cd26", bundle, None, AT)
    assert "Diagnostic" in after.removed_fields  # the whole resource type: no flow in force carries it
    assert not any(key.startswith("departement-drome-ft@") for key in after.flows)
    assert enforce_ingress(reloaded, "cd26", bundle, "diagnostic-accompagnement", AT).rules == (
        "policy:no-runnable-flow",
    )


def test_a_revocation_after_a_first_enforcement_stops_both_directions(editable: Path, engine: Engine) -> None:
    registry = ConventionRegistry.load(editable)
    flow = registry.flow("plie-lille-ft", "plie-to-ft")
    bundle = bundle_for(flow)
    assert enforce_ingress(registry, "plie-mel", bundle, None, AT).allowed
    assert enforce_egress(flow, bundle, AT, KEY).allowed

    change_status(registry, "plie-lille-ft", "revoked", by="dpo", engine=engine, at=AT)
    reloaded = ConventionRegistry.load(editable)
    assert enforce_ingress(reloaded, "plie-mel", bundle, None, AT).rules == ("policy:no-runnable-flow",)
    assert reloaded.routes("plie-mel", bundle, AT) == []
    with pytest.raises(PolicyDenied) as denied:
        enforce_egress(reloaded.flow("plie-lille-ft", "plie-to-ft"), bundle, AT, KEY)
    assert denied.value.rules == ("conv:plie-lille-ft:status:revoked",)


def test_an_allowlist_edited_in_place_is_honoured_after_reload(editable: Path) -> None:
    # Same convention id and version, one allow line less: nothing keyed on identity may serve the old list.
    registry = ConventionRegistry.load(editable)
    flow = registry.flow("plie-lille-ft", "plie-to-ft")
    assert "Person.birthDate" in flow.allow
    bundle = bundle_for(flow)
    assert "Person.birthDate" in enforce_ingress(registry, "plie-mel", bundle, None, AT).fields
    assert "Person.birthDate" in enforce_egress(flow, bundle, AT, KEY).fields

    path = editable / "plie-lille-ft.yaml"
    text = path.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines(keepends=True) if line.strip() == "- Person.birthDate")
    path.write_text(text.replace(line, "", 1), encoding="utf-8")
    reloaded = ConventionRegistry.load(editable)
    edited = reloaded.flow("plie-lille-ft", "plie-to-ft")
    ingress = enforce_ingress(reloaded, "plie-mel", bundle, None, AT)
    assert "Person.birthDate" in ingress.removed_fields and "Person.birthDate" not in ingress.fields
    egress = enforce_egress(edited, bundle, AT, KEY)
    assert "Person.birthDate" in egress.removed_fields and "Person.birthDate" not in egress.fields


def test_the_validity_boundary_is_respected_on_both_sides() -> None:
    # departement-drome-ft ends on 2026-12-31, a French calendar day: 23:00 UTC is already 1 January in Paris.
    last_minute = dt.datetime(2026, 12, 31, 22, 59, tzinfo=dt.UTC)
    first_minute = dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)
    flow = REGISTRY.flow("departement-drome-ft", "cd26-to-ft-diagnostic")
    bundle = _bundle("Diagnostic", "Household")
    for _ in range(2):  # and back: a decision after the boundary leaves nothing behind for one before it
        before = enforce_ingress(REGISTRY, "cd26", bundle, None, last_minute)
        assert "Diagnostic" not in before.removed_fields
        assert enforce_ingress(REGISTRY, "cd26", bundle, "diagnostic-accompagnement", last_minute).allowed
        after = enforce_ingress(REGISTRY, "cd26", bundle, None, first_minute)
        assert "Diagnostic" in after.removed_fields
        assert enforce_ingress(REGISTRY, "cd26", bundle, "diagnostic-accompagnement", first_minute).rules == (
            "policy:no-runnable-flow",
        )
        assert enforce_egress(flow, bundle_for(flow), last_minute, KEY).allowed
        with pytest.raises(PolicyDenied):
            enforce_egress(flow, bundle_for(flow), first_minute, KEY)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_projection_reports_the_fields_of_what_it_keeps(data: st.DataObject) -> None:
    flow = data.draw(st.sampled_from(FLOWS))
    resource = data.draw(resources(data.draw(st.sampled_from(sorted(flow.resource_types)))))
    for identifiers in (
        IdentifierPolicy(flow.nir_allowed, flow.pseudonymise, KEY.pseudonym),
        IdentifierPolicy(True, frozenset(), None),
    ):
        report = Projection()
        projected = project_resource(resource, flow.allowlist, identifiers, report)
        assert set(report.fields) == present_paths(projected)


def test_memoised_paths_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ever new identifier systems (free strings in partner data) must not grow the memo without bound.
    monkeypatch.setattr(paths, "MEMO_LIMIT", 50)
    allowlist = CompiledAllowlist(["Person.identifier", "Person.name"], ["Person.identifier[urn:x:denied]"])
    for number in range(200):
        system = f"urn:x:{number}"
        person = {"resourceType": "Person", "identifier": [{"system": system, "value": "v"}], "age": 3}
        report = Projection()
        projected = project_resource(person, allowlist, IdentifierPolicy(True, frozenset(), None), report)
        assert projected["identifier"] == person["identifier"] and "age" not in projected
        assert report.fields == [f"Person.identifier[{system}]"] and report.removed == {
            "Person.age": "not-allowed"
        }
    assert not allowlist.has_room()
    assert allowlist.verdict("Person.identifier[urn:x:denied]").rule == "deny:Person.identifier[urn:x:denied]"
