"""The bare-metal playbooks run for real against systemd containers, through the CLI's code path.

Three podman containers with systemd as PID 1 on an internal network stand in for bare-metal hosts:
`cc1`, a control-center host (the WireGuard hub), and `node1`/`node2`, a k3s server and agent. Ansible
reaches them over SSH as a sudo user with a key, as it reaches real servers (the podman connection
works too, see test_baremetal_validate, but costs about four times as long per task).

k3s itself cannot run in these containers, so the k3s roles run with the `k3s_start` steps skipped,
from a stand-in installer and binary (tests/images/k3s-standin): what is checked is everything up to
starting the service (binary and version, config.yaml, token, unit enabled and not started).

The tests share one estate and run in file order: keys first, then the planned mesh, a converged
re-run, an upgrade and finally the reset.
"""

from __future__ import annotations

import hashlib

import base64
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mojaloop_iac.baremetal import WIREGUARD_KEY_PATH, actions
from mojaloop_iac.baremetal.actions import K3S_START_TAG
from mojaloop_iac.baremetal.provider import AnsibleRunProvider, run_inputs
from mojaloop_iac.baremetal.runner import PlaybookResult
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.wireguard import (
    HubSpec,
    MeshPlan,
    MeshSpec,
    PeerSpec,
    is_valid_public_key,
    plan_mesh,
    render_hub_config,
    render_peer_config,
)
from tests.support.podman import SshAccess, Target, TargetPool, podman_env, target_image  # noqa: F401

pytestmark = pytest.mark.slow

K3S_VERSION = "v1.28.15+k3s1"
K3S_UPGRADE_VERSION = "v1.29.10+k3s1"
STANDIN_DIR = REPO_ROOT / "tests" / "images" / "k3s-standin"
MESH_CIDR = "10.99.0.0/24"
WG_KEY = "/etc/wireguard/wg0.key"
SERVER_LABELS = {"workload-class.mojaloop.io/CENTRAL-LEDGER-SVC": "enabled", "node-pool": "general"}
AGENT_LABELS = {"workload-class.mojaloop.io/CORE-HANDLERS": "enabled"}
TAINTS = ["moja-enabled=true:NoSchedule"]


@dataclass
class Estate:
    hub: Target
    server: Target
    agent: Target
    ssh: SshAccess
    work: Path

    @property
    def targets(self) -> list[Target]:
        return [self.hub, self.server, self.agent]

    def k3s_binary(self, version: str) -> Path:
        path = self.work / f"k3s-{version}"
        path.write_text((STANDIN_DIR / "k3s.in").read_text().replace("@K3S_VERSION@", version))
        path.chmod(0o755)
        return path

    def cluster_inventory(
        self, configs: dict[str, str] | None = None, k3s_version: str = K3S_VERSION
    ) -> dict[str, Any]:
        """The shape mojaloop_iac.planners.inventory renders, pointed at the containers and stand-ins."""

        def host(target: Target, labels: dict[str, str]) -> dict[str, Any]:
            return {
                **self.ssh.host_vars(target),
                "node_pool": "general",
                "node_labels": labels,
                "node_taints": TAINTS,
                **({"wireguard_peer_config": configs[target.name]} if configs else {}),
            }

        return {
            "all": {
                "vars": {
                    "mojaloop_environment": "demo",
                    "k3s_version": k3s_version,
                    # Air-gapped style: installer and binary from the controller (the real ones cannot be
                    # downloaded here).
                    "k3s_install_script_url": "",
                    "k3s_install_script_path": str(STANDIN_DIR / "install.sh"),
                    "k3s_install_script_sha256": hashlib.sha256((STANDIN_DIR / "install.sh").read_bytes()).hexdigest(),
                    "k3s_binary_url": "",
                    "k3s_binary_path": str(self.k3s_binary(k3s_version)),
                    "k3s_ha_embedded_etcd": False,
                    # Merged last: replaces the role's `disable` list.
                    "k3s_extra_config": {
                        "disable": ["traefik", "servicelb", "local-storage"],
                        "kubelet-arg": ["max-pods=150"],
                    },
                    "registry_mirror": "mirror.cc.example.com",
                    "cluster_cidr": "10.42.0.0/16",
                    "service_cidr": "10.43.0.0/16",
                    "nodeports": [31443, 31080, 31081, 32443, 32080, 32081],
                    "wireguard": {"enabled": True, "interface": "wg0", "listen_port": 51820},
                    "os_prep_ntp_servers": ["ntp.cc.example.com"],
                },
                "children": {
                    "k3s_servers": {"hosts": {"node1": host(self.server, SERVER_LABELS)}},
                    "k3s_agents": {"hosts": {"node2": host(self.agent, AGENT_LABELS)}},
                },
            }
        }

    def hub_inventory(self, configs: dict[str, str] | None = None) -> dict[str, Any]:
        hub_vars: dict[str, Any] = dict(self.ssh.host_vars(self.hub))
        if configs:
            hub_vars["wireguard_peer_config"] = configs["cc1"]
        return {
            "all": {
                "vars": {"wireguard": {"enabled": True, "interface": "wg0", "listen_port": 51820}},
                "children": {"control_center_hosts": {"hosts": {"cc1": hub_vars}}},
            }
        }

    def run_both(self, configs: dict[str, str] | None) -> tuple[PlaybookResult, PlaybookResult]:
        """control-center-hosts.yml on the hub and site.yml on the nodes, side by side as two operators would."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            hub = pool.submit(
                actions.prepare_control_center_hosts, self.hub_inventory(configs), self.work / "run-hub"
            )
            cluster = pool.submit(
                actions.apply,
                self.cluster_inventory(configs),
                self.work / "run-cluster",
                skip_tags=(K3S_START_TAG,),
            )
            return hub.result(), cluster.result()


def assert_succeeded(result: PlaybookResult) -> None:
    assert result.succeeded, (
        f"{result.playbook} failed: {result.failed_messages} (artifacts {result.artifact_dir})"
    )


@pytest.fixture(scope="module")
def estate(target_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:  # noqa: F811
    work = tmp_path_factory.mktemp("baremetal")
    ssh = SshAccess.create(work)
    pool = TargetPool(target_image)
    started: list[Target] = []
    try:
        network = pool.network("hosts")
        # On a real hub systemd-sysctl applies the role's ip_forward file at boot; /proc/sys is
        # read-only in a container, so the container gets the setting from podman instead.
        started += pool.start(["cc1"], network=network, tun=True, sysctls={"net.ipv4.ip_forward": "1"})
        started += pool.start(["node1", "node2"], network=network, tun=True)
        for target in started:
            ssh.authorize(target)
        hub, server, agent = started
        yield Estate(hub=hub, server=server, agent=agent, ssh=ssh, work=work)
    finally:
        ssh.close(started)
        pool.close()


@pytest.fixture(scope="module")
def keys_run(estate: Estate) -> tuple[PlaybookResult, PlaybookResult]:
    """First run: no WireGuard configuration yet, so each host only generates and reports its key."""
    return estate.run_both(None)


@pytest.fixture(scope="module")
def mesh(estate: Estate, keys_run: tuple[PlaybookResult, PlaybookResult]) -> tuple[MeshPlan, dict[str, str]]:
    hub_run, cluster_run = keys_run
    assert_succeeded(hub_run)
    assert_succeeded(cluster_run)
    keys = {**hub_run.reported["wireguard_public_keys"], **cluster_run.reported["wireguard_public_keys"]}
    spec = MeshSpec(
        cidr=MESH_CIDR,
        hub=HubSpec(
            name="cc1", endpoint=f"{estate.hub.address}:51820", listen_port=51820, public_key=keys["cc1"]
        ),
        peers={name: PeerSpec(kind="environment", public_key=keys[name]) for name in ("node1", "node2")},
    )
    plan = plan_mesh(spec)
    # The planner renders a PostUp that loads the key from the path the role generates it at.
    configs = {
        "cc1": render_hub_config(plan, WIREGUARD_KEY_PATH),
        "node1": render_peer_config(plan, "node1", WIREGUARD_KEY_PATH),
        "node2": render_peer_config(plan, "node2", WIREGUARD_KEY_PATH),
    }
    return plan, configs


@pytest.fixture(scope="module")
def configured_run(
    estate: Estate, mesh: tuple[MeshPlan, dict[str, str]]
) -> tuple[PlaybookResult, PlaybookResult]:
    results = estate.run_both(mesh[1])
    for result in results:
        assert_succeeded(result)
    return results


def config_yaml(target: Target) -> dict[str, Any]:
    return yaml.safe_load(target.file_text("/etc/rancher/k3s/config.yaml"))


def test_first_run_reports_each_hosts_public_key(
    estate: Estate, keys_run: tuple[PlaybookResult, PlaybookResult]
):
    hub_run, cluster_run = keys_run
    assert_succeeded(hub_run)
    assert_succeeded(cluster_run)
    reported = {**hub_run.reported["wireguard_public_keys"], **cluster_run.reported["wireguard_public_keys"]}
    assert sorted(reported) == ["cc1", "node1", "node2"]
    for target in estate.targets:
        on_host = target.shell(f"wg pubkey < {WG_KEY}").stdout.strip()
        assert reported[target.name] == on_host
        assert is_valid_public_key(on_host)
    assert len(set(reported.values())) == 3


def test_private_keys_stay_on_their_hosts(estate: Estate, configured_run):
    for target in estate.targets:
        assert target.exec("stat", "-c", "%a %U", WG_KEY).stdout.split() == ["600", "root"]
        private_key = target.exec("cat", WG_KEY).stdout.strip()
        assert len(base64.b64decode(private_key)) == 32
        assert "PrivateKey" not in target.file_text("/etc/wireguard/wg0.conf")
        # Nothing Ansible recorded (events, stdout, facts, inventories) holds the key.
        leaked = subprocess.run(
            ["grep", "-rlF", private_key, str(estate.work)], capture_output=True, text=True, check=False
        )
        assert leaked.stdout == "", f"{target.name}'s private key found in {leaked.stdout}"


def test_peers_reach_each_other_through_the_tunnel(estate: Estate, mesh, configured_run):
    plan, _ = mesh
    server_address = str(plan.peer("node1").address)
    hub_address = str(plan.hub.address)
    assert estate.server.exec("systemctl", "is-enabled", "wg-quick@wg0").stdout.strip() == "enabled"
    deadline = time.monotonic() + 20
    while True:
        # node2 -> node1 crosses the hub, which forwards between its peers.
        agent_to_server = estate.agent.exec("ping", "-c", "1", "-W", "1", server_address, check=False)
        server_to_hub = estate.server.exec("ping", "-c", "1", "-W", "1", hub_address, check=False)
        if agent_to_server.returncode == 0 and server_to_hub.returncode == 0:
            break
        assert time.monotonic() < deadline, (
            f"no tunnel traffic: {agent_to_server.stdout}{server_to_hub.stdout}"
        )
    handshakes = estate.hub.exec("wg", "show", "wg0", "latest-handshakes").stdout.split()
    assert len(handshakes) == 4 and all(int(stamp) > 0 for stamp in handshakes[1::2])


def test_os_prep_writes_the_kubernetes_node_settings(estate: Estate, configured_run):
    node = estate.server
    assert node.file_text("/etc/modules-load.d/mojaloop-iac-kubernetes.conf").split("\n")[2:5] == [
        "overlay",
        "br_netfilter",
        "iscsi_tcp",
    ]
    sysctl = node.file_text("/etc/sysctl.d/90-mojaloop-iac-kubernetes.conf")
    assert "net.ipv4.ip_forward = 1" in sysctl and "net.bridge.bridge-nf-call-iptables = 1" in sysctl
    assert re.search(
        r'blacklist \{\n\s+devnode "\^sd\[a-z0-9\]\+"\n\}', node.file_text("/etc/multipath.conf")
    )
    registries = yaml.safe_load(node.file_text("/etc/rancher/k3s/registries.yaml"))
    assert registries["mirrors"]["docker.io"] == {"endpoint": ["https://mirror.cc.example.com"]}
    assert set(registries["mirrors"]) == {"docker.io", "ghcr.io", "quay.io", "registry.k8s.io", "gcr.io"}
    assert "server ntp.cc.example.com iburst" in node.file_text("/etc/chrony/sources.d/mojaloop-iac.sources")
    # The control-center host gets no Kubernetes node settings.
    assert not estate.hub.exists("/etc/modules-load.d/mojaloop-iac-kubernetes.conf")
    assert not estate.hub.exists("/etc/rancher/k3s/registries.yaml")


def test_hardening_forbids_passwords_and_root_and_filters_ports(estate: Estate, configured_run):
    for target in estate.targets:
        effective = target.exec("sshd", "-T").stdout
        for setting in ("passwordauthentication no", "permitrootlogin no", "kbdinteractiveauthentication no"):
            assert setting in effective, f"{target.name}: {setting}"
        # The server offers public keys only, so a password login cannot even be attempted.
        attempt = subprocess.run(
            estate.ssh.ssh_argv(
                target,
                [
                    "-o",
                    "PubkeyAuthentication=no",
                    "-o",
                    "PreferredAuthentications=password,keyboard-interactive",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "ControlPath=none",
                ],
                ["true"],
            ),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert attempt.returncode != 0 and "Permission denied (publickey)" in attempt.stderr
        origins = target.exec("apt-config", "dump", "Unattended-Upgrade::Origins-Pattern").stdout
        assert re.findall(r'"(origin=[^"]+)"', origins) == [
            "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
            "origin=Debian,codename=${distro_codename},label=Debian-Security",
        ]
    server_rules = estate.server.exec("nft", "list", "table", "inet", "mojaloop_iac").stdout
    assert "policy drop" in server_rules
    # Open to any source: SSH, the gateways' NodePorts, WireGuard.
    for port in ("22", "31443", "32081"):
        assert re.search(rf"tcp dport \{{[^}}]*\b{port}\b", server_rules), port
    assert re.search(r"udp dport 51820 accept", server_rules)
    # The k3s ports only from the cluster's own nodes (the API also from the allowed networks).
    nodes = {estate.server.address, estate.agent.address}
    for protocol, port in (("tcp", "6443"), ("tcp", "10250"), ("udp", "8472")):
        (sources,) = re.findall(rf"ip saddr \{{ ([^}}]+) \}} {protocol} dport {port} accept", server_rules)
        assert set(sources.split(", ")) == nodes, (port, sources)
    assert not re.search(r"dport \{[^}]*\b(6443|10250|8472)\b", server_rules)  # never to any source
    agent_rules = estate.agent.exec("nft", "list", "table", "inet", "mojaloop_iac").stdout
    assert "6443" not in agent_rules  # only servers serve the API
    hub_rules = estate.hub.exec("nft", "list", "table", "inet", "mojaloop_iac").stdout
    assert "10250" not in hub_rules and re.search(r"udp dport 51820 accept", hub_rules)


def test_k3s_is_installed_and_configured_up_to_starting_it(estate: Estate, configured_run):
    server, agent = estate.server, estate.agent
    server_config = config_yaml(server)
    assert server_config == {
        "node-name": "node1",
        "token-file": "/etc/rancher/k3s/cluster-token",
        "write-kubeconfig-mode": "0600",
        "cluster-cidr": "10.42.0.0/16",
        "service-cidr": "10.43.0.0/16",
        "disable": ["traefik", "servicelb", "local-storage"],  # k3s_extra_config merged last
        "kubelet-arg": ["max-pods=150"],
        "tls-san": [server.address],
        "node-label": ["node-pool=general", "workload-class.mojaloop.io/CENTRAL-LEDGER-SVC=enabled"],
        "node-taint": TAINTS,
        # Secrets encrypted at rest, the API's audit log (the policy file is written beside the config).
        "secrets-encryption": True,
        "kube-apiserver-arg": [
            "audit-policy-file=/etc/rancher/k3s/audit-policy.yaml",
            "audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log",
            "audit-log-maxage=30",
            "audit-log-maxbackup=10",
            "audit-log-maxsize=100",
        ],
    }
    policy = yaml.safe_load(server.file_text("/etc/rancher/k3s/audit-policy.yaml"))
    assert policy["kind"] == "Policy" and policy["rules"][-1] == {"level": "None"}
    assert server.exec("stat", "-c", "%a", "/etc/rancher/k3s/audit-policy.yaml").stdout.strip() == "600"
    agent_config = config_yaml(agent)
    assert agent_config["server"] == f"https://{server.address}:6443"
    assert agent_config["node-label"] == ["workload-class.mojaloop.io/CORE-HANDLERS=enabled"]
    assert agent_config["node-taint"] == TAINTS and "cluster-init" not in agent_config
    for target in (server, agent):
        assert target.exec("stat", "-c", "%a", "/etc/rancher/k3s/config.yaml").stdout.strip() == "600"
        assert target.exec("stat", "-c", "%a", "/etc/rancher/k3s/cluster-token").stdout.strip() == "600"
        assert target.exec("/usr/local/bin/k3s", "--version").stdout.split()[2] == K3S_VERSION
    token = server.file_text("/etc/rancher/k3s/cluster-token")
    assert re.fullmatch(r"[0-9a-f]{64}", token) and agent.file_text("/etc/rancher/k3s/cluster-token") == token
    for target, unit, command in ((server, "k3s", "server"), (agent, "k3s-agent", "agent")):
        # Written by the installer the role ran with INSTALL_K3S_EXEC=server or agent.
        assert f"ExecStart=/usr/local/bin/k3s {command}\n" in target.file_text(
            f"/etc/systemd/system/{unit}.service"
        )
        assert target.exec("systemctl", "is-enabled", unit, check=False).stdout.strip() == "enabled"
        # Starting is the k3s_start step, skipped here: k3s cannot run in a container.
        assert target.exec("systemctl", "is-active", unit, check=False).stdout.strip() == "inactive"
    assert not (estate.work / "run-cluster" / "kubeconfig").exists()


def test_second_run_changes_nothing_and_pulumi_sees_no_diff(estate: Estate, mesh, configured_run):
    """The re-run goes through the Pulumi dynamic provider, as `pulumi up` would run it."""
    provider = AnsibleRunProvider()
    inputs = run_inputs(
        estate.cluster_inventory(mesh[1]), estate.work / "run-cluster", skip_tags=[K3S_START_TAG]
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        hub_run = pool.submit(
            actions.prepare_control_center_hosts, estate.hub_inventory(mesh[1]), estate.work / "run-hub"
        )
        created = provider.create(inputs)
        hub = hub_run.result()
    assert_succeeded(hub)
    assert {name: host.changed for name, host in hub.hosts.items()} == {"cc1": 0}
    assert {name: host["changed"] for name, host in created.outs["hosts"].items()} == {"node1": 0, "node2": 0}
    assert all(host["failed"] == 0 and host["unreachable"] == 0 for host in created.outs["hosts"].values())
    assert created.id == "baremetal-demo"
    assert set(created.outs["wireguard_public_keys"]) == {"node1", "node2"}
    assert created.outs["kubeconfig"] == ""  # k3s was not started, so there is nothing to fetch
    # Same inventory, same roles: `pulumi up` would not run the playbook again.
    again = run_inputs(
        estate.cluster_inventory(mesh[1]), estate.work / "run-cluster", skip_tags=[K3S_START_TAG]
    )
    assert provider.diff(created.id, created.outs, again).changes is False


def test_upgrade_installs_the_new_version_on_every_node(estate: Estate, mesh, configured_run):
    inventory = estate.cluster_inventory(mesh[1], k3s_version=K3S_UPGRADE_VERSION)
    result = actions.upgrade(inventory, estate.work / "run-cluster", skip_tags=(K3S_START_TAG,))
    assert_succeeded(result)
    assert all(host.changed > 0 for host in result.hosts.values())
    for target in (estate.server, estate.agent):
        assert target.exec("/usr/local/bin/k3s", "--version").stdout.split()[2] == K3S_UPGRADE_VERSION
    # Rolling: the servers' play runs one host per batch, before the agents' play.
    plays = [
        line
        for line in (result.artifact_dir / "stdout").read_text().splitlines()
        if line.startswith("PLAY [")
    ]
    assert plays == [
        "PLAY [Validate the inventory before anything changes] **************************",
        "PLAY [Upgrade the k3s servers one at a time] ***********************************",
        "PLAY [Upgrade the k3s agents one at a time] ************************************",
    ]


def test_reset_leaves_no_toolkit_files_behind(estate: Estate, mesh, configured_run):
    with ThreadPoolExecutor(max_workers=2) as pool:
        cluster_reset = pool.submit(
            actions.reset, estate.cluster_inventory(mesh[1]), estate.work / "run-cluster"
        )
        hub_reset = pool.submit(actions.reset, estate.hub_inventory(mesh[1]), estate.work / "run-hub")
        cluster, hub = cluster_reset.result(), hub_reset.result()
    assert_succeeded(cluster)
    assert_succeeded(hub)
    for target in estate.targets:
        named = target.exec(
            "find",
            "/etc",
            "/usr/local",
            "/var/lib",
            "-name",
            "*mojaloop-iac*",
            "-o",
            "-name",
            "*mojaloop_iac*",
        ).stdout
        assert named == "", f"{target.name}: {named}"
        marked = target.exec("grep", "-rlI", "mojaloop-iac", "/etc", "/usr/local", check=False).stdout
        assert marked == "", f"{target.name}: files still carry the toolkit's marker: {marked}"
        for path in (
            "/usr/local/bin/k3s",
            "/usr/local/bin/k3s-install.sh",
            "/usr/local/bin/kubectl",
            "/etc/rancher",
            "/var/lib/rancher",
            "/etc/systemd/system/k3s.service",
            "/etc/systemd/system/k3s-agent.service",
            "/etc/wireguard/wg0.key",
            "/etc/wireguard/wg0.conf",
            "/etc/multipath.conf",
        ):
            assert not target.exists(path), f"{target.name}: {path} is still there"
        assert "mojaloop_iac" not in target.exec("nft", "list", "tables").stdout
        assert target.exec("ip", "link", "show", "wg0", check=False).returncode != 0
        assert "passwordauthentication yes" in target.exec("sshd", "-T").stdout
