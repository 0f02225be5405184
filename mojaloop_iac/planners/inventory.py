"""The Ansible inventory of a bare-metal cluster, derived from the stack (never written by hand).

The playbooks in playbooks/ read exactly this shape: groups `k3s_servers` and `k3s_agents`, per host
`node_labels` (dict) and `node_taints` (kubespray-style `key=value:Effect` strings).
"""

from __future__ import annotations

from typing import Any

from mojaloop_iac.config.defaults import versions
from mojaloop_iac.config.models import BareMetal, ClusterSettings, ControlCenter, Host
from mojaloop_iac.planners.mesh import HUB_GROUP, hub_host_vars
from mojaloop_iac.planners.placement import node_labels, node_taints
from mojaloop_iac.planners.sidecars import SIDECAR_CONTAINERS_GATE, plan_sidecars

SERVER_GROUP = "k3s_servers"
AGENT_GROUP = "k3s_agents"
GATEWAY_NODEPORTS = (31443, 31080, 31081, 32443, 32080, 32081)
KUBERNETES_API_PORT = 6443
# k3s' bundled local-path provisioner.
BAREMETAL_STORAGE_CLASS = "local-path"


def baremetal_api_endpoint(cluster: ClusterSettings) -> str:
    """The API server of a bare-metal cluster: `apiEndpoint` (a VIP or load balancer), else the first server."""
    assert cluster.baremetal is not None
    endpoint = cluster.baremetal.api_endpoint
    if endpoint is None:
        endpoint = next(host for host in cluster.baremetal.hosts if host.role == "server").address
    address = f"[{endpoint}]" if ":" in str(endpoint) else str(endpoint)
    return f"https://{address}:{KUBERNETES_API_PORT}"


def k3s_version(cluster: ClusterSettings) -> str:
    assert cluster.baremetal is not None
    return cluster.baremetal.k3s_version or versions()["k3s"][cluster.kubernetes.version]


def connection_vars(baremetal: BareMetal) -> dict[str, str]:
    """How Ansible reaches the hosts: SSH with host keys always checked against known_hosts."""
    ssh_options = ["-o StrictHostKeyChecking=yes"]
    if baremetal.ssh_known_hosts_file:
        ssh_options.insert(0, f"-o UserKnownHostsFile={baremetal.ssh_known_hosts_file}")
    connection = {"ansible_user": baremetal.ssh_user, "ansible_ssh_common_args": " ".join(ssh_options)}
    if baremetal.ssh_private_key_file:
        connection["ansible_ssh_private_key_file"] = baremetal.ssh_private_key_file
    return connection


def host_connection_vars(host: Host) -> dict[str, Any]:
    """Where Ansible's SSH goes (`ansible_host`, `ansible_port`) and the node's own address (`node_address`),
    which the roles use for the API endpoint: the two differ behind a NAT or a forwarded port."""
    ssh_host, ssh_port = host.ssh_endpoint
    connection: dict[str, Any] = {"ansible_host": ssh_host, "node_address": str(host.address)}
    if ssh_port != 22:
        connection["ansible_port"] = ssh_port
    return connection


def k3s_source_vars(baremetal: BareMetal) -> dict[str, str]:
    """Where the installer and binary come from (a local file, for air-gapped sites, wins over a URL) and the
    installer's checksum: the pinned installer's unless the stack names another script and its sha256."""
    installer = versions()["k3sInstaller"]
    url = baremetal.k3s_install_script_url or installer["url"]
    source = {
        "k3s_install_script_url": "" if baremetal.k3s_install_script_path else url,
        "k3s_install_script_sha256": baremetal.k3s_install_script_sha256 or installer["sha256"],
        "k3s_binary_url": baremetal.k3s_binary_url,
    }
    if baremetal.k3s_install_script_path:
        source["k3s_install_script_path"] = baremetal.k3s_install_script_path
    if baremetal.k3s_binary_path:
        source["k3s_binary_path"] = baremetal.k3s_binary_path
    return source


def api_vars(baremetal: BareMetal) -> dict[str, Any]:
    """The API endpoint agents and kubeconfigs use (when not the first server), and who else may reach it."""
    api: dict[str, Any] = {"k3s_api_allowed_cidrs": [str(network) for network in baremetal.api_allowed_cidrs]}
    if baremetal.api_endpoint is not None:
        api["k3s_api_endpoint"] = str(baremetal.api_endpoint)
    return api


def feature_gates(cluster: ClusterSettings) -> list[str]:
    """Kubernetes feature gates the k3s servers and agents turn on (native sidecars on 1.28)."""
    sidecars = plan_sidecars(cluster.kubernetes.version, cluster.substrate.value, k3s_version(cluster))
    return [SIDECAR_CONTAINERS_GATE] if sidecars is not None and sidecars.feature_gate else []


def plan_inventory(cluster: ClusterSettings) -> dict[str, Any]:
    baremetal = cluster.baremetal
    if baremetal is None:
        raise ValueError(f"{cluster.name} has no bare-metal hosts: an inventory exists only for substrate baremetal")
    groups: dict[str, dict[str, Any]] = {SERVER_GROUP: {}, AGENT_GROUP: {}}
    for host in baremetal.hosts:
        pool = cluster.node_pools[host.pool]
        group = SERVER_GROUP if host.role == "server" else AGENT_GROUP
        groups[group][host.name] = {
            **host_connection_vars(host),
            "node_pool": host.pool,
            "node_labels": node_labels(host.pool, pool),
            "node_taints": node_taints(pool),
        }
    children: dict[str, Any] = {group: {"hosts": hosts} for group, hosts in groups.items()}
    if isinstance(cluster, ControlCenter):
        # The WireGuard hub host also runs control-center-hosts.yml (the hub's interface, IP forwarding).
        hub = next(h for h in baremetal.hosts if h.name == cluster.wireguard.hub.host)
        children[HUB_GROUP] = {"hosts": {hub.name: {**host_connection_vars(hub), **hub_host_vars(cluster.wireguard)}}}
    return {
        "all": {
            "vars": {
                **connection_vars(baremetal),
                "mojaloop_environment": cluster.name,
                "k3s_version": k3s_version(cluster),
                **k3s_source_vars(baremetal),
                "k3s_ha_embedded_etcd": baremetal.ha_embedded_etcd,
                **api_vars(baremetal),
                "k3s_feature_gates": feature_gates(cluster),
                "k3s_extra_config": {},
                "registry_mirror": baremetal.registry_mirror,
                "cluster_cidr": str(cluster.network.pod_cidr),
                "service_cidr": str(cluster.network.service_cidr),
                "nodeports": list(GATEWAY_NODEPORTS),
                "wireguard": {"enabled": False, "interface": "wg0", "listen_port": 51820},
            },
            "children": children,
        }
    }
