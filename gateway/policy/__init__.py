"""Conventions as enforceable policy: load, route, enforce ingress and egress. See docs/conventions.md."""

from gateway.policy.decisions import Decision, EgressDecision, IngressDecision, Pseudonymiser
from gateway.policy.enforce import enforce_egress, enforce_ingress, ensure_runnable
from gateway.policy.model import Convention, Flow, Party, PopulationRule
from gateway.policy.registry import ConventionRegistry
from gateway.policy.status import change_status

__all__ = [
    "Convention",
    "ConventionRegistry",
    "Decision",
    "EgressDecision",
    "Flow",
    "IngressDecision",
    "Party",
    "PopulationRule",
    "Pseudonymiser",
    "change_status",
    "enforce_egress",
    "enforce_ingress",
    "ensure_runnable",
]
