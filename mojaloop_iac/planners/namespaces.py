"""Namespaces the stack creates, with Pod Security admission labels.

Enforcing `baseline` everywhere and warning/auditing at `restricted` is the secure default that
Mojaloop's charts run under; namespaces whose system workloads need more say so explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]


@dataclass(frozen=True)
class NamespaceSpec:
    name: str
    enforce: PodSecurityLevel = "baseline"
    purpose: str = ""
    sidecars: bool = False
    """Istio injects its proxy into the namespace's pods (the `istio-injection: enabled` label)."""
    extra_labels: tuple[tuple[str, str], ...] = ()
    """More labels, e.g. the environment a QA namespace belongs to (NetworkPolicies select on it)."""

    def labels(self, kubernetes_version: str) -> dict[str, str]:
        version = f"v{kubernetes_version}"
        labels = {
            "app.kubernetes.io/managed-by": "mojaloop-iac",
            "pod-security.kubernetes.io/enforce": self.enforce,
            "pod-security.kubernetes.io/enforce-version": version,
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/warn-version": version,
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/audit-version": version,
        }
        labels.update(dict(self.extra_labels))
        if self.sidecars:
            labels["istio-injection"] = "enabled"
        return labels


EXTERNAL_SECRETS_NAMESPACE = "external-secrets"


# Every cluster's: the secret delivery installs the operator there (the Helm releases create no namespace).
EXTERNAL_SECRETS: NamespaceSpec = NamespaceSpec(EXTERNAL_SECRETS_NAMESPACE, "restricted", "External Secrets Operator")


def environment_namespaces(mojaloop_namespace: str, sidecars: bool = False) -> tuple[NamespaceSpec, ...]:
    """`sidecars`: Mojaloop and its backend join the mesh (planners/sidecars.py)."""
    return (
        NamespaceSpec(mojaloop_namespace, "baseline", "Mojaloop and its backend dependencies", sidecars),
        EXTERNAL_SECRETS,
    )
