"""The ansible-runner wrapper: inventory file, hashes, result reading, secrets kept out of artifacts.

The runs here use hosts with Ansible's local connection and inventories that fail validation, so no
play ever touches this machine: validation runs on the controller before any host is contacted.
"""

from __future__ import annotations

import copy
import json
import shutil
import signal
import stat
from pathlib import Path
from typing import Any

import pytest

from mojaloop_iac.baremetal import actions
from mojaloop_iac.baremetal.runner import (
    BaremetalRunError,
    HostResult,
    PlaybookResult,
    ProgressEvent,
    failure_message,
    inventory_hash,
    inventory_hosts,
    roles_digest,
    run_playbook,
    write_inventory,
)
from mojaloop_iac.paths import PLAYBOOKS_DIR


def inventory(**overrides: Any) -> dict[str, Any]:
    variables = {
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
        **overrides,
    }
    node = {"ansible_connection": "local", "node_pool": "general", "node_labels": {}, "node_taints": []}
    return {
        "all": {
            "vars": variables,
            "children": {"k3s_servers": {"hosts": {"node1": node}}, "k3s_agents": {"hosts": {}}},
        }
    }


def test_inventory_hash_ignores_key_order_but_not_values():
    first = inventory()
    reordered = json.loads(json.dumps(first))
    reordered["all"] = dict(reversed(list(reordered["all"].items())))
    reordered["all"]["vars"] = dict(reversed(list(reordered["all"]["vars"].items())))
    assert inventory_hash(first, PLAYBOOKS_DIR) == inventory_hash(reordered, PLAYBOOKS_DIR)
    assert inventory_hash(first, PLAYBOOKS_DIR) != inventory_hash(
        inventory(k3s_version="v1.29.10+k3s1"), PLAYBOOKS_DIR
    )


def test_inventory_hash_follows_the_role_files_and_not_lint_caches(tmp_path: Path):
    roles = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS_DIR, roles, ignore=shutil.ignore_patterns(".ansible"))
    before = inventory_hash(inventory(), roles)
    (roles / ".ansible").mkdir(exist_ok=True)
    (roles / ".ansible" / "cache.json").write_text("{}")
    assert inventory_hash(inventory(), roles) == before
    tasks = roles / "roles" / "os_prep" / "tasks" / "main.yml"
    tasks.write_text(tasks.read_text() + "\n# a change\n")
    assert inventory_hash(inventory(), roles) != before
    assert roles_digest(roles) != roles_digest(PLAYBOOKS_DIR)


def test_inventory_with_non_plain_values_is_refused():
    with pytest.raises(BaremetalRunError, match="not plain data"):
        inventory_hash(inventory(k3s_binary_path=Path("/tmp/k3s")), PLAYBOOKS_DIR)


def test_inventory_file_is_private(tmp_path: Path):
    path = write_inventory(inventory(), tmp_path / "run")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == inventory()


def test_inventory_hosts_walks_nested_groups():
    nested = {
        "all": {"hosts": {"a": {}}, "children": {"g": {"children": {"h": {"hosts": {"c": {}, "b": {}}}}}}}
    }
    assert inventory_hosts(nested) == ["a", "b", "c"]
    assert inventory_hosts(inventory()) == ["node1"]


def test_run_refuses_unknown_playbooks_and_empty_inventories(tmp_path: Path):
    with pytest.raises(BaremetalRunError, match="expected one of site.yml"):
        run_playbook("nope.yml", inventory(), tmp_path)
    empty = inventory()
    empty["all"]["children"]["k3s_servers"]["hosts"] = {}
    with pytest.raises(BaremetalRunError, match="no hosts"):
        run_playbook("site.yml", empty, tmp_path)


def test_unknown_action_names_the_known_ones(tmp_path: Path):
    with pytest.raises(ValueError, match="check, apply, upgrade, reset"):
        actions.run_action("destroy", inventory(), tmp_path)


def test_failure_message_keeps_what_a_user_needs():
    assert failure_message({"msg": "Validation of arguments failed", "argument_errors": ["missing x"]}) == (
        "Validation of arguments failed; missing x"
    )
    looped = {
        "msg": "One or more items failed",
        "results": [{"failed": False}, {"failed": True, "msg": "bad item"}],
    }
    assert failure_message(looped) == "One or more items failed; bad item"
    assert failure_message({"msg": "non-zero return code", "stderr": "a\nb\nreal reason"}) == (
        "non-zero return code; a | b | real reason"
    )
    assert failure_message({}) == "failed without a message"


def test_result_fails_when_any_host_failed():
    hosts = {"a": HostResult(ok=3), "b": HostResult(ok=1, failed=1)}
    result = PlaybookResult("site.yml", "successful", 0, hosts, (), Path("/tmp"))
    assert not result.succeeded
    assert result.recap() == [
        "a: ok=3 changed=0 failed=0 unreachable=0 skipped=0",
        "b: ok=1 changed=0 failed=1 unreachable=0 skipped=0",
    ]


def test_failed_validation_is_reported_with_its_message_and_secrets_stay_out_of_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    secret = "s3cr3t-value-that-must-not-be-recorded"
    monkeypatch.setenv("MOJALOOP_IAC_TEST_TOKEN", secret)
    handler_before = signal.getsignal(signal.SIGINT)
    events: list[ProgressEvent] = []
    result = actions.check(inventory(k3s_version="latest"), tmp_path / "run", event_handler=events.append)

    assert not result.succeeded and result.rc != 0 and result.status == "failed"
    assert any("k3s_version 'latest' is not a k3s release tag" in m for m in result.failed_messages)
    assert result.hosts["node1"].failed == 1 and result.hosts["node1"].changed == 0
    assert [e.play for e in events if e.kind == "play"] == ["Validate the inventory before anything changes"]
    assert any(e.kind == "failed" and e.host == "node1" for e in events)

    recorded = json.loads((result.artifact_dir / "command").read_text())
    assert recorded["env"]["MOJALOOP_IAC_TEST_TOKEN"] == "<redacted>"
    assert recorded["env"]["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    # ansible-runner's own signal handlers do not outlive the run.
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_a_playbook_that_cannot_start_reports_ansibles_own_words(tmp_path: Path):
    broken = tmp_path / "playbooks"
    broken.mkdir()
    (broken / "ansible.cfg").write_text("[defaults]\n")
    (broken / "site.yml").write_text("- hosts: all\n  roles: [no_such_role]\n")
    result = run_playbook("site.yml", inventory(), tmp_path / "run", playbooks_dir=broken)
    assert not result.succeeded
    assert "no_such_role" in result.failed_messages[0]


def test_check_mode_flag_reaches_ansible(tmp_path: Path):
    bad = copy.deepcopy(inventory())
    bad["all"]["children"]["k3s_servers"]["hosts"]["node1"]["node_taints"] = ["x=y:Sometimes"]
    result = run_playbook("site.yml", bad, tmp_path / "run", check=True, tags=("validate",))
    recorded = json.loads((result.artifact_dir / "command").read_text())
    assert "--check" in recorded["command"]
    assert any("x=y:Sometimes" in m for m in result.failed_messages)


def test_combined_runs_add_up_per_host_and_merge_reported_keys(tmp_path):
    from mojaloop_iac.baremetal.actions import combine
    from mojaloop_iac.baremetal.runner import HostResult, PlaybookResult

    site = PlaybookResult("site.yml", "successful", 0, {"cc-1": HostResult(ok=10, changed=2)}, (), tmp_path,
                          {"wireguard_public_keys": {"cc-1": "k1"}})
    hub = PlaybookResult("control-center-hosts.yml", "failed", 2,
                         {"cc-1": HostResult(ok=3, changed=1, failed=1)}, ("cc-1: t: boom",), tmp_path,
                         {"wireguard_public_keys": {"hub": "k2"}})
    both = combine(site, hub)
    assert both.hosts["cc-1"] == HostResult(ok=13, changed=3, failed=1)
    assert both.reported["wireguard_public_keys"] == {"cc-1": "k1", "hub": "k2"}
    assert not both.succeeded and both.failed_messages == ("cc-1: t: boom",)
