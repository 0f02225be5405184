"""Bare-metal hosts: the Ansible playbooks in playbooks/ run with ansible-runner.

- `actions`: the `mojactl baremetal STACK {check,apply,upgrade,reset}` actions, each taking the
  inventory rendered from the stack (mojaloop_iac.planners.inventory) and a run directory, returning a
  `PlaybookResult`.
- `runner`: `run_playbook`, `PlaybookResult`/`HostResult`, progress events, `inventory_hash`.
- `provider`: `AnsibleRun`, the Pulumi dynamic resource that runs site.yml when the inventory or the
  roles change and outputs the kubeconfig as a secret.

WireGuard on bare-metal hosts: the wireguard_peer role generates the private key at
`WIREGUARD_KEY_PATH` on each host and reports the public keys in `PlaybookResult.reported
["wireguard_public_keys"]`; render the hosts' configurations with mojaloop_iac.wireguard using that path
as the private key reference and pass each as the host variable `wireguard_peer_config`.
"""

from mojaloop_iac.baremetal.actions import (
    K3S_START_TAG,
    BaremetalAction,
    apply,
    check,
    kubeconfig_path,
    prepare_control_center_hosts,
    reset,
    run_action,
    upgrade,
)
from mojaloop_iac.baremetal.runner import (
    BaremetalRunError,
    HostResult,
    PlaybookResult,
    ProgressEvent,
    inventory_hash,
    roles_digest,
    run_playbook,
)

# wg-quick substitutes %i with the interface name: /etc/wireguard/wg0.key for wg0.
WIREGUARD_KEY_PATH = "/etc/wireguard/%i.key"

__all__ = [
    "K3S_START_TAG",
    "WIREGUARD_KEY_PATH",
    "BaremetalAction",
    "BaremetalRunError",
    "HostResult",
    "PlaybookResult",
    "ProgressEvent",
    "apply",
    "check",
    "inventory_hash",
    "kubeconfig_path",
    "prepare_control_center_hosts",
    "reset",
    "roles_digest",
    "run_action",
    "run_playbook",
    "upgrade",
]
