"""How the control center's services are reached: one Istio ingress gateway passing TLS through, as plain data.

Vault (`vault.<internal domain>`), object storage (`s3.`), the registry mirror (`mirror.`) and, in the `full`
profile, GitLab (`gitlab.`) each terminate TLS themselves with a cert-manager certificate for their host name.
Operators (over the WireGuard mesh), environment stacks, External Secrets in environment clusters and
containerd on every node reach them through one entry point:

- Istio as environments install it, but only what the control center needs: `base` (CRDs), `istiod`, and the
  environments' internal ingress gateway (same release, namespace and Service: NodePorts 31443/31080/31081 on
  bare metal behind the operator's L4 load balancer, an internal network load balancer on AWS), built by the
  environment gateway planner's release builders from the same pins (config/charts/istio.yaml);
- a `Gateway` with one server, port 443, `tls.mode: PASSTHROUGH`, for exactly the services' host names: the
  gateway reads the SNI name and forwards the TCP stream untouched, so TLS runs end to end from the client
  to the service's pod and the gateway holds no certificate (no Secret, no wildcard Certificate);
- per service a `VirtualService` whose `tls` route sends that SNI name to the Service and port that serves
  TLS. GitLab's chart brings its own NGINX ingress controller, which terminates GitLab's TLS and routes to
  GitLab's components by path: the gateway passes `gitlab.` through to that controller's Service, so GitLab
  has the same entry point, load balancer and NodePort as everything else instead of a second load balancer
  of its own.

No sidecars run in the control center: its namespaces carry no injection label, and istiod injects only
into labelled namespaces (and the gateway pods, which ask for it themselves). So there is no mesh-wide STRICT
`PeerAuthentication` either, unlike in environments: it governs what sidecar proxies accept, there are none
to enforce it, and the traffic it would protect is already the services' own TLS from end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from mojaloop_iac import contract
from mojaloop_iac.planners.api_versions import served_api_versions
from mojaloop_iac.planners.control_center import gitlab, object_storage, registry_mirror
from mojaloop_iac.planners.control_center.common import ControlCenterPlanError, require_hostname
from mojaloop_iac.planners.control_center.services import ControlCenterServicesPlan
from mojaloop_iac.planners.gateways import INTERNAL, pinned_chart
from mojaloop_iac.planners.gateways.charts import minor_version
from mojaloop_iac.planners.gateways.inputs import HTTPS_PORT, SUBSTRATES, Substrate
from mojaloop_iac.planners.gateways.manifests import MANAGED_BY, NETWORKING_API
from mojaloop_iac.planners.gateways.planner import (
    ISTIO_BASE,
    ISTIO_GATEWAY,
    ISTIOD,
    check_one_istio_release,
)
from mojaloop_iac.planners.gateways.releases import (
    ingress_gateway_release,
    istio_base_release,
    istiod_release,
)
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.placement import Scheduling
from mojaloop_iac.planners.vault_server import API_PORT as VAULT_API_PORT
from mojaloop_iac.planners.vault_server import FULLNAME as VAULT_SERVICE
from mojaloop_iac.planners.vault_server import VaultServerPlan
from mojaloop_iac.platform_versions import ISTIO, platform_versions
from mojaloop_iac.vault.paths import require_dns_label

# The one port the gateway serves: the https port of the gateway chart's Service (NodePort 31443).
PASSTHROUGH_PORT: Final = HTTPS_PORT[1]
# The Service the GitLab chart's bundled NGINX ingress controller gets (`<release>-nginx-ingress-controller`),
# and its TLS port: GitLab's Ingresses are served there with GitLab's certificate.
GITLAB_INGRESS_SERVICE: Final = f"{gitlab.RELEASE_NAME}-nginx-ingress-controller"
GITLAB_INGRESS_HTTPS_PORT: Final = 443


@dataclass(frozen=True)
class PassthroughRoute:
    """One host name clients dial on 443, and the Service and port that answer it with TLS."""

    name: str
    """Names the route's VirtualService, e.g. `vault`."""
    hostname: str
    """The SNI name, e.g. `vault.int.cc.example.com`; the service's certificate covers it."""
    service: str
    namespace: str
    port: int
    """The Service port that serves TLS for `hostname` (not a NodePort, not the client's 443)."""

    @property
    def service_host(self) -> str:
        return f"{self.service}.{self.namespace}.svc.cluster.local"


@dataclass(frozen=True)
class ControlCenterIngressInput:
    substrate: Substrate
    kubernetes_version: str
    """Picks the Istio release (config/platform-versions.yaml per Kubernetes minor)."""
    routes: tuple[PassthroughRoute, ...]
    scheduling: Scheduling | None = None
    """Where the gateway pods run; None: anywhere."""


@dataclass(frozen=True)
class ControlCenterIngressPlan:
    releases: tuple[HelmReleaseSpec, ...]
    """Install order: istio base (CRDs), istiod (injects the gateway pods' proxy), the internal gateway."""
    namespaces: tuple[NamespaceSpec, ...]
    manifests: tuple[dict[str, Any], ...]
    """The Gateway, then one VirtualService per route: they need istio base's CRDs (create them after the
    releases)."""
    routes: tuple[PassthroughRoute, ...]
    warnings: tuple[str, ...]

    @property
    def hostnames(self) -> tuple[str, ...]:
        return tuple(route.hostname for route in self.routes)


def control_center_routes(
    vault: VaultServerPlan, services: ControlCenterServicesPlan
) -> tuple[PassthroughRoute, ...]:
    """The route of every control-center service, from the planners that configure its chart.

    Vault goes to the `vault` Service (every server pod), not `vault-active` (the unsealed leader only): the
    first `pulumi up` initialises Vault through `vault.<domain>` before any server is active, and standby
    servers forward requests to the leader.
    """
    storage_release = services.object_storage.service.releases[0]
    mirror_release = services.registry_mirror.service.releases[0]
    routes = [
        PassthroughRoute("vault", vault.api_hostname, VAULT_SERVICE, vault.namespace.name, VAULT_API_PORT),
        PassthroughRoute(
            "object-storage",
            _host_on_443(services.object_storage.endpoint_url, "object storage URL"),
            object_storage.SERVICE,
            storage_release.namespace,
            object_storage.API_PORT,
        ),
        PassthroughRoute(
            "registry-mirror",
            _host_on_443(services.registry_mirror.mirror.url, "registry mirror URL"),
            registry_mirror.SERVICE,
            mirror_release.namespace,
            registry_mirror.PORT,
        ),
    ]
    if services.gitlab is not None:
        release = services.gitlab.service.releases[0]
        if not release.values.get("nginx-ingress", {}).get("enabled"):
            raise ControlCenterPlanError(
                "GitLab is set to use an existing ingress class instead of its bundled NGINX ingress "
                "controller: the control center's gateway only knows how to pass gitlab.<domain> through to "
                "the bundled one; drop the ingress class"
            )
        routes.append(
            PassthroughRoute(
                "gitlab",
                _host_on_443(services.gitlab.url, "GitLab URL"),
                GITLAB_INGRESS_SERVICE,
                release.namespace,
                GITLAB_INGRESS_HTTPS_PORT,
            )
        )
    return tuple(routes)


def plan_control_center_ingress(inp: ControlCenterIngressInput) -> ControlCenterIngressPlan:
    _check(inp)
    versions = platform_versions(inp.kubernetes_version)
    base, istiod, gateway = (pinned_chart(key, versions) for key in (ISTIO_BASE, ISTIOD, ISTIO_GATEWAY))
    check_one_istio_release(base, istiod, gateway)
    return ControlCenterIngressPlan(
        releases=(
            istio_base_release(base),
            # No extension providers: nothing in the control center authorises requests at the gateway.
            istiod_release(istiod, [], flat_values=versions.supports(ISTIO, "flatIstiodValues")),
            ingress_gateway_release(gateway, INTERNAL, inp.substrate, inp.scheduling),
        ),
        namespaces=(
            NamespaceSpec(
                istiod.namespace, "restricted", "Istio control plane (istiod) for the ingress gateway"
            ),
            NamespaceSpec(
                INTERNAL.namespace,
                "restricted",
                "Ingress gateway: TLS passthrough to the control center's services",
            ),
        ),
        manifests=served_api_versions(
            (passthrough_gateway(inp.routes), *(virtual_service(route) for route in inp.routes)), versions
        ),
        routes=inp.routes,
        warnings=(),
    )


def passthrough_gateway(routes: tuple[PassthroughRoute, ...]) -> dict[str, Any]:
    """The internal gateway's one server: TLS on 443 for exactly the services' names, passed through.

    No HTTP server: every service speaks TLS only, and a redirect would need a host name the gateway
    answers for in plain text. A name not listed here finds no route (the connection is closed).
    """
    return {
        "apiVersion": NETWORKING_API,
        "kind": "Gateway",
        "metadata": {"name": INTERNAL.name, "namespace": INTERNAL.namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            # The gateway chart labels its pods `istio: <release name>` (planners/gateways/releases.py).
            "selector": {"istio": INTERNAL.name},
            "servers": [
                {
                    "port": {"number": PASSTHROUGH_PORT, "name": "tls-passthrough", "protocol": "TLS"},
                    "hosts": [route.hostname for route in routes],
                    "tls": {"mode": "PASSTHROUGH"},
                }
            ],
        },
    }


def virtual_service(route: PassthroughRoute) -> dict[str, Any]:
    """The route for one SNI name, next to the Gateway it binds to; visible to that namespace only."""
    return {
        "apiVersion": NETWORKING_API,
        "kind": "VirtualService",
        "metadata": {"name": route.name, "namespace": INTERNAL.namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "hosts": [route.hostname],
            "gateways": [contract.INTERNAL_GATEWAY],
            "exportTo": ["."],
            "tls": [
                {
                    "match": [{"port": PASSTHROUGH_PORT, "sniHosts": [route.hostname]}],
                    "route": [{"destination": {"host": route.service_host, "port": {"number": route.port}}}],
                }
            ],
        },
    }


def _host_on_443(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ControlCenterPlanError(f"{what} {url!r} must be an https:// URL")
    if parts.port not in (None, PASSTHROUGH_PORT):
        raise ControlCenterPlanError(
            f"{what} {url!r} names port {parts.port}: the control center's gateway serves port "
            f"{PASSTHROUGH_PORT} only; drop the port"
        )
    return parts.hostname


def _check(inp: ControlCenterIngressInput) -> None:
    if inp.substrate not in SUBSTRATES:
        raise ControlCenterPlanError(f"substrate {inp.substrate!r} is not one of {', '.join(SUBSTRATES)}")
    try:
        minor_version(inp.kubernetes_version)
    except ValueError as wrong:
        raise ControlCenterPlanError(f"control center ingress: {wrong}") from None
    if not inp.routes:
        raise ControlCenterPlanError("the control center's gateway needs at least one service to route to")
    for route in inp.routes:
        require_hostname(route.hostname, f"route {route.name!r} host name")
        for value, what in ((route.name, "name"), (route.service, "Service"), (route.namespace, "namespace")):
            require_dns_label(value, f"route {route.name!r} {what}")
        if not 0 < route.port < 65536:
            raise ControlCenterPlanError(f"route {route.name!r} port {route.port} is not a TCP port")
    for field in ("name", "hostname"):
        values = [getattr(route, field) for route in inp.routes]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise ControlCenterPlanError(
                f"control center routes repeat the {field} {', '.join(repeated)}: each SNI name goes to one Service"
            )
