"""Vault's initialisation and seal status, and what the operator must do about it.

`sys/init` and `sys/seal-status` need no token, so these sessions carry none. The messages name the exact
command (`vault` or `bao`), how many key shares are still needed, and that every server of an HA cluster
with Shamir seals is unsealed on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The one place CA handling lives; the session below differs from open_session only in carrying no token.
from mojaloop_iac.vault.client import VaultSession
from mojaloop_iac.vault.errors import VaultOperationError


@dataclass(frozen=True)
class SealStatus:
    initialized: bool
    sealed: bool
    seal_type: str
    """`shamir`, or the auto-unseal mechanism (`awskms`, `transit`, ...)."""
    threshold: int
    shares: int
    progress: int
    """Key shares submitted so far towards the current unseal."""

    @property
    def auto_unseal(self) -> bool:
        return self.seal_type != "shamir"

    @classmethod
    def from_api(cls, answer: Mapping[str, Any]) -> SealStatus:
        return cls(
            initialized=bool(answer.get("initialized")),
            sealed=bool(answer.get("sealed")),
            seal_type=str(answer.get("type") or "shamir"),
            threshold=int(answer.get("t") or 0),
            shares=int(answer.get("n") or 0),
            progress=int(answer.get("progress") or 0),
        )


def read_seal_status(vault: VaultSession) -> SealStatus:
    answer = vault.call((), "sys/seal-status", lambda: vault.client.sys.read_seal_status())
    return SealStatus.from_api(answer)


def unseal_instructions(status: SealStatus, address: str, cli: str) -> str:
    """What the operators do to unseal a sealed Vault, with the numbers Vault reports."""
    if status.auto_unseal:
        return (
            f"Vault at {address} is sealed although it auto-unseals with {status.seal_type}: the servers cannot "
            "use their seal key. Check that the pods can reach the KMS and that their IAM role (IRSA) may use "
            "the key (kms:Encrypt, kms:Decrypt, kms:DescribeKey), then restart them; recovery keys cannot unseal"
        )
    remaining = max(status.threshold - status.progress, 0)
    return (
        f"Vault at {address} is sealed: {status.threshold} of {status.shares} unseal key shares are needed "
        f"({status.progress} submitted so far, {remaining} to go). Each key holder decrypts their share "
        f"(`echo <encrypted share> | base64 -d | gpg -dq`) and runs `{cli} operator unseal`, "
        f"{status.threshold} times in all; in an HA cluster every server is unsealed this way "
        f"(`kubectl exec -n <namespace> <pod> -- {cli} operator unseal`). Then re-run"
    )


def require_unsealed(vault: VaultSession, cli: str) -> SealStatus:
    """The seal status, or an error saying exactly what the operators must do first."""
    status = read_seal_status(vault)
    if not status.initialized:
        raise VaultOperationError(
            f"Vault at {vault.address} is not initialised: the VaultInitialization resource initialises it "
            "(with the operators' PGP keys) and must run first",
            address=vault.address,
            path="sys/init",
        )
    if status.sealed:
        raise VaultOperationError(
            unseal_instructions(status, vault.address, cli), address=vault.address, path="sys/seal-status"
        )
    return status
