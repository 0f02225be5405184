"""The k3s configuration dicts the k3s_server and k3s_agent roles write, for the layouts the containers
cannot show: three HA servers with embedded etcd, and a load-balanced API endpoint.

Ansible evaluates the roles' own defaults and vars for each host of an inventory, with controller-side
tasks only (include_vars, set_stats): no host is contacted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from mojaloop_iac.baremetal.runner import run_playbook
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from mojaloop_iac.paths import PLAYBOOKS_DIR
from mojaloop_iac.planners.inventory import baremetal_api_endpoint, plan_inventory

ROLES = PLAYBOOKS_DIR / "roles"
RENDER_PLAYBOOK = f"""
- name: Render the k3s configuration of every node
  hosts: k3s_servers:k3s_agents
  gather_facts: false
  tasks:
    - name: Load the server role's defaults and vars
      ansible.builtin.include_vars: "{{{{ item }}}}"
      loop: ["{ROLES}/k3s_server/defaults/main.yml", "{ROLES}/k3s_server/vars/main.yml"]
      when: inventory_hostname in groups['k3s_servers']
    - name: Load the agent role's vars
      ansible.builtin.include_vars: "{ROLES}/k3s_agent/vars/main.yml"
      when: inventory_hostname in groups['k3s_agents']
    - name: Report the configuration
      ansible.builtin.set_stats:
        data:
          configs: "{{{{ {{inventory_hostname: k3s_server_config | default(k3s_agent_config | default({{}}))}} }}}}"
"""


def render(tmp_path: Path, inventory: dict[str, Any]) -> dict[str, dict[str, Any]]:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "ansible.cfg").write_text((PLAYBOOKS_DIR / "ansible.cfg").read_text())
    (playbooks / "roles").symlink_to(ROLES)
    (playbooks / "render.yml").write_text(RENDER_PLAYBOOK)
    result = run_playbook("render.yml", inventory, tmp_path / "run", playbooks_dir=playbooks)
    assert result.succeeded, result.failed_messages
    return result.reported["configs"]


def ha_inventory(**extra_vars: Any) -> dict[str, Any]:
    def node(address: str, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "ansible_connection": "local",
            "ansible_host": address,
            "node_labels": labels,
            "node_taints": [],
        }

    return {
        "all": {
            "vars": {
                "mojaloop_environment": "prod",
                "k3s_ha_embedded_etcd": True,
                "k3s_extra_config": {"etcd-snapshot-retention": 10},
                "cluster_cidr": "10.42.0.0/16",
                "service_cidr": "10.43.0.0/16",
                **extra_vars,
            },
            "children": {
                "k3s_servers": {
                    "hosts": {
                        "cp1": node("10.0.0.11", {"role": "cp"}),
                        "cp2": node("10.0.0.12", {"role": "cp"}),
                        "cp3": node("10.0.0.13", {"role": "cp"}),
                    }
                },
                "k3s_agents": {
                    "hosts": {
                        "w1": node("10.0.0.21", {"workload-class.mojaloop.io/KAFKA-DATA-PLANE": "enabled"})
                    }
                },
            },
        }
    }


def test_first_ha_server_initialises_etcd_and_the_others_join_it(tmp_path: Path):
    configs = render(tmp_path, ha_inventory())
    assert configs["cp1"]["cluster-init"] is True and "server" not in configs["cp1"]
    for joining in ("cp2", "cp3"):
        assert configs[joining]["server"] == "https://10.0.0.11:6443"
        assert "cluster-init" not in configs[joining]
    for server, address in (("cp1", "10.0.0.11"), ("cp2", "10.0.0.12"), ("cp3", "10.0.0.13")):
        # The endpoint (here the first server) and the server's own address, whichever a client dials.
        assert configs[server]["tls-san"] == list(dict.fromkeys(["10.0.0.11", address]))
        assert configs[server]["etcd-snapshot-retention"] == 10
        assert configs[server]["node-name"] == server and configs[server]["node-label"] == ["role=cp"]
    assert configs["w1"] == {
        "node-name": "w1",
        "server": "https://10.0.0.11:6443",
        "token-file": "/etc/rancher/k3s/cluster-token",
        "node-label": ["workload-class.mojaloop.io/KAFKA-DATA-PLANE=enabled"],
        "node-taint": [],
        "kubelet-arg": [],
        "etcd-snapshot-retention": 10,
    }


def test_a_load_balanced_endpoint_is_used_by_joining_nodes_and_certificates(tmp_path: Path):
    configs = render(tmp_path, ha_inventory(k3s_api_endpoint="api.prod.example.com"))
    assert configs["cp2"]["server"] == "https://api.prod.example.com:6443"
    assert configs["w1"]["server"] == "https://api.prod.example.com:6443"
    assert configs["cp1"]["tls-san"] == ["api.prod.example.com", "10.0.0.11"]


def test_servers_encrypt_secrets_write_an_audit_log_and_turn_on_the_stacks_feature_gates(tmp_path: Path):
    configs = render(tmp_path, ha_inventory(k3s_feature_gates=["SidecarContainers=true"]))
    for server in ("cp1", "cp2", "cp3"):
        assert configs[server]["secrets-encryption"] is True
        arguments = configs[server]["kube-apiserver-arg"]
        assert "audit-policy-file=/etc/rancher/k3s/audit-policy.yaml" in arguments
        assert "audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log" in arguments
        assert "feature-gates=SidecarContainers=true" in arguments
        assert configs[server]["kubelet-arg"] == ["feature-gates=SidecarContainers=true"]
    assert configs["w1"]["kubelet-arg"] == ["feature-gates=SidecarContainers=true"]
    (tmp_path / "none").mkdir()
    without = render(tmp_path / "none", ha_inventory())
    assert not [a for a in without["cp1"]["kube-apiserver-arg"] if a.startswith("feature-gates")]


def test_a_stacks_api_endpoint_reaches_the_inventory_pulumi_and_vault():
    namespace = read_stack_file("demo").namespace()
    namespace["environment"]["baremetal"]["apiEndpoint"] = "api.demo.example"
    cluster = validate_namespace(namespace).config.cluster
    assert plan_inventory(cluster)["all"]["vars"]["k3s_api_endpoint"] == "api.demo.example"
    assert baremetal_api_endpoint(cluster) == "https://api.demo.example:6443"


def test_single_server_runs_without_etcd_options_and_extra_config_wins(tmp_path: Path):
    inventory = ha_inventory(k3s_ha_embedded_etcd=False, k3s_extra_config={"disable": ["traefik"]})
    del inventory["all"]["children"]["k3s_servers"]["hosts"]["cp2"]
    del inventory["all"]["children"]["k3s_servers"]["hosts"]["cp3"]
    configs = render(tmp_path, inventory)
    assert "cluster-init" not in configs["cp1"] and "server" not in configs["cp1"]
    assert configs["cp1"]["disable"] == ["traefik"]  # the user's value replaces [traefik, servicelb]


METADATA_PLAYBOOK = f"""
- name: Work out which node labels and taints to apply
  hosts: k3s_servers
  gather_facts: false
  tasks:
    - name: Load the k3s_common vars
      ansible.builtin.include_vars: "{ROLES}/k3s_common/vars/main.yml"
    - name: Report what would be applied
      ansible.builtin.set_stats:
        data:
          labels: "{{{{ k3s_common_labels_to_apply }}}}"
          taints: "{{{{ k3s_common_taints_to_apply }}}}"
"""


def test_only_labels_and_taints_that_differ_from_the_running_node_are_applied(tmp_path: Path):
    # What `k3s kubectl get node node1 -o json` reports for a node registered with older inventory values.
    node = {
        "metadata": {"labels": {"kubernetes.io/hostname": "node1", "tier": "old", "zone": "a"}},
        "spec": {"taints": [{"key": "dedicated", "value": "kafka", "effect": "NoSchedule"}]},
    }
    inventory = {
        "all": {
            "children": {
                "k3s_servers": {
                    "hosts": {
                        "node1": {
                            "ansible_connection": "local",
                            "k3s_common_node_json": {"stdout": json.dumps(node)},
                            "node_labels": {"tier": "new", "zone": "a"},
                            "node_taints": ["dedicated=kafka:NoSchedule", "moja-enabled=true:NoSchedule"],
                        }
                    }
                }
            }
        }
    }
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "ansible.cfg").write_text((PLAYBOOKS_DIR / "ansible.cfg").read_text())
    (playbooks / "metadata.yml").write_text(METADATA_PLAYBOOK)
    result = run_playbook("metadata.yml", inventory, tmp_path / "run", playbooks_dir=playbooks)
    assert result.succeeded, result.failed_messages
    assert result.reported == {"labels": ["tier=new"], "taints": ["moja-enabled=true:NoSchedule"]}


def test_nodes_behind_a_forwarded_ssh_port_use_their_own_address_for_the_api(tmp_path: Path):
    """sshHost/sshPort change where Ansible connects, never the address the cluster is built on."""
    namespace = read_stack_file("demo").namespace()
    for index, host in enumerate(namespace["environment"]["baremetal"]["hosts"]):
        host.update(sshHost="bastion.demo.example", sshPort=2200 + index)
    cluster = validate_namespace(namespace).config.cluster
    inventory = plan_inventory(cluster)
    servers = inventory["all"]["children"]["k3s_servers"]["hosts"]
    agents = inventory["all"]["children"]["k3s_agents"]["hosts"]
    assert {key: servers["demo-core-1"][key] for key in ("ansible_host", "ansible_port", "node_address")} == {
        "ansible_host": "bastion.demo.example",
        "ansible_port": 2200,
        "node_address": "192.0.2.11",
    }
    for hosts in (servers, agents):
        for host_vars in hosts.values():
            host_vars["ansible_connection"] = "local"
    configs = render(tmp_path, inventory)
    assert configs["demo-core-1"]["tls-san"] == ["192.0.2.11"]
    assert configs["demo-kafka-1"]["server"] == "https://192.0.2.11:6443"


def test_without_ssh_settings_ansible_connects_to_the_node_address():
    inventory = plan_inventory(validate_namespace(read_stack_file("demo").namespace()).config.cluster)
    server = inventory["all"]["children"]["k3s_servers"]["hosts"]["demo-core-1"]
    assert server["ansible_host"] == server["node_address"] == "192.0.2.11"
    assert "ansible_port" not in server


REGISTRIES_PLAYBOOK = f"""
- name: Render registries.yaml on the controller
  hosts: k3s_servers
  gather_facts: false
  tasks:
    - name: Load the os_prep defaults
      ansible.builtin.include_vars: "{ROLES}/os_prep/defaults/main.yml"
    - name: Render the template
      ansible.builtin.template:
        src: "{ROLES}/os_prep/templates/registries.yaml.j2"
        dest: "{{{{ registries_dest }}}}"
        mode: "0600"
"""


def test_a_registry_mirror_given_as_a_url_keeps_its_one_scheme(tmp_path: Path):
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "ansible.cfg").write_text((PLAYBOOKS_DIR / "ansible.cfg").read_text())
    (playbooks / "registries.yml").write_text(REGISTRIES_PLAYBOOK)
    endpoints = {}
    for given in ("mirror.cc.example:5000", "https://mirror.cc.example:5000"):
        dest = tmp_path / f"registries-{len(endpoints)}.yaml"
        inventory = {"all": {"vars": {"registry_mirror": given, "registries_dest": str(dest)},
                             "children": {"k3s_servers": {"hosts": {"node1": {
                                 "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}
        result = run_playbook("registries.yml", inventory, tmp_path / f"run-{len(endpoints)}", playbooks_dir=playbooks)
        assert result.succeeded, result.failed_messages
        endpoints[given] = yaml.safe_load(dest.read_text())["mirrors"]["docker.io"]["endpoint"]
    assert set(map(tuple, endpoints.values())) == {("https://mirror.cc.example:5000",)}
