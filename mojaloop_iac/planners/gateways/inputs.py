"""What the gateways planner takes and gives back, and the gateways the Mojaloop contract names.

`Scheduling` is the placement planner's, `NamespaceSpec` the namespaces planner's, `SecretNeed` the
secrets definition's and `HelmReleaseSpec` the Helm planner's: the caller passes them through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from mojaloop_iac import contract
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.placement import Scheduling
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.planners.sidecars import Sidecars
from mojaloop_iac.platform_versions import PlatformVersions

Substrate = Literal["baremetal", "aws"]
SUBSTRATES: Final = ("baremetal", "aws")

# Service ports of the Istio gateway chart (port == targetPort): the status port answers
# /healthz/ready, which is what a load balancer in front of a gateway checks.
STATUS_PORT: Final = ("status-port", 15021)
HTTP_PORT: Final = ("http2", 80)
HTTPS_PORT: Final = ("https", 443)
SERVICE_PORTS: Final = (STATUS_PORT, HTTP_PORT, HTTPS_PORT)

# The egress gateway as VirtualServices name it when they send callbacks through it.
EGRESS_GATEWAY: Final = f"{contract.EGRESS_GATEWAY_NAMESPACE}/{contract.EGRESS_GATEWAY_NAME}"


@dataclass(frozen=True)
class IngressGateway:
    """One of the two ingress gateways of the Mojaloop contract."""

    name: str
    namespace: str
    aws_scheme: Literal["internal", "internet-facing"]
    node_ports: Mapping[str, int]
    """Service port name -> NodePort on bare metal (the operator's load balancer targets these)."""


# Bare-metal NodePorts are part of the contract (https/http/health): Mojaloop's docs and the operators'
# load balancers rely on them.
INTERNAL: Final = IngressGateway(
    contract.INTERNAL_GATEWAY_NAME,
    contract.INTERNAL_GATEWAY_NAMESPACE,
    "internal",
    {HTTPS_PORT[0]: 31443, HTTP_PORT[0]: 31080, STATUS_PORT[0]: 31081},
)
EXTERNAL: Final = IngressGateway(
    contract.EXTERNAL_GATEWAY_NAME,
    contract.EXTERNAL_GATEWAY_NAMESPACE,
    "internet-facing",
    {HTTPS_PORT[0]: 32443, HTTP_PORT[0]: 32080, STATUS_PORT[0]: 32081},
)


@dataclass(frozen=True)
class GatewaysInput:
    substrate: Substrate
    internal_domain: str  # e.g. "int.qa1.example.com": the internal Gateway serves "*.int.qa1.example.com"
    external_domain: str  # e.g. "qa1.example.com": the external (FSPIOP interop) Gateway
    kubernetes_version: str  # e.g. "1.32": picks the Istio release (config/platform-versions.yaml)
    internal_tls_secret: str  # credentialName: the Secret cert-manager writes (CertificatesPlan)
    external_tls_secret: str  # likewise for the external gateway
    client_ca_secret: str  # Secret (key `ca.crt`) in the external gateway's namespace: the CA signing DFSPs
    scheduling: Scheduling | None = None  # where the gateway pods run; None: anywhere
    # meshConfig.extensionProviders entries from other planners (e.g. Oathkeeper as ext-authz), each a
    # mapping with `name` and one provider kind such as `envoyExtAuthzHttp`.
    extension_providers: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    # Which gateways to install (the QA profile keeps the internal one only); both ingresses and the egress
    # gateway by default, as the environment contract names them.
    ingress: tuple[Literal["internal", "external"], ...] = ("internal", "external")
    egress: bool = True

    # The versions chosen for the cluster (a stack's chartVersions applied); default: the pins for
    # kubernetes_version.
    versions: PlatformVersions | None = None
    # Sidecar injection (istio-cni, native sidecars); None: no application pod gets a proxy.
    sidecars: Sidecars | None = None


@dataclass(frozen=True)
class GatewaysPlan:
    releases: tuple[HelmReleaseSpec, ...]
    """Install order: istio base (CRDs), istiod, istio-cni (with sidecars), then the internal, external and
    egress gateways. Each must wait for the one before: gateway pods get their proxy image injected by istiod."""
    namespaces: tuple[NamespaceSpec, ...]
    manifests: tuple[dict[str, Any], ...]
    """PeerAuthentication and Gateways; they need istio base's CRDs (and the Gateways their namespaces)."""
    secret_needs: Mapping[str, tuple[SecretNeed, ...]]
    """Namespace -> Secrets the gateways read that no chart creates (the DFSP client CA)."""
    warnings: tuple[str, ...]


class GatewaysError(ValueError):
    """The gateways cannot be planned as asked; the message says what to change."""
