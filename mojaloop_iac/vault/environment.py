"""What Vault holds for one environment cluster, as plain data (pure).

From the environment's name alone this derives the KV mount, the password policies, the cluster's
Kubernetes auth mount, one templated read policy, one reader role, and the deploy policy and token role
of the environment's own stack. The read policy confines every login to the namespace of the service
account that logged in (Vault fills it in), so "namespace A can never read namespace B" needs no list of
namespaces: the control center declares an environment by name and writes exactly what an environment
stack administering its own Vault would write (both call this function, so they converge on identical
objects instead of fighting over them).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    READER_ROLE,
    READER_SERVICE_ACCOUNT,
    deployer_token_role_name,
    environment_deploy_policy_name,
    environment_prefix,
    environment_read_policy_name,
    kubernetes_auth_mount,
    qa_read_policy_name,
    qa_reader_role_name,
    require_dns_label,
)
from mojaloop_iac.vault.policies import (
    PasswordPolicySpec,
    environment_deploy_policy,
    environment_read_policy,
    load_password_policies,
)

DEFAULT_ROLE_TTL_SECONDS = 3600
# An environment stack's token lives a working day at most, renewals included.
DEPLOYER_TOKEN_MAX_TTL_SECONDS = 8 * 3600
# Any namespace may log in with the reader role: the templated policy is what confines each one.
ANY_NAMESPACE = "*"


@dataclass(frozen=True)
class AclPolicyPlan:
    name: str
    hcl: str
    auth_accessor_of: str | None = None
    """Auth mount whose accessor replaces the placeholder in `hcl` (templated policies)."""


@dataclass(frozen=True)
class KubernetesRolePlan:
    mount: str
    role: str
    service_accounts: tuple[str, ...]
    namespaces: tuple[str, ...]
    policies: tuple[str, ...]
    ttl_seconds: int


@dataclass(frozen=True)
class TokenRolePlan:
    name: str
    allowed_policies: tuple[str, ...]
    max_ttl_seconds: int


@dataclass(frozen=True)
class EnvironmentVaultPlan:
    environment: str
    kv_mount: str
    kubernetes_auth_mount: str
    password_policies: tuple[PasswordPolicySpec, ...]
    read_policy: AclPolicyPlan
    reader_role: KubernetesRolePlan
    deploy_policy: AclPolicyPlan | None
    """What the environment's stack may do when the control center administers Vault (none for a QA
    environment on a shared cluster, which deploys with CI's QA deployer tokens)."""
    deployer_token_role: TokenRolePlan | None
    """Mints tokens carrying only `deploy_policy`, for the environment's stack and its CI."""
    secrets_prefix: str = ""
    """KV path (relative to the mount) holding the environment's secrets, one folder per namespace."""
    qa_read_policy: AclPolicyPlan | None = None
    """A cluster hosting QA environments: the templated policy their namespaces read their secrets with."""
    tenant_of: str | None = None
    """A QA environment on a shared cluster: that cluster's environment, which owns the auth mount and
    the read policy; this environment only adds its role and its secrets."""

    def secret_path(self, namespace: str, secret_name: str) -> str:
        """KV path (relative to the mount) of one of the environment's secrets."""
        require_dns_label(namespace, "namespace")
        require_dns_label(secret_name, "secret name")
        return f"{self.secrets_prefix}/{namespace}/{secret_name}"


def plan_environment_vault(
    environment: str,
    *,
    kv_mount: str = DEFAULT_KV_MOUNT,
    password_policies: Mapping[str, PasswordPolicySpec] | None = None,
    role_ttl_seconds: int = DEFAULT_ROLE_TTL_SECONDS,
    ephemeral: bool = False,
    qa_host: bool = False,
) -> EnvironmentVaultPlan:
    """`ephemeral`: the secrets live under `ephemeral/<environment>/`; `qa_host`: the cluster hosts QA
    environments, whose namespaces read `ephemeral/<environment>/<namespace>/` through its auth mount."""
    require_dns_label(environment, "environment")
    require_dns_label(kv_mount, "KV mount")
    if role_ttl_seconds <= 0:
        raise ValueError(f"role_ttl_seconds must be positive, not {role_ttl_seconds}")
    policies = load_password_policies() if password_policies is None else password_policies
    auth_mount = kubernetes_auth_mount(environment)
    read_policy = AclPolicyPlan(
        environment_read_policy_name(environment),
        environment_read_policy(environment, kv_mount, ephemeral=ephemeral),
        auth_accessor_of=auth_mount,
    )
    deploy_policy = AclPolicyPlan(
        environment_deploy_policy_name(environment),
        environment_deploy_policy(environment, auth_mount, kv_mount, ephemeral=ephemeral),
    )
    return EnvironmentVaultPlan(
        environment=environment,
        kv_mount=kv_mount,
        kubernetes_auth_mount=auth_mount,
        password_policies=tuple(policies[consumer] for consumer in sorted(policies)),
        read_policy=read_policy,
        reader_role=KubernetesRolePlan(
            mount=auth_mount,
            role=READER_ROLE,
            service_accounts=(READER_SERVICE_ACCOUNT,),
            namespaces=(ANY_NAMESPACE,),
            policies=(read_policy.name,),
            ttl_seconds=role_ttl_seconds,
        ),
        deploy_policy=deploy_policy,
        deployer_token_role=TokenRolePlan(
            name=deployer_token_role_name(environment),
            allowed_policies=(deploy_policy.name,),
            max_ttl_seconds=DEPLOYER_TOKEN_MAX_TTL_SECONDS,
        ),
        secrets_prefix=environment_prefix(environment, ephemeral=ephemeral),
        qa_read_policy=qa_read_policy(environment, kv_mount) if qa_host else None,
    )


def qa_read_policy(cluster: str, kv_mount: str = DEFAULT_KV_MOUNT) -> AclPolicyPlan:
    """The read policy of QA environments on `cluster`: templated on the cluster's auth mount, each
    namespace reads `ephemeral/<cluster>/<its namespace>/` and nothing else."""
    return AclPolicyPlan(
        qa_read_policy_name(cluster),
        environment_read_policy(cluster, kv_mount, ephemeral=True),
        auth_accessor_of=kubernetes_auth_mount(cluster),
    )


def plan_qa_tenant_vault(
    environment: str,
    cluster: str,
    namespaces: Iterable[str],
    *,
    kv_mount: str = DEFAULT_KV_MOUNT,
    password_policies: Mapping[str, PasswordPolicySpec] | None = None,
    role_ttl_seconds: int = DEFAULT_ROLE_TTL_SECONDS,
) -> EnvironmentVaultPlan:
    """What a QA environment on the shared cluster `cluster` has in Vault: its secrets under
    `ephemeral/<cluster>/<namespace>/` and one role `qa-<environment>` on the cluster's auth mount, bound
    to its own namespaces only and carrying the cluster's QA read policy. The mount and the policy are the
    cluster's (its stack or the control center writes them); the role and the secrets go with the QA
    environment."""
    require_dns_label(environment, "environment")
    policies = load_password_policies() if password_policies is None else password_policies
    read_policy = qa_read_policy(cluster, kv_mount)
    bound = tuple(sorted({require_dns_label(namespace, "namespace") for namespace in namespaces}))
    if not bound:
        raise ValueError(f"QA environment {environment} names no namespace to bind its Vault role to")
    return EnvironmentVaultPlan(
        environment=environment,
        kv_mount=kv_mount,
        kubernetes_auth_mount=kubernetes_auth_mount(cluster),
        password_policies=tuple(policies[consumer] for consumer in sorted(policies)),
        read_policy=read_policy,
        reader_role=KubernetesRolePlan(
            mount=kubernetes_auth_mount(cluster),
            role=qa_reader_role_name(environment),
            service_accounts=(READER_SERVICE_ACCOUNT,),
            namespaces=bound,
            policies=(read_policy.name,),
            ttl_seconds=role_ttl_seconds,
        ),
        deploy_policy=None,
        deployer_token_role=None,
        secrets_prefix=environment_prefix(cluster, ephemeral=True),
        tenant_of=cluster,
    )
