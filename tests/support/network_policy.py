"""Kubernetes NetworkPolicy ingress semantics, for checking what the planned policies allow.

No cluster (and no CNI enforcing policies) runs here, so this evaluates the rules as the Kubernetes API
documents them (networking.k8s.io/v1): a pod selected by an Ingress policy accepts a connection only if
some rule of some selecting policy admits the source; a pod no Ingress policy selects accepts anything.
It covers what the planned policies use: `podSelector` and `namespaceSelector` with `matchLabels`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str]


def _matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if selector is None:
        return False
    unsupported = set(selector) - {"matchLabels"}
    if unsupported:
        raise NotImplementedError(f"selector keys {sorted(unsupported)} are not evaluated here")
    return all(labels.get(key) == value for key, value in (selector.get("matchLabels") or {}).items())


def _peer_admits(peer: Mapping[str, Any], source: Pod, policy_namespace: str, namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
    if "ipBlock" in peer:
        raise NotImplementedError("ipBlock peers are not evaluated here")
    namespace_ok = (
        _matches(peer["namespaceSelector"], namespace_labels.get(source.namespace, {}))
        if "namespaceSelector" in peer
        else source.namespace == policy_namespace
    )
    pod_ok = _matches(peer["podSelector"], source.labels) if "podSelector" in peer else True
    return namespace_ok and pod_ok


def ingress_allowed(
    policies: Iterable[Mapping[str, Any]],
    namespace_labels: Mapping[str, Mapping[str, str]],
    source: Pod,
    target: Pod,
) -> bool:
    selecting = [
        policy for policy in policies
        if policy["metadata"]["namespace"] == target.namespace
        and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
        and _matches(policy["spec"]["podSelector"], target.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if not peers or any(_peer_admits(peer, source, policy["metadata"]["namespace"], namespace_labels) for peer in peers):
                return True
    return False
