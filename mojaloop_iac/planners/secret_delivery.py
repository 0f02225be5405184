"""How each Secret a workload reads gets from Vault into its namespace, as plain data.

From the shared definition of which Secrets the charts read (planners/secrets.py) this derives, for an
environment:

- the Vault side: what Vault generates (path and, per key, the password policy), and the environment's
  auth mount, templated read policy and reader role (mojaloop_iac.vault.environment), so a namespace reads
  only its own path;
- the cluster side: per namespace a service account that logs in to Vault with the reader role, a
  `SecretStore`, and one `ExternalSecret` per Secret producing exactly the name and keys the charts read.

No value appears anywhere: Vault generates them, External Secrets Operator copies them into the cluster.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.vault.environment import EnvironmentVaultPlan, plan_environment_vault
from mojaloop_iac.vault.paths import READER_SERVICE_ACCOUNT, password_policy_name

SECRET_STORE_NAME = "vault"
EXTERNAL_SECRETS_API = "external-secrets.io/v1"
# ESO re-reads Vault this often; rotation in Vault reaches the cluster within the interval.
REFRESH_INTERVAL = "1h"


@dataclass(frozen=True)
class GeneratedSecretSpec:
    namespace: str
    secret_name: str
    path: str
    """KV path relative to the mount."""
    keys: Mapping[str, str]
    """Key -> Vault password policy name."""


@dataclass(frozen=True)
class SecretDeliveryPlan:
    vault: EnvironmentVaultPlan
    generated: tuple[GeneratedSecretSpec, ...]
    manifests: tuple[dict[str, Any], ...]
    """ServiceAccounts, their auth-delegator bindings, SecretStores and ExternalSecrets."""
    operator_supplied: tuple[str, ...]
    """Keys Vault cannot generate from a password policy (key pairs): the operator writes them at these
    paths; said as warnings."""


# vault_address is placed verbatim into the SecretStores and Vault resources: a string, or the Pulumi
# Output of the control-center stack's `vaultAddress` that the engine resolves at deployment.
def plan_secret_delivery(
    environment: str,
    vault_address: Any,
    kv_mount: str,
    needs_by_namespace: Mapping[str, Iterable[SecretNeed]],
    vault_ca_bundle_b64: str | None = None,
    *,
    vault: EnvironmentVaultPlan | None = None,
) -> SecretDeliveryPlan:
    """`vault` says where the secrets live and who reads them (default: the environment's own auth mount,
    read policy and role, secrets under `environments/<environment>/`)."""
    needs = {
        namespace: sorted({need.name: need for need in items}.values(), key=lambda need: need.name)
        for namespace, items in needs_by_namespace.items()
    }
    if vault is None:
        vault = plan_environment_vault(environment, kv_mount=kv_mount)
    policy_consumers = {spec.consumer for spec in vault.password_policies}
    generated, manifests, operator_supplied = [], [], []
    for namespace, items in sorted(needs.items()):
        manifests += reader_identity(namespace)
        manifests.append(
            secret_store(namespace, vault_address, kv_mount, vault.kubernetes_auth_mount, vault.reader_role.role,
                         vault_ca_bundle_b64)
        )
        for need in items:
            path = vault.secret_path(namespace, need.name)
            by_policy = {key: password_policy_name(kind) for key, kind in need.keys.items() if kind in policy_consumers}
            if by_policy:
                generated.append(GeneratedSecretSpec(namespace, need.name, path, dict(sorted(by_policy.items()))))
            operator_supplied += [
                f"{kv_mount}/{path} key {key!r} ({kind}): Vault cannot generate it from a password policy; "
                "write it there before the workloads start"
                for key, kind in sorted(need.keys.items())
                if kind not in policy_consumers and not need.written_by
            ]
            manifests.append(external_secret(namespace, need, path))
    return SecretDeliveryPlan(vault, tuple(generated), tuple(manifests), tuple(operator_supplied))


def reader_identity(namespace: str) -> list[dict[str, Any]]:
    """The service account that logs in to Vault, allowed to review its own token.

    Vault runs outside the cluster, so it validates a login by calling the TokenReview API with the
    caller's own token (no long-lived reviewer token is stored anywhere); that needs auth-delegator.
    """
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": READER_SERVICE_ACCOUNT, "namespace": namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{READER_SERVICE_ACCOUNT}-{namespace}-auth-delegator"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
            "subjects": [{"kind": "ServiceAccount", "name": READER_SERVICE_ACCOUNT, "namespace": namespace}],
        },
    ]


def secret_store(
    namespace: str, address: str, kv_mount: str, auth_mount: str, role: str, ca_bundle_b64: str | None
) -> dict[str, Any]:
    vault: dict[str, Any] = {
        "server": address,
        "path": kv_mount,
        "version": "v2",
        "auth": {
            "kubernetes": {
                "mountPath": auth_mount,
                "role": role,
                "serviceAccountRef": {"name": READER_SERVICE_ACCOUNT},
            }
        },
    }
    if ca_bundle_b64:
        vault["caBundle"] = ca_bundle_b64
    return {
        "apiVersion": EXTERNAL_SECRETS_API,
        "kind": "SecretStore",
        "metadata": {"name": SECRET_STORE_NAME, "namespace": namespace},
        "spec": {"provider": {"vault": vault}},
    }


# Pulumi creates an ExternalSecret only once External Secrets reports it Ready, i.e. once its Secret exists:
# whatever is installed after it finds the Secret in place. A chart that generates a Secret when it is
# missing (GitLab's shared-secrets job) would otherwise race External Secrets for the same name.
WAIT_UNTIL_SYNCED = {"pulumi.com/waitFor": "condition=Ready"}


def external_secret(namespace: str, need: SecretNeed, path: str) -> dict[str, Any]:
    return {
        "apiVersion": EXTERNAL_SECRETS_API,
        "kind": "ExternalSecret",
        "metadata": {"name": need.name, "namespace": namespace, "annotations": dict(WAIT_UNTIL_SYNCED)},
        "spec": {
            "refreshInterval": REFRESH_INTERVAL,
            "secretStoreRef": {"name": SECRET_STORE_NAME, "kind": "SecretStore"},
            # Owner: the Secret goes when the ExternalSecret goes; Retain keeps it if Vault is unreachable.
            "target": {"name": need.name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "data": [
                {"secretKey": key, "remoteRef": {"key": path, "property": key}} for key in sorted(need.keys)
            ],
        },
    }


def with_ca_bundle(secret_store_spec: Mapping[str, Any], ca_pem: str | None) -> dict[str, Any]:
    """A SecretStore's spec trusting `ca_pem` (the CA that signed Vault's certificate); unchanged without one."""
    spec = dict(secret_store_spec)
    if not ca_pem:
        return spec
    vault = {**spec["provider"]["vault"], "caBundle": base64.b64encode(ca_pem.encode()).decode("ascii")}
    return {**spec, "provider": {**spec["provider"], "vault": vault}}
