"""The guards that keep test traffic on the machine refuse an off-machine target before a packet is sent.

The route guard is exercised where it matters, in the harness's own SSH path (`SshAccess.ssh_argv`), run
inside a network namespace this test builds: a "client" whose default route leads to an "outside"
namespace standing in for whatever lies beyond the machine. The outside's receive counter must not
move. A control run without the guard shows that the same connection attempt does put packets on that
link, so the test would fail if the check were removed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mojaloop_iac.paths import REPO_ROOT
from tests.support import network_guard
from tests.support.netns import Namespace, NetnsLab
from tests.support.network_guard import OffMachineTraffic, require_local_route

pytestmark = pytest.mark.slow

OFF_MACHINE = "192.0.2.10"  # TEST-NET-1: stands for any address beyond the machine
CLIENT = "10.77.0.2"
OUTSIDE = "10.77.0.1"


@dataclass(frozen=True)
class Estate:
    client: Namespace
    outside: Namespace
    client_link: str
    outside_bridge: str
    work: Path

    def outside_received(self) -> int:
        stats = Path("/proc/net/dev")  # per namespace: read it from inside the outside namespace
        text = self.outside.run("cat", str(stats)).stdout
        for line in text.splitlines():
            name, _, counters = line.partition(":")
            if name.strip() == self.outside_bridge:
                return int(counters.split()[1])  # receive packets
        raise AssertionError(f"{self.outside_bridge} not in {text}")


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[Estate]:
    with NetnsLab(tmp_path / "lab", prefix="guard") as lab:
        client, outside = lab.namespace("client"), lab.namespace("outside")
        for namespace in (client, outside):
            # No IPv6 router solicitations or DAD: the outside link stays silent unless something is sent.
            namespace.sysctl("net.ipv6.conf.all.disable_ipv6", "1")
            namespace.sysctl("net.ipv6.conf.default.disable_ipv6", "1")
        bridge = lab.bridge(outside, f"{OUTSIDE}/24")
        lab.attach(outside, bridge, client, f"{CLIENT}/24")
        client.run("ip", "route", "add", "default", "via", OUTSIDE)
        client_link = client.run("ip", "-o", "-4", "addr", "show", "to", CLIENT).stdout.split()[1]
        yield Estate(client=client, outside=outside, client_link=client_link, outside_bridge=bridge, work=tmp_path)


def run_in(namespace: Namespace, script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return namespace.run(sys.executable, "-c", textwrap.dedent(script), env=env, timeout=60, check=False)


HARNESS_SSH = """
    import subprocess, sys
    from pathlib import Path
    from tests.support.network_guard import OffMachineTraffic
    from tests.support.podman import SshAccess, Target

    target = Target(name="ghost", container="none", container_id="none", address="{address}",
                    network_interface="{interface}", ssh_host="{address}", ssh_port=22)
    try:
        argv = SshAccess(Path("{work}")).ssh_argv(target, ["-o", "ConnectTimeout=2", "-o", "BatchMode=yes"], ["true"])
    except OffMachineTraffic as refused:
        print(refused)
        sys.exit(10)
    subprocess.run(argv, capture_output=True, timeout=30)
    sys.exit(0)
"""


def test_an_address_routed_off_the_machine_is_refused_before_any_packet(estate: Estate):
    before = estate.outside_received()
    done = run_in(estate.client, HARNESS_SSH.format(address=OFF_MACHINE, interface=estate.client_link, work=estate.work))
    assert done.returncode == 10, done.stdout + done.stderr
    message = done.stdout
    assert OFF_MACHINE in message and f"via {OUTSIDE}" in message  # the address and the route found
    assert "netavark" in message  # what to install
    assert estate.outside_received() == before, "packets reached the outside link"


def test_without_the_guard_the_same_attempt_puts_packets_on_the_outside_link(estate: Estate):
    """The control: what the guard prevents is observable, so removing the check fails the test above."""
    before = estate.outside_received()
    estate.client.run("ssh", "-o", "ConnectTimeout=2", "-o", "BatchMode=yes", f"nobody@{OFF_MACHINE}", "true",
                      check=False, timeout=30)
    assert estate.outside_received() > before


def test_an_address_directly_on_a_network_the_test_created_is_allowed(estate: Estate):
    route = require_local_route(OUTSIDE, [estate.client_link], namespace=estate.client.name)
    assert route.device == estate.client_link and route.gateway is None
    # The same address is refused when the link is not one the caller says it created.
    with pytest.raises(OffMachineTraffic, match=OUTSIDE):
        require_local_route(OUTSIDE, [], namespace=estate.client.name)


def test_no_route_at_all_is_refused_with_what_to_install(estate: Estate):
    estate.client.run("ip", "route", "del", "default")
    with pytest.raises(OffMachineTraffic, match="no route") as refused:
        require_local_route(OFF_MACHINE, [estate.client_link], namespace=estate.client.name)
    assert "netavark" in str(refused.value)


def test_loopback_is_always_allowed():
    assert require_local_route("127.0.0.1").is_loopback
    assert require_local_route("127.8.9.10").is_loopback


def test_the_test_process_cannot_connect_or_resolve_off_the_machine():
    with pytest.raises(OffMachineTraffic, match=OFF_MACHINE):
        socket.create_connection((OFF_MACHINE, 22), timeout=1)
    with pytest.raises(OffMachineTraffic, match="vault.int.cc.mojaloop.example"):
        socket.getaddrinfo("vault.int.cc.mojaloop.example", 443)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(OffMachineTraffic):
        udp.sendto(b"x", (OFF_MACHINE, 53))
    # Each refusal was recorded too, so a test that swallows the error still fails; take them here.
    assert len(network_guard._GUARD.take_violations()) == 3


def test_loopback_and_registered_networks_are_reachable_from_the_test_process():
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname(), timeout=1).close()
    assert socket.getaddrinfo("localhost", 80)
    with network_guard.allow_network("10.77.0.0/24"):
        assert network_guard._GUARD.allows(CLIENT)
    assert not network_guard._GUARD.allows(CLIENT)
