"""What the identity planner takes and gives back, and the names the identity stack is known by.

The Istio gateway names, their namespaces and the Mojaloop tool hosts are not repeated here: they come
from mojaloop_iac.contract and config/mojaloop-values.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mojaloop_iac.charts.repository import PinnedFile

from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.placement import Scheduling
from mojaloop_iac.planners.secrets import SecretNeed

# Realms, exactly these two (shared/reference/mojaloop.md): DFSPs take their API tokens from the first,
# hub operators sign in through the second.
DFSP_REALM: Final = "dfsps"
HUB_OPERATOR_REALM: Final = "hub-operators"

# The Keycloak custom resource; the operator names its Service `<name>-service`.
KEYCLOAK_NAME: Final = "keycloak"
# Plain HTTP inside the cluster: TLS ends at the Istio gateways (mutual TLS for DFSPs on the external one).
KEYCLOAK_HTTP_PORT: Final = 8080

# Helm release names; the Ory charts derive their Service names from them (`kratos-public`, `keto-read`,
# `oathkeeper-api`, ...).
KRATOS: Final = "kratos"
KETO: Final = "keto"
OATHKEEPER: Final = "oathkeeper"

# The istiod `meshConfig.extensionProviders` entry the hub-operator AuthorizationPolicy names.
OATHKEEPER_EXTENSION_PROVIDER: Final = "ory-oathkeeper"

# Browser-facing hosts on the internal domain: Keycloak, and Kratos' public API (sign-in callbacks).
KEYCLOAK_HOST: Final = "keycloak.{internalDomain}"
# DFSPs reach the `dfsps` realm's token endpoint through the external gateway, behind its mutual TLS.
KEYCLOAK_EXTERNAL_HOST: Final = "keycloak.{externalDomain}"
AUTH_HOST: Final = "auth.{internalDomain}"

_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A registry host with an optional port and path prefix, e.g. `mirror.cc.example.com:5000/docker.io`.
_REGISTRY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*$")


class IdentityError(ValueError):
    """The identity stack cannot be planned as asked; the message says what to change."""


@dataclass(frozen=True)
class DatabaseEndpoint:
    """A MySQL server the identity services share instead of their dedicated ones (e.g. Amazon RDS).

    Its operator creates the users and databases `keycloak`, `kratos` and `keto`, with the passwords Vault
    generates for each (the plan's notes give the paths).
    """

    host: str
    port: int = 3306


@dataclass(frozen=True)
class IdentityInput:
    internal_domain: str  # e.g. "int.qa1.example.com": Keycloak, the sign-in service, hub-operator APIs
    external_domain: str  # e.g. "qa1.example.com": the FSPIOP API for DFSPs
    # None: every identity service gets a dedicated MySQL in its own namespace (see the planner's notes).
    database: DatabaseEndpoint | None = None
    scheduling: Scheduling | None = None  # affinity and tolerations for every identity pod
    registry: str | None = None  # image registry mirror that replaces docker.io and quay.io
    storage_class: str | None = None  # for the dedicated MySQL volumes; None: the cluster's default

    def __post_init__(self) -> None:
        for what, domain in (
            ("internal_domain", self.internal_domain),
            ("external_domain", self.external_domain),
        ):
            if not isinstance(domain, str) or not _DNS_NAME.match(domain):
                raise IdentityError(
                    f"{what} {domain!r} is not a lower-case DNS name such as 'int.qa1.example.com'"
                )
        if self.internal_domain == self.external_domain:
            raise IdentityError(
                "internal_domain and external_domain are the same: hub-operator hosts and the DFSP-facing "
                "hosts must live on different domains (different gateways)"
            )
        if self.database is not None:
            if not self.database.host or any(c in self.database.host for c in "/@:?# "):
                raise IdentityError(
                    f"database host {self.database.host!r} must be a bare host name or address"
                )
            if not 0 < self.database.port < 65536:
                raise IdentityError(f"database port {self.database.port} is not a TCP port (1-65535)")
        if self.registry is not None and not _REGISTRY.match(self.registry):
            raise IdentityError(
                f"registry {self.registry!r} is not a registry host such as 'mirror.example.com:5000'"
            )
        if self.storage_class is not None and not _DNS_SUBDOMAIN.match(self.storage_class):
            raise IdentityError(f"storage_class {self.storage_class!r} is not a Kubernetes object name")


@dataclass(frozen=True)
class ManifestSource:
    """Upstream manifests applied as they are (the Keycloak operator ships no Helm chart)."""

    name: str
    namespace: str  # namespaced objects in them carry none: apply them into this namespace
    version: str
    files: tuple[PinnedFile, ...]  # in order: CRDs first
    mirror: str | None = None
    """A chart mirror holding the files (air-gapped hubs); None fetches them from upstream."""

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(file.location(self.mirror) for file in self.files)


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of a Kubernetes Secret that a chart value or a manifest reads."""

    namespace: str
    name: str
    key: str


@dataclass(frozen=True)
class IdentityPlan:
    namespaces: tuple[NamespaceSpec, ...]
    operator_manifests: tuple[ManifestSource, ...]
    releases: tuple[HelmReleaseSpec, ...]
    release_dependencies: Mapping[str, tuple[str, ...]]
    """Release name -> releases that must be installed first (a database before its service)."""
    manifests: tuple[dict[str, Any], ...]
    """Keycloak and realm imports (after the operator manifests and the `keycloak-mysql` release), Istio
    routes and policies (need Istio's CRDs)."""
    prerequisites: tuple[dict[str, Any], ...]
    """Objects the releases read, created before them: those copying the Kratos client secret into the
    Secret holding Kratos' OIDC provider list (they need External Secrets, an earlier layer)."""
    mesh_extension_providers: tuple[dict[str, Any], ...]
    """Entries for istiod's `meshConfig.extensionProviders`."""
    secret_needs: Mapping[str, tuple[SecretNeed, ...]]
    """Namespace -> the Secrets Vault generates and External Secrets delivers there."""
    external_secret_templates: Mapping[tuple[str, str], dict[str, Any]]
    """(namespace, Secret) -> `spec.target.template` of its ExternalSecret: keys assembled from the
    generated ones (a DSN holding the password) or fixed (a user name); see `with_templates`."""
    secret_refs: frozenset[SecretKeyRef]
    """Every Secret key the values and manifests read."""
    notes: tuple[str, ...]
    """What the operator must know or do; shown as plan warnings."""
