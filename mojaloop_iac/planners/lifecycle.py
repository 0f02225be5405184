"""What an environment's lifecycle means for every resource that could outlive `pulumi destroy`.

One function decides, from `lifecycle: persistent | ephemeral`, every protection the components apply,
so "ephemeral" means the same thing for the cluster, its keys, Vault and the hosts:

| Protection                                  | persistent            | ephemeral                     |
|---------------------------------------------|-----------------------|-------------------------------|
| Pulumi `protect` (EKS cluster, KMS key)     | on                    | off                           |
| EKS deletion protection                     | on                    | off                           |
| KMS key deletion window                     | 30 days (the longest) | 7 days (the shortest)         |
| Vault secrets on destroy                    | kept                  | deleted, every version        |
| Vault KV mount and password policies        | created, kept         | not managed: they are shared  |
| Vault auth mount, read policy, role         | removed               | removed                       |
| Bare-metal hosts on destroy                 | left alone            | reset (reset.yml)             |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mojaloop_iac.config.models import Lifecycle

# AWS KMS accepts 7 to 30 days between scheduling a key's deletion and deleting it.
KMS_LONGEST_DELETION_WINDOW_DAYS: Final = 30
KMS_SHORTEST_DELETION_WINDOW_DAYS: Final = 7


@dataclass(frozen=True)
class LifecyclePolicy:
    lifecycle: Lifecycle
    protect: bool
    """Pulumi's `protect` on what cannot be recreated (the EKS cluster and its Secrets' KMS key)."""
    cloud_deletion_protection: bool
    """The cloud's own refusal to delete (EKS `deletionProtection`), whatever tool asks."""
    kms_deletion_window_days: int
    retain_secrets_on_delete: bool
    """Vault keeps generated secrets when their resource is deleted."""
    manage_shared_vault_objects: bool
    """Create the Vault's KV mount and password policies if missing (retained on delete, as every environment
    on that Vault uses them). An ephemeral stack never touches them: the control center or a persistent
    environment on the same Vault owns them, and nothing of an ephemeral stack is retained."""
    reset_hosts_on_destroy: bool
    """Destroying the bare-metal hosts' resource runs reset.yml on them."""

    @property
    def ephemeral(self) -> bool:
        return self.lifecycle == Lifecycle.EPHEMERAL


def lifecycle_policy(lifecycle: Lifecycle = Lifecycle.PERSISTENT, *, retain_secrets: bool = True) -> LifecyclePolicy:
    """The protections of `lifecycle`; `retain_secrets` is `vault.retainSecretsOnDelete` (persistent only)."""
    if lifecycle == Lifecycle.EPHEMERAL:
        return LifecyclePolicy(
            lifecycle=lifecycle,
            protect=False,
            cloud_deletion_protection=False,
            kms_deletion_window_days=KMS_SHORTEST_DELETION_WINDOW_DAYS,
            retain_secrets_on_delete=False,
            manage_shared_vault_objects=False,
            reset_hosts_on_destroy=True,
        )
    return LifecyclePolicy(
        lifecycle=lifecycle,
        protect=True,
        cloud_deletion_protection=True,
        kms_deletion_window_days=KMS_LONGEST_DELETION_WINDOW_DAYS,
        retain_secrets_on_delete=retain_secrets,
        manage_shared_vault_objects=True,
        reset_hosts_on_destroy=False,
    )


PERSISTENT: Final = lifecycle_policy()
