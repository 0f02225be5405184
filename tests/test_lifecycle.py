"""`lifecycle: persistent | ephemeral`, one meaning everywhere: what each turns on and off, and the hosts of
an ephemeral bare-metal environment reset when its stack is destroyed."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.baremetal.provider import AnsibleRunProvider, run_inputs
from mojaloop_iac.baremetal.runner import BaremetalRunError
from mojaloop_iac.config.files import StackLocation
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from mojaloop_iac.config.models import Lifecycle
from mojaloop_iac.config.rules import HOST_POOL_FILE
from mojaloop_iac.planners.inventory import plan_inventory
from mojaloop_iac.planners.lifecycle import lifecycle_policy
from mojaloop_iac.qa.derive import HostSlot, QaRequest, derive_qa_stack


def test_persistent_keeps_every_protection():
    policy = lifecycle_policy(Lifecycle.PERSISTENT)
    assert (policy.protect, policy.cloud_deletion_protection, policy.kms_deletion_window_days) == (True, True, 30)
    assert policy.retain_secrets_on_delete and policy.manage_shared_vault_objects
    assert not policy.reset_hosts_on_destroy and not policy.ephemeral
    assert lifecycle_policy(Lifecycle.PERSISTENT, retain_secrets=False).retain_secrets_on_delete is False


def test_ephemeral_turns_every_protection_off_and_resets_the_hosts():
    policy = lifecycle_policy(Lifecycle.EPHEMERAL, retain_secrets=True)
    assert (policy.protect, policy.cloud_deletion_protection, policy.kms_deletion_window_days) == (False, False, 7)
    assert not policy.retain_secrets_on_delete and not policy.manage_shared_vault_objects
    assert policy.reset_hosts_on_destroy and policy.ephemeral


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_destroying_an_ephemeral_environments_hosts_runs_reset_yml(tmp_path: Path):
    """The real playbook through the real ansible-runner; the one host is on a loopback port nothing listens
    on, so the run ends unreachable, which the resource reports instead of pretending the hosts are clean."""
    template = read_stack_file("demo")
    pool = (HostSlot("slot", ({"name": "qa-node-1", "address": "198.51.100.50", "role": "server",
                               "sshHost": "127.0.0.1", "sshPort": closed_port()},)),)
    derived = derive_qa_stack(template.name, template.config, QaRequest("pr-1", datetime(2025, 6, 1, tzinfo=UTC)),
                              host_pool=pool)
    # The slot is checked against the host pool next to the stack: this test's own.
    (tmp_path / HOST_POOL_FILE).write_text(yaml.safe_dump({"slots": {slot.name: list(slot.hosts) for slot in pool}}))
    environment = validate_namespace({"environment": derived.document["config"]["mojaloop:environment"]},
                                     location=StackLocation(tmp_path, tmp_path)).config.environment
    inventory = plan_inventory(environment)
    with pytest.raises(BaremetalRunError) as failed:
        AnsibleRunProvider().delete("baremetal-demo-pr-1", run_inputs(inventory, tmp_path, reset_on_delete=True))
    assert str(failed.value).startswith("reset.yml failed") and "not back in the pool" in str(failed.value)
    assert "qa-node-1: unreachable" in str(failed.value)
    assert list((tmp_path / "artifacts").glob("*-reset")), "the run's artifacts are kept for the operator"
