"""Apply an environment's planned Vault side through the real providers, as its stack does, and log its
namespaces in through OpenBao's Kubernetes auth (the TokenReview answered by tests.support.token_review)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hvac

from mojaloop_iac.vault.environment import EnvironmentVaultPlan
from mojaloop_iac.vault.paths import READER_SERVICE_ACCOUNT
from mojaloop_iac.vault.providers import (
    AclPolicyProvider,
    KubernetesAuthMountProvider,
    KubernetesAuthRoleProvider,
    KvV2MountProvider,
    PasswordPolicyProvider,
)
from tests.support.openbao import OpenBaoServer
from tests.support.token_review import TokenReviewServer, service_account_token


def apply_environment_vault(
    server: OpenBaoServer, plan: EnvironmentVaultPlan, apiserver: TokenReviewServer
) -> Mapping[str, Any]:
    """Everything a self-administering environment stack writes; returns the connection props used.
    The token comes from VAULT_TOKEN, as for the providers under Pulumi."""
    connection = {"address": server.address}
    KvV2MountProvider().create({**connection, "path": plan.kv_mount})
    for spec in plan.password_policies:
        PasswordPolicyProvider().create({**connection, "name": spec.name, "policy": spec.hcl})
    KubernetesAuthMountProvider().create({
        **connection, "path": plan.kubernetes_auth_mount, "kubernetes_host": apiserver.url,
        "kubernetes_ca_cert": apiserver.ca_pem, "disable_local_ca_jwt": True,
    })
    AclPolicyProvider().create({**connection, "name": plan.read_policy.name, "policy": plan.read_policy.hcl,
                                "auth_accessor_of": plan.read_policy.auth_accessor_of})
    role = plan.reader_role
    KubernetesAuthRoleProvider().create({
        **connection, "mount": role.mount, "role": role.role, "policies": list(role.policies),
        "bound_service_account_names": list(role.service_accounts),
        "bound_service_account_namespaces": list(role.namespaces), "ttl": role.ttl_seconds,
    })
    return connection


def namespace_login(server: OpenBaoServer, plan: EnvironmentVaultPlan, namespace: str,
                    account: str = READER_SERVICE_ACCOUNT) -> hvac.Client:
    """A client holding the token a namespace's SecretStore gets by logging in with its service account."""
    role = plan.reader_role
    answer = server.client().auth.kubernetes.login(
        role.role, service_account_token(namespace, account), mount_point=role.mount
    )
    return server.client(answer["auth"]["client_token"])
