"""The AWS substrate as plain data: VPC layout, EKS control plane, node groups, IAM, security groups,
add-ons and the default storage class.

`plan_aws_cluster(settings, zones)` decides everything a `components.aws_cluster.AwsCluster` creates,
given the availability zones the region offers; values only AWS can give (ids, ARNs, the OIDC issuer)
enter through the small pure functions the component calls with them (`trust_policy`,
`cluster_encryption_policy`, `eks_kubeconfig`). Nothing here imports pulumi_aws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.config.models import ClusterSettings, Substrate
from mojaloop_iac.planners.aws_cluster.control_plane import (
    ADDONS,
    AddonSpec,
    ControlPlaneSpec,
    plan_control_plane,
)
from mojaloop_iac.planners.aws_cluster.errors import AwsClusterPlanError
from mojaloop_iac.planners.aws_cluster.iam import (
    RoleSpec,
    cluster_encryption_policy,
    cluster_roles,
    service_account_trust_policy,
    trust_policy,
)
from mojaloop_iac.planners.aws_cluster.kubeconfig import eks_kubeconfig
from mojaloop_iac.planners.aws_cluster.network import NetworkPlan, SubnetSpec, choose_zones, plan_network
from mojaloop_iac.planners.aws_cluster.nodes import NodeGroupSpec, plan_node_groups
from mojaloop_iac.planners.aws_cluster.security_groups import SecurityGroupRule, plan_security_group_rules
from mojaloop_iac.planners.aws_cluster.storage import has_legacy_default_class, storage_class_manifest
from mojaloop_iac.planners.aws_cluster.tags import resource_tags

__all__ = [
    "AddonSpec",
    "AwsClusterPlan",
    "AwsClusterPlanError",
    "ControlPlaneSpec",
    "NetworkPlan",
    "NodeGroupSpec",
    "RoleSpec",
    "SecurityGroupRule",
    "SubnetSpec",
    "cluster_encryption_policy",
    "eks_kubeconfig",
    "plan_aws_cluster",
    "service_account_trust_policy",
    "trust_policy",
]


@dataclass(frozen=True)
class AwsClusterPlan:
    region: str
    partition: str
    control_plane: ControlPlaneSpec
    network: NetworkPlan
    roles: Mapping[str, RoleSpec]
    node_groups: tuple[NodeGroupSpec, ...]
    security_group_rules: tuple[SecurityGroupRule, ...]
    addons: tuple[AddonSpec, ...]
    storage_class: Mapping[str, Any]
    """The default StorageClass manifest."""
    clear_legacy_default_class: bool
    """Whether EKS's own `gp2` class is marked default on this version and must be un-marked."""
    tags: Mapping[str, str]
    """Tags every AWS resource carries (the provider's default tags)."""


def plan_aws_cluster(
    settings: ClusterSettings, available_zones: Sequence[str], partition: str = "aws"
) -> AwsClusterPlan:
    if settings.substrate != Substrate.AWS or settings.aws is None:
        raise AwsClusterPlanError(f"cluster {settings.name} is not on substrate aws (or has no aws settings)")
    aws = settings.aws
    zones = choose_zones(available_zones, aws.availability_zones, aws.region)
    return AwsClusterPlan(
        region=aws.region,
        partition=partition,
        control_plane=plan_control_plane(
            settings.name, settings.kubernetes.version, settings.network.service_cidr, aws.vpc_cidr,
            aws.api_access_cidrs,
        ),
        network=plan_network(settings.name, aws.vpc_cidr, zones),
        roles=cluster_roles(),
        node_groups=plan_node_groups(settings),
        security_group_rules=plan_security_group_rules(),
        addons=ADDONS,
        storage_class=storage_class_manifest(),
        clear_legacy_default_class=has_legacy_default_class(settings.kubernetes.version),
        tags=resource_tags(settings.name),
    )
