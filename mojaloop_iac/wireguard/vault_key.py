"""A WireGuard key pair generated next to Vault for an in-cluster peer (the hub on AWS).

The private key is generated here (X25519, `keys.generate_keypair`) and written to Vault KV v2 with
check-and-set, then External Secrets delivers it to the pod that uses it; the only key material this
resource ever outputs is the public key. It follows the rules of the Vault providers it builds on
(`mojaloop_iac.vault.providers`):

- create adopts a key already stored at the path (a lost state, a second stack) and never overwrites it;
  it writes only when the path holds no key, with check-and-set, so a concurrent writer makes it fail
  instead of silently replacing a key peers already trust;
- a stored value that is not a WireGuard private key is refused with a message naming the path, never
  the value;
- deleting the resource leaves the key in Vault: a lost hub key means re-keying every peer, so removing
  it is a deliberate `bao kv metadata delete`, not a side effect of `pulumi destroy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NotRequired

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from mojaloop_iac.vault.client import VaultConnection, VaultSession, open_session
from mojaloop_iac.vault.errors import VaultOperationError
from mojaloop_iac.vault.inputs import blame, connection, text
from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    kv_data_path,
    require_dns_label,
    require_relative_path,
    require_secret_key,
)
from mojaloop_iac.vault.providers import _LiveSecret, _read_live, _VaultProvider, _without_none, _write
from mojaloop_iac.vault.resources import VaultConnectionArgs

from .keys import InvalidKeyError, generate_keypair, public_key_from_private

DEFAULT_FIELD = "private-key"
_MODULE = "mojaloop-wireguard"


@dataclass(frozen=True)
class WireGuardKeyInputs:
    """Where the private key lives: a KV v2 secret (`mount`, `path`) and the key inside it (`field`).

    The KV helpers of `vault.providers` read `mount` and `path` only, so they serve this resource as they
    serve generated passwords.
    """

    connection: VaultConnection
    mount: str
    path: str
    field: str

    # Another place means another key: changing any of these replaces the resource (and its public key).
    IDENTITY: ClassVar[tuple[str, ...]] = ("mount", "path", "field", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> WireGuardKeyInputs:
        with blame("mount"):
            mount = require_dns_label(text(props, "mount", DEFAULT_KV_MOUNT), "mount")
        with blame("path"):
            path = require_relative_path(text(props, "path"), "path")
        with blame("field"):
            field = require_secret_key(text(props, "field", DEFAULT_FIELD), "field")
        return cls(connection=connection(props), mount=mount, path=path, field=field)

    @property
    def resource_id(self) -> str:
        prefix = f"{self.connection.namespace.strip('/')}/" if self.connection.namespace else ""
        return f"{prefix}{self.mount}/{self.path}#{self.field}"

    def to_props(self) -> dict[str, Any]:
        return {**self.connection.to_outputs(), "mount": self.mount, "path": self.path, "field": self.field}


def _public_key_of(vault: VaultSession, inputs: WireGuardKeyInputs, live: _LiveSecret) -> str:
    """The public key of the stored private key; the stored value never appears in an error."""
    try:
        return public_key_from_private(live.data[inputs.field])
    except InvalidKeyError:
        data_path = kv_data_path(inputs.mount, inputs.path)
        raise VaultOperationError(
            f"{data_path} at Vault {vault.address} holds a {inputs.field!r} that is not a WireGuard private key "
            "(44 characters of base64 for 32 bytes, as `wg genkey` prints): refusing to overwrite it, since "
            "peers may trust the key it was meant to be. Write a valid private key there, or remove the secret "
            f"(`bao kv metadata delete -mount={inputs.mount} {inputs.path}`) to have a new key pair generated "
            "(every peer then needs the new public key)",
            address=vault.address,
            path=data_path,
        ) from None


def _outputs(inputs: WireGuardKeyInputs, public_key: str, version: int, adopted: bool) -> dict[str, Any]:
    """Where the key is and its public half; never the private key."""
    return _without_none({**inputs.to_props(), "public_key": public_key, "version": version, "adopted": adopted})


class WireGuardKeyProvider(_VaultProvider):
    """Generates a key pair into Vault once, then only reports the stored key's public half."""

    inputs_type = WireGuardKeyInputs

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = WireGuardKeyInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            live = _read_live(vault, inputs)  # type: ignore[arg-type]  # reads mount and path only
            if live is not None and inputs.field in live.data:
                public_key = _public_key_of(vault, inputs, live)
                return CreateResult(inputs.resource_id, _outputs(inputs, public_key, live.version, adopted=True))
            pair = generate_keypair()
            # Other keys of the secret are kept; cas makes a concurrent writer fail this write, not win it.
            data = {**(live.data if live is not None else {}), inputs.field: pair.private_key}
            version = _write(vault, inputs, data, cas=live.version if live is not None else 0)  # type: ignore[arg-type]
        return CreateResult(inputs.resource_id, _outputs(inputs, pair.public_key, version, adopted=False))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = WireGuardKeyInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            live = _read_live(vault, inputs)  # type: ignore[arg-type]
            if live is None or inputs.field not in live.data:
                # Gone: a refresh drops the resource and the next `pulumi up` generates a new key pair.
                return ReadResult("", {})
            public_key = _public_key_of(vault, inputs, live)
        return ReadResult(id_, _outputs(inputs, public_key, live.version, bool(props.get("adopted", False))))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only the connection can change here (address, token variable, CA): the key stays where it is.
        inputs = WireGuardKeyInputs.from_props(news)
        with open_session(inputs.connection) as vault:
            live = _read_live(vault, inputs)  # type: ignore[arg-type]
            if live is None or inputs.field not in live.data:
                data_path = kv_data_path(inputs.mount, inputs.path)
                raise VaultOperationError(
                    f"the WireGuard key {inputs.field!r} at {data_path} no longer exists at Vault {vault.address}: "
                    "it was deleted outside Pulumi. Run `pulumi refresh` so the next `pulumi up` generates a new "
                    "key pair (every peer then needs the new public key)",
                    address=vault.address,
                    path=data_path,
                )
            public_key = _public_key_of(vault, inputs, live)
        return UpdateResult(_outputs(inputs, public_key, live.version, bool(olds.get("adopted", False))))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leaves the key in Vault (see the module docstring)."""


class WireGuardKeyInVaultArgs(VaultConnectionArgs):
    path: pulumi.Input[str]
    """KV path relative to the mount; build it with `mojaloop_iac.vault.paths.secret_path`."""
    mount: NotRequired[pulumi.Input[str]]
    """KV v2 mount (default `mojaloop`)."""
    field: NotRequired[pulumi.Input[str]]
    """Key inside the secret holding the private key (default `private-key`)."""


class WireGuardKeyInVault(pulumi.dynamic.Resource, module=_MODULE, name="WireGuardKeyInVault"):
    """A WireGuard private key in Vault KV, generated once; `public_key` is its only key material out."""

    public_key: pulumi.Output[str]
    version: pulumi.Output[int]
    adopted: pulumi.Output[bool]

    def __init__(
        self, resource_name: str, args: WireGuardKeyInVaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {"public_key": None, "version": None, "adopted": None, **dict(args)}
        super().__init__(WireGuardKeyProvider(), resource_name, props, opts)


__all__ = [
    "DEFAULT_FIELD",
    "WireGuardKeyInVault",
    "WireGuardKeyInVaultArgs",
    "WireGuardKeyInputs",
    "WireGuardKeyProvider",
]
