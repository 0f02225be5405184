"""Address planning: carving a VPC into per-zone public and private subnets.

Private subnets hold the nodes and get the larger share (pods on EKS take VPC addresses); public
subnets hold only load balancers and NAT gateways. The layout is a pure function of the VPC CIDR and
the zone count, so re-planning never moves an existing subnet.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ZoneSubnets:
    zone_index: int
    private: ipaddress.IPv4Network
    public: ipaddress.IPv4Network


class AddressPlanError(ValueError):
    pass


# Each zone gets one eighth of the VPC for nodes and pods; the public subnets share the last eighth
# (the seventh is kept free for later use); a /16 gives /19 private subnets and /22 public ones.
MAX_ZONES = 6
_EIGHTHS = 3
_PUBLIC_SPLIT_BITS = math.ceil(math.log2(MAX_ZONES + 1))


def plan_zone_subnets(vpc_cidr: ipaddress.IPv4Network, zones: int) -> tuple[ZoneSubnets, ...]:
    if not 1 <= zones <= MAX_ZONES:
        raise AddressPlanError(f"zones must be between 1 and {MAX_ZONES}, got {zones}")
    if vpc_cidr.prefixlen > 24:
        raise AddressPlanError(f"VPC CIDR {vpc_cidr} is too small; use a /24 or larger (a /16 is recommended)")
    private_blocks = list(vpc_cidr.subnets(prefixlen_diff=_EIGHTHS))
    public_blocks = list(private_blocks[-1].subnets(prefixlen_diff=_PUBLIC_SPLIT_BITS))
    return tuple(
        ZoneSubnets(zone_index=index, private=private_blocks[index], public=public_blocks[index])
        for index in range(zones)
    )


def overlapping_pairs(
    networks: dict[str, ipaddress.IPv4Network],
) -> list[tuple[str, str]]:
    """Names of every pair of networks that overlap, in a stable order."""
    names = sorted(networks)
    return [
        (first, second)
        for index, first in enumerate(names)
        for second in names[index + 1 :]
        if networks[first].overlaps(networks[second])
    ]
