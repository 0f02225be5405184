"""The control center's WireGuard mesh from its configuration (the planner itself is mojaloop_iac.wireguard)."""

from __future__ import annotations

from mojaloop_iac.config.models import WireGuardMesh
from mojaloop_iac.wireguard import (
    HubSpec,
    MeshPlan,
    MeshSpec,
    PeerSpec,
    plan_mesh,
    render_hub_config,
    render_peer_config,
)


def mesh_spec(mesh: WireGuardMesh) -> MeshSpec:
    return MeshSpec(
        cidr=str(mesh.cidr),
        hub=HubSpec(
            name="hub",
            endpoint=mesh.hub.endpoint,
            listen_port=mesh.hub.listen_port,
            public_key=mesh.hub.public_key,
        ),
        peers={
            name: PeerSpec(
                kind=peer.kind,
                public_key=peer.public_key,
                address=str(peer.address) if peer.address else None,
                allowed_ips=tuple(str(network) for network in peer.allowed_ips),
            )
            for name, peer in sorted(mesh.peers.items())
        },
    )


def plan_wireguard_mesh(mesh: WireGuardMesh) -> MeshPlan:
    """Addresses honour pins, then the ledger of earlier runs, so adding a peer never renumbers another."""
    return plan_mesh(mesh_spec(mesh), previous={name: str(address) for name, address in mesh.ledger.items()})


# Where the wireguard_peer role keeps each host's private key (generated there, never read back).
KEY_PATH = "/etc/wireguard/%i.key"
HUB_GROUP = "control_center_hosts"


def hub_host_vars(mesh: WireGuardMesh) -> dict[str, str]:
    """What the hub host's wireguard_peer role installs: the hub configuration, without its private key."""
    return {"wireguard_peer_config": render_hub_config(plan_wireguard_mesh(mesh), KEY_PATH)}


def peer_configs(mesh: WireGuardMesh) -> dict[str, str]:
    """Each environment's and operator's configuration (no private key: it is generated where it is used)."""
    plan = plan_wireguard_mesh(mesh)
    return {peer.name: render_peer_config(plan, peer.name, KEY_PATH) for peer in plan.peers}
