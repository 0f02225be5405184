"""Everything a control-center stack builds, from its configuration, as plain data.

cert-manager (the control center's own CA signs its services' certificates), the Vault-API secrets store
(server, initialisation handing encrypted unseal shares to the operators, bootstrap), then the profile's
services (object storage, registry mirror, GitLab in `full`) whose passwords that Vault generates, and the
ingress gateway through which clients outside the cluster reach them all (TLS passed through).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.config.models import ControlCenter, ControlCenterProfile, Substrate
from mojaloop_iac.config.syntax import duration_seconds
from mojaloop_iac.planners.aws_cluster.iam import ServiceAccount
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
from mojaloop_iac.planners.control_center.object_storage import state_backend_secret_path

from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.planners.api_versions import served_api_versions
from mojaloop_iac.planners.control_center.ingress import (
    ControlCenterIngressInput,
    ControlCenterIngressPlan,
    control_center_routes,
    plan_control_center_ingress,
)
from mojaloop_iac.planners.control_center.vault_unseal import (
    AwsAccount,
    VaultUnsealOnAws,
    plan_vault_unseal_on_aws,
    unseal_key_alias,
    unseal_role_arn,
)
from mojaloop_iac.planners.control_center.wireguard_hub import (
    WireGuardHubInput,
    WireGuardHubPlan,
    plan_wireguard_hub,
)
from mojaloop_iac.planners.default_deny import ControlCenterTraffic, Port, plan_control_center_default_deny
from mojaloop_iac.planners.gateways import INTERNAL
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.mesh import plan_hub_side
from mojaloop_iac.planners.namespaces import EXTERNAL_SECRETS, EXTERNAL_SECRETS_NAMESPACE, NamespaceSpec
from mojaloop_iac.planners.platform import cluster_networks, merge_namespaces
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.planners.vault_server import (
    FULLNAME,
    VaultServerInput,
    VaultServerPlan,
    plan_vault_server,
    vault_certificate,
)
from mojaloop_iac.vault.bootstrap_plan import (
    DEFAULT_QA_TOKEN_TTL_SECONDS,
    QA_DEPLOYER_ROLE,
    CiLogin,
    VaultBootstrapPlan,
    plan_vault_bootstrap,
)

from mojaloop_iac.platform_versions import platform_versions
from mojaloop_iac.vault.bootstrap_plan import VaultBootstrapPlan, plan_vault_bootstrap

INTERNAL_ISSUER = "internal-ca"
# CI systems' token issuers (GitHub's is fixed; GitLab's is the GitLab instance).
GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_CI_MOUNT = "gitlab-ci"
GITHUB_ACTIONS_MOUNT = "github-actions"
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
    ingress: Layer
    """Istio and the internal gateway passing TLS through to Vault, object storage, the mirror (and GitLab)."""
    vault_server: VaultServerPlan
    vault_address: str
    initialization: Mapping[str, Any]
    """VaultInitialization inputs besides the connection: operators and their keys, threshold, unseal mode."""
    bootstrap: VaultBootstrapPlan
    """The VaultBootstrap plan (mounts, password policies, environments' access, operator logins, root token)."""
    services: ControlCenterServicesPlan
    warnings: tuple[str, ...]
    vault_unseal: VaultUnsealOnAws | None = None
    """AWS: the KMS key and IRSA role the Vault servers auto-unseal with (components.aws_control_center)."""
    wireguard_hub: WireGuardHubPlan | None = None
    """AWS: the WireGuard hub as a pod of this cluster (on bare metal a control-center host runs it)."""
    policies: Layer = Layer((), ())
    """Deny by default in every namespace, and the allows its traffic needs (after Istio's CRDs)."""

    @property
    def secret_needs(self) -> dict[str, tuple[SecretNeed, ...]]:
        """Per namespace, what the control center's secret delivery serves.

        The hub's namespace reads its private key through the namespace's SecretStore, but Vault generates
        nothing there: `wireguard.vault_key` writes the key and the hub's ExternalSecret is among its
        manifests. So the namespace is listed with no needs, which gives it its reader and SecretStore
        without an "operator-supplied" note for a key no operator writes.
        """
        needs = dict(self.services.secret_needs)
        if self.wireguard_hub is not None:
            needs.setdefault(self.wireguard_hub.namespace.name, ())
        return needs

    def vault_environments(self) -> dict[str, dict[str, str]]:
        """Per declared environment, what its stack and its workloads use in Vault (a stack output)."""
        return {
            environment.name: {
                "kubernetesAuthMount": environment.auth_mount,
                "readerRole": environment.reader_role,
                "deployerTokenRole": environment.token_role,
            }
            for environment in self.bootstrap.environments
        }


def plan_control_center(
    cc: ControlCenter,
    storage_class: str,
    operator_keys: Mapping[str, str],
    aws_account: AwsAccount | None = None,
) -> ControlCenterPlan:
    """`aws_account` (substrate aws): the account the KMS key and the IRSA role are created in."""
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
            # No gateway here terminates TLS (see planners/control_center/ingress.py), nor do the
            # environments' gateway namespaces exist: cert-manager and its issuers only.
            gateway_certificates=False,
        )
    )
    auto_unseal: dict[str, str] = {}
    if cc.substrate == Substrate.AWS:
        if aws_account is None or cc.aws is None:
            raise ValueError(f"control center {cc.name} is on AWS: pass the AWS account its unseal key lives in")
        auto_unseal = {
            "kms_key_id": unseal_key_alias(cc.name),
            "aws_region": cc.aws.region,
            "service_account_role_arn": unseal_role_arn(cc.name, aws_account),
        }
    server = plan_vault_server(
        VaultServerInput(
            domain=cc.domains.internal,
            tls_secret_name=VAULT_TLS_SECRET,
            implementation=cc.secrets_store.implementation,
            substrate=cc.substrate.value,
            replicas=cc.secrets_store.replicas,
            storage_class=storage_class,
            kubernetes_version=cc.kubernetes.version,
            **auto_unseal,
        )
    )
    vault_unseal = wireguard_hub = None
    if cc.substrate == Substrate.AWS:
        assert aws_account is not None and cc.aws is not None
        vault_unseal = plan_vault_unseal_on_aws(
            # The charts name the server's service account after the release's fullname.
            cc.name, cc.aws.region, aws_account, ServiceAccount(server.namespace.name, FULLNAME)
        )
        # No hub host on AWS: the hub runs in this cluster, its key pair generated in Vault.
        wireguard_hub = plan_wireguard_hub(WireGuardHubInput(cc.name, plan_hub_side(cc.wireguard)))
    vault_address = f"https://{server.api_hostname}"
    bootstrap = plan_vault_bootstrap(
        # Each environment then points its auth mount at its own API server, with its deployer token.
        cc.environments,
        sorted(operator_keys),
        server.audit_device,
        server.audit_declared_in_server_config,
        qa_shared_clusters=cc.qa.shared_clusters if cc.qa is not None else (),
        ci_logins=plan_ci_logins(cc),
        qa_token_ttl_seconds=duration_seconds(cc.qa.token_ttl) if cc.qa is not None else DEFAULT_QA_TOKEN_TTL_SECONDS,
        # QA stacks keep their state in the control center's object storage, as the `pulumi` consumer.
        state_backend_secret=state_backend_secret_path(cc.name),
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
                # GitLab logins are administrators, like the userpass accounts the bootstrap creates.
                vault_policies=(bootstrap.admin_policy.name,),
            )
            if cc.profile == ControlCenterProfile.FULL
            else None,
        )
    )
    ingress = plan_control_center_ingress(
        ControlCenterIngressInput(
            cc.substrate.value, cc.kubernetes.version, control_center_routes(server, services)
        )
    )
    namespaces = merge_namespaces(
        certificates.namespaces,
        ingress.namespaces,
        (server.namespace,),
        services.namespaces,
        (wireguard_hub.namespace,) if wireguard_hub is not None else (),
        (EXTERNAL_SECRETS,),
    )
    policies = plan_control_center_default_deny(
        control_center_traffic(cc, [spec.name for spec in namespaces], server, ingress, wireguard_hub)
    )
    return ControlCenterPlan(
        namespaces=namespaces,
        certificates=Layer((certificates.release,), certificates.manifests),
        secrets_store=Layer((server.release,), (vault_certificate(server, INTERNAL_ISSUER),)),
        ingress=Layer(ingress.releases, ingress.manifests),
        vault_server=server,
        vault_address=vault_address,
        initialization={
            "operators": [{"name": name, "pgp_public_key": key} for name, key in sorted(operator_keys.items())],
            "threshold": cc.secrets_store.unseal.threshold,
            "unseal": "auto" if cc.substrate == Substrate.AWS else "shamir",
        },
        bootstrap=bootstrap,
        services=services,
        warnings=certificates.warnings + ingress.warnings + services.warnings,
        vault_unseal=vault_unseal,
        wireguard_hub=wireguard_hub,
        policies=Layer((), served_api_versions(policies.manifests, platform_versions(cc.kubernetes.version))),
    )


def control_center_traffic(
    cc: ControlCenter,
    namespaces: list[str],
    server: VaultServerPlan,
    ingress: ControlCenterIngressPlan,
    wireguard_hub: WireGuardHubPlan | None,
) -> ControlCenterTraffic:
    """Who talks to whom in the control center, from its plans (see planners/default_deny.py)."""
    pins = chart_pins()
    owned = sorted({*namespaces, EXTERNAL_SECRETS_NAMESPACE})
    istio, cert_manager = pins["istiod"]["namespace"], pins["cert-manager"]["namespace"]
    runner = pins["gitlab-runner"]["namespace"]
    https = (("TCP", 443),)
    outside: dict[str, tuple[Port, ...]] = {
        cert_manager: (*https, ("UDP", 53), ("TCP", 53)),  # ACME and DNS-01 checks
        EXTERNAL_SECRETS_NAMESPACE: https,  # Vault at vault.<domain>, through the gateway's load balancer
        # Vault reviews environments' service-account tokens at their API servers; on AWS it reaches KMS.
        server.namespace.name: (*https, ("TCP", 6443)),
        pins["zot"]["namespace"]: https,  # the upstream registries it mirrors
    }
    if runner in owned:
        outside[runner] = ()  # CI jobs reach whatever their pipelines need
        outside[pins["gitlab"]["namespace"]] = https
    inbound: dict[str, tuple[Port, ...]] = {}
    if wireguard_hub is not None:
        outside[wireguard_hub.namespace.name] = ()  # the tunnels' traffic to the peers' networks
        inbound[wireguard_hub.namespace.name] = (("UDP", wireguard_hub.listen_port),)
    return ControlCenterTraffic(
        namespaces=tuple(owned),
        networks=cluster_networks(cc),
        istio=istio,
        gateway=INTERNAL.namespace,
        routed=tuple(sorted({route.namespace for route in ingress.routes})),
        controllers=tuple(sorted({cert_manager, EXTERNAL_SECRETS_NAMESPACE, istio, server.namespace.name}
                                 | ({runner} & set(owned)))),
        webhooks={istio: (("TCP", 15017),), cert_manager: (("TCP", 10250),), EXTERNAL_SECRETS_NAMESPACE: (("TCP", 10250),)},
        outside={namespace: ports for namespace, ports in outside.items() if namespace in owned},
        inbound=inbound,
    )


def plan_ci_logins(cc: ControlCenter) -> tuple[CiLogin, ...]:
    """The JWT logins of controlCenter.qa: GitLab CI's `id_tokens` and GitHub Actions' OIDC tokens, each
    bound to the configured projects (repositories) and refs, each issuing only QA deployer tokens."""
    if cc.qa is None:
        return ()
    logins = []
    if cc.qa.gitlab is not None:
        gitlab = cc.qa.gitlab
        url = (gitlab.url or f"https://gitlab.{cc.domains.internal}").rstrip("/")
        logins.append(
            CiLogin(
                mount=GITLAB_CI_MOUNT,
                description=f"GitLab CI jobs of {url} (id_tokens): QA environments",
                jwks_url=f"{url}/oauth/discovery/keys",
                bound_issuer=url,
                role=QA_DEPLOYER_ROLE,
                bound_audiences=(gitlab.audience,),
                bound_claims=(("project_path", tuple(sorted(gitlab.projects))), ("ref", tuple(sorted(gitlab.refs)))),
                user_claim="user_login",
            )
        )
    if cc.qa.github is not None:
        github = cc.qa.github
        logins.append(
            CiLogin(
                mount=GITHUB_ACTIONS_MOUNT,
                description="GitHub Actions workflows (OIDC): QA environments",
                jwks_url=f"{GITHUB_ACTIONS_ISSUER}/.well-known/jwks",
                bound_issuer=GITHUB_ACTIONS_ISSUER,
                role=QA_DEPLOYER_ROLE,
                bound_audiences=(github.audience,),
                bound_claims=(("ref", tuple(sorted(github.refs))), ("repository", tuple(sorted(github.repositories)))),
                user_claim="actor",
            )
        )
    return tuple(logins)



