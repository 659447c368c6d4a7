"""Ingress and egress enforcement: the two questions the pipeline asks of every record.

* Ingress: may this SENDER give these resources and fields, for this purpose? The covered set is the union
  of the allowlists of the sender's runnable flows; uncovered fields are stripped or the record refused,
  as the convention says (the strictest wins when several conventions cover the sender).
* Egress: what may this RECEIVER get through this flow? Projection on the flow's allowlist, denies win,
  NIR only with ``nir_allowed``, sensitive resources only when allowed, population rules, pseudonyms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gateway.errors import PolicyDenied
from gateway.model.identifiers import NIR
from gateway.policy.decisions import EgressDecision, IngressDecision, Pseudonymiser
from gateway.policy.model import RETENTION_CATEGORIES, Flow
from gateway.policy.paths import CompiledAllowlist
from gateway.policy.population import failed_rules, resources_of
from gateway.policy.projection import IdentifierPolicy, Projection, present_paths, project_resource
from gateway.policy.registry import ConventionRegistry

SENSITIVITY_SYSTEM = "urn:fr:reseau-emploi:sensitivity"
NO_RUNNABLE_FLOW = "policy:no-runnable-flow"
NOTHING_COVERED = "policy:nothing-covered"


def sensitivity_labels(resource: Mapping[str, Any]) -> set[str]:
    meta = resource.get("meta")
    labels = meta.get("security") if isinstance(meta, Mapping) else None
    return {
        str(label.get("code"))
        for label in labels or []
        if isinstance(label, Mapping) and label.get("system") == SENSITIVITY_SYSTEM
    }


def ensure_runnable(flow: Flow, at: dt.datetime) -> None:
    """Raise ``PolicyDenied`` if the flow may not run at ``at`` (status, validity, purpose)."""
    rule = flow.blocking_rule(at)
    if rule is not None:
        raise PolicyDenied(f"flow {flow.key} cannot run: {rule}", rules=(rule,))


def enforce_egress(
    flow: Flow, bundle: Mapping[str, Any], at: dt.datetime, pseudonymiser: Pseudonymiser
) -> EgressDecision:
    ensure_runnable(flow, at)
    prefix = flow.rule_prefix
    failed = failed_rules(flow, bundle, at)
    if failed:
        return _egress(flow, False, {}, {}, [f"{prefix}:population:{rule.id}" for rule in failed])
    identifiers = IdentifierPolicy(flow.nir_allowed, flow.pseudonymise, pseudonymiser.pseudonym)
    report = Projection()
    entries = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        resource_type = str(resource.get("resourceType"))
        if resource_type not in flow.resource_types:
            report.remove(resource_type, "resource-type")
            continue
        # The "nir" label does not drop the resource: the NIR identifier itself is removed (or
        # pseudonymised) by the identifier policy, and the label goes with it.
        forbidden = sorted(sensitivity_labels(resource) - flow.sensitive_categories_allowed - {"nir"})
        if forbidden:
            report.remove(resource_type, f"sensitive:{forbidden[0]}")
            continue
        projected = project_resource(resource, flow.allowlist, identifiers, report)
        entries.append(_entry(entry, _drop_stale_nir_label(projected)))
    rules = [f"{prefix}:{rule}" for rule in report.removed.values()]
    if not entries:
        return _egress(flow, False, {}, report.removed, [*rules, f"{prefix}:empty"])
    return _egress(flow, True, _bundle(bundle, entries), report.removed, rules)


def enforce_ingress(
    registry_or_flow: ConventionRegistry | Flow,
    sender: str,
    bundle: Mapping[str, Any],
    purpose: str | None,
    at: dt.datetime,
) -> IngressDecision:
    if isinstance(registry_or_flow, Flow):
        ensure_runnable(registry_or_flow, at)
        flows = [registry_or_flow] if registry_or_flow.sender == sender else []
    else:
        flows = registry_or_flow.flows_from(sender, purpose=purpose, at=at)
    if purpose is not None:
        flows = [flow for flow in flows if flow.purpose == purpose]
    if not flows:
        return IngressDecision(
            allowed=False,
            bundle={},
            removed_fields=(),
            rules=(NO_RUNNABLE_FLOW,),
            convention_id=None,
            convention_version=None,
            flow_id=None,
            purpose=purpose,
            sender=sender,
            receiver=None,
        )
    covered = _coverage(flows)
    report = Projection()
    entries = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        resource_type = str(resource.get("resourceType"))
        allowlist = covered.get(resource_type)
        if allowlist is None:
            report.remove(resource_type, "resource-type")
            continue
        # Identifiers are judged at egress (NIR, pseudonyms): at ingress they are only checked for coverage.
        identifiers = IdentifierPolicy(nir_allowed=True, pseudonymise=frozenset(), pseudonym=None)
        entries.append(_entry(entry, project_resource(resource, allowlist, identifiers, report)))
    conventions = {flow.convention.id: flow.convention for flow in flows}
    single = flows[0] if len(flows) == 1 else None
    common = next(iter(conventions.values())) if len(conventions) == 1 else None
    refusing = sorted(c.id for c in conventions.values() if c.on_uncovered_field == "refuse")
    rules: list[str] = []
    if report.removed:
        mode = "refuse" if refusing else "strip"
        rules = [
            f"conv:{convention_id}:uncovered:{mode}" for convention_id in (refusing or sorted(conventions))
        ]
    allowed = bool(entries) and not (report.removed and refusing)
    if not entries:
        rules.append(NOTHING_COVERED)
    result = _bundle(bundle, entries) if allowed else {}
    return IngressDecision(
        allowed=allowed,
        bundle=result,
        removed_fields=tuple(sorted(report.removed)),
        rules=tuple(rules),
        convention_id=common.id if common else None,
        convention_version=common.version if common else None,
        flow_id=single.id if single else None,
        purpose=purpose if purpose is not None else (single.purpose if single else None),
        sender=sender,
        receiver=None,
        **_contents(result),
        **_retention(common, result),
        flows=tuple(sorted(flow.key for flow in flows)),
    )


def _coverage(flows: Iterable[Flow]) -> dict[str, CompiledAllowlist]:
    """Per resource type, the union of the flows' allows (denies are receiver-specific: egress only)."""
    allows: dict[str, set[str]] = {}
    for flow in flows:
        for resource_type in flow.resource_types:
            paths = allows.setdefault(resource_type, set())
            paths |= {path for path in flow.allow if path.split(".", 1)[0] == resource_type}
    return {resource_type: CompiledAllowlist(paths, ()) for resource_type, paths in allows.items()}


def _drop_stale_nir_label(resource: dict[str, Any]) -> dict[str, Any]:
    """Remove the ``nir`` security label when no clear NIR travels with the resource any more."""
    if "nir" not in sensitivity_labels(resource):
        return resource
    if any(i.get("system") == NIR for i in resource.get("identifier") or [] if isinstance(i, Mapping)):
        return resource
    meta = dict(resource.get("meta") or {})
    meta["security"] = [label for label in meta.get("security") or [] if label.get("code") != "nir"]
    if not meta["security"]:
        del meta["security"]
    return {**resource, "meta": meta}


def _entry(entry: Mapping[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"resource": resource}
    if "fullUrl" in entry:
        result["fullUrl"] = entry["fullUrl"]
    return result


def _bundle(bundle: Mapping[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    result = {
        key: value
        for key, value in bundle.items()
        if key in {"resourceType", "id", "type", "timestamp", "meta"}
    }
    result.setdefault("resourceType", "Bundle")
    result["entry"] = entries
    return result


def _contents(bundle: Mapping[str, Any]) -> dict[str, Any]:
    resources = resources_of(bundle)
    labels = set().union(*(sensitivity_labels(r) for r in resources)) if resources else set()
    fields = set().union(*(present_paths(r) for r in resources)) if resources else set()
    if any(path.endswith("identifier[urn:fr:insee:nir]") for path in fields):
        labels.add("nir")
    return {
        "resource_types": tuple(sorted({str(r.get("resourceType")) for r in resources})),
        "fields": tuple(sorted(fields)),
        "sensitive_categories": tuple(sorted(labels)),
    }


def _retention(convention: Any, bundle: Mapping[str, Any]) -> dict[str, Any]:
    if convention is None:
        return {}
    labels = set(_contents(bundle)["sensitive_categories"])
    category = next(
        (c for c in RETENTION_CATEGORIES if c in labels and c in convention.retention_days), "default"
    )
    return {"retention_category": category, "retention_days": convention.retention_for(category)}


def _egress(
    flow: Flow, allowed: bool, bundle: dict[str, Any], removed: Mapping[str, str], rules: Sequence[str]
) -> EgressDecision:
    return EgressDecision(
        allowed=allowed,
        bundle=bundle,
        removed_fields=tuple(sorted(removed)),
        rules=tuple(sorted(set(rules))),
        convention_id=flow.convention.id,
        convention_version=flow.convention.version,
        flow_id=flow.id,
        purpose=flow.purpose,
        sender=flow.sender,
        receiver=flow.receiver,
        **_contents(bundle),
        **_retention(flow.convention, bundle),
    )
