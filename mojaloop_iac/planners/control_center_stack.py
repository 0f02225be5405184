"""Everything a control-center stack builds, from its configuration, as plain data.

cert-manager (the control center's own CA signs its services' certificates), the Vault-API secrets store
(server, initialisation handing encrypted unseal shares to the operators, bootstrap), then the profile's
services (object storage, registry mirror, GitLab in `full`) whose passwords that Vault generates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.config.models import ControlCenter, ControlCenterProfile, Substrate
from mojaloop_iac.planners.certificates import CertificatesInput, plan_certificates
from mojaloop_iac.planners.control_center import (
    ControlCenterServicesInput,
    ControlCenterServicesPlan,
    GitLabInput,
    IssuerRef,
    ObjectStorageInput,
    RegistryMirrorInput,
    TlsSettings,
    plan_control_center_services,
)
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.platform import merge_namespaces
from mojaloop_iac.planners.vault_server import (
    VaultServerInput,
    VaultServerPlan,
    plan_vault_server,
    vault_certificate,
)
from mojaloop_iac.vault.bootstrap_plan import plan_vault_bootstrap

INTERNAL_ISSUER = "internal-ca"
VAULT_TLS_SECRET = "vault-tls"
# Hub operators who administer Vault through GitLab (profile full) are the members of this group.
VAULT_OPERATORS_GROUP = "mojaloop-operators"


@dataclass(frozen=True)
class Layer:
    releases: tuple[HelmReleaseSpec, ...]
    manifests: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ControlCenterPlan:
    namespaces: tuple[NamespaceSpec, ...]
    certificates: Layer
    secrets_store: Layer
    vault_server: VaultServerPlan
    vault_address: str
    initialization: Mapping[str, Any]
    """VaultInitialization inputs besides the connection: operators and their keys, threshold, unseal mode."""
    bootstrap: Any
    """The VaultBootstrap plan (mounts, password policies, operator logins, root token revocation)."""
    services: ControlCenterServicesPlan
    warnings: tuple[str, ...]


def plan_control_center(cc: ControlCenter, storage_class: str, operator_keys: Mapping[str, str]) -> ControlCenterPlan:
    certificates = plan_certificates(
        CertificatesInput(
            internal_domain=cc.domains.internal,
            external_domain=cc.domains.external,
            kubernetes_version=cc.kubernetes.version,
            internal_issuer=cc.tls.internal_issuer,
            external_issuer=cc.tls.external_issuer,
            acme_email=cc.tls.acme_email,
            **({"acme_server": cc.tls.acme_server} if cc.tls.acme_server else {}),
            acme_dns01_solver=cc.tls.acme_dns01_solver,
        )
    )
    server = plan_vault_server(
        VaultServerInput(
            domain=cc.domains.internal,
            tls_secret_name=VAULT_TLS_SECRET,
            implementation=cc.secrets_store.implementation,
            substrate=cc.substrate.value,
            replicas=cc.secrets_store.replicas,
            storage_class=storage_class,
            kubernetes_version=cc.kubernetes.version,
        )
    )
    vault_address = f"https://{server.api_hostname}"
    bootstrap = plan_vault_bootstrap(
        # Environments configure their own auth mounts from their stacks (they know their API servers).
        [],
        sorted(operator_keys),
        server.audit_device,
        server.audit_declared_in_server_config,
    )
    issuer = IssuerRef(INTERNAL_ISSUER)
    services = plan_control_center_services(
        ControlCenterServicesInput(
            profile=cc.profile.value,
            object_storage=ObjectStorageInput(
                control_center=cc.name,
                hostname=f"s3.{cc.domains.internal}",
                tls=TlsSettings(secret_name="minio-tls", issuer=issuer),
                storage_class=storage_class,
                environments=cc.environments,
                backups_expiry_days=cc.backup_expiry_days,
            ),
            registry_mirror=RegistryMirrorInput(
                control_center=cc.name,
                hostname=f"mirror.{cc.domains.internal}",
                tls=TlsSettings(secret_name="zot-tls", issuer=issuer),
                storage_class=storage_class,
            ),
            gitlab=GitLabInput(
                control_center=cc.name,
                domain=cc.domains.internal,
                tls=TlsSettings(secret_name="gitlab-tls", issuer=issuer),
                storage_class=storage_class,
                object_storage_url=f"https://s3.{cc.domains.internal}",
                vault_address=vault_address,
                vault_operators_group=VAULT_OPERATORS_GROUP,
            )
            if cc.profile == ControlCenterProfile.FULL
            else None,
        )
    )
    return ControlCenterPlan(
        namespaces=merge_namespaces(certificates.namespaces, (server.namespace,), services.namespaces),
        certificates=Layer((certificates.release,), certificates.manifests),
        secrets_store=Layer((server.release,), (vault_certificate(server, INTERNAL_ISSUER),)),
        vault_server=server,
        vault_address=vault_address,
        initialization={
            "operators": [{"name": name, "pgp_public_key": key} for name, key in sorted(operator_keys.items())],
            "threshold": cc.secrets_store.unseal.threshold,
            "unseal": "auto" if cc.substrate == Substrate.AWS else "shamir",
        },
        bootstrap=bootstrap,
        services=services,
        warnings=certificates.warnings + services.warnings,
    )
