"""Population rules, validity and status, ingress, routing, store sync and status changes."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.audit import AuditLog, AuditQueries, KeyedPseudonymiser
from gateway.errors import ConfigurationError, PolicyDenied
from gateway.policy import ConventionRegistry, change_status, enforce_egress, enforce_ingress
from gateway.policy.population import departement_of
from gateway.settings import Settings
from gateway.store.tables import audit_log, conventions
from tests.fixtures.policy.bundles import bundle_for, full_resource

ROOT = Path(__file__).resolve().parents[2]
AT = dt.datetime(2025, 9, 15, 9, 30, tzinfo=dt.UTC)
KEY = KeyedPseudonymiser(b"rules-test-key-0123456789abcdef!")
SETTINGS = Settings(pseudonym_key="p" * 32, checkpoint_key="ab" * 32, environment="test")


@pytest.fixture
def registry() -> ConventionRegistry:
    return ConventionRegistry.load(ROOT / "conventions")


def _entries(bundle: dict[str, object], resource_type: str) -> list[dict[str, object]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]  # type: ignore[index,union-attr]


# ---- population -------------------------------------------------------------------------------------------


def test_accompanied_by_sender_needs_the_senders_accompaniment(registry: ConventionRegistry) -> None:
    flow = registry.flow("plie-lille-ft", "plie-to-ft")
    bundle = bundle_for(flow)
    assert enforce_egress(flow, bundle, AT, KEY).allowed
    for accompaniment in _entries(bundle, "Accompaniment"):
        accompaniment["organization"] = {
            "identifier": {"system": "urn:fr:insee:siret", "value": "22260001700016"}
        }
    refused = enforce_egress(flow, bundle, AT, KEY)
    assert not refused.allowed and refused.bundle == {}
    assert refused.rules == ("conv:plie-lille-ft:flow:plie-to-ft:population:participants-plie",)


def test_accompaniment_may_name_the_sender_through_an_organization_resource(
    registry: ConventionRegistry,
) -> None:
    flow = registry.flow("plie-lille-ft", "plie-to-ft")
    bundle = bundle_for(flow)
    for accompaniment in _entries(bundle, "Accompaniment"):
        accompaniment["organization"] = {"reference": "Organization/plie"}
    organization = full_resource("Organization", "plie")
    organization["identifier"] = [{"system": "urn:fr:insee:siret", "value": "78451209300013"}]
    bundle["entry"].append({"resource": organization})  # type: ignore[union-attr]
    assert enforce_egress(flow, bundle, AT, KEY).allowed


@pytest.mark.parametrize(
    ("postal", "insee", "expected"),
    [
        ("26000", None, "26"),
        ("59000", "59350", "59"),
        ("20000", None, "2A"),
        ("20200", None, "2B"),
        ("97400", None, "974"),
        (None, "2B033", "2B"),
        ("75001", "26362", "26"),
    ],
)
def test_departement_of_an_address(postal: str | None, insee: str | None, expected: str) -> None:
    address = {k: v for k, v in {"postalCode": postal, "inseeCode": insee}.items() if v}
    assert departement_of(address) == expected


def test_resident_of_and_rsa_rights_and_duties(registry: ConventionRegistry) -> None:
    flow = registry.flow("departement-drome-ft", "cd26-to-ft-orientation")
    bundle = bundle_for(flow)
    assert enforce_egress(flow, bundle, AT, KEY).allowed
    moved = copy.deepcopy(bundle)
    for person in _entries(moved, "Person"):
        person["address"] = [{"postalCode": "69003", "inseeCode": "69383"}]
    assert enforce_egress(flow, moved, AT, KEY).rules == (
        "conv:departement-drome-ft:flow:cd26-to-ft-orientation:population:residents-drome",
    )
    no_duties = copy.deepcopy(bundle)
    for right in _entries(no_duties, "BenefitRight"):
        right["rightsAndDuties"] = False
    assert enforce_egress(flow, no_duties, AT, KEY).rules == (
        "conv:departement-drome-ft:flow:cd26-to-ft-orientation:population:soumis-droits-devoirs",
    )


def test_age_between_and_has_identifier(registry: ConventionRegistry) -> None:
    flow = registry.flow("plie-lille-dsn-employeurs", "employeur-to-plie")
    bundle = bundle_for(flow)
    assert enforce_egress(flow, bundle, AT, KEY).allowed
    child = copy.deepcopy(bundle)
    _entries(child, "Person")[0]["birthDate"] = "2010-09-16"  # 14 on AT
    assert enforce_egress(flow, child, AT, KEY).rules == (
        "conv:plie-lille-dsn-employeurs:flow:employeur-to-plie:population:adultes",
    )
    _entries(child, "Person")[0]["birthDate"] = "2009-09-15"  # 16 that very day (Paris time)
    assert enforce_egress(flow, child, AT, KEY).allowed
    unknown = copy.deepcopy(bundle)
    person = _entries(unknown, "Person")[0]
    person["identifier"] = [i for i in person["identifier"] if "plie" not in i["system"]]  # type: ignore[union-attr]
    assert not enforce_egress(flow, unknown, AT, KEY).allowed


def test_person_rules_refuse_a_bundle_without_person(registry: ConventionRegistry) -> None:
    flow = registry.flow("plie-lille-dsn-employeurs", "employeur-to-plie")
    bundle = {"resourceType": "Bundle", "entry": [{"resource": full_resource("EmploymentContract")}]}
    assert not enforce_egress(flow, bundle, AT, KEY).allowed


# ---- validity and status ----------------------------------------------------------------------------------


def test_flows_never_run_outside_validity(registry: ConventionRegistry) -> None:
    flow = registry.flow("plie-lille-ft", "plie-to-ft")
    bundle = bundle_for(flow)
    for moment in (
        dt.datetime(2025, 1, 31, 22, 59, tzinfo=dt.UTC),
        dt.datetime(2027, 12, 31, 23, 0, tzinfo=dt.UTC),
    ):
        with pytest.raises(PolicyDenied) as denied:
            enforce_egress(flow, bundle, moment, KEY)
        assert denied.value.rules == ("conv:plie-lille-ft:validity",)
    # 2025-01-31 23:00 UTC is already 1 February in Paris
    assert enforce_egress(flow, bundle, dt.datetime(2025, 1, 31, 23, 0, tzinfo=dt.UTC), KEY).allowed
    assert registry.flows_from("plie-mel", at=dt.datetime(2028, 1, 2, tzinfo=dt.UTC)) == []


def test_status_changes_are_written_to_file_store_and_audit(editable: Path, engine: Engine) -> None:
    registry = ConventionRegistry.load(editable)
    assert registry.sync_to_store(engine, at=AT) == 5
    assert registry.sync_to_store(engine, at=AT) == 0
    log = AuditLog(engine, SETTINGS)
    later = AT + dt.timedelta(days=3)
    change_status(
        registry, "plie-lille-ft", "suspended", by="dpo:m.lefebvre", engine=engine, at=later, audit=log
    )
    text = (editable / "plie-lille-ft.yaml").read_text(encoding="utf-8")
    assert "status: suspended" in text and "# Convention de partage" in text  # comments kept
    with engine.connect() as connection:
        row = (
            connection.execute(select(conventions).where(conventions.c.id == "plie-lille-ft"))
            .mappings()
            .one()
        )
        event = connection.execute(select(audit_log)).mappings().one()
    assert (row["status"], row["status_changed_by"]) == ("suspended", "dpo:m.lefebvre")
    assert row["status_changed_at"].replace(tzinfo=dt.UTC) == later
    assert (event["event"], event["decision"], event["details"]) == (
        "convention-status",
        "suspended",
        {"from": "active", "to": "suspended"},
    )
    reloaded = ConventionRegistry.load(editable)
    flow = reloaded.flow("plie-lille-ft", "plie-to-ft")
    with pytest.raises(PolicyDenied) as denied:
        enforce_egress(flow, bundle_for(flow), later, KEY)
    assert denied.value.rules == ("conv:plie-lille-ft:status:suspended",)
    with pytest.raises(ConfigurationError):
        change_status(reloaded, "plie-lille-ft", "draft", by="x", engine=engine, at=later)


def test_replay_after_revocation_is_refused_and_audited(editable: Path, engine: Engine) -> None:
    registry = ConventionRegistry.load(editable)
    log = AuditLog(engine, SETTINGS)
    flow = registry.flow("caf-drome-departement-rsa", "caf-to-cd26-beneficiaires")
    bundle = bundle_for(flow)
    first = enforce_egress(flow, bundle, AT, KEY)
    [original_seq] = log.record_decision(first, exchange_id="ex-1", subject=bundle, at=AT)
    change_status(
        registry, flow.convention.id, "revoked", by="president-cd26", engine=engine, at=AT, audit=log
    )
    current = ConventionRegistry.load(editable).flow(flow.convention.id, flow.id)
    with pytest.raises(PolicyDenied) as denied:  # the pipeline's replay: same call, convention as it stands
        enforce_egress(current, bundle, AT + dt.timedelta(hours=1), KEY)
    log.record_event(
        "replay-refused",
        actor="operator",
        decision="refused",
        rules=denied.value.rules,
        convention_id=flow.convention.id,
        flow_id=flow.id,
        replay_of=original_seq,
    )
    history = AuditQueries(engine, SETTINGS).person_history(
        {"urn:fr:insee:nir": "185057800608491"}, record_read=False
    )
    assert [row["seq"] for row in history] == [original_seq]
    with engine.connect() as connection:
        refused = (
            connection.execute(select(audit_log).where(audit_log.c.event == "replay-refused"))
            .mappings()
            .one()
        )
    assert refused["replay_of"] == original_seq
    assert refused["rules"] == ["conv:caf-drome-departement-rsa:status:revoked"]


# ---- ingress and routing -------------------------------------------------------------------------


def test_ingress_strips_uncovered_fields_when_the_convention_says_strip(registry: ConventionRegistry) -> None:
    flow = registry.flow("plie-lille-ft", "plie-to-ft")
    bundle = bundle_for(flow, "Diagnostic")
    decision = enforce_ingress(registry, "plie-mel", bundle, "diagnostic-accompagnement", AT)
    assert decision.allowed and decision.outcome == "stripped"
    assert {"Diagnostic", "Person.telecom", "Person.gender"} <= set(decision.removed_fields)
    assert decision.rules == ("conv:plie-lille-ft:uncovered:strip",)
    assert decision.flows == ("plie-lille-ft@2.1/plie-to-ft",)
    assert "Diagnostic" not in decision.resource_types
    # ingress does not apply receiver-specific denies: the birth name may come in
    assert "Person.name.birthName" in decision.fields


def test_ingress_refuses_when_the_convention_says_refuse(registry: ConventionRegistry) -> None:
    flow = registry.flow("caf-drome-departement-rsa", "caf-to-cd26-beneficiaires")
    bundle = bundle_for(flow)
    covered = enforce_ingress(registry, "caf26", bundle, None, AT)
    assert not covered.allowed and "Person.telecom" in covered.removed_fields  # telecom: in no CAF flow
    assert covered.rules == ("conv:caf-drome-departement-rsa:uncovered:refuse",)
    minimal = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Person",
                    "id": "p",
                    "name": {"family": "Martin"},
                    "birthDate": "1980-01-01",
                }
            }
        ],
    }
    assert enforce_ingress(registry, "caf26", minimal, "orientation", AT).outcome == "allowed"


def test_ingress_without_runnable_flow_is_refused(registry: ConventionRegistry) -> None:
    bundle = bundle_for(registry.flow("plie-lille-ft", "plie-to-ft"))
    assert enforce_ingress(registry, "unknown-sender", bundle, None, AT).rules == ("policy:no-runnable-flow",)
    assert not enforce_ingress(registry, "plie-mel", bundle, "orientation", AT).allowed
    late = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert not enforce_ingress(registry, "plie-mel", bundle, None, late).allowed


def test_routes_follow_sender_and_resource_types(registry: ConventionRegistry) -> None:
    cd26 = {"resourceType": "Bundle", "entry": [{"resource": full_resource("Diagnostic")}]}
    assert [f.key for f in registry.routes("cd26", cd26, AT)] == [
        "departement-drome-ft@1.3/cd26-to-ft-diagnostic"
    ]
    person = {"resourceType": "Bundle", "entry": [{"resource": full_resource("Person")}]}
    assert len(registry.routes("cd26", person, AT)) == 3
    assert registry.routes("cd26", {"resourceType": "Bundle", "entry": []}, AT) == []
    assert {f.id for f in registry.flows_from("cd26", purpose="orientation", at=AT)} == {
        "cd26-to-ft-orientation"
    }
