"""The WireGuard mesh planner: address allocation, rendering, keys and handshake health."""

from __future__ import annotations

import configparser
import ipaddress
import re
import shutil
import subprocess
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mojaloop_iac.wireguard import (
    ConfigFlavour,
    HandshakeOutputError,
    HubSpec,
    InvalidKeyError,
    MeshPlanError,
    MeshSpec,
    PeerHealth,
    PeerKind,
    PeerSpec,
    allocate,
    assess_peer_health,
    config_with_private_key,
    generate_keypair,
    hub_peer_health,
    interface_settings,
    is_valid_public_key,
    parse_latest_handshakes,
    plan_mesh,
    private_key_command,
    public_key_from_private,
    render_hub_config,
    render_peer_config,
)

# Key generation is the slow part of building specs; a pool shared by every example keeps properties fast.
KEYS = [generate_keypair() for _ in range(70)]
HUB_KEY = KEYS[0]
PEER_KEYS = KEYS[1:]
KEY_REF = "/etc/wireguard/%i.key"


def hub(**changes: object) -> HubSpec:
    base = HubSpec(
        name="control-center",
        endpoint="cc.example.org:51820",
        listen_port=51820,
        public_key=HUB_KEY.public_key,
    )
    return replace(base, **changes)


def peer(index: int, kind: str = "environment", **changes: object) -> PeerSpec:
    return replace(PeerSpec(kind=kind, public_key=PEER_KEYS[index].public_key), **changes)


def mesh(peers: dict[str, PeerSpec], cidr: str = "10.251.0.0/24", **changes: object) -> MeshSpec:
    return MeshSpec(cidr=cidr, hub=changes.pop("hub", hub()), peers=peers, **changes)


def parse_sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """INI sections in order, repeated [Peer] sections kept apart (configparser would merge them)."""
    sections: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = re.fullmatch(r"\[(\w+)\]", stripped)
        if header:
            sections.append((header.group(1), {}))
            continue
        assert sections, f"key before any section: {line!r}"
        key, equals, value = stripped.partition(" = ")
        assert equals and re.fullmatch(r"[A-Za-z]+", key), f"not 'Key = value': {line!r}"
        assert key not in sections[-1][1], f"{key} repeated in one section"
        sections[-1][1][key] = value
    return sections


def non_canonical(key: str) -> str:
    """The same 32 bytes with a padding bit set in the last character: valid base64, but wg refuses it."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return key[:42] + alphabet[alphabet.index(key[42]) ^ 1] + "="


def private_keys_in(text: str) -> list[str]:
    return [key.private_key for key in KEYS if key.private_key in text]


# --- allocation -------------------------------------------------------------------------------------------


def test_hub_takes_the_first_usable_address_and_peers_the_rest() -> None:
    plan = plan_mesh(mesh({"dev": peer(0), "alice": peer(1, "operator")}))
    assert plan.hub.address == ipaddress.ip_address("10.251.0.1")
    addresses = {p.address for p in plan.peers}
    assert len(addresses) == 2
    assert all(
        ipaddress.ip_address("10.251.0.2") <= a <= ipaddress.ip_address("10.251.0.254") for a in addresses
    )


def test_allocation_does_not_depend_on_the_order_peers_are_declared() -> None:
    peers = {f"env-{i}": peer(i) for i in range(20)}
    reversed_peers = dict(reversed(list(peers.items())))
    assert allocate(mesh(peers, cidr="10.9.0.0/27")) == allocate(mesh(reversed_peers, cidr="10.9.0.0/27"))


def test_pinned_address_is_honoured() -> None:
    plan = plan_mesh(mesh({"dev": peer(0, address="10.251.0.77"), "test": peer(1)}))
    assert str(plan.peer("dev").address) == "10.251.0.77"
    assert str(plan.peer("test").address) != "10.251.0.77"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("10.252.0.5", r"peer 'dev': pinned address 10\.252\.0\.5 is outside the mesh CIDR 10\.251\.0\.0/24"),
        ("10.251.0.1", r"peer 'dev': pinned address 10\.251\.0\.1 is the hub's"),
        ("10.251.0.0", r"peer 'dev': .* network or broadcast"),
        ("10.251.0.255", r"peer 'dev': .* network or broadcast"),
        ("fd00::5", r"peer 'dev': .* outside the mesh CIDR"),
        ("not-an-ip", r"peer 'dev': pinned address 'not-an-ip' is not an IP address"),
    ],
)
def test_bad_pin_is_refused_naming_the_peer(address: str, message: str) -> None:
    with pytest.raises(MeshPlanError, match=message):
        plan_mesh(mesh({"dev": peer(0, address=address)}))


def test_same_address_pinned_twice_is_refused_naming_both_peers() -> None:
    with pytest.raises(MeshPlanError, match=r"peer 'test': pinned address 10\.251\.0\.9 .* peer 'dev'"):
        plan_mesh(mesh({"dev": peer(0, address="10.251.0.9"), "test": peer(1, address="10.251.0.9")}))


def test_pin_on_an_address_the_ledger_gave_another_peer_is_refused() -> None:
    first = plan_mesh(mesh({"dev": peer(0)}))
    taken = str(first.peer("dev").address)
    with pytest.raises(
        MeshPlanError, match=rf"peer 'test' is pinned to {re.escape(taken)}.*gave to peer 'dev'"
    ):
        plan_mesh(mesh({"dev": peer(0), "test": peer(1, address=taken)}), previous=first.ledger())


def test_pin_overrides_the_peers_own_previous_address() -> None:
    first = plan_mesh(mesh({"dev": peer(0)}))
    moved = plan_mesh(mesh({"dev": peer(0, address="10.251.0.200")}), previous=first.ledger())
    assert str(moved.peer("dev").address) == "10.251.0.200"


def test_ledger_from_another_cidr_is_refused_with_a_way_out() -> None:
    with pytest.raises(MeshPlanError, match=r"peer 'dev': previously allocated .* drop the ledger"):
        plan_mesh(mesh({"dev": peer(0)}), previous={"dev": "10.9.9.9"})


def test_ledger_giving_one_address_to_two_peers_is_refused() -> None:
    with pytest.raises(MeshPlanError, match=r"gives 10\.251\.0\.5 to both 'a' and 'b'"):
        plan_mesh(mesh({"a": peer(0), "b": peer(1)}), previous={"a": "10.251.0.5", "b": "10.251.0.5"})


def test_exhausted_pool_is_refused_naming_the_peers_left_without_an_address() -> None:
    with pytest.raises(MeshPlanError, match=r"exhausted: 1 peer addresses.*'b'"):
        plan_mesh(mesh({"a": peer(0), "b": peer(1)}, cidr="10.251.0.0/30"))


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.251.0.1/24", r"mesh CIDR '10\.251\.0\.1/24' is invalid: .*host bits"),
        ("10.251.0.0/31", r"too small"),
        ("banana", r"mesh CIDR 'banana' is invalid"),
        ("10.251.0.0", r"has no prefix length"),
    ],
)
def test_invalid_mesh_cidr_is_refused(cidr: str, message: str) -> None:
    with pytest.raises(MeshPlanError, match=message):
        plan_mesh(mesh({"a": peer(0)}, cidr=cidr))


def test_ipv6_mesh_allocates_ipv6_addresses() -> None:
    plan = plan_mesh(mesh({"dev": peer(0), "alice": peer(1, "operator")}, cidr="fd00:251::/64"))
    assert str(plan.hub.address) == "fd00:251::1"
    assert all(p.address.version == 6 and p.address in plan.network for p in plan.peers)
    assert "AllowedIPs = " + f"{plan.peer('dev').address}/128" in render_hub_config(plan, KEY_REF)


# --- allocation properties --------------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
prefixes = st.integers(min_value=24, max_value=28)


@st.composite
def peer_sets(draw: st.DrawFn, max_size: int = 12) -> tuple[str, dict[str, PeerSpec]]:
    prefix = draw(prefixes)
    capacity = 2 ** (32 - prefix) - 3
    chosen = draw(st.lists(names, min_size=1, max_size=min(max_size, capacity), unique=True))
    cidr = f"10.{draw(st.integers(0, 255))}.0.0/{prefix}"
    return cidr, {name: peer(index) for index, name in enumerate(chosen)}


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(peer_sets())
def test_addresses_are_unique_inside_the_cidr_and_never_the_hubs(
    case: tuple[str, dict[str, PeerSpec]],
) -> None:
    cidr, peers = case
    plan = plan_mesh(mesh(peers, cidr=cidr))
    network = ipaddress.ip_network(cidr)
    addresses = [p.address for p in plan.peers]
    assert len(set(addresses)) == len(peers)
    assert plan.hub.address == network.network_address + 1
    for address in addresses:
        assert address in network
        assert address not in (network.network_address, network.broadcast_address, plan.hub.address)


@PROPERTY_SETTINGS
@given(peer_sets(max_size=10), names)
def test_adding_a_peer_never_renumbers_others_when_fed_the_previous_allocation(
    case: tuple[str, dict[str, PeerSpec]], newcomer: str
) -> None:
    cidr, peers = case
    network = ipaddress.ip_network(cidr)
    assume(newcomer not in peers and len(peers) < network.num_addresses - 3)
    before = plan_mesh(mesh(peers, cidr=cidr))
    grown = plan_mesh(mesh({**peers, newcomer: peer(len(peers))}, cidr=cidr), previous=before.ledger())
    after = grown.ledger()
    assert {name: after[name] for name in peers} == before.ledger()
    assert after[newcomer] not in before.ledger().values()


@PROPERTY_SETTINGS
@given(peer_sets(), st.data())
def test_removing_a_peer_never_renumbers_others_when_fed_the_previous_allocation(
    case: tuple[str, dict[str, PeerSpec]], data: st.DataObject
) -> None:
    cidr, peers = case
    leaving = data.draw(st.sampled_from(sorted(peers)))
    before = plan_mesh(mesh(peers, cidr=cidr)).ledger()
    remaining = {name: spec for name, spec in peers.items() if name != leaving}
    after = plan_mesh(mesh(remaining, cidr=cidr), previous=before).ledger()
    assert after == {name: address for name, address in before.items() if name != leaving}


@PROPERTY_SETTINGS
@given(peer_sets(), st.data())
def test_pins_are_honoured_and_others_avoid_them(
    case: tuple[str, dict[str, PeerSpec]], data: st.DataObject
) -> None:
    cidr, peers = case
    network = ipaddress.ip_network(cidr)
    pinned_name = data.draw(st.sampled_from(sorted(peers)))
    offset = data.draw(st.integers(min_value=2, max_value=network.num_addresses - 2))
    pin = str(network.network_address + offset)
    peers = {**peers, pinned_name: replace(peers[pinned_name], address=pin)}
    plan = plan_mesh(mesh(peers, cidr=cidr))
    assert str(plan.peer(pinned_name).address) == pin
    assert [p.name for p in plan.peers if str(p.address) == pin] == [pinned_name]


@PROPERTY_SETTINGS
@given(peer_sets())
def test_planning_again_with_its_own_ledger_changes_nothing(case: tuple[str, dict[str, PeerSpec]]) -> None:
    cidr, peers = case
    plan = plan_mesh(mesh(peers, cidr=cidr))
    assert plan_mesh(mesh(peers, cidr=cidr), previous=plan.ledger()) == plan


# --- validation -------------------------------------------------------------------------------------------


def test_invalid_public_key_is_refused_naming_the_peer() -> None:
    with pytest.raises(InvalidKeyError, match=r"peer 'dev': public key is not a WireGuard key"):
        plan_mesh(mesh({"dev": peer(0, public_key="c2hvcnQ=")}))


def test_invalid_hub_key_is_refused_naming_the_hub() -> None:
    with pytest.raises(InvalidKeyError, match=r"hub 'control-center': public key"):
        plan_mesh(mesh({"dev": peer(0)}, hub=hub(public_key="x" * 44)))


def test_two_members_with_one_public_key_are_refused() -> None:
    with pytest.raises(MeshPlanError, match=r"peer 'test' has the same public key as peer 'dev'"):
        plan_mesh(mesh({"dev": peer(0), "test": peer(0)}))
    with pytest.raises(MeshPlanError, match=r"peer 'dev' has the same public key as hub"):
        plan_mesh(mesh({"dev": peer(0, public_key=HUB_KEY.public_key)}))


def test_unknown_peer_kind_is_refused() -> None:
    with pytest.raises(
        MeshPlanError, match=r"peer 'dev': kind 'cluster' is not one of 'environment', 'operator'"
    ):
        plan_mesh(mesh({"dev": peer(0, kind="cluster")}))


def test_operator_may_not_route_networks_into_the_mesh() -> None:
    with pytest.raises(MeshPlanError, match=r"peer 'alice' is an operator and declares allowed_ips"):
        plan_mesh(mesh({"alice": peer(0, "operator", allowed_ips=("192.168.1.0/24",))}))


@pytest.mark.parametrize(
    ("peers", "message"),
    [
        (
            {"dev": peer(0, allowed_ips=("10.0.0.0/16",)), "test": peer(1, allowed_ips=("10.0.128.0/20",))},
            r"peer 'test': allowed_ips entry 10\.0\.128\.0/20 overlaps 10\.0\.0\.0/16 of peer 'dev'",
        ),
        ({"dev": peer(0, allowed_ips=("10.251.0.128/25",))}, r"overlaps 10\.251\.0\.0/24 of the mesh CIDR"),
        ({"dev": peer(0, allowed_ips=("0.0.0.0/0",))}, r"peer 'dev': .* default route"),
        ({"dev": peer(0, allowed_ips=("10.0.0.1/16",))}, r"peer 'dev': allowed_ips entry '10\.0\.0\.1/16'"),
        ({"dev": peer(0, allowed_ips="10.0.0.0/16")}, r"peer 'dev': allowed_ips must be a list"),
    ],
)
def test_bad_routed_networks_are_refused(peers: dict[str, PeerSpec], message: str) -> None:
    with pytest.raises(MeshPlanError, match=message):
        plan_mesh(mesh(peers))


@pytest.mark.parametrize(
    "endpoint",
    ["cc.example.org", "cc.example.org:0", ":51820", "fd00::1:51820", "[fd00::zz]:1", "1.2.3.999:5"],
)
def test_bad_hub_endpoint_is_refused(endpoint: str) -> None:
    with pytest.raises(MeshPlanError, match=r"hub 'control-center'"):
        plan_mesh(mesh({"dev": peer(0)}, hub=hub(endpoint=endpoint)))


@pytest.mark.parametrize("name", ["Dev", "-dev", "dev env", "dev\n[Peer]", "", "a" * 64])
def test_peer_names_that_could_break_a_config_are_refused(name: str) -> None:
    with pytest.raises(MeshPlanError, match=r"peer name .* is invalid"):
        plan_mesh(mesh({name: peer(0)}))


@pytest.mark.parametrize(("field", "value"), [("persistent_keepalive", 0), ("mtu", 1000), ("mtu", True)])
def test_out_of_range_tunnel_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(MeshPlanError, match=field):
        plan_mesh(mesh({"dev": peer(0)}, **{field: value}))


# --- rendering --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def routed_plan():
    return plan_mesh(
        mesh(
            {
                "dev": peer(0, allowed_ips=("10.10.0.0/16",)),
                "prod": peer(
                    1, allowed_ips=("10.20.0.0/16", "10.21.0.0/16"), endpoint="prod.example.org:51821"
                ),
                "alice": peer(2, "operator"),
            },
            hub=hub(allowed_ips=("10.5.0.0/16",)),
        )
    )


def test_hub_routes_each_peer_its_address_and_its_networks(routed_plan) -> None:
    sections = parse_sections(render_hub_config(routed_plan, "/etc/wireguard/cc.key"))
    assert [name for name, _ in sections] == ["Interface", "Peer", "Peer", "Peer"]
    interface = sections[0][1]
    assert interface["Address"] == "10.251.0.1/24"
    assert interface["ListenPort"] == "51820"
    allowed = {values["PublicKey"]: values["AllowedIPs"] for name, values in sections[1:]}
    plan = routed_plan
    assert allowed == {
        plan.peer("alice").public_key: f"{plan.peer('alice').address}/32",
        plan.peer("dev").public_key: f"{plan.peer('dev').address}/32, 10.10.0.0/16",
        plan.peer("prod").public_key: f"{plan.peer('prod').address}/32, 10.20.0.0/16, 10.21.0.0/16",
    }


def test_hub_dials_and_keeps_alive_only_peers_with_an_endpoint(routed_plan) -> None:
    sections = parse_sections(render_hub_config(routed_plan, "/etc/wireguard/cc.key"))
    by_key = {values["PublicKey"]: values for name, values in sections[1:]}
    prod = by_key[routed_plan.peer("prod").public_key]
    assert prod["Endpoint"] == "prod.example.org:51821"
    assert prod["PersistentKeepalive"] == "25"
    assert "Endpoint" not in by_key[routed_plan.peer("dev").public_key]
    assert "PersistentKeepalive" not in by_key[routed_plan.peer("dev").public_key]


def test_peer_routes_the_mesh_and_every_other_network_to_the_hub(routed_plan) -> None:
    sections = parse_sections(render_peer_config(routed_plan, "dev", "/etc/wireguard/dev.key"))
    assert [name for name, _ in sections] == ["Interface", "Peer"]
    interface, hub_section = sections[0][1], sections[1][1]
    assert interface["Address"] == f"{routed_plan.peer('dev').address}/24"
    assert interface["MTU"] == "1420"
    assert "ListenPort" not in interface
    assert hub_section == {
        "PublicKey": HUB_KEY.public_key,
        # Its own 10.10.0.0/16 is not routed back into the tunnel.
        "AllowedIPs": "10.251.0.0/24, 10.5.0.0/16, 10.20.0.0/16, 10.21.0.0/16",
        "Endpoint": "cc.example.org:51820",
        "PersistentKeepalive": "25",
    }


def test_peer_with_an_endpoint_listens_on_its_port(routed_plan) -> None:
    interface = parse_sections(render_peer_config(routed_plan, "prod", "/k/prod.key"))[0][1]
    assert interface["ListenPort"] == "51821"


def test_wg_quick_config_loads_the_key_in_post_up_and_rearms_keepalive(routed_plan) -> None:
    interface = parse_sections(render_peer_config(routed_plan, "dev", "/etc/wireguard/%i.key"))[0][1]
    hub_key = HUB_KEY.public_key
    assert interface["PostUp"] == (
        f"wg set %i private-key /etc/wireguard/%i.key peer {hub_key} persistent-keepalive 0 "
        f"peer {hub_key} persistent-keepalive 25"
    )


def test_setconf_config_has_only_keys_wg_setconf_accepts(routed_plan) -> None:
    accepted = {
        "Interface": {"ListenPort", "FwMark"},
        "Peer": {"PublicKey", "AllowedIPs", "Endpoint", "PersistentKeepalive"},
    }
    texts = [render_hub_config(routed_plan, "/k/cc.key", flavour=ConfigFlavour.SETCONF)]
    texts += [
        render_peer_config(routed_plan, p.name, "/k/p.key", flavour=ConfigFlavour.SETCONF)
        for p in routed_plan.peers
    ]
    for text in texts:
        for name, values in parse_sections(text):
            assert set(values) <= accepted[name], text


def test_setconf_config_names_what_the_caller_must_apply(routed_plan) -> None:
    text = render_peer_config(routed_plan, "dev", "/etc/wireguard/%i.key", flavour=ConfigFlavour.SETCONF)
    settings_ = interface_settings(routed_plan, "dev")
    assert f"# address {settings_.address}, MTU 1420, routes 10.5.0.0/16, 10.20.0.0/16, 10.21.0.0/16." in text
    assert "wg set IF private-key /etc/wireguard/IF.key" in text


@PROPERTY_SETTINGS
@given(peer_sets(max_size=8), st.sampled_from(list(ConfigFlavour)))
def test_rendered_configs_never_contain_a_private_key(
    case: tuple[str, dict[str, PeerSpec]], flavour: ConfigFlavour
) -> None:
    cidr, peers = case
    plan = plan_mesh(mesh(peers, cidr=cidr))
    texts = [render_hub_config(plan, "/etc/wireguard/hub.key", flavour=flavour)]
    texts += [render_peer_config(plan, name, "/etc/wireguard/%i.key", flavour=flavour) for name in peers]
    for text in texts:
        assert private_keys_in(text) == []
        assert "PrivateKey" not in text
        assert next(name for name, _ in parse_sections(text)) == "Interface"
        # Plain INI as well (configparser merges the repeated [Peer] sections, hence strict=False).
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read_string(text)
        assert parser.sections() == ["Interface", "Peer"]


def test_private_key_reference_that_is_a_key_is_refused_without_echoing_it(routed_plan) -> None:
    secret = PEER_KEYS[0].private_key
    with pytest.raises(MeshPlanError, match="looks like a key") as raised:
        render_peer_config(routed_plan, "dev", secret)
    assert secret not in str(raised.value)
    with pytest.raises(MeshPlanError, match="absolute path") as raised:
        render_peer_config(routed_plan, "dev", secret + "\n")
    assert secret not in str(raised.value)


def test_private_key_command_targets_the_given_interface(routed_plan) -> None:
    hub_command = private_key_command(routed_plan, "control-center", "/k/cc.key", "wg0")
    prod_key = routed_plan.peer("prod").public_key
    assert hub_command == (
        "wg", "set", "wg0", "private-key", "/k/cc.key",
        "peer", prod_key, "persistent-keepalive", "0", "peer", prod_key, "persistent-keepalive", "25",
    )  # fmt: skip


def test_private_key_command_puts_the_interface_into_a_templated_key_path(routed_plan) -> None:
    command = private_key_command(routed_plan, "alice", "/etc/wireguard/%i.key", "wg-mesh")
    assert command[:5] == ("wg", "set", "wg-mesh", "private-key", "/etc/wireguard/wg-mesh.key")
    assert private_key_command(routed_plan, "alice", "/etc/wireguard/%i.key")[4] == "/etc/wireguard/%i.key"


def test_config_with_private_key_adds_it_to_the_interface_section_only(routed_plan) -> None:
    text = render_peer_config(routed_plan, "dev", "/k/dev.key", flavour=ConfigFlavour.SETCONF)
    completed = config_with_private_key(text, PEER_KEYS[0].private_key)
    sections = parse_sections(completed)
    assert sections[0][1]["PrivateKey"] == PEER_KEYS[0].private_key
    assert all("PrivateKey" not in values for _, values in sections[1:])
    with pytest.raises(MeshPlanError, match="already sets a PrivateKey"):
        config_with_private_key(completed, PEER_KEYS[0].private_key)


def test_config_with_private_key_refuses_a_bad_key_without_echoing_it(routed_plan) -> None:
    text = render_peer_config(routed_plan, "dev", "/k/dev.key", flavour=ConfigFlavour.SETCONF)
    bad = non_canonical(PEER_KEYS[0].private_key)
    with pytest.raises(InvalidKeyError) as raised:
        config_with_private_key(text, bad)
    assert bad not in str(raised.value)


def test_adding_a_peer_without_networks_leaves_existing_peer_configs_unchanged(routed_plan) -> None:
    specs = {
        "dev": peer(0, allowed_ips=("10.10.0.0/16",)),
        "prod": peer(1, allowed_ips=("10.20.0.0/16", "10.21.0.0/16"), endpoint="prod.example.org:51821"),
        "alice": peer(2, "operator"),
    }
    grown = plan_mesh(mesh({**specs, "bob": peer(3, "operator")}, hub=hub(allowed_ips=("10.5.0.0/16",))),
                      previous=routed_plan.ledger())  # fmt: skip
    for name in specs:
        for flavour in ConfigFlavour:
            assert render_peer_config(grown, name, KEY_REF, flavour=flavour) == render_peer_config(
                routed_plan, name, KEY_REF, flavour=flavour
            )
    old_hub, new_hub = (parse_sections(render_hub_config(p, "/k/cc.key")) for p in (routed_plan, grown))
    assert new_hub[0] == old_hub[0]
    assert [s for s in new_hub if s not in old_hub] == [
        ("Peer", {"PublicKey": grown.peer("bob").public_key, "AllowedIPs": f"{grown.peer('bob').address}/32"})
    ]


def test_adding_a_peer_with_networks_changes_only_the_hub_route_lines_of_others(routed_plan) -> None:
    specs = {
        "dev": peer(0, allowed_ips=("10.10.0.0/16",)),
        "prod": peer(1, allowed_ips=("10.20.0.0/16", "10.21.0.0/16"), endpoint="prod.example.org:51821"),
        "alice": peer(2, "operator"),
        "test": peer(3, allowed_ips=("10.30.0.0/16",)),
    }
    grown = plan_mesh(mesh(specs, hub=hub(allowed_ips=("10.5.0.0/16",))), previous=routed_plan.ledger())
    old = render_peer_config(routed_plan, "alice", KEY_REF).splitlines()
    new = render_peer_config(grown, "alice", KEY_REF).splitlines()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [
        (
            "AllowedIPs = 10.251.0.0/24, 10.5.0.0/16, 10.10.0.0/16, 10.20.0.0/16, 10.21.0.0/16",
            "AllowedIPs = 10.251.0.0/24, 10.5.0.0/16, 10.10.0.0/16, 10.20.0.0/16, 10.21.0.0/16, 10.30.0.0/16",
        )
    ]


def test_rendering_an_unknown_peer_names_the_known_ones(routed_plan) -> None:
    with pytest.raises(MeshPlanError, match=r"peer 'qa' is not in the mesh \(peers: alice, dev, prod\)"):
        render_peer_config(routed_plan, "qa", KEY_REF)


# --- keys -------------------------------------------------------------------------------------------------


def wg(*args: str, input: str) -> str:
    binary = shutil.which("wg")
    if binary is None:
        pytest.fail("the 'wg' binary is missing: apt-get install wireguard-tools")
    return subprocess.run(
        [binary, *args], input=input, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_generated_keys_are_accepted_by_wg_pubkey_with_the_same_public_key() -> None:
    for pair in KEYS[:5]:
        assert wg("pubkey", input=pair.private_key + "\n") == pair.public_key


def test_public_key_of_a_wg_genkey_key_matches_wg_pubkey() -> None:
    for _ in range(5):
        private_key = wg("genkey", input="")
        assert public_key_from_private(private_key) == wg("pubkey", input=private_key + "\n")


def test_keys_refused_here_are_refused_by_wg_too() -> None:
    binary = shutil.which("wg")
    if binary is None:
        pytest.fail("the 'wg' binary is missing: apt-get install wireguard-tools")
    for bad in (non_canonical(KEYS[0].private_key), KEYS[0].private_key[:-1], "A" * 44):
        assert not is_valid_public_key(bad)
        refused = subprocess.run(
            [binary, "pubkey"], input=bad + "\n", capture_output=True, text=True, check=False
        )
        assert refused.returncode != 0


def test_generated_private_keys_are_clamped_like_wg_genkey() -> None:
    import base64

    for pair in KEYS[:10]:
        raw = base64.b64decode(pair.private_key)
        assert raw[0] & 7 == 0 and raw[31] & 128 == 0 and raw[31] & 64 == 64


def test_key_pair_repr_leaves_the_private_key_out() -> None:
    pair = generate_keypair()
    assert pair.private_key not in repr(pair)
    assert pair.public_key in repr(pair)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "short",
        HUB_KEY.public_key[:-1],
        HUB_KEY.public_key + "=",
        HUB_KEY.public_key.replace("=", "A"),
        "@" * 43 + "=",
        None,
        non_canonical(HUB_KEY.public_key),
    ],
)
def test_malformed_public_keys_are_rejected(key: object) -> None:
    expected_valid = isinstance(key, str) and key == HUB_KEY.public_key
    assert is_valid_public_key(key) is expected_valid
    assert is_valid_public_key(HUB_KEY.public_key)


def test_public_key_from_private_refuses_garbage_without_echoing_it() -> None:
    with pytest.raises(InvalidKeyError) as raised:
        public_key_from_private("not a key at all, but secret-ish")
    assert "secret-ish" not in str(raised.value)


# --- health -----------------------------------------------------------------------------------------------


def test_handshake_ages_are_computed_from_wg_show_output() -> None:
    a, b, c = (k.public_key for k in KEYS[:3])
    output = f"{a}\t1700000000\n{b}\t0\n{c}\t1700000100\n"
    assert parse_latest_handshakes(output, now=1700000150) == {a: 150.0, b: None, c: 50.0}


def test_handshake_in_the_future_counts_as_just_now() -> None:
    a = KEYS[0].public_key
    assert parse_latest_handshakes(f"{a}\t1700000100\n", now=1700000000) == {a: 0.0}


def test_empty_wg_show_output_means_no_peers() -> None:
    assert parse_latest_handshakes("", now=1.0) == {}


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (f"wg0\t{KEYS[0].public_key}\t1700000000\n", "wg show all"),
        (f"{KEYS[0].public_key} soon\n", "line 1 is not"),
        ("garbage\t1700000000\n", "line 1 is not"),
    ],
)
def test_unreadable_wg_show_output_is_refused(output: str, message: str) -> None:
    with pytest.raises(HandshakeOutputError, match=message):
        parse_latest_handshakes(output, now=1700000000)


def test_health_is_healthy_stale_or_never_by_handshake_age() -> None:
    ages = {"a": 0.0, "b": 180.0, "c": 180.5, "d": None}
    assert assess_peer_health(ages) == {
        "a": PeerHealth.HEALTHY,
        "b": PeerHealth.HEALTHY,
        "c": PeerHealth.STALE,
        "d": PeerHealth.NEVER,
    }
    assert assess_peer_health({"a": 30.0}, max_age=10) == {"a": PeerHealth.STALE}


def test_hub_health_names_peers_and_reports_unapplied_ones_as_never(routed_plan) -> None:
    ages = {routed_plan.peer("dev").public_key: 12.0, routed_plan.peer("prod").public_key: 900.0}
    assert hub_peer_health(routed_plan, ages) == {
        "alice": PeerHealth.NEVER,
        "dev": PeerHealth.HEALTHY,
        "prod": PeerHealth.STALE,
    }


def test_peer_kind_accepts_the_plain_strings_of_the_config() -> None:
    plan = plan_mesh(mesh({"dev": peer(0, kind="environment"), "alice": peer(1, kind=PeerKind.OPERATOR)}))
    assert {p.name: p.kind for p in plan.peers} == {"dev": PeerKind.ENVIRONMENT, "alice": PeerKind.OPERATOR}
