"""The control center's WireGuard mesh from its configuration (the planner itself is mojaloop_iac.wireguard).

Where the hub's public key comes from depends on the substrate: on bare metal the configuration holds it
(`wireguard.hub.publicKey`, reported by the host that generated the key); on AWS the key pair is
generated in Vault at deployment and its public key arrives as a Pulumi Output, which callers pass in
as `hub_public_key` from inside `.apply`. Addresses, the ledger and the hub's own configuration do not
depend on the hub's public key (`plan_hub_side`), so they are planned before it exists.
"""

from __future__ import annotations

import base64

from mojaloop_iac.config.models import WireGuardMesh
from mojaloop_iac.wireguard import (
    HubSpec,
    MeshPlan,
    MeshPlanError,
    MeshSpec,
    PeerSpec,
    plan_mesh,
    render_hub_config,
    render_peer_config,
)

HUB_NAME = "hub"
# Stands in for the hub's public key while it does not exist yet (AWS, before Vault generated it). 32 zero
# bytes: a low-order point, never anyone's real key, so nothing planned with it can pass for a real key.
HUB_KEY_NOT_YET_KNOWN = base64.b64encode(bytes(32)).decode("ascii")


def mesh_spec(mesh: WireGuardMesh, hub_public_key: str | None = None) -> MeshSpec:
    """`hub_public_key` wins over the configured `wireguard.hub.publicKey` (AWS has none configured)."""
    public_key = hub_public_key if hub_public_key is not None else mesh.hub.public_key
    if public_key is None:
        raise MeshPlanError(
            f"hub {HUB_NAME!r} has no public key: set wireguard.hub.publicKey (bare metal), or pass the key "
            "generated in Vault (AWS)"
        )
    for name, peer in sorted(mesh.peers.items()):
        if peer.public_key == HUB_KEY_NOT_YET_KNOWN:
            raise MeshPlanError(f"peer {name!r}: public key is 32 zero bytes, which is not a usable WireGuard key")
    return MeshSpec(
        cidr=str(mesh.cidr),
        hub=HubSpec(
            name=HUB_NAME,
            endpoint=mesh.hub.endpoint,
            listen_port=mesh.hub.listen_port,
            public_key=public_key,
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


def plan_wireguard_mesh(mesh: WireGuardMesh, hub_public_key: str | None = None) -> MeshPlan:
    """Addresses honour pins, then the ledger of earlier runs, so adding a peer never renumbers another."""
    return plan_mesh(
        mesh_spec(mesh, hub_public_key),
        previous={name: str(address) for name, address in mesh.ledger.items()},
    )


def plan_hub_side(mesh: WireGuardMesh) -> MeshPlan:
    """The plan for what never contains the hub's public key: addresses, the ledger, the hub's own
    configuration. Where the key is not configured (AWS) it is planned with a stand-in; never render a
    peer's configuration from this plan (use `peer_configs` with the real key)."""
    return plan_wireguard_mesh(mesh, None if mesh.hub.public_key is not None else HUB_KEY_NOT_YET_KNOWN)


def hub_config(mesh: WireGuardMesh, private_key_ref: str) -> str:
    """The hub's wg-quick configuration, loading its private key from `private_key_ref` (never in the text)."""
    text = render_hub_config(plan_hub_side(mesh), private_key_ref)
    # The stand-in must never reach a running interface; the hub's configuration names only its peers' keys.
    assert HUB_KEY_NOT_YET_KNOWN not in text, "the hub's configuration names its own public key"
    return text


# Where the wireguard_peer role keeps each host's private key (generated there, never read back).
KEY_PATH = "/etc/wireguard/%i.key"
HUB_GROUP = "control_center_hosts"


def hub_host_vars(mesh: WireGuardMesh) -> dict[str, str]:
    """What the hub host's wireguard_peer role installs: the hub configuration, without its private key."""
    return {"wireguard_peer_config": hub_config(mesh, KEY_PATH)}


def peer_configs(mesh: WireGuardMesh, hub_public_key: str | None = None) -> dict[str, str]:
    """Each environment's and operator's configuration (no private key: it is generated where it is used).

    `hub_public_key`: the hub's key where the configuration does not hold it (AWS: from Vault, in `.apply`).
    """
    plan = plan_wireguard_mesh(mesh, hub_public_key)
    return {peer.name: render_peer_config(plan, peer.name, KEY_PATH) for peer in plan.peers}
