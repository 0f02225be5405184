"""The `mojactl baremetal STACK {check,apply,upgrade,reset}` actions, each one playbook run.

`check` validates the inventory and reaches every host (tag `validate` of site.yml) and changes
nothing. It is not site.yml in Ansible's check mode: on a fresh host most of site.yml depends on what
earlier tasks would have installed (packages, the k3s binary, the unit), so a check-mode run reports
failures and skips that say nothing about the real run, while the validation is exact and takes seconds.

Every action takes the inventory rendered from the stack and a run directory (see runner.py for its
layout) and returns a `PlaybookResult`; the caller exits non-zero unless `result.succeeded`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from mojaloop_iac.baremetal.runner import HostResult, PlaybookResult, ProgressHandler, run_playbook

VALIDATE_TAG = "validate"
CONTROL_CENTER_GROUP = "control_center_hosts"
# The steps that start k3s and need it running; skipping them stages hosts without starting Kubernetes.
K3S_START_TAG = "k3s_start"


class BaremetalAction(StrEnum):
    CHECK = "check"
    APPLY = "apply"
    UPGRADE = "upgrade"
    RESET = "reset"


def kubeconfig_path(run_dir: Path) -> Path:
    """Where apply and upgrade leave the cluster's kubeconfig (mode 0600) for Pulumi's provider."""
    return Path(run_dir).resolve() / "kubeconfig"


def check(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    event_handler: ProgressHandler | None = None,
    verbosity: int = 0,
) -> PlaybookResult:
    """Validate the inventory and reach every host; nothing on the hosts changes."""
    return run_playbook(
        "site.yml", inventory, run_dir, limit=limit, tags=(VALIDATE_TAG,), event_handler=event_handler,
        verbosity=verbosity,
    )


def apply(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    tags: Iterable[str] = (),
    skip_tags: Iterable[str] = (),
    event_handler: ProgressHandler | None = None,
    verbosity: int = 0,
) -> PlaybookResult:
    """Prepare the hosts and install k3s (site.yml); the kubeconfig lands at `kubeconfig_path(run_dir)`.
    A control center's inventory also has the WireGuard hub host: control-center-hosts.yml converges it next."""
    steps = RunOptions(limit, tuple(tags), tuple(skip_tags), event_handler, verbosity)
    cluster = _run_with_kubeconfig("site.yml", inventory, run_dir, steps)
    if not cluster.succeeded or CONTROL_CENTER_GROUP not in inventory.get("all", {}).get("children", {}):
        return cluster
    hub = prepare_control_center_hosts(inventory, run_dir, limit=limit, event_handler=event_handler)
    return combine(cluster, hub)


def upgrade(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    tags: Iterable[str] = (),
    skip_tags: Iterable[str] = (),
    event_handler: ProgressHandler | None = None,
    verbosity: int = 0,
) -> PlaybookResult:
    """Roll the cluster to the inventory's k3s_version, one server and then one agent at a time."""
    steps = RunOptions(limit, tuple(tags), tuple(skip_tags), event_handler, verbosity)
    return _run_with_kubeconfig("upgrade.yml", inventory, run_dir, steps)


@dataclass(frozen=True)
class RunOptions:
    """Which hosts and steps a run covers, and how it reports."""

    limit: str | None = None
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    event_handler: ProgressHandler | None = None
    verbosity: int = 0


def _run_with_kubeconfig(
    playbook: str, inventory: Mapping[str, Any], run_dir: Path, steps: RunOptions
) -> PlaybookResult:
    return run_playbook(
        playbook,
        inventory,
        run_dir,
        limit=steps.limit,
        tags=steps.tags,
        skip_tags=steps.skip_tags,
        extravars=_kubeconfig_vars(run_dir),
        event_handler=steps.event_handler,
        verbosity=steps.verbosity,
    )


def reset(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    event_handler: ProgressHandler | None = None,
    verbosity: int = 0,
) -> PlaybookResult:
    """Remove k3s and everything the toolkit wrote on the hosts, and the fetched kubeconfig. Destructive:
    the caller asks for confirmation first."""
    return run_playbook(
        "reset.yml",
        inventory,
        run_dir,
        limit=limit,
        extravars=_kubeconfig_vars(run_dir),
        event_handler=event_handler,
        verbosity=verbosity,
    )


def prepare_control_center_hosts(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    event_handler: ProgressHandler | None = None,
) -> PlaybookResult:
    """Prepare the bare-metal control-center hosts (group control_center_hosts): the WireGuard hub."""
    return run_playbook(
        "control-center-hosts.yml", inventory, run_dir, limit=limit, event_handler=event_handler
    )


ACTIONS: Mapping[BaremetalAction, Callable[..., PlaybookResult]] = {
    BaremetalAction.CHECK: check,
    BaremetalAction.APPLY: apply,
    BaremetalAction.UPGRADE: upgrade,
    BaremetalAction.RESET: reset,
}


def run_action(
    action: BaremetalAction | str,
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    event_handler: ProgressHandler | None = None,
) -> PlaybookResult:
    """Run one `mojactl baremetal` action by name."""
    try:
        chosen = BaremetalAction(action)
    except ValueError:
        known = ", ".join(a.value for a in BaremetalAction)
        raise ValueError(f"unknown bare-metal action {action!r}: expected one of {known}") from None
    return ACTIONS[chosen](inventory, run_dir, event_handler=event_handler)


def _kubeconfig_vars(run_dir: Path) -> dict[str, str]:
    return {"k3s_server_kubeconfig_dest": str(kubeconfig_path(run_dir))}


def combine(first: PlaybookResult, second: PlaybookResult) -> PlaybookResult:
    """Two runs as one: per-host counts added up, what the roles reported merged, the later status wins."""
    hosts = dict(first.hosts)
    for name, counts in second.hosts.items():
        if name in hosts:
            before = hosts[name]
            counts = HostResult(**{f: getattr(before, f) + getattr(counts, f) for f in vars(counts)})
        hosts[name] = counts
    reported = {**first.reported}
    for key, value in second.reported.items():
        reported[key] = {**reported.get(key, {}), **value} if isinstance(value, Mapping) else value
    return PlaybookResult(
        playbook=f"{first.playbook}+{second.playbook}",
        status=second.status if first.succeeded else first.status,
        rc=second.rc or first.rc,
        hosts=hosts,
        failed_messages=first.failed_messages + second.failed_messages,
        artifact_dir=second.artifact_dir,
        reported=reported,
    )
