"""Address planning properties: subnets are disjoint, inside the VPC, stable as zones are added."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mojaloop_iac.planners.addressing import MAX_ZONES, AddressPlanError, overlapping_pairs, plan_zone_subnets

vpc_cidrs = st.builds(
    lambda address, prefix: ipaddress.IPv4Network((address, prefix), strict=False),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=8, max_value=24),
)
zone_counts = st.integers(min_value=1, max_value=MAX_ZONES)


@given(vpc_cidrs, zone_counts)
def test_subnets_are_disjoint_and_inside_the_vpc(vpc, zones):
    plan = plan_zone_subnets(vpc, zones)
    subnets = [s for zone in plan for s in (zone.private, zone.public)]
    assert len(plan) == zones
    assert all(subnet.subnet_of(vpc) for subnet in subnets)
    named = {str(i): subnet for i, subnet in enumerate(subnets)}
    assert overlapping_pairs(named) == []


@given(vpc_cidrs, zone_counts)
def test_adding_a_zone_never_moves_existing_subnets(vpc, zones):
    smaller = plan_zone_subnets(vpc, zones)
    larger = plan_zone_subnets(vpc, min(zones + 1, MAX_ZONES))
    assert larger[: len(smaller)] == smaller


@given(vpc_cidrs, zone_counts)
def test_private_subnets_are_larger_than_public(vpc, zones):
    for zone in plan_zone_subnets(vpc, zones):
        assert zone.private.num_addresses > zone.public.num_addresses


def test_a_slash_16_gives_slash_19_private_and_slash_22_public():
    plan = plan_zone_subnets(ipaddress.IPv4Network("10.0.0.0/16"), 3)
    assert [str(z.private) for z in plan] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [str(z.public) for z in plan] == ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]


@pytest.mark.parametrize("zones", [0, MAX_ZONES + 1])
def test_zone_count_out_of_range_is_refused(zones):
    with pytest.raises(AddressPlanError, match="zones must be between"):
        plan_zone_subnets(ipaddress.IPv4Network("10.0.0.0/16"), zones)


def test_too_small_vpc_is_refused():
    with pytest.raises(AddressPlanError, match="too small"):
        plan_zone_subnets(ipaddress.IPv4Network("10.0.0.0/25"), 2)


@given(st.lists(vpc_cidrs, min_size=2, max_size=5))
def test_overlapping_pairs_matches_pairwise_overlap(networks):
    named = {f"n{i}": n for i, n in enumerate(networks)}
    pairs = set(overlapping_pairs(named))
    for a, first in named.items():
        for b, second in named.items():
            if a < b:
                assert ((a, b) in pairs) == first.overlaps(second)
