"""Ingress and egress enforcement: the two questions the pipeline asks of every record.

* Ingress: may this SENDER give these resources and fields, for this purpose? The covered set is the union
  of the allowlists of the sender's runnable flows; uncovered fields are stripped or the record refused,
  as the convention says (the strictest wins when several conventions cover the sender).
* Egress: what may this RECEIVER get through this flow? Projection on the flow's allowlist, denies win,
  NIR only with ``nir_allowed``, sensitive resources only when allowed, population rules, pseudonyms.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from types import MappingProxyType
from typing import Any

from gateway.errors import PolicyDenied
from gateway.model.identifiers import NIR
from gateway.policy.decisions import EgressDecision, IngressDecision, Pseudonymiser
from gateway.policy.model import RETENTION_CATEGORIES, Convention, Flow
from gateway.policy.paths import CompiledAllowlist
from gateway.policy.population import failed_rules
from gateway.policy.projection import MAPPINGS, IdentifierPolicy, Projection, project_resource
from gateway.policy.registry import ConventionRegistry

SENSITIVITY_SYSTEM = "urn:fr:reseau-emploi:sensitivity"
NO_RUNNABLE_FLOW = "policy:no-runnable-flow"
NOTHING_COVERED = "policy:nothing-covered"
NIR_FIELD = f"identifier[{NIR}]"
INGRESS_IDENTIFIERS = IdentifierPolicy(nir_allowed=True, pseudonymise=frozenset(), pseudonym=None)
"""Identifiers are judged at egress (NIR, pseudonyms): at ingress they are only checked for coverage."""


def sensitivity_labels(resource: Mapping[str, Any]) -> set[str]:
    meta = resource.get("meta")
    labels = meta.get("security") if isinstance(meta, MAPPINGS) else None
    if not labels:
        return set()
    return {
        str(label.get("code"))
        for label in labels
        if isinstance(label, MAPPINGS) and label.get("system") == SENSITIVITY_SYSTEM
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
        return _egress(flow, None, {}, [f"{prefix}:population:{rule.id}" for rule in failed])
    identifiers = IdentifierPolicy(flow.nir_allowed, flow.pseudonymise, pseudonymiser.pseudonym)
    report = Projection()
    kept = _Kept()
    for entry, resource, resource_type in _resources(bundle):
        if resource_type not in flow.resource_types:
            report.remove(resource_type, "resource-type")
            continue
        # The "nir" label does not drop the resource: the NIR identifier itself is removed (or
        # pseudonymised) by the identifier policy, and the label goes with it.
        labels = sensitivity_labels(resource)
        forbidden = sorted(labels - flow.sensitive_categories_allowed - {"nir"}) if labels else []
        if forbidden:
            report.remove(resource_type, f"sensitive:{forbidden[0]}")
            continue
        projected = project_resource(resource, flow.allowlist, identifiers, report)
        kept.add(entry, resource_type, _drop_stale_nir_label(projected, labels))
    rules = [f"{prefix}:{rule}" for rule in report.removed.values()]
    if not kept.entries:
        return _egress(flow, None, report.removed, [*rules, f"{prefix}:empty"])
    return _egress(flow, kept.result(bundle, report.fields), report.removed, rules)


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
    kept = _Kept()
    for entry, resource, resource_type in _resources(bundle):
        allowlist = covered.get(resource_type)
        if allowlist is None:
            report.remove(resource_type, "resource-type")
            continue
        projected = project_resource(resource, allowlist, INGRESS_IDENTIFIERS, report)
        kept.add(entry, resource_type, projected)
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
    allowed = bool(kept.entries) and not (report.removed and refusing)
    if not kept.entries:
        rules.append(NOTHING_COVERED)
    result = kept.result(bundle, report.fields) if allowed else _Result({})
    return IngressDecision(
        allowed=allowed,
        bundle=result.bundle,
        removed_fields=tuple(sorted(report.removed)),
        rules=tuple(rules),
        convention_id=common.id if common else None,
        convention_version=common.version if common else None,
        flow_id=single.id if single else None,
        purpose=purpose if purpose is not None else (single.purpose if single else None),
        sender=sender,
        receiver=None,
        **result.contents(common),
        flows=tuple(sorted(flow.key for flow in flows)),
    )


def _coverage(flows: Sequence[Flow]) -> Mapping[str, CompiledAllowlist]:
    """Per resource type, the union of the flows' allows (denies are receiver-specific: egress only)."""
    return _compiled_coverage(tuple((flow.resource_types, flow.allow) for flow in flows))


@functools.lru_cache(maxsize=256)
def _compiled_coverage(
    grants: tuple[tuple[frozenset[str], tuple[str, ...]], ...],
) -> Mapping[str, CompiledAllowlist]:
    """Compiled once per set of grants, so that the verdicts memoised by the allowlists serve every record.

    Keyed on the content of the flows in force (not on their identity): a reload, a status change or a
    validity boundary changes which flows are in force, hence the key, so a stale union is never served.
    """
    allows: dict[str, set[str]] = {}
    for resource_types, allow in grants:
        for resource_type in resource_types:
            paths = allows.setdefault(resource_type, set())
            paths |= {path for path in allow if path.split(".", 1)[0] == resource_type}
    return MappingProxyType(
        {resource_type: CompiledAllowlist(paths, ()) for resource_type, paths in allows.items()}
    )


def _resources(bundle: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any], str]]:
    """(entry, resource, resource type) of every entry holding a resource."""
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, MAPPINGS) else None
        if isinstance(resource, MAPPINGS):
            yield entry, resource, str(resource.get("resourceType"))


def _drop_stale_nir_label(resource: dict[str, Any], labels: set[str]) -> dict[str, Any]:
    """Remove the ``nir`` security label when no clear NIR travels with the resource any more.

    ``labels``: the resource's sensitivity labels, already read.
    """
    if "nir" not in labels:
        return resource
    if any(i.get("system") == NIR for i in resource.get("identifier") or [] if isinstance(i, MAPPINGS)):
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


@dataclass
class _Kept:
    """Projected entries, and their resource types gathered on the way."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    types: set[str] = field(default_factory=set)

    def add(self, entry: Mapping[str, Any], resource_type: str, resource: dict[str, Any]) -> None:
        self.entries.append(_entry(entry, resource))
        self.types.add(resource_type)

    def result(self, bundle: Mapping[str, Any], fields: Iterable[str]) -> _Result:
        """The Bundle of these entries; ``fields`` are their leaf paths, as the projection gathered them."""
        labels = set().union(*(sensitivity_labels(entry["resource"]) for entry in self.entries))
        return _Result(_bundle(bundle, self.entries), self.types, labels, set(fields))


@dataclass(frozen=True)
class _Result:
    """A decision's Bundle and what its audit row records of it (nothing for an empty Bundle)."""

    bundle: dict[str, Any]
    types: Collection[str] = ()
    labels: Collection[str] = ()
    fields: Collection[str] = ()

    def contents(self, convention: Convention | None) -> dict[str, Any]:
        labels = set(self.labels)
        if any(map(str.endswith, self.fields, repeat(NIR_FIELD))):
            labels.add("nir")
        return {
            "resource_types": tuple(sorted(self.types)),
            "fields": tuple(sorted(self.fields)),
            "sensitive_categories": tuple(sorted(labels)),
            **_retention(convention, labels),
        }


def _retention(convention: Convention | None, labels: Collection[str]) -> dict[str, Any]:
    if convention is None:
        return {}
    category = next(
        (c for c in RETENTION_CATEGORIES if c in labels and c in convention.retention_days), "default"
    )
    return {"retention_category": category, "retention_days": convention.retention_for(category)}


def _egress(
    flow: Flow, result: _Result | None, removed: Mapping[str, str], rules: Sequence[str]
) -> EgressDecision:
    """Delivered (``result``) or refused (``None``)."""
    allowed = result is not None
    result = result or _Result({})
    return EgressDecision(
        allowed=allowed,
        bundle=result.bundle,
        removed_fields=tuple(sorted(removed)),
        rules=tuple(sorted(set(rules))),
        convention_id=flow.convention.id,
        convention_version=flow.convention.version,
        flow_id=flow.id,
        purpose=flow.purpose,
        sender=flow.sender,
        receiver=flow.receiver,
        **result.contents(flow.convention),
    )
