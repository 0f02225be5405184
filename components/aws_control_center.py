"""What a control center on AWS adds to its cluster: Vault's KMS auto-unseal and the in-cluster WireGuard hub.

Only control centers on substrate `aws` import this module (it imports pulumi_aws). Every decision is in
`mojaloop_iac.planners.control_center.vault_unseal` and `.wireguard_hub`; these classes create what the
plans describe and feed in what only AWS and Vault know (the key's ARN, the cluster's OIDC provider, the
hub's public key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws_cluster import AwsCluster
from components.manifests import kubernetes_object
from mojaloop_iac.planners.aws_cluster import service_account_trust_policy
from mojaloop_iac.planners.control_center.vault_unseal import AwsAccount, VaultUnsealOnAws, unseal_key_policy
from mojaloop_iac.planners.control_center.wireguard_hub import WireGuardHubPlan
from mojaloop_iac.planners.lifecycle import KMS_LONGEST_DELETION_WINDOW_DAYS
from mojaloop_iac.wireguard.vault_key import WireGuardKeyInVault


def aws_account_of(cluster: AwsCluster) -> AwsAccount:
    """The account and partition the cluster's AWS provider works in (planning needs them as strings)."""
    lookup = pulumi.InvokeOptions(parent=cluster, provider=cluster.aws_provider)
    identity = aws.get_caller_identity(opts=lookup)
    partition = aws.get_partition(opts=lookup)
    return AwsAccount(account_id=identity.account_id, partition=partition.partition)


class VaultAutoUnsealArgs(TypedDict):
    plan: VaultUnsealOnAws
    """From plan_control_center: the key's alias, the role's name and who may assume it."""
    cluster: AwsCluster
    """The control center's EKS cluster: its OIDC provider vouches for the Vault service account."""


class VaultAutoUnseal(pulumi.ComponentResource):
    """A KMS key Vault unseals with, and the IRSA role of the Vault servers allowed to use it (only it)."""

    key_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: VaultAutoUnsealArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:controlcenter:VaultAutoUnseal", name, None, opts)
        plan, cluster = args["plan"], args["cluster"]
        options = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        key = aws.kms.Key(
            f"{name}-key",
            description=plan.key_description,
            enable_key_rotation=True,
            deletion_window_in_days=KMS_LONGEST_DELETION_WINDOW_DAYS,
            # Protected: Vault's root key is wrapped with it; without it the stored secrets are lost for good.
            opts=pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(protect=True)),
        )
        # Waiting for this component (depends_on) waits for the alias and the role's access to the key.
        aws.kms.Alias(f"{name}-key-alias", name=plan.key_alias, target_key_id=key.key_id, opts=options)
        account = plan.service_account
        role = aws.iam.Role(
            f"{name}-role",
            # Named, not auto-named: the Vault chart's values carry its ARN before it exists.
            name=plan.role_name,
            description=f"Vault servers ({account.subject}): auto-unseal with {plan.key_alias}",
            assume_role_policy=pulumi.Output.all(cluster.oidc_provider_arn, cluster.oidc_issuer_url).apply(
                lambda values: json.dumps(service_account_trust_policy(values[0], values[1], account))
            ),
            opts=options,
        )
        aws.iam.RolePolicy(
            f"{name}-key-access",
            role=role.id,
            policy=key.arn.apply(lambda arn: json.dumps(unseal_key_policy(arn))),
            opts=options,
        )
        self.key_arn = key.arn
        self.role_arn = role.arn
        self.register_outputs({"keyArn": self.key_arn, "roleArn": self.role_arn})


class InClusterWireGuardHubArgs(TypedDict):
    plan: WireGuardHubPlan
    """From plan_control_center: the hub's objects and where its private key lives in Vault."""
    vault_address: pulumi.Input[str]
    token_env: str
    """Environment variable holding the Vault token when Pulumi runs; the token never enters state."""
    kv_mount: str
    vault_ca_cert: NotRequired[pulumi.Input[str]]


class InClusterWireGuardHub(pulumi.ComponentResource):
    """The hub's key pair generated into Vault, and the pod, Service and policy that run the hub."""

    public_key: pulumi.Output[str]
    """The hub's public key (peers' configurations name it); the private key stays in Vault and the pod."""
    load_balancer_hostname: pulumi.Output[str | None]
    """DNS name of the NLB in front of the hub: point `wireguard.hub.endpoint`'s name at it."""

    def __init__(self, name: str, args: InClusterWireGuardHubArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:controlcenter:InClusterWireGuardHub", name, None, opts)
        plan = args["plan"]
        connection: dict[str, Any] = {"address": args["vault_address"], "token_env": args["token_env"]}
        if "vault_ca_cert" in args:
            connection["ca_cert"] = args["vault_ca_cert"]
        key = WireGuardKeyInVault(
            f"{name}-key",
            {**connection, "mount": args["kv_mount"], "path": plan.key_path, "field": plan.key_field},
            pulumi.ResourceOptions(parent=self),
        )
        self.public_key = key.public_key
        created: list[pulumi.Resource] = []
        service: k8s.core.v1.Service | None = None
        for manifest in plan.manifests:
            metadata = manifest["metadata"]
            resource = _hub_object(
                f"{name}-{manifest['kind'].lower()}-{metadata['name']}",
                manifest,
                # The ExternalSecret reads the key once it is in Vault; the pod mounts what the others make.
                pulumi.ResourceOptions(parent=self, depends_on=[key, *created]),
            )
            created.append(resource)
            if isinstance(resource, k8s.core.v1.Service):
                service = resource
        assert service is not None, "the hub plan has a Service"
        self.load_balancer_hostname = service.status.apply(_load_balancer_hostname)
        self.register_outputs({"publicKey": self.public_key, "loadBalancerHostname": self.load_balancer_hostname})


def _load_balancer_hostname(status: Any) -> str | None:
    ingress = getattr(getattr(status, "load_balancer", None), "ingress", None) or []
    return getattr(ingress[0], "hostname", None) if ingress else None


def _hub_object(resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """Typed resources for the hub's workload objects; the rest as the other layers create them."""
    kind, metadata = manifest["kind"], manifest["metadata"]
    if kind == "ServiceAccount":
        return k8s.core.v1.ServiceAccount(
            resource_name,
            metadata=metadata,
            automount_service_account_token=manifest.get("automountServiceAccountToken"),
            opts=opts,
        )
    if kind == "ConfigMap":
        return k8s.core.v1.ConfigMap(resource_name, metadata=metadata, data=manifest["data"], opts=opts)
    if kind == "Deployment":
        return k8s.apps.v1.Deployment(resource_name, metadata=metadata, spec=manifest["spec"], opts=opts)
    if kind == "Service":
        return k8s.core.v1.Service(resource_name, metadata=metadata, spec=manifest["spec"], opts=opts)
    if kind == "NetworkPolicy":
        return k8s.networking.v1.NetworkPolicy(resource_name, metadata=metadata, spec=manifest["spec"], opts=opts)
    return kubernetes_object(resource_name, manifest, opts)
