"""Tunnel address allocation: the hub takes the first usable address, each peer one more.

Order of precedence, each step validated (inside the CIDR, not the network, broadcast or hub address,
no address given twice):

1. pinned addresses from the configuration;
2. the previous allocation (the ledger the control-center stack exports) for peers not pinned;
3. for the rest, a slot derived from sha256(name), probing linearly past taken slots, peers taken in
   name order so the result does not depend on the order of the mapping.

Step 3 alone is stable as long as hashes do not collide; step 2 is what makes "adding or removing a
peer never renumbers another" hold for any names.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping

from .spec import MeshPlanError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_mesh_cidr(cidr: object) -> IPNetwork:
    """The mesh network, which must leave room for the hub and at least one peer."""
    if not isinstance(cidr, str):
        raise MeshPlanError(f"mesh CIDR {cidr!r} is not a string such as '10.251.0.0/24'")
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as error:
        raise MeshPlanError(f"mesh CIDR {cidr!r} is invalid: {error}") from None
    if "/" not in cidr:
        raise MeshPlanError(f"mesh CIDR {cidr!r} has no prefix length: write it as {network}")
    if _peer_pool_size(network) < 1:
        raise MeshPlanError(f"mesh CIDR {cidr!r} is too small: it must hold the hub and at least one peer")
    return network


def hub_address(network: IPNetwork) -> IPAddress:
    """The hub always takes the first usable host address."""
    return network.network_address + 1


def allocate_addresses(
    network: IPNetwork,
    peer_names: Iterable[str],
    pinned: Mapping[str, str],
    previous: Mapping[str, object] | None = None,
) -> dict[str, IPAddress]:
    """Assign a tunnel address to every name in `peer_names`.

    `pinned` maps some of those names to the address the configuration fixes for them; `previous` is
    the last allocation (names no longer present are ignored, so removing a peer frees its address).
    """
    names = sorted(set(peer_names))
    previous = previous or {}
    hub = hub_address(network)
    owner_of: dict[IPAddress, str] = {}
    assigned: dict[str, IPAddress] = {}

    for name in names:
        if name in pinned:
            address = _assignable(pinned[name], network, name, "pinned")
            if address in owner_of:
                raise MeshPlanError(
                    f"peer {name!r}: pinned address {address} is already pinned to peer {owner_of[address]!r}"
                )
            owner_of[address], assigned[name] = name, address

    for name in names:
        if name in pinned or name not in previous:
            continue
        address = _assignable(previous[name], network, name, "previously allocated")
        if address in owner_of:
            other = owner_of[address]
            if other in pinned:
                raise MeshPlanError(
                    f"peer {other!r} is pinned to {address}, which the previous allocation gave to peer "
                    f"{name!r}: pin {other!r} to another address, or drop {name!r} from the ledger to "
                    "renumber it"
                )
            raise MeshPlanError(
                f"the previous allocation gives {address} to both {other!r} and {name!r}: the ledger is "
                "inconsistent, correct or drop it"
            )
        owner_of[address], assigned[name] = name, address

    unassigned = [name for name in names if name not in assigned]
    pool_start = int(hub) + 1
    pool_size = _peer_pool_size(network)
    free = pool_size - len(owner_of)
    if len(unassigned) > free:
        raise MeshPlanError(
            f"mesh CIDR {network} is exhausted: {pool_size} peer addresses, {len(owner_of)} taken, "
            f"{len(unassigned)} more needed for peers {', '.join(repr(n) for n in unassigned)}; "
            "use a larger CIDR"
        )
    address_type = type(hub)
    for name in unassigned:
        slot = _home_slot(name, pool_size)
        # Terminates: the count check above guarantees a free slot.
        while (address := address_type(pool_start + slot)) in owner_of:
            slot = (slot + 1) % pool_size
        owner_of[address], assigned[name] = name, address
    return assigned


def _home_slot(name: str, pool_size: int) -> int:
    # sha256, not hash(): Python salts str hashes per process, and the slot must be the same everywhere.
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest(), "big") % pool_size


def _peer_pool_size(network: IPNetwork) -> int:
    first_peer = int(network.network_address) + 2
    # IPv4 keeps its broadcast address out; IPv6 has none.
    last_usable = int(network.broadcast_address) - (1 if network.version == 4 else 0)
    return last_usable - first_peer + 1


def _assignable(value: object, network: IPNetwork, name: str, source: str) -> IPAddress:
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        raise MeshPlanError(f"peer {name!r}: {source} address {value!r} is not an IP address") from None
    if address.version != network.version or address not in network:
        hint = " (did the mesh CIDR change? then drop the ledger to renumber)" if source != "pinned" else ""
        raise MeshPlanError(
            f"peer {name!r}: {source} address {address} is outside the mesh CIDR {network}{hint}"
        )
    if address == network.network_address or (network.version == 4 and address == network.broadcast_address):
        raise MeshPlanError(
            f"peer {name!r}: {source} address {address} is the network or broadcast address of {network}"
        )
    if address == hub_address(network):
        raise MeshPlanError(
            f"peer {name!r}: {source} address {address} is the hub's (the hub takes the first usable address)"
        )
    return address
