"""Pulumi resources that initialise and bootstrap the control center's Vault.

    init = VaultInitialization("vault-init", {"address": ..., "cli": server.cli, "operators": [...],
                                              "unseal": "auto" if server.unseal == "awskms" else "shamir"})
    VaultBootstrap("vault-bootstrap", {"address": ..., "cli": server.cli, "plan": plan_vault_bootstrap(...)},
                   pulumi.ResourceOptions(depends_on=[init]))

Neither resource ever holds a clear key share or token: VaultInitialization outputs shares and the root
token encrypted to the operators' PGP keys; VaultBootstrap reads its token from the variable `token_env`
names when it runs.
"""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi.dynamic

from mojaloop_iac.vault.bootstrap import VaultBootstrapProvider
from mojaloop_iac.vault.bootstrap_init import VaultInitializationProvider
from mojaloop_iac.vault.bootstrap_plan import VaultBootstrapPlan

# `_props` declares the output names the way every Vault resource does.
from mojaloop_iac.vault.resources import VaultConnectionArgs, _props

_MODULE = "mojaloop-vault"


class OperatorKeyArgs(TypedDict):
    name: str
    """The operator's name; outputs say which operator holds which encrypted share."""
    pgp_public_key: str
    """Armored (`gpg --armor --export`) or base64 binary (`gpg --export | base64 -w0`) public key."""


class VaultInitializationArgs(TypedDict):
    address: pulumi.Input[str]
    ca_cert: NotRequired[pulumi.Input[str]]
    namespace: NotRequired[pulumi.Input[str]]
    cli: NotRequired[str]
    """`vault` or `bao` (VaultServerPlan.cli): the command the operator instructions name."""
    operators: Sequence[OperatorKeyArgs]
    """Key holders: one key share each, encrypted to their key."""
    threshold: NotRequired[int]
    """Shares needed to unseal (or to regenerate a root token); default 2."""
    root_token_operator: NotRequired[str]
    """Operator whose key encrypts the initial root token; default the first."""
    unseal: NotRequired[str]
    """`shamir` (bare metal) or `auto` (a KMS seal: the shares are recovery keys)."""


class VaultBootstrapArgs(VaultConnectionArgs):
    plan: VaultBootstrapPlan
    """From mojaloop_iac.vault.bootstrap_plan.plan_vault_bootstrap."""
    cli: NotRequired[str]


class VaultInitialization(pulumi.dynamic.Resource, module=_MODULE, name="VaultInitialization"):
    """Initialises Vault once; outputs the key shares and root token encrypted to the operators."""

    key_shares: pulumi.Output[list[dict[str, str]]]
    encrypted_root_token: pulumi.Output[dict[str, str]]
    key_type: pulumi.Output[str]
    seal_type: pulumi.Output[str]
    sealed: pulumi.Output[bool]
    initialized_here: pulumi.Output[bool]
    status: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: VaultInitializationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        outputs = (
            "key_shares",
            "encrypted_root_token",
            "key_type",
            "seal_type",
            "sealed",
            "initialized_here",
            "status",
        )
        props = {**args, "operators": [dict(operator) for operator in args["operators"]]}
        super().__init__(VaultInitializationProvider(), resource_name, _props(props, outputs), opts)


class VaultBootstrap(pulumi.dynamic.Resource, module=_MODULE, name="VaultBootstrap"):
    """Converges an initialised Vault on the plan, then revokes the root token the run used."""

    actions: pulumi.Output[list[str]]
    changed: pulumi.Output[bool]
    root_token_revoked: pulumi.Output[bool]
    drift: pulumi.Output[list[str]]

    def __init__(
        self, resource_name: str, args: VaultBootstrapArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        connection = {key: value for key, value in args.items() if key != "plan"}
        props = {**connection, **args["plan"].to_props(), "in_sync": True}
        outputs = ("actions", "changed", "root_token_revoked", "drift")
        super().__init__(VaultBootstrapProvider(), resource_name, _props(props, outputs), opts)
