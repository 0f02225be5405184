"""A real hub-and-spoke WireGuard mesh, rendered by the planner, in network namespaces this test creates.

Underlay 10.250.0.0/24 on a bridge in the hub's namespace; tunnel 10.251.0.0/24; one peer routes
10.252.1.0/24 behind it. Every member runs its own wireguard-go (no kernel module here). The hub and
the environment peer are applied in the setconf flavour (`wg setconf` + the planner's key command + ip),
the operator peer in the wg-quick flavour by the real `wg-quick up`. Traffic never leaves the namespaces.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mojaloop_iac.wireguard import (
    ConfigFlavour,
    HubSpec,
    KeyPair,
    MeshPlan,
    MeshSpec,
    PeerHealth,
    PeerSpec,
    config_with_private_key,
    generate_keypair,
    hub_peer_health,
    interface_settings,
    parse_latest_handshakes,
    plan_mesh,
    private_key_command,
    public_key_from_private,
    render_hub_config,
    render_peer_config,
)
from tests.support.netns import Namespace, NetnsLab, run, start_wireguard_go, wg_quick_up

pytestmark = pytest.mark.slow

MESH_CIDR = "10.251.0.0/24"
HUB_UNDERLAY = "10.250.0.1"
UNDERLAY_PREFIX = 24
HUB_PORT = 51820
ROUTED_BEHIND_DEV = "10.252.1.0/24"
HOST_BEHIND_DEV = "10.252.1.1"
UNDERLAY_ADDRESSES = {"env-dev": "10.250.0.2", "alice": "10.250.0.3", "env-test": "10.250.0.4"}
KINDS = {"env-dev": "environment", "alice": "operator", "env-test": "environment"}
HANDSHAKE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Member:
    name: str
    namespace: Namespace
    interface: str
    keys: KeyPair
    key_path: Path


@dataclass
class Mesh:
    lab: NetnsLab
    plan: MeshPlan
    hub: Member
    peers: dict[str, Member]
    bridge: str
    rendered: dict[str, Path]


def write_secret(path: Path, text: str) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    return path


def wg_generated_keypair() -> KeyPair:
    """A key pair made by the wg tool itself, to show the planner takes keys from either source."""
    private_key = run(["wg", "genkey"]).stdout.strip()
    public_key = run(["wg", "pubkey"], input=private_key + "\n").stdout.strip()
    return KeyPair(private_key=private_key, public_key=public_key)


def mesh_spec(peer_names: tuple[str, ...]) -> MeshSpec:
    keys = member_keys()
    peers = {
        name: PeerSpec(
            kind=KINDS[name],
            public_key=keys[name].public_key,
            allowed_ips=(ROUTED_BEHIND_DEV,) if name == "env-dev" else (),
        )
        for name in peer_names
    }
    hub = HubSpec(
        name="control-center",
        endpoint=f"{HUB_UNDERLAY}:{HUB_PORT}",
        listen_port=HUB_PORT,
        public_key=keys["control-center"].public_key,
    )
    return MeshSpec(cidr=MESH_CIDR, hub=hub, peers=peers)


def new_member(lab: NetnsLab, name: str, role: str, keys: KeyPair) -> Member:
    namespace = lab.namespace(role)
    key_path = write_secret(lab.workdir / f"{name}.key", keys.private_key + "\n")
    return Member(name, namespace, lab.interface_name(f"wg{role[:2]}"), keys, key_path)


def apply_setconf_flavour(lab: NetnsLab, plan: MeshPlan, member: Member, config_text: str) -> None:
    """What a host agent does with the setconf flavour: setconf, ip settings, then the key command."""
    start_wireguard_go(lab, member.namespace, member.interface)
    config = lab.workdir / f"{member.interface}.setconf"
    config.write_text(config_text)
    ns, interface = member.namespace, member.interface
    ns.run("wg", "setconf", interface, str(config))
    settings = interface_settings(plan, member.name)
    ns.run("ip", "address", "add", str(settings.address), "dev", interface)
    if settings.mtu is not None:
        ns.run("ip", "link", "set", interface, "mtu", str(settings.mtu))
    ns.run("ip", "link", "set", interface, "up")
    for route in settings.routes:
        ns.run("ip", "route", "add", str(route), "dev", interface)
    # Last, as wg-quick's PostUp: the key, then keepalives re-armed so the first one starts a handshake.
    ns.run(*private_key_command(plan, member.name, str(member.key_path), interface))


def bring_up_peer(mesh: Mesh, plan: MeshPlan, name: str, flavour: ConfigFlavour) -> Member:
    member = new_member(mesh.lab, name, name.replace("env-", ""), member_keys()[name])
    mesh.lab.attach(
        mesh.hub.namespace, mesh.bridge, member.namespace, f"{UNDERLAY_ADDRESSES[name]}/{UNDERLAY_PREFIX}"
    )
    text = render_peer_config(plan, name, str(member.key_path), flavour=flavour)
    if flavour is ConfigFlavour.WG_QUICK:
        # wg-quick names the interface after the file.
        path = write_secret(mesh.lab.workdir / f"{member.interface}.conf", text)
        wg_quick_up(mesh.lab, member.namespace, path)
    else:
        path = mesh.lab.workdir / f"{member.interface}.setconf"
        apply_setconf_flavour(mesh.lab, plan, member, text)
    mesh.peers[name] = member
    mesh.rendered[name] = path
    return member


def build_mesh(workdir: Path, peer_names: tuple[str, ...]) -> Mesh:
    lab = NetnsLab(workdir, prefix="mojawg")
    try:
        plan = plan_mesh(mesh_spec(peer_names))
        hub = new_member(lab, "control-center", "hub", member_keys()["control-center"])
        bridge = lab.bridge(hub.namespace, f"{HUB_UNDERLAY}/{UNDERLAY_PREFIX}")
        # The hub forwards between peers; redirects would only tell a peer what its tunnel already does.
        hub.namespace.sysctl("net.ipv4.ip_forward", "1")
        hub.namespace.sysctl("net.ipv4.conf.all.send_redirects", "0")
        hub.namespace.sysctl("net.ipv4.conf.default.send_redirects", "0")
        mesh = Mesh(lab=lab, plan=plan, hub=hub, peers={}, bridge=bridge, rendered={})
        # The passive side first: a peer's first handshake otherwise waits for a 5 s retry.
        hub_text = render_hub_config(plan, str(hub.key_path), flavour=ConfigFlavour.SETCONF)
        apply_setconf_flavour(lab, plan, hub, hub_text)
        mesh.rendered[hub.name] = lab.workdir / f"{hub.interface}.setconf"
        for name in peer_names:
            flavour = ConfigFlavour.WG_QUICK if KINDS[name] == "operator" else ConfigFlavour.SETCONF
            bring_up_peer(mesh, plan, name, flavour)
        behind_dev = mesh.peers["env-dev"].namespace
        behind_dev.run("ip", "address", "add", f"{HOST_BEHIND_DEV}/32", "dev", "lo")
        wait_for(lambda: set(hub_health(mesh).values()) == {PeerHealth.HEALTHY}, "every peer to handshake")
        return mesh
    except BaseException:
        lab.close()
        raise


@functools.cache
def member_keys() -> dict[str, KeyPair]:
    """One key pair per member for the whole module: wg genkey for env-dev, Python for the others, so
    keys from both sources take part in real handshakes."""
    return {
        "control-center": generate_keypair(),
        "env-dev": wg_generated_keypair(),
        "alice": generate_keypair(),
        "env-test": generate_keypair(),
    }


def hub_handshakes(mesh: Mesh) -> dict[str, float | None]:
    output = mesh.hub.namespace.run("wg", "show", mesh.hub.interface, "latest-handshakes").stdout
    return parse_latest_handshakes(output, now=time.time())


def hub_health(mesh: Mesh, plan: MeshPlan | None = None) -> dict[str, PeerHealth]:
    return hub_peer_health(plan or mesh.plan, hub_handshakes(mesh))


def handshake_stamps(member: Member) -> dict[str, int]:
    output = member.namespace.run("wg", "show", member.interface, "latest-handshakes").stdout
    return {key: int(stamp) for key, stamp in (line.split() for line in output.splitlines())}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = HANDSHAKE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def ping_ttl(source: Member, destination: str) -> int:
    """TTL of the reply: 64 from a direct neighbour, 63 if one router (the hub) forwarded it."""
    output = source.namespace.run("ping", "-c", "1", "-W", "3", destination).stdout
    match = re.search(r"ttl=(\d+)", output)
    assert match, output
    return int(match.group(1))


def showconf_peers(member: Member) -> dict[str, set[str]]:
    """Public key -> AllowedIPs as the running interface has them."""
    text = member.namespace.run("wg", "showconf", member.interface).stdout
    peers: dict[str, set[str]] = {}
    key = ""
    for line in text.splitlines():
        name, _, value = (part.strip() for part in line.partition("="))
        if name == "PublicKey":
            # Keys end in '=': take everything after the first one.
            key = line.split("=", 1)[1].strip()
            peers[key] = set()
        elif name == "AllowedIPs":
            peers[key] = {cidr.strip() for cidr in value.split(",")}
    return peers


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    built = build_mesh(tmp_path_factory.mktemp("wireguard-mesh"), ("env-dev", "alice"))
    try:
        yield built
    finally:
        built.lab.close()


def test_running_hub_has_the_planned_peers_and_its_private_key(mesh: Mesh) -> None:
    plan = mesh.plan
    assert showconf_peers(mesh.hub) == {
        plan.peer("env-dev").public_key: {f"{plan.peer('env-dev').address}/32", ROUTED_BEHIND_DEV},
        plan.peer("alice").public_key: {f"{plan.peer('alice').address}/32"},
    }
    # The key reached the interface through the key command, not the rendered file.
    hub_public = mesh.hub.namespace.run("wg", "show", mesh.hub.interface, "public-key").stdout.strip()
    assert hub_public == plan.hub.public_key


def test_wg_quick_peer_loaded_its_key_address_and_routes(mesh: Mesh) -> None:
    alice = mesh.peers["alice"]
    public = alice.namespace.run("wg", "show", alice.interface, "public-key").stdout.strip()
    assert public == mesh.plan.peer("alice").public_key
    addresses = alice.namespace.run("ip", "-4", "-o", "address", "show", "dev", alice.interface).stdout
    assert f"{mesh.plan.peer('alice').address}/24" in addresses
    routes = alice.namespace.run("ip", "-4", "route", "show", "dev", alice.interface).stdout
    assert ROUTED_BEHIND_DEV in routes


def test_keys_from_wg_genkey_and_from_python_work_together(mesh: Mesh) -> None:
    dev_keys = member_keys()["env-dev"]
    assert public_key_from_private(dev_keys.private_key) == dev_keys.public_key
    assert hub_health(mesh)["env-dev"] is PeerHealth.HEALTHY


def test_peer_reaches_peer_through_the_hub(mesh: Mesh) -> None:
    dev, alice = mesh.peers["env-dev"], mesh.peers["alice"]
    # One hop: the hub forwarded it; each peer's only WireGuard peer is the hub.
    assert ping_ttl(dev, str(mesh.plan.peer("alice").address)) == 63
    assert ping_ttl(alice, str(mesh.plan.peer("env-dev").address)) == 63
    assert ping_ttl(alice, str(mesh.plan.hub.address)) == 64


def test_network_behind_a_peer_is_routed_to_it_through_the_hub(mesh: Mesh) -> None:
    assert ping_ttl(mesh.peers["alice"], HOST_BEHIND_DEV) == 63
    assert ping_ttl(mesh.hub, HOST_BEHIND_DEV) == 64


def test_handshake_ages_report_every_tunnel_healthy_on_both_ends(mesh: Mesh) -> None:
    assert hub_health(mesh) == {"env-dev": PeerHealth.HEALTHY, "alice": PeerHealth.HEALTHY}
    for member in mesh.peers.values():
        output = member.namespace.run("wg", "show", member.interface, "latest-handshakes").stdout
        ages = parse_latest_handshakes(output, now=time.time())
        assert list(ages) == [mesh.plan.hub.public_key]
        assert 0 <= ages[mesh.plan.hub.public_key] < 60


def test_rendered_files_on_disk_hold_no_private_key(mesh: Mesh) -> None:
    private_keys = [keys.private_key for keys in member_keys().values()]
    for path in mesh.rendered.values():
        text = path.read_text()
        assert "PrivateKey" not in text
        assert not [key for key in private_keys if key in text], path


def test_adding_a_peer_changes_only_the_hub_and_keeps_live_sessions(tmp_path: Path) -> None:
    mesh = build_mesh(tmp_path / "lab", ("env-dev", "alice"))
    try:
        before = mesh.plan
        after = plan_mesh(mesh_spec(("env-dev", "alice", "env-test")), previous=before.ledger())

        # Rendered configurations: the existing peers' are identical, the hub's only gained a [Peer].
        for name, member in mesh.peers.items():
            for flavour in ConfigFlavour:
                key_ref = str(member.key_path)
                old = render_peer_config(before, name, key_ref, flavour=flavour)
                assert render_peer_config(after, name, key_ref, flavour=flavour) == old
        hub_ref = str(mesh.hub.key_path)
        old_hub = render_hub_config(before, hub_ref, flavour=ConfigFlavour.SETCONF)
        new_hub = render_hub_config(after, hub_ref, flavour=ConfigFlavour.SETCONF)
        old_blocks, new_blocks = old_hub.strip().split("\n\n"), new_hub.strip().split("\n\n")
        assert [block for block in old_blocks if block not in new_blocks] == []
        added = [block for block in new_blocks if block not in old_blocks]
        assert len(added) == 1 and "# peer 'env-test'" in added[0]

        # Apply it live: syncconf keeps unchanged peers' sessions; the key travels in memory only.
        stamps_before = handshake_stamps(mesh.hub)
        mesh.hub.namespace.run(
            "wg",
            "syncconf",
            mesh.hub.interface,
            "/dev/stdin",
            input=config_with_private_key(new_hub, member_keys()["control-center"].private_key),
        )
        assert hub_health(mesh, after) == {
            "env-dev": PeerHealth.HEALTHY,
            "alice": PeerHealth.HEALTHY,
            "env-test": PeerHealth.NEVER,
        }
        test_peer = bring_up_peer(mesh, after, "env-test", ConfigFlavour.SETCONF)
        wait_for(lambda: hub_health(mesh, after)["env-test"] is PeerHealth.HEALTHY, "env-test to handshake")

        assert ping_ttl(test_peer, str(after.peer("env-dev").address)) == 63
        assert ping_ttl(test_peer, HOST_BEHIND_DEV) == 63
        assert ping_ttl(mesh.peers["env-dev"], str(after.peer("alice").address)) == 63
        stamps_after = handshake_stamps(mesh.hub)
        for name in ("env-dev", "alice"):
            key = after.peer(name).public_key
            assert stamps_after[key] == stamps_before[key], f"{name} had to handshake again"
    finally:
        mesh.lab.close()
