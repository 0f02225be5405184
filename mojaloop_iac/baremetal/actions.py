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
from enum import StrEnum
from pathlib import Path
from typing import Any

from mojaloop_iac.baremetal.runner import PlaybookResult, ProgressHandler, run_playbook

VALIDATE_TAG = "validate"
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
    inventory: Mapping[str, Any], run_dir: Path, *, event_handler: ProgressHandler | None = None
) -> PlaybookResult:
    """Validate the inventory and reach every host; nothing on the hosts changes."""
    return run_playbook("site.yml", inventory, run_dir, tags=(VALIDATE_TAG,), event_handler=event_handler)


def apply(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    skip_tags: Iterable[str] = (),
    event_handler: ProgressHandler | None = None,
) -> PlaybookResult:
    """Prepare the hosts and install k3s (site.yml); the kubeconfig lands at `kubeconfig_path(run_dir)`."""
    return _run_with_kubeconfig("site.yml", inventory, run_dir, limit, skip_tags, event_handler)


def upgrade(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    skip_tags: Iterable[str] = (),
    event_handler: ProgressHandler | None = None,
) -> PlaybookResult:
    """Roll the cluster to the inventory's k3s_version, one server and then one agent at a time."""
    return _run_with_kubeconfig("upgrade.yml", inventory, run_dir, limit, skip_tags, event_handler)


def _run_with_kubeconfig(
    playbook: str,
    inventory: Mapping[str, Any],
    run_dir: Path,
    limit: str | None,
    skip_tags: Iterable[str],
    event_handler: ProgressHandler | None,
) -> PlaybookResult:
    return run_playbook(
        playbook,
        inventory,
        run_dir,
        limit=limit,
        skip_tags=skip_tags,
        extravars=_kubeconfig_vars(run_dir),
        event_handler=event_handler,
    )


def reset(
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    event_handler: ProgressHandler | None = None,
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
