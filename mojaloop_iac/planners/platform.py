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


def plan_platform(cluster: ClusterSettings, storage_class: str) -> PlatformPlan:
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
            extension_providers=identity.mesh_extension_providers,
        )
    )
    layers = (
        Layer("cert-manager", (certificates.release,), certificates.manifests),
        Layer("istio", gateways.releases, gateways.manifests),
        # Releases install one after another, which honours identity.release_dependencies (databases
        # first, then Kratos and Keto before Oathkeeper).
        Layer("identity", ordered_releases(identity.releases, identity.release_dependencies), identity.manifests,
              identity.operator_manifests, identity.prerequisites),
    )
    return PlatformPlan(
        layers=layers,
        namespaces=merge_namespaces(certificates.namespaces, gateways.namespaces, identity.namespaces),
        secret_needs=merge_needs(certificates.secret_needs, gateways.secret_needs, identity.secret_needs),
        external_secret_templates=dict(identity.external_secret_templates),
        warnings=certificates.warnings + gateways.warnings + identity.notes,
    )


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
