"""Initialising Vault with key shares encrypted to the operators, as a Pulumi dynamic provider.

`sys/init` is called with one PGP public key per operator, so Vault returns every unseal key share (with
auto-unseal: every recovery key share) already encrypted to its holder, and the initial root token
encrypted to one named operator. The provider outputs hold only those encrypted values, which are safe to
store; a clear share or root token never exists outside Vault and the holders' machines.

Re-running converges: an initialised Vault is never initialised again (that would need its data wiped),
and the outputs say so and what the operators must do next (unseal, or re-key after the holders changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from mojaloop_iac.vault.bootstrap_pgp import PgpKeyError, PgpPublicKey, parse_public_key
from mojaloop_iac.vault.bootstrap_status import (
    SealStatus,
    read_seal_status,
    unseal_instructions,
)
from mojaloop_iac.vault.client import VaultConnection, VaultSession, open_unauthenticated_session
from mojaloop_iac.vault.errors import InvalidInput, VaultOperationError
from mojaloop_iac.vault.inputs import connection, optional_text, text, whole_number
from mojaloop_iac.vault.paths import require_vault_name
from mojaloop_iac.vault.providers import _VaultProvider

UnsealMode = Literal["shamir", "auto"]
CLIS: Final = ("vault", "bao")
# Vault splits a key into at most 255 shares.
MAX_SHARES: Final = 255


@dataclass(frozen=True)
class Operator:
    name: str
    key: PgpPublicKey


@dataclass(frozen=True)
class InitializationInputs:
    connection: VaultConnection
    cli: str
    operators: tuple[Operator, ...]
    """Key holders, in share order: Vault returns share i encrypted to operator i's key."""
    threshold: int
    root_token_operator: str
    """The operator whose key encrypts the initial root token."""
    unseal: UnsealMode
    """`shamir` (operators unseal) or `auto` (a KMS seal; the shares are recovery keys)."""

    IDENTITY: ClassVar[tuple[str, ...]] = ("address", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> InitializationInputs:
        cli = text(props, "cli", "vault")
        if cli not in CLIS:
            raise InvalidInput("cli", f"cli {cli!r} must be one of {', '.join(CLIS)}")
        raw = props.get("operators")
        if not isinstance(raw, list | tuple) or not raw:
            raise InvalidInput(
                "operators",
                "operators must list the key holders, each {name, pgp_public_key}: Vault encrypts one key share "
                "to each of them, so no share is ever in clear",
            )
        if len(raw) > MAX_SHARES:
            raise InvalidInput("operators", f"at most {MAX_SHARES} operators can hold key shares")
        operators = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, Mapping):
                raise InvalidInput(
                    "operators", f"operators[{index}] must be a mapping with name and pgp_public_key"
                )
            try:
                name = require_vault_name(entry.get("name"), f"operators[{index}].name")
                key = parse_public_key(
                    str(entry.get("pgp_public_key") or ""), f"operators[{index}].pgp_public_key"
                )
            except (ValueError, PgpKeyError) as error:
                raise InvalidInput("operators", str(error)) from error
            operators.append(Operator(name, key))
        names = [operator.name for operator in operators]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InvalidInput("operators", f"operator names must be unique: {', '.join(duplicates)} repeat")
        shares = len(operators)
        threshold = whole_number(props, "threshold", min(2, shares))
        if not 1 <= threshold <= shares:
            raise InvalidInput(
                "threshold", f"threshold {threshold} must be between 1 and the {shares} operators"
            )
        if shares >= 2 and threshold < 2:
            raise InvalidInput(
                "threshold",
                "threshold 1 lets any single operator unseal (or regenerate a root token) alone: use at least 2",
            )
        root_token_operator = optional_text(props, "root_token_operator") or names[0]
        if root_token_operator not in names:
            raise InvalidInput(
                "root_token_operator",
                f"root_token_operator {root_token_operator!r} is not one of {', '.join(names)}",
            )
        unseal = text(props, "unseal", "shamir")
        if unseal not in ("shamir", "auto"):
            raise InvalidInput("unseal", f"unseal {unseal!r} must be 'shamir' or 'auto'")
        return cls(connection(props), cli, tuple(operators), threshold, root_token_operator, unseal)  # type: ignore[arg-type]

    @property
    def shares(self) -> int:
        return len(self.operators)

    def operator(self, name: str) -> Operator:
        return next(operator for operator in self.operators if operator.name == name)

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "cli": self.cli,
            "operators": [{"name": o.name, "pgp_public_key": o.key.base64_key} for o in self.operators],
            "threshold": self.threshold,
            "root_token_operator": self.root_token_operator,
            "unseal": self.unseal,
        }


def _init_request(inputs: InitializationInputs) -> dict[str, Any]:
    keys = [operator.key.base64_key for operator in inputs.operators]
    root_key = inputs.operator(inputs.root_token_operator).key.base64_key
    if inputs.unseal == "auto":
        # The seal holds the root key; the operators get recovery key shares (for generate-root and re-keying).
        return {
            "recovery_shares": inputs.shares,
            "recovery_threshold": inputs.threshold,
            "recovery_pgp_keys": keys,
            "root_token_pgp_key": root_key,
        }
    return {
        "secret_shares": inputs.shares,
        "secret_threshold": inputs.threshold,
        "pgp_keys": keys,
        "root_token_pgp_key": root_key,
    }


def _check_seal_type(vault: VaultSession, inputs: InitializationInputs, status: SealStatus) -> None:
    if inputs.unseal == "auto" and not status.auto_unseal:
        raise VaultOperationError(
            f"Vault at {vault.address} uses Shamir unseal keys but this stack expects auto-unseal: its server "
            "configuration lacks the `seal` stanza (awskms on AWS). Fix the server configuration before "
            "initialising, or keys of the wrong kind would be generated",
            address=vault.address,
            path="sys/seal-status",
        )
    if inputs.unseal == "shamir" and status.auto_unseal:
        raise VaultOperationError(
            f"Vault at {vault.address} auto-unseals with {status.seal_type} but this stack expects Shamir unseal "
            "keys: set unseal 'auto' (the operators then receive recovery key shares) or fix the server's seal",
            address=vault.address,
            path="sys/seal-status",
        )


def _status_message(
    inputs: InitializationInputs, address: str, status: SealStatus, initialised_here: bool
) -> str:
    kind = "recovery" if status.auto_unseal else "unseal"
    if initialised_here:
        said = (
            f"Initialised Vault at {address}: {status.shares} {kind} key shares, {status.threshold} needed, each "
            "encrypted to its operator (key_shares). The initial root token is encrypted to "
            f"{inputs.root_token_operator}: decrypt it (`echo <encrypted_root_token> | base64 -d | gpg -dq`) "
            "and export it for the first VaultBootstrap run, which revokes it."
        )
    else:
        said = (
            f"Vault at {address} was already initialised ({status.shares} {kind} key shares, {status.threshold} "
            "needed): nothing was generated and the existing key holders keep their shares."
        )
    if status.sealed:
        return f"{said} {unseal_instructions(status, address, inputs.cli)}"
    if status.auto_unseal:
        return (
            f"{said} It is unsealed by {status.seal_type}; the recovery key shares are needed only to generate a "
            f"new root token (`{inputs.cli} operator generate-root`) or to re-key."
        )
    return f"{said} It is unsealed."


def _holders_changed(inputs: InitializationInputs, olds: Mapping[str, Any]) -> bool:
    old_holders = [
        (entry.get("operator"), entry.get("fingerprint")) for entry in olds.get("key_shares") or []
    ]
    if not old_holders:
        return False
    return old_holders != [(o.name, o.key.fingerprint) for o in inputs.operators] or olds.get(
        "threshold"
    ) != (inputs.threshold)


def _rekey_message(inputs: InitializationInputs) -> str:
    # OpenBao replaced the unauthenticated rekey endpoints with `rotate-keys`, run with an administrator's token.
    command = f"{inputs.cli} operator " + ("rotate-keys" if inputs.cli == "bao" else "rekey")
    target = " -target=recovery" if inputs.unseal == "auto" else ""
    return (
        " The key holders or the threshold in the configuration changed, but the shares in Vault still belong "
        f"to the previous holders: re-key with `{command} -init -key-shares={inputs.shares} "
        f"-key-threshold={inputs.threshold} -pgp-keys=<one exported public key file per holder>{target}`, then "
        f"have {inputs.threshold} current holders each run `{command} -nonce=<nonce>` with their share."
    )


class VaultInitializationProvider(_VaultProvider):
    """Initialises Vault once, with every key share and the root token encrypted to an operator.

    - create: initialises an uninitialised Vault; an initialised one is left alone ("already initialised");
    - outputs: the encrypted shares (with holder and key fingerprint), the encrypted root token, the live
      seal status and a `status` sentence saying what the operators do next;
    - update: never re-initialises; a changed set of holders is answered with re-key instructions;
    - delete: leaves Vault untouched (its data and keys stay valid).
    """

    inputs_type = InitializationInputs

    def _run(self, inputs: InitializationInputs) -> tuple[SealStatus, dict[str, Any] | None]:
        with open_unauthenticated_session(inputs.connection) as vault:
            status = read_seal_status(vault)
            if status.initialized:
                return status, None
            _check_seal_type(vault, inputs, status)
            answer = vault.call(
                (), "sys/init", lambda: vault.client.adapter.put("/v1/sys/init", json=_init_request(inputs))
            )
            return read_seal_status(vault), dict(answer)

    def _outputs(
        self, inputs: InitializationInputs, status: SealStatus, answer: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        outputs: dict[str, Any] = {
            **{key: value for key, value in inputs.to_props().items() if value is not None},
            "initialized_here": answer is not None,
            "key_type": "recovery" if status.auto_unseal else "unseal",
            "seal_type": status.seal_type,
            "sealed": status.sealed,
            "status": _status_message(inputs, inputs.connection.base_address, status, answer is not None),
        }
        if answer is not None:
            encrypted = (
                answer.get("recovery_keys_base64") if status.auto_unseal else answer.get("keys_base64")
            )
            if not encrypted or len(encrypted) != inputs.shares:
                raise VaultOperationError(
                    f"Vault at {inputs.connection.base_address} was initialised but returned "
                    f"{len(encrypted or [])} key shares instead of {inputs.shares}: keep its answer in the "
                    "server log safe and contact the operators before anything else",
                    address=inputs.connection.base_address,
                    path="sys/init",
                )
            outputs["key_shares"] = [
                {"operator": o.name, "fingerprint": o.key.fingerprint, "encrypted_share": share}
                for o, share in zip(inputs.operators, encrypted, strict=True)
            ]
            holder = inputs.operator(inputs.root_token_operator)
            outputs["encrypted_root_token"] = {
                "operator": holder.name,
                "fingerprint": holder.key.fingerprint,
                "value": answer["root_token"],
            }
        return outputs

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = InitializationInputs.from_props(props)
        status, answer = self._run(inputs)
        return CreateResult(inputs.connection.base_address, self._outputs(inputs, status, answer))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = InitializationInputs.from_props(news)
        status, answer = self._run(inputs)
        outputs = self._outputs(inputs, status, answer)
        if answer is None:
            # The shares handed out at initialisation stay the valid ones: keep reporting them.
            for key in ("key_shares", "encrypted_root_token"):
                if key in olds:
                    outputs[key] = olds[key]
            outputs["initialized_here"] = bool(olds.get("initialized_here", False))
            if _holders_changed(inputs, olds):
                outputs["status"] += _rekey_message(inputs)
        return UpdateResult(outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = InitializationInputs.from_props(props)
        with open_unauthenticated_session(inputs.connection) as vault:
            status = read_seal_status(vault)
        if not status.initialized:
            # The Vault was wiped or replaced: the next `pulumi up` initialises it again.
            return ReadResult("", {})
        return ReadResult(
            id_,
            {
                **props,
                "seal_type": status.seal_type,
                "sealed": status.sealed,
                "status": _status_message(inputs, inputs.connection.base_address, status, False),
            },
        )

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: an initialised Vault cannot be un-initialised without destroying its data."""
