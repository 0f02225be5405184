"""What keeps QA environments apart, and what one adds to a shared QA cluster (pure).

Every QA environment's namespaces carry the label `mojaloop.io/environment: <name>`, and each gets a
NetworkPolicy admitting traffic only from namespaces with the same label and from the internal ingress
gateway: on a shared cluster one QA environment's workloads cannot reach another's services.

On a shared QA cluster the cluster-wide platform (Istio, cert-manager, External Secrets, the gateways'
pods) is the cluster's own stack's and is never changed. A QA environment adds, and removes with itself:
its namespace, its Vault role and secrets (mojaloop_iac.vault.environment.plan_qa_tenant_vault), and in
the internal gateway's namespace one Gateway and its Certificate for its own host names, served by the
shared gateway pods, so its hosts get a certificate that covers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mojaloop_iac import contract
from mojaloop_iac.planners.certificates import INTERNAL_CA_ISSUER, IssuerChoice, gateway_certificate
from mojaloop_iac.planners.gateways.inputs import INTERNAL
from mojaloop_iac.planners.gateways.manifests import tenant_gateway

ENVIRONMENT_LABEL: Final = "mojaloop.io/environment"
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
ISOLATION_POLICY: Final = "qa-isolation"
NETWORKING_API: Final = "networking.k8s.io/v1"


def environment_labels(environment: str) -> tuple[tuple[str, str], ...]:
    return ((ENVIRONMENT_LABEL, environment),)


def isolation_policy(namespace: str, environment: str) -> dict[str, Any]:
    """Ingress to every pod of `namespace` only from the environment's own namespaces and the internal
    ingress gateway (a NetworkPolicy allowing nothing else; egress stays open: callbacks, image pulls)."""
    return {
        "apiVersion": NETWORKING_API,
        "kind": "NetworkPolicy",
        "metadata": {
            "name": ISOLATION_POLICY,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "mojaloop-iac", ENVIRONMENT_LABEL: environment},
        },
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {ENVIRONMENT_LABEL: environment}}},
                        {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: INTERNAL.namespace}}},
                    ]
                }
            ],
        },
    }


@dataclass(frozen=True)
class TenantGateway:
    gateway: str
    """`<namespace>/<name>` of the environment's own Gateway: where its VirtualServices attach."""
    manifests: tuple[dict[str, Any], ...]


def tenant_gateway_plan(environment: str, internal_domain: str, issuer: IssuerChoice = "internal-ca") -> TenantGateway:
    """The Gateway and Certificate of one QA environment on a shared cluster's internal gateway."""
    name = f"{environment}-internal"
    secret = f"{environment}-internal-tls"
    certificate = gateway_certificate(INTERNAL.namespace, secret, internal_domain, issuer)
    return TenantGateway(
        gateway=f"{contract.INTERNAL_GATEWAY_NAMESPACE}/{name}",
        manifests=(certificate, tenant_gateway(name, INTERNAL, internal_domain, secret)),
    )


__all__ = [
    "ENVIRONMENT_LABEL",
    "INTERNAL_CA_ISSUER",
    "TenantGateway",
    "environment_labels",
    "isolation_policy",
    "tenant_gateway_plan",
]
