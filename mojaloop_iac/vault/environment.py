"""What Vault holds for one environment cluster, as plain data (pure).

From the environment's name alone this derives the KV mount, the password policies, the cluster's
Kubernetes auth mount, one templated read policy, one reader role, and the deploy policy and token role
of the environment's own stack. The read policy confines every login to the namespace of the service
account that logged in (Vault fills it in), so "namespace A can never read namespace B" needs no list of
namespaces: the control center declares an environment by name and writes exactly what an environment
stack administering its own Vault would write (both call this function, so they converge on identical
objects instead of fighting over them).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    READER_ROLE,
    READER_SERVICE_ACCOUNT,
    deployer_token_role_name,
    environment_deploy_policy_name,
    environment_read_policy_name,
    kubernetes_auth_mount,
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
    deploy_policy: AclPolicyPlan
    """What the environment's stack may do when the control center administers Vault."""
    deployer_token_role: TokenRolePlan
    """Mints tokens carrying only `deploy_policy`, for the environment's stack and its CI."""


def plan_environment_vault(
    environment: str,
    *,
    kv_mount: str = DEFAULT_KV_MOUNT,
    password_policies: Mapping[str, PasswordPolicySpec] | None = None,
    role_ttl_seconds: int = DEFAULT_ROLE_TTL_SECONDS,
) -> EnvironmentVaultPlan:
    require_dns_label(environment, "environment")
    require_dns_label(kv_mount, "KV mount")
    if role_ttl_seconds <= 0:
        raise ValueError(f"role_ttl_seconds must be positive, not {role_ttl_seconds}")
    policies = load_password_policies() if password_policies is None else password_policies
    auth_mount = kubernetes_auth_mount(environment)
    read_policy = AclPolicyPlan(
        environment_read_policy_name(environment),
        environment_read_policy(environment, kv_mount),
        auth_accessor_of=auth_mount,
    )
    deploy_policy = AclPolicyPlan(
        environment_deploy_policy_name(environment), environment_deploy_policy(environment, auth_mount, kv_mount)
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
    )
