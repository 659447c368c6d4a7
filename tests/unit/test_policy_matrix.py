"""Every flow of every example convention, on full Bundles: nothing not allowed reaches the receiver, and
everything allowed does. The oracle (tests/fixtures/policy/bundles.py) uses plain string prefixes only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.audit.pseudonyms import KeyedPseudonymiser
from gateway.model.identifiers import NIR
from gateway.model.strategies import resources
from gateway.policy import ConventionRegistry, Flow, enforce_egress
from gateway.policy.projection import PSEUDONYM_SYSTEM, IdentifierPolicy, Projection, project_resource
from tests.fixtures.policy.bundles import (
    CLEAR_NIR,
    actual_leaves,
    bundle_for,
    expected_leaves,
    full_resource,
)

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ConventionRegistry.load(ROOT / "conventions")
FLOWS = [flow for convention in REGISTRY for flow in convention.flows]
AT = dt.datetime(2025, 9, 15, 9, 30, tzinfo=dt.UTC)
PSEUDONYMISER = KeyedPseudonymiser(b"matrix-test-key-0123456789abcdef")
OUTSIDER = "Appointment"  # in no example flow


def _by_type(bundle: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    result: dict[str, list[dict[str, object]]] = {}
    for entry in bundle["entry"]:  # type: ignore[union-attr]
        resource = entry["resource"]  # type: ignore[index]
        result.setdefault(resource["resourceType"], []).append(resource)
    return result


def test_every_example_flow_is_exercised() -> None:
    assert len(FLOWS) >= 10
    assert {flow.sender for flow in FLOWS} >= {"plie-mel", "ft-hdf", "cd26", "ft-ara", "caf26"}


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.key)
def test_receiver_gets_exactly_the_allowed_fields(flow: Flow) -> None:
    bundle = bundle_for(flow, OUTSIDER)
    decision = enforce_egress(flow, bundle, AT, PSEUDONYMISER.derive(flow.pseudonym_context))
    assert decision.allowed, decision.rules
    sent, received = _by_type(bundle), _by_type(decision.bundle)
    assert set(received) <= flow.resource_types
    assert OUTSIDER in decision.removed_fields
    for resource_type in flow.resource_types:
        for original, projected in zip(sent[resource_type], received[resource_type], strict=True):
            assert projected["id"] == original["id"]
            assert actual_leaves(projected) == expected_leaves(flow, original), resource_type
    text = json.dumps(decision.bundle)
    assert (CLEAR_NIR in text) == (flow.nir_allowed and any(NIR in path for path in flow.allow))


@pytest.mark.parametrize("flow", [f for f in FLOWS if f.pseudonymise], ids=lambda flow: flow.key)
def test_pseudonymised_identifiers_arrive_only_as_keyed_pseudonyms(flow: Flow) -> None:
    bundle = bundle_for(flow)
    pseudonymiser = PSEUDONYMISER.derive(flow.pseudonym_context)
    decision = enforce_egress(flow, bundle, AT, pseudonymiser)
    person = _by_type(decision.bundle)["Person"][0]
    original = _by_type(bundle)["Person"][0]
    for system in flow.pseudonymise:
        clear = next(i["value"] for i in original["identifier"] if i["system"] == system)
        assert clear not in json.dumps(decision.bundle)
        pseudonyms = [i for i in person["identifier"] if i["system"] == PSEUDONYM_SYSTEM]
        assert {
            "system": PSEUDONYM_SYSTEM,
            "value": pseudonymiser.pseudonym(system, clear),
            "type": {"coding": [{"system": "urn:fr:reseau-emploi:pseudonym-of", "code": system}]},
        } in pseudonyms
        # not the audit log's pseudonym: receivers cannot link with the log or with another convention
        assert PSEUDONYMISER.pseudonym(system, clear) not in json.dumps(decision.bundle)


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.key)
def test_denies_win_over_allows(flow: Flow) -> None:
    decision = enforce_egress(flow, bundle_for(flow), AT, PSEUDONYMISER)
    for deny in flow.deny:
        assert not any(path == deny or path.startswith(deny + ".") for path in decision.fields)
        if any(field.startswith(deny) for field in decision.removed_fields):
            assert f"{flow.rule_prefix}:deny:{deny}" in decision.rules


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_resources_never_leak(data: st.DataObject) -> None:
    """Projection alone (population aside) on random valid resources of every type a flow carries."""
    flow = data.draw(st.sampled_from(FLOWS))
    resource = data.draw(resources(data.draw(st.sampled_from(sorted(flow.resource_types)))))
    projected = project_resource(
        resource,
        flow.allowlist,
        IdentifierPolicy(flow.nir_allowed, flow.pseudonymise, PSEUDONYMISER.pseudonym),
        Projection(),
    )
    assert actual_leaves(projected) == expected_leaves(flow, resource)


def test_sensitive_resources_dropped_unless_the_flow_allows_the_category() -> None:
    diagnostic_flow = REGISTRY.flow("departement-drome-ft", "cd26-to-ft-diagnostic")
    bundle = bundle_for(diagnostic_flow)
    diagnostic = _by_type(bundle)["Diagnostic"][0]
    diagnostic["meta"]["security"] = [{"system": "urn:fr:reseau-emploi:sensitivity", "code": "health"}]
    allowed = enforce_egress(diagnostic_flow, bundle, AT, PSEUDONYMISER)
    assert "Diagnostic" in _by_type(allowed.bundle)
    assert allowed.sensitive_categories == ("health",)
    assert allowed.retention_category == "health" and allowed.retention_days == 365

    diagnostic["meta"]["security"].append({"system": "urn:fr:reseau-emploi:sensitivity", "code": "justice"})
    refused = enforce_egress(diagnostic_flow, bundle, AT, PSEUDONYMISER)
    assert "Diagnostic" not in _by_type(refused.bundle)
    assert f"{diagnostic_flow.rule_prefix}:sensitive:justice" in refused.rules


def test_health_labelled_person_does_not_reach_a_flow_without_health() -> None:
    flow = REGISTRY.flow("plie-lille-ft", "plie-to-ft")
    bundle = bundle_for(flow)
    _by_type(bundle)["Person"][0]["meta"]["security"] = [
        {"system": "urn:fr:reseau-emploi:sensitivity", "code": "health"}
    ]
    decision = enforce_egress(flow, bundle, AT, PSEUDONYMISER)
    assert "Person" not in _by_type(decision.bundle)
    assert "Person" in decision.removed_fields
    assert f"{flow.rule_prefix}:sensitive:health" in decision.rules


def test_nir_travels_only_where_allowed() -> None:
    caf = REGISTRY.flow("caf-drome-departement-rsa", "caf-to-cd26-beneficiaires")
    assert caf.nir_allowed
    decision = enforce_egress(caf, bundle_for(caf), AT, PSEUDONYMISER)
    assert CLEAR_NIR in json.dumps(decision.bundle)
    assert "nir" in decision.sensitive_categories and decision.retention_category == "nir"
    for flow in FLOWS:
        if not flow.nir_allowed:
            text = json.dumps(enforce_egress(flow, bundle_for(flow), AT, PSEUDONYMISER).bundle)
            assert CLEAR_NIR not in text, flow.key


def test_structure_and_service_flow_carries_no_personal_resource() -> None:
    flow = REGISTRY.flow("data-inclusion-drome", "offre-drome")
    bundle = bundle_for(flow)
    bundle["entry"].append({"resource": full_resource("Person", "intruder")})
    decision = enforce_egress(flow, bundle, AT, PSEUDONYMISER)
    assert set(decision.resource_types) == {"Structure", "Service"}
    assert "Person" in decision.removed_fields
    assert "Service.contact_nom_prenom" in decision.removed_fields
