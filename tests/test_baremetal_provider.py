"""The Pulumi dynamic resource that runs site.yml: when it re-runs, what it outputs, what stays secret.

create() runs for real against the containers in test_baremetal_hosts (the converged re-run); here are
the pure parts: diff, check, and the resource's declared secret output under Pulumi mocks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from mojaloop_iac.baremetal.provider import (
    AnsibleRun,
    AnsibleRunProvider,
    changed_triggers,
    resource_options,
    run_inputs,
)
from mojaloop_iac.baremetal.runner import inventory_hash, roles_digest
from mojaloop_iac.paths import PLAYBOOKS_DIR


def inventory(version: str = "v1.28.15+k3s1") -> dict[str, Any]:
    return {
        "all": {
            "vars": {"mojaloop_environment": "demo", "k3s_version": version},
            "children": {"k3s_servers": {"hosts": {"node1": {"ansible_host": "192.168.56.11"}}}},
        }
    }


def test_no_diff_when_inventory_and_roles_are_unchanged(tmp_path: Path):
    olds = run_inputs(inventory(), tmp_path)
    diff = AnsibleRunProvider().diff("baremetal-demo", olds, run_inputs(inventory(), tmp_path))
    assert diff.changes is False and diff.replaces == []


def test_a_changed_inventory_triggers_an_update_in_place(tmp_path: Path):
    olds = run_inputs(inventory(), tmp_path)
    news = run_inputs(inventory("v1.29.10+k3s1"), tmp_path)
    diff = AnsibleRunProvider().diff("baremetal-demo", olds, news)
    assert diff.changes is True and diff.replaces == [] and diff.delete_before_replace is False
    assert changed_triggers(olds, news) == ["inventory_hash"]


def test_a_new_roles_version_triggers_an_update(tmp_path: Path):
    olds = {**run_inputs(inventory(), tmp_path), "roles_version": "0" * 64}
    assert changed_triggers(olds, run_inputs(inventory(), tmp_path)) == ["roles_version"]


def test_moving_the_run_directory_does_not_rerun_the_playbook(tmp_path: Path):
    olds = run_inputs(inventory(), tmp_path / "a")
    news = run_inputs(inventory(), tmp_path / "b")
    assert AnsibleRunProvider().diff("baremetal-demo", olds, news).changes is False


def test_check_names_missing_inputs():
    result = AnsibleRunProvider().check({}, {"inventory": "not a dict", "run_dir": ""})
    assert sorted(f.property for f in result.failures) == ["inventory", "run_dir"]


def test_inputs_carry_the_hash_of_inventory_and_playbooks(tmp_path: Path):
    inputs = run_inputs(inventory(), tmp_path, skip_tags=["k3s_start"])
    assert inputs["inventory_hash"] == inventory_hash(inventory(), PLAYBOOKS_DIR)
    assert inputs["roles_version"] == roles_digest(PLAYBOOKS_DIR)
    assert inputs["skip_tags"] == ["k3s_start"] and inputs["run_dir"] == str(tmp_path)


def test_deleting_the_resource_leaves_the_hosts_alone(tmp_path: Path):
    # No playbook runs (there are no hosts to reach here, and none is contacted).
    assert AnsibleRunProvider().delete("baremetal-demo", run_inputs(inventory(), tmp_path)) is None


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered.append(args)
        return f"{args.name}-id", {**args.inputs, "kubeconfig": "apiVersion: v1\n"}

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.fixture
def mocks():
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    yield mocks


@pulumi.runtime.test
def test_resource_passes_the_inventory_hash_and_roles_version(mocks: _Mocks, tmp_path: Path):
    run = AnsibleRun("hosts", inventory(), tmp_path, skip_tags=["k3s_start"])

    def check(values: list[Any]) -> None:
        (args,) = mocks.registered
        assert args.inputs["inventory_hash"] == inventory_hash(inventory(), PLAYBOOKS_DIR)
        assert args.inputs["roles_version"] == roles_digest(PLAYBOOKS_DIR)
        assert args.inputs["skip_tags"] == ["k3s_start"] and args.inputs["run_dir"] == str(tmp_path)
        assert values == ["hosts-id", "apiVersion: v1\n"]

    return pulumi.Output.all(run.id, run.kubeconfig).apply(check)


def test_kubeconfig_is_declared_a_secret_output_whatever_the_callers_options():
    # Pulumi's mocks do not apply additional_secret_outputs (the engine does), so check the declaration.
    caller = pulumi.ResourceOptions(protect=True, additional_secret_outputs=["hosts"])
    merged = resource_options(caller)
    assert "kubeconfig" in merged.additional_secret_outputs and "hosts" in merged.additional_secret_outputs
    assert merged.protect is True
    assert resource_options(None).additional_secret_outputs == ["kubeconfig"]
