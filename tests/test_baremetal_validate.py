"""validate_inventory stops a broken inventory before any host is touched, with a message naming the fault;
`mojactl baremetal check` passes on a good one and changes nothing.

The broken inventories name a host with Ansible's local connection: validation runs on the controller
and fails first, so no task ever runs on it. The good inventory is checked against a real systemd
container through the Ansible podman connection.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mojaloop_iac.baremetal import actions
from mojaloop_iac.baremetal.runner import ProgressEvent
from tests.support.podman import Target, TargetPool, podman_env, target_image  # noqa: F401

VALIDATE_PLAY = "Validate the inventory before anything changes"


def inventory(server_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """The shape mojaloop_iac.planners.inventory renders."""
    server = {
        "ansible_connection": "local",
        "node_pool": "general",
        "node_labels": {"workload-class.mojaloop.io/CENTRAL-LEDGER-SVC": "enabled"},
        "node_taints": ["moja-enabled=true:NoSchedule"],
        **(server_vars or {}),
    }
    return {
        "all": {
            "vars": {
                "mojaloop_environment": "demo",
                "k3s_version": "v1.28.15+k3s1",
                "k3s_install_script_url": "https://get.k3s.io",
                "k3s_install_script_sha256": "0" * 64,
                "k3s_binary_url": "",
                "k3s_ha_embedded_etcd": False,
                "k3s_extra_config": {},
                "registry_mirror": "",
                "cluster_cidr": "10.42.0.0/16",
                "service_cidr": "10.43.0.0/16",
                "nodeports": [31443, 31080, 31081, 32443, 32080, 32081],
                "wireguard": {"enabled": False, "interface": "wg0", "listen_port": 51820},
            },
            "children": {"k3s_servers": {"hosts": {"node1": server}}, "k3s_agents": {"hosts": {}}},
        }
    }


def without_agents_group(inv: dict[str, Any]) -> None:
    del inv["all"]["children"]["k3s_agents"]


def with_two_servers(inv: dict[str, Any]) -> None:
    servers = inv["all"]["children"]["k3s_servers"]["hosts"]
    servers["node2"] = copy.deepcopy(servers["node1"])


def with_ha_on_one_server(inv: dict[str, Any]) -> None:
    inv["all"]["vars"]["k3s_ha_embedded_etcd"] = True


def with_server_vars(**server_vars: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(inv: dict[str, Any]) -> None:
        inv["all"]["children"]["k3s_servers"]["hosts"]["node1"].update(server_vars)

    return mutate


def with_vars(**variables: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(inv: dict[str, Any]) -> None:
        inv["all"]["vars"].update(variables)

    return mutate


def with_bad_host_name(inv: dict[str, Any]) -> None:
    hosts = inv["all"]["children"]["k3s_servers"]["hosts"]
    hosts["Node_1"] = hosts.pop("node1")


BROKEN = {
    "agents group missing": (without_agents_group, "The inventory has no group k3s_agents"),
    "two servers": (with_two_servers, "k3s_servers has 2 host(s) (node1, node2): use 1 or 3 servers"),
    "HA with one server": (with_ha_on_one_server, "set k3s_ha_embedded_etcd to true with three servers"),
    "taint without a valid effect": (
        with_server_vars(node_taints=["moja-enabled=true:NoSchedul"]),
        "node1: node_taints must be a list of 'key=value:Effect' strings",
    ),
    "label value not a string": (
        with_server_vars(node_labels={"workload-class.mojaloop.io/MONITORING": True}),
        "invalid: workload-class.mojaloop.io/MONITORING",
    ),
    "label key with a bad prefix": (with_server_vars(node_labels={"-bad.io/x": "y"}), "invalid: -bad.io/x"),
    "variable no longer read": (
        with_vars(extra_server_args="--disable traefik"),
        "'extra_server_args' is no longer read: put k3s server options in k3s_extra_config",
    ),
    "unpinned k3s": (with_vars(k3s_version="latest"), "k3s_version 'latest' is not a k3s release tag"),
    "two installer sources": (
        with_vars(k3s_install_script_path="/srv/mirror/k3s-install.sh"),
        "Set exactly one of k3s_install_script_url",
    ),
    "NodePort outside the range": (with_vars(nodeports=[443, 31443]), "offending: 443"),
    "host name not a node name": (with_bad_host_name, "'Node_1' is not a valid Kubernetes node name"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_validate_inventory_rejects_a_broken_inventory_with_its_message(case: str, tmp_path: Path):
    mutate, message = BROKEN[case]
    broken = inventory()
    mutate(broken)
    events: list[ProgressEvent] = []
    result = actions.apply(broken, tmp_path, event_handler=events.append)
    assert not result.succeeded
    assert any(message in failure for failure in result.failed_messages), result.failed_messages
    # Nothing ran past validation: no other play started, nothing changed.
    assert {e.play for e in events if e.kind == "play"} == {VALIDATE_PLAY}
    assert all(host.changed == 0 for host in result.hosts.values())


@pytest.fixture(scope="module")
def podman_target(target_image: str) -> Iterator[Target]:  # noqa: F811
    pool = TargetPool(target_image)
    try:
        network = pool.network("check")
        (target,) = pool.start(["node1"], network=network)
        yield target
    finally:
        pool.close()


@pytest.mark.slow
def test_check_reaches_the_hosts_and_changes_nothing(podman_target: Target, tmp_path: Path):
    good = inventory(server_vars=podman_target.host_vars())
    events: list[ProgressEvent] = []
    result = actions.check(good, tmp_path, event_handler=events.append)
    assert result.succeeded, result.failed_messages
    assert result.hosts["node1"].changed == 0 and result.hosts["node1"].failed == 0
    reached = [e for e in events if e.task == "Reach each host and its Python interpreter" and e.kind == "ok"]
    assert [e.host for e in reached] == ["node1"]
    assert not podman_target.exists("/etc/modules-load.d/mojaloop-iac-kubernetes.conf")
    assert not podman_target.exists("/etc/rancher")
