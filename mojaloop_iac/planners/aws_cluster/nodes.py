"""One EKS managed node group per node pool: sizing, instance types, root disk, labels and taints.

Every node runs the EKS-optimised Amazon Linux 2023 image for x86-64 (Mojaloop does not support ARM),
boots from an encrypted gp3 root volume, and requires IMDSv2 with a hop limit of 1 so pods cannot borrow
the node's role from the instance metadata service (pods that call AWS use their own service-account
roles; the EBS CSI node plugin falls back to the Kubernetes API for its instance metadata).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mojaloop_iac.config.models import ClusterSettings, NodePool
from mojaloop_iac.planners.aws_cluster.errors import AwsClusterPlanError
from mojaloop_iac.planners.placement import node_labels

AMI_TYPE = "AL2023_x86_64_STANDARD"
CAPACITY_TYPE = "ON_DEMAND"
ROOT_DEVICE_NAME = "/dev/xvda"  # the root device of the Amazon Linux 2023 EKS images
ROOT_VOLUME_TYPE = "gp3"
# Replace nodes one at a time when the group's template or version changes.
MAX_UNAVAILABLE_DURING_UPDATE = 1

# Kubernetes taint effects as the EKS API spells them.
EKS_TAINT_EFFECTS: Mapping[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
# Effects that keep untolerating pods (CoreDNS, the EBS CSI controller) off a node.
_REPELLING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})

# Graviton (ARM) instance types carry a `g` among the attributes after the generation digit: m7g, c6gn,
# r8gd, t4g, im4gn; and the first generation, a1. GPU families start with g (g5, g4dn) and are x86.
_ARM_INSTANCE_TYPE = re.compile(r"^([a-z]+\d+[a-z-]*g[a-z-]*|a1)\.")


@dataclass(frozen=True)
class NodeTaint:
    key: str
    value: str
    effect: str
    """EKS spelling: NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE."""


@dataclass(frozen=True)
class RootVolume:
    size_gib: int
    volume_type: str = ROOT_VOLUME_TYPE
    encrypted: bool = True
    device_name: str = ROOT_DEVICE_NAME


@dataclass(frozen=True)
class InstanceMetadataOptions:
    http_tokens: str = "required"
    """IMDSv2 only: no unauthenticated GETs of credentials (SSRF)."""
    http_put_response_hop_limit: int = 1
    """Tokens cannot cross the extra hop into a pod's network namespace."""


@dataclass(frozen=True)
class NodeGroupSpec:
    pool: str
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    desired_size: int
    """At creation only: afterwards the autoscaler owns it (the component ignores its changes)."""
    labels: Mapping[str, str]
    taints: tuple[NodeTaint, ...]
    root_volume: RootVolume
    metadata_options: InstanceMetadataOptions
    kubernetes_version: str
    """Node groups follow the control plane's version, rolled after it on upgrades."""
    ami_type: str = AMI_TYPE
    capacity_type: str = CAPACITY_TYPE
    max_unavailable: int = MAX_UNAVAILABLE_DURING_UPDATE


def eks_taints(pool: NodePool) -> tuple[NodeTaint, ...]:
    return tuple(NodeTaint(taint.key, taint.value, EKS_TAINT_EFFECTS[taint.effect]) for taint in pool.taints)


def arm_instance_types(instance_types: tuple[str, ...]) -> list[str]:
    return [instance_type for instance_type in instance_types if _ARM_INSTANCE_TYPE.match(instance_type)]


def plan_node_group(pool_name: str, pool: NodePool, kubernetes_version: str) -> NodeGroupSpec:
    if pool.aws is None:
        raise AwsClusterPlanError(
            f"nodePools.{pool_name}.aws is required on AWS (instanceTypes, minSize, maxSize, desiredSize)"
        )
    arm = arm_instance_types(pool.aws.instance_types)
    if arm:
        raise AwsClusterPlanError(
            f"nodePools.{pool_name}.aws.instanceTypes: {', '.join(arm)} are ARM (Graviton) types; Mojaloop "
            "runs on x86-64 only: choose x86 types such as m6i.xlarge or m6a.xlarge"
        )
    return NodeGroupSpec(
        pool=pool_name,
        instance_types=pool.aws.instance_types,
        min_size=pool.aws.min_size,
        max_size=pool.aws.max_size,
        desired_size=pool.aws.desired_size,
        labels=node_labels(pool_name, pool),
        taints=eks_taints(pool),
        root_volume=RootVolume(size_gib=pool.aws.disk_size_gib),
        metadata_options=InstanceMetadataOptions(),
        kubernetes_version=kubernetes_version,
    )


def plan_node_groups(settings: ClusterSettings) -> tuple[NodeGroupSpec, ...]:
    groups = tuple(
        plan_node_group(pool_name, pool, settings.kubernetes.version)
        for pool_name, pool in sorted(settings.node_pools.items())
    )
    if not any(
        not {taint.effect for taint in pool.taints} & _REPELLING_EFFECTS
        for pool in settings.node_pools.values()
    ):
        raise AwsClusterPlanError(
            "every node pool carries a NoSchedule or NoExecute taint, so the cluster's own add-ons (CoreDNS, "
            "the EBS CSI controller) could run nowhere; leave at least one pool untainted"
        )
    return groups
