"""The platform an environment runs on before Mojaloop: certificates, the Istio gateways, and what they need.

Each layer is a set of Helm releases plus the objects that need them; a layer waits only for the layers it
really needs (`Layer.after`), so unrelated layers install side by side. Namespaces, Secret needs and
warnings of every layer are collected so one Namespaces component and one secret delivery serve them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mojaloop_iac import contract
from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.config.models import ClusterSettings, Environment
from mojaloop_iac.planners.api_versions import served_api_versions
from mojaloop_iac.planners.certificates import CertificatesInput, plan_certificates
from mojaloop_iac.planners.default_deny import ClusterNetworks, DefaultDenyInput, plan_default_deny
from mojaloop_iac.planners.gateways import GatewaysInput, plan_gateways
from mojaloop_iac.planners.gateways.planner import client_ca_secret_name
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.identity import IdentityInput, ManifestSource, plan_identity
from mojaloop_iac.planners.identity.inputs import KEYCLOAK_HTTP_PORT
from mojaloop_iac.planners.mojaloop_values.data import load_values_data
from mojaloop_iac.planners.namespaces import EXTERNAL_SECRETS_NAMESPACE, NamespaceSpec
from mojaloop_iac.planners.qa_profile import QaProfile
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.planners.sidecars import Sidecars, plan_sidecars, sidecar_note
from mojaloop_iac.platform_versions import PlatformVersions, platform_versions


@dataclass(frozen=True)
class Layer:
    name: str
    releases: tuple[HelmReleaseSpec, ...]
    manifests: tuple[dict[str, Any], ...]
    sources: tuple[ManifestSource, ...] = ()
    """Upstream manifests applied as they are, before the releases (operators without a chart)."""
    after: tuple[str, ...] = ()
    """Earlier layers this one really needs installed first (their CRDs, their policies); nothing else."""
    reads_secrets: bool = False
    """Its releases read Secrets that External Secrets delivers (so it waits for the secret delivery)."""
    release_needs: Mapping[str, tuple[str, ...]] | None = None
    """Per release, the releases of this layer it needs installed first; None installs them one after
    another in the order given."""
    prerequisites: tuple[dict[str, Any], ...] = ()
    """Objects the releases read, created before them (their CRDs come from an earlier layer)."""


@dataclass(frozen=True)
class PlatformPlan:
    layers: tuple[Layer, ...]
    namespaces: tuple[NamespaceSpec, ...]
    secret_needs: Mapping[str, tuple[SecretNeed, ...]]
    external_secret_templates: Mapping[tuple[str, str], Mapping[str, Any]]
    """(namespace, Secret) -> the ExternalSecret template assembling it (e.g. a DSN around a password)."""
    warnings: tuple[str, ...]
    versions: PlatformVersions
    """The Istio, cert-manager and External Secrets versions the cluster gets."""
    sidecars: Sidecars | None
    """How Mojaloop's pods get their mesh proxy; None: they run outside the mesh."""


def cluster_platform_versions(cluster: ClusterSettings) -> PlatformVersions:
    """The versions pinned for the cluster's Kubernetes minor, with an environment's chartVersions applied."""
    return platform_versions(cluster.kubernetes.version, getattr(cluster, "chart_versions", None))


def plan_platform(
    cluster: ClusterSettings,
    storage_class: str,
    routed: Sequence[Mapping[str, Any]] = (),
    profile: QaProfile | None = None,
) -> PlatformPlan:
    """The platform layers. `routed`: the Mojaloop release's VirtualServices, so the policies know where the
    gateways route; `profile` (the QA profile) leaves out the identity layer and the gateways it does not name."""
    versions = cluster_platform_versions(cluster)
    with_identity = profile is None or profile.platform.identity
    ingress = ("internal", "external") if profile is None else profile.platform.ingress_gateways
    identity = plan_identity(
        IdentityInput(
            internal_domain=cluster.domains.internal,
            external_domain=cluster.domains.external,
            storage_class=storage_class,
        )
    )
    tls = cluster.tls
    certificates = plan_certificates(
        CertificatesInput(
            internal_domain=cluster.domains.internal,
            external_domain=cluster.domains.external,
            kubernetes_version=cluster.kubernetes.version,
            internal_issuer=tls.internal_issuer,
            external_issuer=tls.external_issuer,
            acme_email=tls.acme_email,
            **({"acme_server": tls.acme_server} if tls.acme_server else {}),
            acme_dns01_solver=tls.acme_dns01_solver,
            versions=versions,
        )
    )
    sidecars = cluster_sidecars(cluster)
    providers = identity.mesh_extension_providers if with_identity else ()
    gateways = plan_gateways(
        GatewaysInput(
            substrate=cluster.substrate.value,
            internal_domain=cluster.domains.internal,
            external_domain=cluster.domains.external,
            kubernetes_version=cluster.kubernetes.version,
            internal_tls_secret=certificates.internal_tls_secret,
            external_tls_secret=certificates.external_tls_secret,
            # The CA that signs DFSPs' client certificates (key `ca.crt`), written to Vault by the hub
            # operator and delivered like every other Secret.
            client_ca_secret=client_ca_secret_name(certificates.external_tls_secret),
            extension_providers=providers,
            ingress=ingress,
            egress=profile is None or profile.platform.egress_gateway,
            versions=versions,
            sidecars=sidecars,
        )
    )
    installed = {spec.name for spec in gateways.namespaces} | {spec.name for spec in certificates.namespaces}
    # A gateway that is not installed needs no certificate.
    certificate_manifests = tuple(
        manifest
        for manifest in certificates.manifests
        if manifest["kind"] != "Certificate" or manifest["metadata"]["namespace"] in installed
    )
    identity_namespaces = identity.namespaces if with_identity else ()
    identity_manifests = identity.manifests if with_identity else ()
    namespaces = merge_namespaces(certificates.namespaces, gateways.namespaces, identity_namespaces)
    mojaloop_namespace = cluster.mojaloop.namespace if isinstance(cluster, Environment) else None
    policies = plan_default_deny(
        default_deny_input(
            cluster,
            tuple(spec.name for spec in namespaces),
            mojaloop_namespace,
            sidecars is not None,
            (*identity_manifests, *routed),
            providers,
        )
    )
    control, gateway_releases = split_mesh_releases(gateways.releases)
    mesh_manifests = tuple(m for m in gateways.manifests if m["kind"] in MESH_WIDE_KINDS)
    gateway_manifests = tuple(m for m in gateways.manifests if m["kind"] not in MESH_WIDE_KINDS)
    # Only the real install-time dependencies: cert-manager reads Secrets only for an ACME DNS-01 solver;
    # the gateways start without their certificates and client CA (Envoy picks the Secrets up when they
    # appear); the policies and identity's Istio objects need Istio's CRDs; identity reads its databases'
    # passwords.
    layers = [
        Layer("cert-manager", (certificates.release,), served_api_versions(certificate_manifests, versions),
              reads_secrets=bool(certificates.secret_needs)),
        # The control plane, mesh-wide mutual TLS and the default-deny policies (which need Istio's CRDs):
        # identity's and Mojaloop's workloads wait for this layer, so they run meshed and under the
        # policies from their first packet.
        Layer("mesh", control, served_api_versions((*mesh_manifests, *policies.manifests), versions),
              release_needs=mesh_release_needs(control)),
        Layer("gateways", gateway_releases, served_api_versions(gateway_manifests, versions), after=("mesh",),
              release_needs={release.name: () for release in gateway_releases}),
    ]
    if with_identity:
        # identity.release_dependencies: databases first, then Kratos and Keto before Oathkeeper.
        layers.append(
            Layer("identity", ordered_releases(identity.releases, identity.release_dependencies),
                  served_api_versions(identity.manifests, versions), identity.operator_manifests,
                  prerequisites=served_api_versions(identity.prerequisites, versions), after=("mesh",), reads_secrets=True,
                  release_needs={name: tuple(needs) for name, needs in identity.release_dependencies.items()})
        )
    return PlatformPlan(
        layers=tuple(layers),
        namespaces=namespaces,
        secret_needs=merge_needs(certificates.secret_needs, gateways.secret_needs,
                                 identity.secret_needs if with_identity else {}),
        external_secret_templates=dict(identity.external_secret_templates) if with_identity else {},
        warnings=certificates.warnings + gateways.warnings + (identity.notes if with_identity else ())
        + sidecar_notes(cluster),
        versions=versions,
        sidecars=sidecars,
    )


# Istio's control plane: its CRDs (base), istiod (which injects every meshed pod's proxy) and the CNI node
# agent (which sets up a meshed pod's traffic redirection when the pod starts). A meshed pod created before
# them runs without its proxy, so workloads wait for this layer; the gateways do not.
MESH_RELEASES = ("istio-base", "istiod", "istio-cni")
# The mesh-wide objects that belong with the control plane rather than with a gateway.
MESH_WIDE_KINDS = ("PeerAuthentication",)
# The layers the Mojaloop release's VirtualServices wait for: Istio's CRDs, and the identity layer's policies
# guarding the admin hosts before those hosts are routed.
ROUTES_NEED = ("mesh", "identity")
# The layers Mojaloop's pods wait for: the mesh (their proxy, when meshed, and the default-deny policies).
WORKLOADS_NEED = ("mesh",)


def split_mesh_releases(
    releases: Sequence[HelmReleaseSpec],
) -> tuple[tuple[HelmReleaseSpec, ...], tuple[HelmReleaseSpec, ...]]:
    """(the control plane's releases, the gateways' releases), each in the gateways plan's order."""
    control = tuple(release for release in releases if release.name in MESH_RELEASES)
    return control, tuple(release for release in releases if release.name not in MESH_RELEASES)


def mesh_release_needs(control: Sequence[HelmReleaseSpec]) -> dict[str, tuple[str, ...]]:
    """istiod needs istio-base's CRDs; the CNI node agent needs nothing and installs beside them."""
    names = {release.name for release in control}
    return {name: (("istio-base",) if name == "istiod" and "istio-base" in names else ()) for name in sorted(names)}


def default_deny_input(
    cluster: ClusterSettings,
    platform_namespaces: tuple[str, ...],
    mojaloop_namespace: str | None,
    meshed: bool,
    manifests: Sequence[Mapping[str, Any]],
    extension_providers: Sequence[Mapping[str, Any]],
) -> DefaultDenyInput:
    """What the default-deny planner needs, from the stack and the other planners' output."""
    pins = chart_pins()
    owned = {*platform_namespaces, EXTERNAL_SECRETS_NAMESPACE, *((mojaloop_namespace,) if mojaloop_namespace else ())}
    keycloak, ory = pins["keycloak-operator"]["namespace"], pins["kratos"]["namespace"]
    routes = gateway_routes(manifests)
    # The internal gateway asks Oathkeeper (ext-authz) about every hub-operator request.
    for provider in extension_providers:
        for kind in provider.values():
            if isinstance(kind, Mapping) and isinstance(kind.get("service"), str):
                routes.setdefault(contract.INTERNAL_GATEWAY_NAMESPACE, set()).add(service_namespace(kind["service"], ""))
    vault = getattr(getattr(cluster, "vault", None), "address", None)
    return DefaultDenyInput(
        namespaces=tuple(sorted(owned)),
        networks=cluster_networks(cluster),
        mojaloop=mojaloop_namespace or "",
        meshed=(mojaloop_namespace,) if meshed and mojaloop_namespace else (),
        istio=pins["istiod"]["namespace"],
        cert_manager=pins["cert-manager"]["namespace"],
        external_secrets=EXTERNAL_SECRETS_NAMESPACE,
        keycloak=keycloak,
        ory=ory,
        gateway_routes={gateway: tuple(sorted(targets & owned)) for gateway, targets in sorted(routes.items())},
        known_ports={keycloak: (("TCP", KEYCLOAK_HTTP_PORT),)},
        vault_ports=(("TCP", urlsplit(vault).port or 443),) if vault else (("TCP", 443),),
        test_pods=helm_test_pod_names(),
        controllers=(pins["cert-manager"]["namespace"], EXTERNAL_SECRETS_NAMESPACE, pins["istiod"]["namespace"], keycloak, ory),
        webhooks={
            pins["istiod"]["namespace"]: (("TCP", 15017),),
            pins["cert-manager"]["namespace"]: (("TCP", 10250),),
            EXTERNAL_SECRETS_NAMESPACE: (("TCP", 10250),),
        },
    )


def gateway_routes(manifests: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Gateway namespace -> the namespaces its VirtualServices send traffic to."""
    routes: dict[str, set[str]] = {}
    for manifest in manifests:
        if manifest.get("kind") != "VirtualService":
            continue
        spec, namespace = manifest.get("spec") or {}, manifest["metadata"]["namespace"]
        destinations = {
            service_namespace(route["destination"]["host"], namespace)
            for kind in ("http", "tls", "tcp")
            for entry in spec.get(kind) or ()
            for route in entry.get("route") or ()
        }
        for gateway in spec.get("gateways") or ():
            routes.setdefault(gateway.partition("/")[0], set()).update(destinations)
    return routes


def service_namespace(host: str, default: str) -> str:
    """The namespace of a Service host name (`svc.ns.svc.cluster.local`, `svc.ns`, or `svc` in `default`)."""
    parts = host.split(".")
    return parts[1] if len(parts) > 1 else default


def cluster_networks(cluster: ClusterSettings) -> ClusterNetworks:
    """Where pods reach the API server, where its own calls come from, and the cluster's own networks."""
    service_ip = str(next(cluster.network.service_cidr.hosts()))
    pod, service = str(cluster.network.pod_cidr), str(cluster.network.service_cidr)
    if cluster.baremetal is not None:
        servers = [host_network(str(host.address)) for host in cluster.baremetal.hosts if host.role == "server"]
        endpoint = cluster.baremetal.api_endpoint
        extra = [host_network(str(endpoint))] if endpoint is not None and not isinstance(endpoint, str) else []
        return ClusterNetworks(
            api_server=((f"{service_ip}/32", 443), *((cidr, 6443) for cidr in servers + extra)),
            # k3s' API server runs on the host: to a pod on another node its packets leave through flannel,
            # with that node's flannel address (in the pod network) as their source.
            api_server_sources=(*servers, pod),
            cluster=(pod, service),
        )
    assert cluster.aws is not None
    vpc = str(cluster.aws.vpc_cidr)
    return ClusterNetworks(api_server=((f"{service_ip}/32", 443), (vpc, 443)), api_server_sources=(vpc,), cluster=(pod, service))


def host_network(address: str) -> str:
    return f"{address}/128" if ":" in address else f"{address}/32"


def helm_test_pod_names() -> tuple[str, ...]:
    """The Helm test sub-charts of every release line (their pods' `app.kubernetes.io/name`)."""
    data = load_values_data()
    return tuple(sorted({
        name
        for line in data.release_lines.values()
        for name in (*line.tests.golden_path, *line.tests.bulk, *line.tests.third_party)
    }))


def cluster_sidecars(cluster: ClusterSettings) -> Sidecars | None:
    """How the cluster runs Istio's proxies next to Mojaloop's pods (None: it does not)."""
    k3s = cluster.baremetal.k3s_version if cluster.baremetal is not None else None
    return plan_sidecars(cluster.kubernetes.version, cluster.substrate.value, k3s)


def sidecar_notes(cluster: ClusterSettings) -> tuple[str, ...]:
    note = sidecar_note(cluster.kubernetes.version, cluster.substrate.value)
    return (note,) if note else ()


def ordered_releases(
    releases: Sequence[HelmReleaseSpec], dependencies: Mapping[str, Sequence[str]]
) -> tuple[HelmReleaseSpec, ...]:
    """The releases in an order where each comes after the ones it depends on (stable otherwise)."""
    by_name = {release.name: release for release in releases}
    ordered: list[HelmReleaseSpec] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"release dependencies form a cycle: {' -> '.join((*path, name))}")
        if by_name[name] in ordered:
            return
        for dependency in dependencies.get(name, ()):
            visit(dependency, (*path, name))
        ordered.append(by_name[name])

    for release in releases:
        visit(release.name, ())
    return tuple(ordered)


def merge_namespaces(*groups: Sequence[NamespaceSpec]) -> tuple[NamespaceSpec, ...]:
    """One spec per namespace; two layers asking for the same namespace must agree on it."""
    merged: dict[str, NamespaceSpec] = {}
    for spec in (spec for group in groups for spec in group):
        if spec.name in merged and merged[spec.name].enforce != spec.enforce:
            raise ValueError(f"namespace {spec.name} is planned as both {merged[spec.name].enforce} and {spec.enforce}")
        merged.setdefault(spec.name, spec)
    return tuple(merged[name] for name in sorted(merged))


def merge_needs(*groups: Mapping[str, Sequence[SecretNeed]]) -> dict[str, tuple[SecretNeed, ...]]:
    merged: dict[str, dict[str, SecretNeed]] = {}
    for group in groups:
        for namespace, needs in group.items():
            for need in needs:
                known = merged.setdefault(namespace, {}).get(need.name)
                if known is not None and known != need:
                    raise ValueError(f"Secret {namespace}/{need.name} is defined twice, differently")
                merged[namespace][need.name] = need
    return {namespace: tuple(needs[name] for name in sorted(needs)) for namespace, needs in sorted(merged.items())}


def with_chart_versions(
    releases: Sequence[HelmReleaseSpec], overrides: Mapping[str, str]
) -> tuple[HelmReleaseSpec, ...]:
    """The releases with a stack's version overrides (keyed by release name) applied."""
    return tuple(
        dataclasses.replace(release, version=overrides[release.name]) if release.name in overrides else release
        for release in releases
    )


def with_chart_sources(
    releases: Sequence[HelmReleaseSpec], versions: Mapping[str, str], mirror: str | None
) -> tuple[HelmReleaseSpec, ...]:
    """The releases at the stack's version overrides, installed from the chart mirror when one is set."""
    chosen = with_chart_versions(releases, versions)
    return tuple(dataclasses.replace(release, repo=mirror) for release in chosen) if mirror else chosen


def with_manifest_mirror(sources: Sequence[ManifestSource], mirror: str | None) -> tuple[ManifestSource, ...]:
    """Upstream manifests fetched from the chart mirror when one is set (it keeps them by checksum)."""
    return tuple(dataclasses.replace(source, mirror=mirror) for source in sources) if mirror else tuple(sources)


def platform_release_names(plan: PlatformPlan) -> set[str]:
    return {release.name for layer in plan.layers for release in layer.releases}
