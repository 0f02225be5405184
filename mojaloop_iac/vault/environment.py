"""What Vault needs for one environment cluster, as plain data (pure).

For an environment and the namespaces that need secrets, this derives the KV mount, the password
policies, the cluster's Kubernetes auth mount, and per namespace one ACL policy reading only that
namespace's path plus one role bound only to that namespace's service accounts. A component turns the
plan into the dynamic resources of `mojaloop_iac.vault.resources`; keeping the derivation here makes
"namespace A can never read namespace B" testable without Pulumi.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    kubernetes_auth_mount,
    namespace_policy_name,
    namespace_role_name,
    require_dns_label,
)
from mojaloop_iac.vault.policies import PasswordPolicySpec, load_password_policies, namespace_read_policy

DEFAULT_ROLE_TTL_SECONDS = 3600


@dataclass(frozen=True)
class AclPolicyPlan:
    name: str
    hcl: str


@dataclass(frozen=True)
class KubernetesRolePlan:
    mount: str
    role: str
    service_accounts: tuple[str, ...]
    namespace: str
    policies: tuple[str, ...]
    ttl_seconds: int


@dataclass(frozen=True)
class NamespaceAccessPlan:
    namespace: str
    policy: AclPolicyPlan
    role: KubernetesRolePlan


@dataclass(frozen=True)
class EnvironmentVaultPlan:
    environment: str
    kv_mount: str
    kubernetes_auth_mount: str
    password_policies: tuple[PasswordPolicySpec, ...]
    namespaces: tuple[NamespaceAccessPlan, ...]


def plan_environment_vault(
    environment: str,
    service_accounts_by_namespace: Mapping[str, Sequence[str]],
    *,
    kv_mount: str = DEFAULT_KV_MOUNT,
    password_policies: Mapping[str, PasswordPolicySpec] | None = None,
    role_ttl_seconds: int = DEFAULT_ROLE_TTL_SECONDS,
) -> EnvironmentVaultPlan:
    """Plan Vault for one environment; each namespace lists the service accounts that read its secrets."""
    require_dns_label(environment, "environment")
    require_dns_label(kv_mount, "KV mount")
    if role_ttl_seconds <= 0:
        raise ValueError(f"role_ttl_seconds must be positive, not {role_ttl_seconds}")
    policies = load_password_policies() if password_policies is None else password_policies
    auth_mount = kubernetes_auth_mount(environment)
    namespaces = []
    for namespace in sorted(service_accounts_by_namespace):
        accounts = tuple(sorted(set(service_accounts_by_namespace[namespace])))
        if not accounts:
            raise ValueError(
                f"namespace {namespace!r} of environment {environment!r} lists no service accounts: "
                "name the ones that read its secrets, or leave the namespace out"
            )
        for account in accounts:
            require_dns_label(account, f"service account of namespace {namespace!r}")
        policy = AclPolicyPlan(
            name=namespace_policy_name(environment, namespace),
            hcl=namespace_read_policy(environment, namespace, kv_mount),
        )
        role = KubernetesRolePlan(
            mount=auth_mount,
            role=namespace_role_name(namespace),
            service_accounts=accounts,
            namespace=namespace,
            policies=(policy.name,),
            ttl_seconds=role_ttl_seconds,
        )
        namespaces.append(NamespaceAccessPlan(namespace=namespace, policy=policy, role=role))
    return EnvironmentVaultPlan(
        environment=environment,
        kv_mount=kv_mount,
        kubernetes_auth_mount=auth_mount,
        password_policies=tuple(policies[consumer] for consumer in sorted(policies)),
        namespaces=tuple(namespaces),
    )
