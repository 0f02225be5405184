"""The WireGuard mesh between the control center and the environments and operators it manages.

Hub and spoke: the hub runs in the control center, every environment and every operator is a peer of
the hub only, and traffic between two peers goes through the hub (which forwards IP: the hub host
needs `net.ipv4.ip_forward=1`). The hub routes to each peer its tunnel address plus the networks
declared behind it (an environment's VPC or pod CIDR); each peer routes the whole mesh network plus
the hub's and the other peers' networks to the hub.

Addresses. The hub takes the first usable address of the mesh CIDR. A stateless function of the
peer set cannot promise that adding a peer never renumbers another (two names can hash to the same
slot, and whichever is placed first wins), so the promise is built from three rules:

1. pinned addresses in the configuration are always honoured, after checking that they lie inside the
   CIDR, are not the hub's and are not given twice;
2. `previous`, the allocation of the last run (the ledger the control-center stack exports, see
   `MeshPlan.ledger()`), is honoured like pins for the peers it names, so a run fed its previous
   result never renumbers anyone, whatever is added or removed;
3. the remaining peers get a slot from sha256 of their name, probing linearly past taken slots, in
   name order.

Keys. A private key is generated where it is used (on the host, or in Vault for in-cluster peers);
the planner only ever sees public keys and rendered configurations only reference the key file (see
`render` for the two flavours and why loading the key also re-arms keepalives). Health is judged
from handshake ages (`health`), not from a TCP port.

Every planning error is a `MeshPlanError` whose message names the hub or peer at fault.
"""

from .allocation import hub_address, parse_mesh_cidr
from .health import (
    DEFAULT_MAX_HANDSHAKE_AGE,
    HandshakeOutputError,
    PeerHealth,
    assess_peer_health,
    hub_peer_health,
    parse_latest_handshakes,
)
from .keys import InvalidKeyError, KeyPair, generate_keypair, is_valid_public_key, public_key_from_private
from .plan import (
    InterfaceSettings,
    MeshPlan,
    PlannedHub,
    PlannedPeer,
    allocate,
    interface_settings,
    plan_mesh,
    routes_through_hub,
)
from .render import (
    ConfigFlavour,
    config_with_private_key,
    private_key_command,
    render_hub_config,
    render_peer_config,
)
from .spec import (
    DEFAULT_MTU,
    DEFAULT_PERSISTENT_KEEPALIVE,
    Endpoint,
    HubSpec,
    MeshPlanError,
    MeshSpec,
    PeerKind,
    PeerSpec,
)

__all__ = [
    "DEFAULT_MAX_HANDSHAKE_AGE",
    "DEFAULT_MTU",
    "DEFAULT_PERSISTENT_KEEPALIVE",
    "ConfigFlavour",
    "Endpoint",
    "HandshakeOutputError",
    "HubSpec",
    "InterfaceSettings",
    "InvalidKeyError",
    "KeyPair",
    "MeshPlan",
    "MeshPlanError",
    "MeshSpec",
    "PeerHealth",
    "PeerKind",
    "PeerSpec",
    "PlannedHub",
    "PlannedPeer",
    "allocate",
    "assess_peer_health",
    "config_with_private_key",
    "generate_keypair",
    "hub_address",
    "hub_peer_health",
    "interface_settings",
    "is_valid_public_key",
    "parse_latest_handshakes",
    "parse_mesh_cidr",
    "plan_mesh",
    "private_key_command",
    "public_key_from_private",
    "render_hub_config",
    "render_peer_config",
    "routes_through_hub",
]
