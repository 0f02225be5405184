"""What the configuration declares about the mesh: the hub, the peers, and how to reach them.

These are inputs, checked by the planner (which knows each peer's name and can say which one is wrong),
not at construction: a peer spec does not know the name it is filed under.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class MeshPlanError(ValueError):
    """The mesh cannot be planned or rendered as declared; the message names the hub or peer at fault."""


class PeerKind(StrEnum):
    """Why a peer is in the mesh; operators are people's machines and may not route networks."""

    ENVIRONMENT = "environment"
    OPERATOR = "operator"


@dataclass(frozen=True)
class HubSpec:
    """The control center's end of every tunnel.

    `endpoint` is what peers dial ("host:port", "[v6]:port"); it may differ from `listen_port` behind
    NAT or a load balancer. `allowed_ips` are networks behind the hub (the control center's own cluster)
    that peers should route into the tunnel; empty by default.
    """

    name: str
    endpoint: str
    listen_port: int
    public_key: str
    allowed_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeerSpec:
    """One environment or operator.

    `address` pins the tunnel address; None lets the planner choose (see the package docstring).
    `allowed_ips` are extra networks behind this peer (an environment's VPC or pod CIDR) that the hub
    and the other peers route to it. `endpoint` ("host:port") is set only when the hub can dial the
    peer; peers behind NAT leave it None and keep the tunnel open with persistent keepalives.
    """

    kind: PeerKind | str
    public_key: str
    address: str | None = None
    allowed_ips: tuple[str, ...] = ()
    endpoint: str | None = None


# 25 s is what the WireGuard documentation recommends to keep NAT mappings open; the handshake-age
# health check also relies on keepalives, since an idle tunnel stops renewing its handshake.
DEFAULT_PERSISTENT_KEEPALIVE = 25
# wireguard-go and wg-quick's default: 1500 minus the largest (IPv6) WireGuard overhead.
DEFAULT_MTU = 1420


@dataclass(frozen=True)
class MeshSpec:
    """The whole mesh: tunnel CIDR, hub, peers keyed by name.

    `persistent_keepalive` (seconds, None to disable) applies on every link a side can initiate: peers
    towards the hub, and the hub towards peers that have an endpoint. `mtu` None leaves the tunnel MTU
    to the tooling.
    """

    cidr: str
    hub: HubSpec
    peers: Mapping[str, PeerSpec] = field(default_factory=dict)
    persistent_keepalive: int | None = DEFAULT_PERSISTENT_KEEPALIVE
    mtu: int | None = DEFAULT_MTU

    def __post_init__(self) -> None:
        # A read-only copy: the caller's dict may change later, the spec may not.
        object.__setattr__(self, "peers", MappingProxyType(dict(self.peers)))


@dataclass(frozen=True)
class Endpoint:
    """A UDP endpoint as WireGuard writes it: host:port, IPv6 literals in brackets."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


# Names end up in comments of rendered configs and in ledgers: keep them to characters that cannot
# start a new config line, a comment or a section.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise MeshPlanError(
            f"{what} name {name!r} is invalid: use 1-63 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_port(port: object, what: str) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise MeshPlanError(f"{what}: port {port!r} is not a UDP port number (1-65535)")
    return port


def parse_endpoint(text: object, what: str) -> Endpoint:
    """Parse "host:port" or "[ipv6]:port"; `what` names the hub or peer in the error."""
    if not isinstance(text, str) or not text:
        raise MeshPlanError(f"{what}: endpoint {text!r} is not of the form host:port")
    if text.startswith("["):
        host, bracket, port_text = text[1:].partition("]:")
        if not bracket:
            raise MeshPlanError(f"{what}: endpoint {text!r} is not of the form [ipv6]:port")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise MeshPlanError(f"{what}: endpoint {text!r} has no valid IPv6 address in brackets") from None
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon or not host:
            raise MeshPlanError(f"{what}: endpoint {text!r} is not of the form host:port")
        if ":" in host:
            raise MeshPlanError(f"{what}: endpoint {text!r}: write IPv6 addresses as [address]:port")
        looks_numeric = all(part.isdigit() for part in host.split("."))
        labels_valid = all(_HOSTNAME_LABEL.match(label) for label in host.split("."))
        if not _is_ipv4(host) and (looks_numeric or not labels_valid):
            raise MeshPlanError(f"{what}: endpoint {text!r} has an invalid host name {host!r}")
    if not port_text.isdigit():
        raise MeshPlanError(f"{what}: endpoint {text!r} has no numeric port")
    return Endpoint(host=host, port=check_port(int(port_text), what))


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
