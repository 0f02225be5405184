"""Vault generates an environment's passwords; External Secrets Operator delivers them to the workloads."""

from __future__ import annotations

from typing import NotRequired, TypedDict

import pulumi

from components.helm import helm_release
from components.manifests import kubernetes_object
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.secret_delivery import SecretDeliveryPlan
from mojaloop_iac.vault.environment import EnvironmentVaultPlan
from mojaloop_iac.vault.resources import (
    AclPolicy,
    GeneratedSecret,
    KubernetesAuthMount,
    KubernetesAuthRole,
    KvV2Mount,
    PasswordPolicy,
)


class VaultSecretDeliveryArgs(TypedDict):
    plan: SecretDeliveryPlan
    """From planners.secret_delivery: what Vault generates, who may read it, what the cluster receives."""
    vault_address: pulumi.Input[str]
    token_env: str
    """Environment variable holding the Vault token when Pulumi runs; the token never enters state."""
    vault_ca_cert: NotRequired[pulumi.Input[str]]
    """PEM or file path of the CA that signed Vault's certificate."""
    kubernetes_host: pulumi.Input[str]
    """The cluster's API server as Vault reaches it (to review service-account logins)."""
    kubernetes_ca_cert: NotRequired[pulumi.Input[str | None]]
    retain_secrets_on_delete: bool
    access_managed_by_control_center: NotRequired[bool]
    """True when the control center's Vault bootstrap administers this environment's access (see
    mojaloop_iac.vault.environment): the stack then configures its auth mount and writes its secrets only."""
    manage_shared_objects: NotRequired[bool]
    """Create the Vault's KV mount and password policies if missing (default True; never deleted). False
    for ephemeral environments, which own nothing that outlives them (planners.lifecycle)."""
    operator: NotRequired[HelmReleaseSpec]
    """The External Secrets Operator chart; absent on a shared QA cluster, whose own stack installs it."""


class VaultSecretDelivery(pulumi.ComponentResource):
    def __init__(self, name: str, args: VaultSecretDeliveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:secrets:VaultSecretDelivery", name, None, opts)
        plan = args["plan"]
        connection: dict = {"address": args["vault_address"], "token_env": args["token_env"]}
        if "vault_ca_cert" in args:
            connection["ca_cert"] = args["vault_ca_cert"]
        child = pulumi.ResourceOptions(parent=self)
        vault = plan.vault
        auth_config = {
            **connection,
            "path": vault.kubernetes_auth_mount,
            "kubernetes_host": args["kubernetes_host"],
            **({"kubernetes_ca_cert": args["kubernetes_ca_cert"]} if "kubernetes_ca_cert" in args else {}),
            # Vault runs outside the cluster: it reviews each login with the caller's own token.
            "disable_local_ca_jwt": True,
        }
        prerequisites: list[pulumi.Resource] = []
        readers: list[pulumi.Resource] = []
        if vault.tenant_of is not None:
            # A QA environment on a shared cluster: the cluster's auth mount and QA read policy exist; its
            # own role, bound to its own namespaces, is all it adds (and removes on destroy).
            readers.append(self._reader_role(name, connection, vault, child))
        elif args.get("access_managed_by_control_center", False):
            # The control center enabled the mount and wrote the policies and the role; this stack's token
            # (from its deployer token role) may only point the mount at this cluster and write its secrets.
            KubernetesAuthMount(f"{name}-k8s-auth", {**auth_config, "enable": False}, child)
        else:
            if args.get("manage_shared_objects", True):
                # The KV mount and the password policies are shared by every environment on this Vault: an
                # environment's stack creates them if missing and never deletes them.
                shared = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
                prerequisites.append(KvV2Mount(f"{name}-kv", {**connection, "path": vault.kv_mount}, shared))
                prerequisites += [
                    PasswordPolicy(
                        f"{name}-pw-{spec.consumer}", {**connection, "name": spec.name, "policy": spec.hcl}, shared
                    )
                    for spec in vault.password_policies
                ]
            auth = KubernetesAuthMount(f"{name}-k8s-auth", auth_config, child)
            policy = AclPolicy(
                f"{name}-read-policy",
                {
                    **connection,
                    "name": vault.read_policy.name,
                    "policy": vault.read_policy.hcl,
                    "auth_accessor_of": vault.read_policy.auth_accessor_of,
                },
                pulumi.ResourceOptions(parent=self, depends_on=[auth]),
            )
            readers.append(
                self._reader_role(name, connection, vault, pulumi.ResourceOptions(parent=self, depends_on=[auth, policy]))
            )
            if vault.qa_read_policy is not None:
                # This cluster hosts QA environments: the policy their own roles (qa-<environment>) carry.
                AclPolicy(
                    f"{name}-qa-read-policy",
                    {
                        **connection,
                        "name": vault.qa_read_policy.name,
                        "policy": vault.qa_read_policy.hcl,
                        "auth_accessor_of": vault.qa_read_policy.auth_accessor_of,
                    },
                    pulumi.ResourceOptions(parent=self, depends_on=[auth]),
                )
        generated = [
            GeneratedSecret(
                f"{name}-{spec.namespace}-{spec.secret_name}",
                {
                    **connection,
                    "mount": plan.vault.kv_mount,
                    "path": spec.path,
                    "keys": dict(spec.keys),
                    "retain_on_delete": args["retain_secrets_on_delete"],
                },
                pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
            )
            for spec in plan.generated
        ]
        operator = [helm_release(f"{name}-operator", args["operator"], child)] if "operator" in args else []
        for manifest in plan.manifests:
            metadata = manifest["metadata"]
            kubernetes_object(
                f"{name}-{manifest['kind'].lower()}-{metadata.get('namespace', 'cluster')}-{metadata['name']}",
                manifest,
                # The custom resources need the operator's CRDs; the secrets should exist before ESO reads them.
                pulumi.ResourceOptions(parent=self, depends_on=[*operator, *generated, *readers]),
            )
        self.register_outputs({})

    @staticmethod
    def _reader_role(
        name: str, connection: dict, vault: EnvironmentVaultPlan, opts: pulumi.ResourceOptions
    ) -> pulumi.Resource:
        role = vault.reader_role
        return KubernetesAuthRole(
            f"{name}-reader-role",
            {
                **connection,
                "mount": role.mount,
                "role": role.role,
                "bound_service_account_names": list(role.service_accounts),
                "bound_service_account_namespaces": list(role.namespaces),
                "policies": list(role.policies),
                "ttl": role.ttl_seconds,
            },
            opts,
        )
