"""Credentials of the object store read from Vault KV v2 at operation time.

A `VaultKvField` says where a credential lives (Vault address, KV v2 mount, path, field) and which
environment variable holds the Vault token; it is plain data and may sit in resource inputs and state.
The value itself is read only while an operation runs (`read_kv_field`), through the Vault session of
`mojaloop_iac.vault.client`, and never returned to Pulumi. The KV version comes back with it, so a
resource can record which version it applied and see a rotation in Vault as a diff.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mojaloop_iac.objectstore.errors import CredentialUnavailable
from mojaloop_iac.vault.client import DEFAULT_TOKEN_ENV, VaultConnection, open_session
from mojaloop_iac.vault.errors import InvalidInput as VaultInvalidInput
from mojaloop_iac.vault.errors import VaultOperationError
from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    kv_data_path,
    require_dns_label,
    require_relative_path,
    require_secret_key,
)


@dataclass(frozen=True)
class VaultKvField:
    """One field of a KV v2 secret: `<mount>/data/<path>`, key `field`, on the Vault at `address`."""

    address: str
    path: str
    field: str
    mount: str = DEFAULT_KV_MOUNT
    token_env: str = DEFAULT_TOKEN_ENV
    # A path to a PEM file or the PEM text of the CA that signed Vault's certificate (public data).
    ca_cert: str | None = None
    namespace: str | None = None

    def __post_init__(self) -> None:
        require_dns_label(self.mount, "KV mount")
        require_relative_path(self.path, "Vault path")
        require_secret_key(self.field, "Vault field")
        try:
            self.connection()
        except VaultInvalidInput as error:
            raise ValueError(str(error)) from error

    def connection(self) -> VaultConnection:
        return VaultConnection(
            address=self.address, token_env=self.token_env, ca_cert=self.ca_cert, namespace=self.namespace
        )

    @property
    def data_path(self) -> str:
        """The ACL/API path read (`<mount>/data/<path>`): what a token's policy must allow to read."""
        return kv_data_path(self.mount, self.path)

    @property
    def location(self) -> str:
        return f"{self.data_path} field {self.field!r} at Vault {self.connection().base_address}"

    def to_props(self) -> dict[str, Any]:
        props = {
            "address": self.address,
            "mount": self.mount,
            "path": self.path,
            "field": self.field,
            "token_env": self.token_env,
            "ca_cert": self.ca_cert,
            "namespace": self.namespace,
        }
        return {key: value for key, value in props.items() if value is not None}

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "VaultKvField":
        known = {key: props[key] for key in cls.__dataclass_fields__ if props.get(key) is not None}
        return cls(**known)


@dataclass(frozen=True)
class KvFieldValue:
    """A value read from Vault and the KV version it belongs to. The value never appears in a repr."""

    value: str = field(repr=False)
    version: int


def read_kv_field(source: VaultKvField, purpose: str) -> KvFieldValue:
    """The current value of `source` and its KV version; `purpose` says what it is for in errors."""
    try:
        with open_session(source.connection()) as vault:
            answer = vault.call(
                ("read",),
                source.data_path,
                lambda: vault.client.secrets.kv.v2.read_secret_version(
                    source.path, mount_point=source.mount, raise_on_deleted_version=True
                ),
            )
    except VaultOperationError as error:
        raise CredentialUnavailable(f"cannot read {purpose} from {source.location}: {error}") from None
    data = (answer.get("data") or {}).get("data") or {}
    version = int(((answer.get("data") or {}).get("metadata") or {}).get("version") or 0)
    value = data.get(source.field)
    if not isinstance(value, str) or not value:
        present = sorted(data)
        raise CredentialUnavailable(
            f"{purpose}: {source.data_path} (version {version}) at Vault {source.connection().base_address} "
            f"holds no field {source.field!r} (fields present: {present or 'none'}); check the path and "
            "field, or let the control center's secret delivery generate it"
        )
    return KvFieldValue(value, version)
