"""The VPC layout: which zones, which subnets in each, and where the NAT gateways sit.

Subnet CIDRs come from the address planner (planners/addressing.py), so the layout is a pure function of
the VPC CIDR and the zone count and adding a zone never moves an existing subnet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from mojaloop_iac.planners.addressing import plan_zone_subnets
from mojaloop_iac.planners.aws_cluster.errors import AwsClusterPlanError

SubnetTier = Literal["public", "private"]

# Subnet discovery tags read by the AWS load balancer controllers: internet-facing load balancers go
# into the public subnets, internal ones into the private subnets.
PUBLIC_LOAD_BALANCER_TAG = "kubernetes.io/role/elb"
INTERNAL_LOAD_BALANCER_TAG = "kubernetes.io/role/internal-elb"


def cluster_tag(cluster_name: str) -> str:
    return f"kubernetes.io/cluster/{cluster_name}"


@dataclass(frozen=True)
class SubnetSpec:
    zone: str
    tier: SubnetTier
    cidr: ipaddress.IPv4Network
    tags: Mapping[str, str]

    @property
    def key(self) -> str:
        """Stable logical name, e.g. `private-eu-west-1a`."""
        return f"{self.tier}-{self.zone}"


@dataclass(frozen=True)
class NetworkPlan:
    vpc_cidr: ipaddress.IPv4Network
    zones: tuple[str, ...]
    public_subnets: tuple[SubnetSpec, ...]
    """Load balancers and the NAT gateways only; nothing gets a public address on launch."""
    private_subnets: tuple[SubnetSpec, ...]
    """Nodes, pods (VPC CNI gives pods VPC addresses) and the control plane's network interfaces."""
    nat_gateway_zones: tuple[str, ...]
    """Zones with their own NAT gateway; each private subnet routes out through its zone's gateway."""


def choose_zones(available: Sequence[str], count: int, region: str) -> tuple[str, ...]:
    """The first `count` zones in name order: the order AWS names never changes, so the choice is stable
    (a filter on the zones' momentary state would move subnets when a zone is impaired)."""
    names = sorted(set(available))
    if len(names) < count:
        raise AwsClusterPlanError(
            f"aws.availabilityZones is {count} but region {region} offers only {len(names)} zones "
            f"({', '.join(names) or 'none'}); lower aws.availabilityZones or choose another region"
        )
    return tuple(names[:count])


# AWS accepts VPC blocks from /16 to /28; the address planner needs at least a /24.
_VPC_PREFIXES = range(16, 25)


def plan_network(cluster_name: str, vpc_cidr: ipaddress.IPv4Network, zones: Sequence[str]) -> NetworkPlan:
    if vpc_cidr.prefixlen not in _VPC_PREFIXES:
        raise AwsClusterPlanError(
            f"aws.vpcCidr {vpc_cidr} must be between a /16 (the largest VPC AWS allows) and a /24; a /16 is "
            "recommended, since pods take VPC addresses on EKS"
        )
    layout = plan_zone_subnets(vpc_cidr, len(zones))
    shared = {cluster_tag(cluster_name): "shared"}
    public = tuple(
        SubnetSpec(zone, "public", zone_subnets.public, {**shared, PUBLIC_LOAD_BALANCER_TAG: "1"})
        for zone, zone_subnets in zip(zones, layout, strict=True)
    )
    private = tuple(
        SubnetSpec(zone, "private", zone_subnets.private, {**shared, INTERNAL_LOAD_BALANCER_TAG: "1"})
        for zone, zone_subnets in zip(zones, layout, strict=True)
    )
    # One NAT gateway per zone, not one for the VPC: a zone outage must not cut the other zones' nodes off
    # from image registries, Vault and the DFSPs' callback endpoints. It costs one gateway per zone.
    return NetworkPlan(vpc_cidr, tuple(zones), public, private, nat_gateway_zones=tuple(zones))
