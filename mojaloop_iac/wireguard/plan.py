"""From a declared mesh to a checked plan: addresses, routed networks and endpoints for every member."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from .allocation import IPAddress, IPNetwork, allocate_addresses, hub_address, parse_mesh_cidr
from .keys import check_public_key
from .spec import Endpoint, MeshPlanError, MeshSpec, PeerKind, check_name, check_port, parse_endpoint

# Smallest MTU WireGuard can carry IPv6 over; the upper bound is a jumbo frame.
MTU_RANGE = range(1280, 9001)


@dataclass(frozen=True)
class PlannedHub:
    name: str
    address: IPAddress
    endpoint: Endpoint
    listen_port: int
    public_key: str
    routed: tuple[IPNetwork, ...]


@dataclass(frozen=True)
class PlannedPeer:
    name: str
    kind: PeerKind
    address: IPAddress
    public_key: str
    routed: tuple[IPNetwork, ...]
    endpoint: Endpoint | None


@dataclass(frozen=True)
class MeshPlan:
    """Every member's address and routes, checked; peers sorted by name."""

    network: IPNetwork
    hub: PlannedHub
    peers: tuple[PlannedPeer, ...]
    persistent_keepalive: int | None
    mtu: int | None

    def peer(self, name: str) -> PlannedPeer:
        for peer in self.peers:
            if peer.name == name:
                return peer
        known = ", ".join(peer.name for peer in self.peers) or "none"
        raise MeshPlanError(f"peer {name!r} is not in the mesh (peers: {known})")

    def ledger(self) -> dict[str, str]:
        """Peer name -> tunnel address: export it, and feed it back as `previous` on the next run."""
        return {peer.name: str(peer.address) for peer in self.peers}


@dataclass(frozen=True)
class InterfaceSettings:
    """What `wg setconf` cannot carry and the host must apply with `ip`: address, MTU, routes.

    `routes` are the networks to route into the interface beyond the mesh network itself, which the
    address's prefix already covers.
    """

    address: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    listen_port: int | None
    mtu: int | None
    routes: tuple[IPNetwork, ...]


def plan_mesh(spec: MeshSpec, previous: Mapping[str, object] | None = None) -> MeshPlan:
    """Check `spec` and allocate addresses; `previous` is the last plan's `ledger()` (see allocation)."""
    network = parse_mesh_cidr(spec.cidr)
    hub_spec = spec.hub
    hub_name = check_name(hub_spec.name, "hub")
    hub_what = f"hub {hub_name!r}"
    check_public_key(hub_spec.public_key, hub_what)
    hub_routed = _routed_networks(hub_spec.allowed_ips, hub_what)
    hub = PlannedHub(
        name=hub_name,
        address=hub_address(network),
        endpoint=parse_endpoint(hub_spec.endpoint, hub_what),
        listen_port=check_port(hub_spec.listen_port, f"{hub_what} listen_port"),
        public_key=hub_spec.public_key,
        routed=hub_routed,
    )

    key_owner = {hub.public_key: hub_what}
    pinned: dict[str, str] = {}
    checked: dict[str, tuple[PeerKind, tuple[IPNetwork, ...], Endpoint | None]] = {}
    for name in sorted(spec.peers):
        peer_spec = spec.peers[name]
        check_name(name, "peer")
        what = f"peer {name!r}"
        if name == hub_name:
            raise MeshPlanError(f"{what} has the hub's name: names identify members in the ledger")
        kind = _peer_kind(peer_spec.kind, what)
        check_public_key(peer_spec.public_key, what)
        if peer_spec.public_key in key_owner:
            # WireGuard identifies peers by public key: two members with one key would be one peer.
            raise MeshPlanError(f"{what} has the same public key as {key_owner[peer_spec.public_key]}")
        key_owner[peer_spec.public_key] = what
        routed = _routed_networks(peer_spec.allowed_ips, what)
        if kind is PeerKind.OPERATOR and routed:
            raise MeshPlanError(
                f"{what} is an operator and declares allowed_ips {[str(n) for n in routed]}: networks "
                "behind an operator's machine would be routed into every environment; remove them"
            )
        endpoint = parse_endpoint(peer_spec.endpoint, what) if peer_spec.endpoint is not None else None
        if peer_spec.address is not None:
            pinned[name] = peer_spec.address
        checked[name] = (kind, routed, endpoint)

    _reject_overlaps(
        network, hub_what, hub_routed, {name: routed for name, (_, routed, _) in checked.items()}
    )
    addresses = allocate_addresses(network, checked, pinned, previous)
    peers = tuple(
        PlannedPeer(
            name=name,
            kind=kind,
            address=addresses[name],
            public_key=spec.peers[name].public_key,
            routed=routed,
            endpoint=endpoint,
        )
        for name, (kind, routed, endpoint) in sorted(checked.items())
    )
    return MeshPlan(
        network=network,
        hub=hub,
        peers=peers,
        persistent_keepalive=_keepalive(spec.persistent_keepalive),
        mtu=_mtu(spec.mtu),
    )


def allocate(spec: MeshSpec, previous: Mapping[str, object] | None = None) -> dict[str, IPAddress]:
    """Peer name -> tunnel address for `spec`, honouring pins and then `previous`."""
    return {peer.name: peer.address for peer in plan_mesh(spec, previous).peers}


def interface_settings(plan: MeshPlan, name: str) -> InterfaceSettings:
    """Host-side settings for the hub (by its name) or a peer, for callers applying the setconf flavour."""
    if name == plan.hub.name:
        return InterfaceSettings(
            address=ipaddress.ip_interface(f"{plan.hub.address}/{plan.network.prefixlen}"),
            listen_port=plan.hub.listen_port,
            mtu=plan.mtu,
            routes=tuple(sorted((net for peer in plan.peers for net in peer.routed), key=_network_order)),
        )
    peer = plan.peer(name)
    return InterfaceSettings(
        address=ipaddress.ip_interface(f"{peer.address}/{plan.network.prefixlen}"),
        listen_port=peer_listen_port(peer),
        mtu=plan.mtu,
        routes=routes_through_hub(plan, name),
    )


def peer_listen_port(peer: PlannedPeer) -> int | None:
    # A peer the hub dials must listen where its endpoint says; the others take a random port.
    return peer.endpoint.port if peer.endpoint is not None else None


def routes_through_hub(plan: MeshPlan, peer_name: str) -> tuple[IPNetwork, ...]:
    """Networks a peer reaches through the hub besides the mesh: the hub's and the other peers'."""
    others = [net for peer in plan.peers if peer.name != peer_name for net in peer.routed]
    return tuple(sorted([*plan.hub.routed, *others], key=_network_order))


def _network_order(network: IPNetwork) -> tuple[int, int, int]:
    return (network.version, int(network.network_address), network.prefixlen)


def _peer_kind(kind: object, what: str) -> PeerKind:
    try:
        return PeerKind(kind)
    except ValueError:
        choices = ", ".join(repr(k.value) for k in PeerKind)
        raise MeshPlanError(f"{what}: kind {kind!r} is not one of {choices}") from None


def _routed_networks(cidrs: object, what: str) -> tuple[IPNetwork, ...]:
    if isinstance(cidrs, str) or not isinstance(cidrs, tuple | list):
        raise MeshPlanError(f"{what}: allowed_ips must be a list of CIDRs, got {cidrs!r}")
    networks: list[IPNetwork] = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(str(cidr), strict=True)
        except ValueError as error:
            raise MeshPlanError(
                f"{what}: allowed_ips entry {cidr!r} is not a network CIDR: {error}"
            ) from None
        if network.prefixlen == 0:
            # A default route through the mesh would send every environment's internet traffic to one peer.
            raise MeshPlanError(f"{what}: allowed_ips entry {cidr!r} is a default route; list networks")
        networks.append(network)
    return tuple(sorted(networks, key=_network_order))


def _reject_overlaps(
    mesh: IPNetwork,
    hub_what: str,
    hub_routed: tuple[IPNetwork, ...],
    peer_routed: Mapping[str, tuple[IPNetwork, ...]],
) -> None:
    # WireGuard routes by the most specific AllowedIPs entry and silently moves an entry given to two
    # peers to the last one; overlaps are always configuration mistakes here, so refuse them.
    owned: list[tuple[str, IPNetwork]] = [("the mesh CIDR", mesh)]
    owned += [(hub_what, net) for net in hub_routed]
    owned += [(f"peer {name!r}", net) for name, nets in sorted(peer_routed.items()) for net in nets]
    for index, (owner, network) in enumerate(owned):
        for other_owner, other in owned[:index]:
            if network.version == other.version and network.overlaps(other):
                raise MeshPlanError(
                    f"{owner}: allowed_ips entry {network} overlaps {other} of {other_owner}; "
                    "routed networks must be disjoint"
                )


def _keepalive(seconds: object) -> int | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= 65535:
        raise MeshPlanError(f"persistent_keepalive {seconds!r} must be 1-65535 seconds, or None to disable")
    return seconds


def _mtu(mtu: object) -> int | None:
    if mtu is None:
        return None
    if isinstance(mtu, bool) or not isinstance(mtu, int) or mtu not in MTU_RANGE:
        raise MeshPlanError(f"mtu {mtu!r} must be between {MTU_RANGE.start} and {MTU_RANGE.stop - 1}")
    return mtu
