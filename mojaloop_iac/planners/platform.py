"""The platform an environment runs on before Mojaloop: certificates, the Istio gateways, and what they need.

Each layer is a set of Helm releases installed in order plus the objects that need them; the program
installs the layers in the order given. Namespaces, Secret needs and warnings of every layer are
collected so one Namespaces component and one secret delivery serve them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.config.models import ClusterSettings
from mojaloop_iac.planners.certificates import CertificatesInput, plan_certificates
from mojaloop_iac.planners.gateways import GatewaysInput, plan_gateways
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.identity import IdentityInput, ManifestSource, plan_identity
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.qa_profile import QaProfile
from mojaloop_iac.planners.secrets import SecretNeed

# The CA that signs DFSPs' client certificates, in the external gateway's namespace (key `ca.crt`):
# written to Vault by the hub operator, delivered like every other Secret.
DFSP_CLIENT_CA_SECRET = "dfsp-client-ca"


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


@dataclass(frozen=True)
class PlatformPlan:
    layers: tuple[Layer, ...]
    namespaces: tuple[NamespaceSpec, ...]
    secret_needs: Mapping[str, tuple[SecretNeed, ...]]
    external_secret_templates: Mapping[tuple[str, str], Mapping[str, Any]]
    """(namespace, Secret) -> the ExternalSecret template assembling it (e.g. a DSN around a password)."""
    warnings: tuple[str, ...]


def plan_platform(cluster: ClusterSettings, storage_class: str, profile: QaProfile | None = None) -> PlatformPlan:
    """The platform layers; `profile` (the QA profile) leaves out the identity layer and the gateways it does
    not name."""
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
        )
    )
    gateways = plan_gateways(
        GatewaysInput(
            substrate=cluster.substrate.value,
            internal_domain=cluster.domains.internal,
            external_domain=cluster.domains.external,
            kubernetes_version=cluster.kubernetes.version,
            internal_tls_secret=certificates.internal_tls_secret,
            external_tls_secret=certificates.external_tls_secret,
            client_ca_secret=DFSP_CLIENT_CA_SECRET,
            extension_providers=identity.mesh_extension_providers if with_identity else (),
            ingress=ingress,
            egress=profile is None or profile.platform.egress_gateway,
        )
    )
    installed = {spec.name for spec in gateways.namespaces} | {spec.name for spec in certificates.namespaces}
    # A gateway that is not installed needs no certificate.
    certificate_manifests = tuple(
        manifest
        for manifest in certificates.manifests
        if manifest["kind"] != "Certificate" or manifest["metadata"]["namespace"] in installed
    )
    # Only the real install-time dependencies: cert-manager reads Secrets only for an ACME DNS-01 solver;
    # the Istio gateways start without their certificates and client CA (Envoy picks the Secrets up when
    # they appear), so Istio waits for nothing; identity reads its databases' passwords and creates Istio
    # policies and routes (Istio's CRDs).
    layers = [
        Layer("cert-manager", (certificates.release,), certificate_manifests,
              reads_secrets=bool(certificates.secret_needs)),
        Layer("istio", gateways.releases, gateways.manifests, release_needs=istio_release_needs(gateways.releases)),
    ]
    if with_identity:
        # Releases install one after another, which honours identity.release_dependencies (databases
        # first, then Kratos and Keto before Oathkeeper).
        layers.append(
            Layer("identity", ordered_releases(identity.releases, identity.release_dependencies),
                  identity.manifests, identity.operator_manifests, after=("istio",), reads_secrets=True,
                  release_needs={name: tuple(needs) for name, needs in identity.release_dependencies.items()})
        )
    identity_namespaces = identity.namespaces if with_identity else ()
    identity_needs = identity.secret_needs if with_identity else {}
    return PlatformPlan(
        layers=tuple(layers),
        namespaces=merge_namespaces(certificates.namespaces, gateways.namespaces, identity_namespaces),
        secret_needs=merge_needs(certificates.secret_needs, gateways.secret_needs, identity_needs),
        external_secret_templates=dict(identity.external_secret_templates) if with_identity else {},
        warnings=certificates.warnings + gateways.warnings + (identity.notes if with_identity else ()),
    )


def istio_release_needs(releases: Sequence[HelmReleaseSpec]) -> dict[str, tuple[str, ...]]:
    """istiod needs istio-base's CRDs; every gateway needs istiod (it injects the gateway pods' proxy), and
    nothing else: the gateways install side by side. `releases` is the gateways plan's install order."""
    base, istiod, *gateway_releases = (release.name for release in releases)
    return {base: (), istiod: (base,), **{name: (istiod,) for name in gateway_releases}}


# The layers the Mojaloop release's VirtualServices wait for: Istio's CRDs, and the identity layer's policies
# guarding the admin hosts before those hosts are routed.
ROUTES_NEED = ("istio", "identity")


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


def platform_release_names(plan: PlatformPlan) -> set[str]:
    return {release.name for layer in plan.layers for release in layer.releases}
