"""`pulumi up` runs site.yml through a dynamic resource, re-running it only when something changed.

`AnsibleRun` is the resource a bare-metal stack declares; `AnsibleRunProvider` does the work. The
resource computes two digests when the program runs: `inventory_hash` (the inventory and the playbook
files, see `runner.inventory_hash`) and `roles_version` (the playbook files alone). `diff` asks for an
update exactly when one of them changed, so a `pulumi up` with an unchanged inventory and unchanged roles
does not touch the hosts. `create`/`update` run site.yml with the same runner as `mojactl baremetal
apply` and output the fetched kubeconfig, which the resource marks secret.

Deleting the resource leaves the hosts alone (tearing a cluster down is `mojactl baremetal STACK reset`,
never a side effect of removing a resource from a program), except for an ephemeral environment, whose
resource is created with `reset_on_delete`: there `pulumi destroy` runs reset.yml, so the hosts go back to
the pool clean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic

from mojaloop_iac.baremetal import actions
from mojaloop_iac.baremetal.actions import K3S_START_TAG, kubeconfig_path
from mojaloop_iac.baremetal.runner import BaremetalRunError, PlaybookResult, inventory_hash, roles_digest
from mojaloop_iac.paths import PLAYBOOKS_DIR

# Inputs whose change means "run site.yml again"; run_dir and skip_tags only say how to run it.
TRIGGERS = ("inventory_hash", "roles_version")


def run_inputs(
    inventory: Mapping[str, Any], run_dir: Path | str, *, skip_tags: Sequence[str] = (), reset_on_delete: bool = False
) -> dict[str, Any]:
    """The provider's inputs for a plain-data inventory (the resource does the same through Outputs)."""
    return {
        "inventory": dict(inventory),
        "run_dir": str(run_dir),
        "skip_tags": list(skip_tags),
        "reset_on_delete": reset_on_delete,
        "inventory_hash": inventory_hash(inventory, PLAYBOOKS_DIR),
        "roles_version": roles_digest(PLAYBOOKS_DIR),
    }


def changed_triggers(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The trigger inputs whose values differ between the recorded state and the program."""
    return [name for name in TRIGGERS if olds.get(name) != news.get(name)]


class AnsibleRunProvider(pulumi.dynamic.ResourceProvider):
    """Runs site.yml on create and on update; see the module docstring."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        failures = []
        if not isinstance(news.get("inventory"), Mapping):
            failures.append(
                pulumi.dynamic.CheckFailure(
                    "inventory", "the inventory must be a dict rendered from the stack"
                )
            )
        if not isinstance(news.get("run_dir"), str) or not news.get("run_dir"):
            failures.append(
                pulumi.dynamic.CheckFailure("run_dir", "run_dir must be the path of the run directory")
            )
        return pulumi.dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        changed = changed_triggers(olds, news)
        return pulumi.dynamic.DiffResult(
            changes=bool(changed),
            replaces=[],
            stables=["run_dir", "reset_on_delete"],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        environment = str(
            props["inventory"].get("all", {}).get("vars", {}).get("mojaloop_environment", "hosts")
        )
        return pulumi.dynamic.CreateResult(id_=f"baremetal-{environment}", outs=self._run(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=self._run(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Nothing unless the environment is ephemeral: see the module docstring.
        if not props.get("reset_on_delete"):
            return None
        run_dir = Path(props["run_dir"])
        result = actions.reset(props["inventory"], run_dir)
        if not result.succeeded:
            raise BaremetalRunError(
                f"reset.yml failed ({result.status}, rc {result.rc}): " + "; ".join(result.failed_messages)
                + f". The hosts are not back in the pool; details: {result.artifact_dir}"
            )
        return None

    def _run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        run_dir = Path(props["run_dir"])
        skip_tags = list(props.get("skip_tags") or [])
        result = actions.apply(props["inventory"], run_dir, skip_tags=skip_tags)
        if not result.succeeded:
            raise BaremetalRunError(
                f"site.yml failed ({result.status}, rc {result.rc}): "
                + "; ".join(result.failed_messages)
                + f". Details: {result.artifact_dir}"
            )
        return {
            "inventory_hash": props["inventory_hash"],
            "roles_version": props["roles_version"],
            "run_dir": str(run_dir),
            "skip_tags": skip_tags,
            "reset_on_delete": bool(props.get("reset_on_delete", False)),
            "hosts": _host_summary(result),
            "wireguard_public_keys": dict(result.reported.get("wireguard_public_keys") or {}),
            "kubeconfig": _read_kubeconfig(run_dir, started=K3S_START_TAG not in skip_tags),
        }


def _host_summary(result: PlaybookResult) -> dict[str, dict[str, int]]:
    return {
        name: {
            "ok": h.ok,
            "changed": h.changed,
            "failed": h.failed,
            "unreachable": h.unreachable,
            "skipped": h.skipped,
        }
        for name, h in result.hosts.items()
    }


def _read_kubeconfig(run_dir: Path, *, started: bool) -> str:
    path = kubeconfig_path(run_dir)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    if started:
        raise BaremetalRunError(
            f"site.yml succeeded but left no kubeconfig at {path}: check the k3s_server role's "
            "'Fetch the kubeconfig' tasks in the run's artifacts"
        )
    return ""  # k3s was installed but deliberately not started (skip_tags k3s_start)


class AnsibleRun(pulumi.dynamic.Resource):
    """site.yml applied to the stack's bare-metal hosts; `kubeconfig` feeds the cluster's provider."""

    kubeconfig: pulumi.Output[str]
    hosts: pulumi.Output[dict[str, dict[str, int]]]
    wireguard_public_keys: pulumi.Output[dict[str, str]]
    inventory_hash: pulumi.Output[str]
    roles_version: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        inventory: pulumi.Input[Mapping[str, Any]],
        run_dir: Path | str,
        *,
        skip_tags: Sequence[str] = (),
        reset_on_delete: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        hashed = pulumi.Output.from_input(inventory).apply(lambda inv: inventory_hash(inv, PLAYBOOKS_DIR))
        props = {
            "inventory": inventory,
            "run_dir": str(run_dir),
            "skip_tags": list(skip_tags),
            "reset_on_delete": reset_on_delete,
            "inventory_hash": hashed,
            "roles_version": roles_digest(PLAYBOOKS_DIR),
            "kubeconfig": None,
            "hosts": None,
            "wireguard_public_keys": None,
        }
        super().__init__(AnsibleRunProvider(), name, props, resource_options(opts))


def resource_options(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """The caller's options plus the kubeconfig output marked secret (it holds cluster-admin credentials)."""
    return pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
    )
