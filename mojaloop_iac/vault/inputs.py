"""Typed, validated views of the Vault resources' input bags (pure; no Vault calls).

Pulumi hands providers plain dicts: numbers arrive as floats, optional fields may be missing or None.
Each `*Inputs.from_props` normalises such a dict and raises InvalidInput naming the property, and
`to_props` gives the normalised dict back, so diff compares like with like and the outputs that
`delete` later receives hold everything it needs. No input ever holds a credential.
"""

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from mojaloop_iac.vault.client import VaultConnection
from mojaloop_iac.vault.errors import InvalidInput
from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    require_dns_label,
    require_relative_path,
    require_secret_key,
    require_vault_name,
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_BUILTIN_POLICIES: Final = frozenset({"root", "default"})


@contextmanager
def blame(property_name: str) -> Iterator[None]:
    """Re-raise a ValueError from a validator as InvalidInput for `property_name`."""
    try:
        yield
    except InvalidInput:
        raise
    except ValueError as error:
        raise InvalidInput(property_name, str(error)) from error


def text(props: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = props.get(name)
    if value is None or value == "":
        if default is None:
            raise InvalidInput(name, f"{name} is required")
        return default
    if not isinstance(value, str):
        raise InvalidInput(name, f"{name} must be a string, not {type(value).__name__}")
    return value


def optional_text(props: Mapping[str, Any], name: str) -> str | None:
    value = props.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, f"{name} must be a string, not {type(value).__name__}")
    return value


def flag(props: Mapping[str, Any], name: str, default: bool) -> bool:
    value = props.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(name, f"{name} must be true or false, not {value!r}")
    return value


def whole_number(props: Mapping[str, Any], name: str, default: int) -> int:
    value = props.get(name)
    if value is None:
        return default
    # Pulumi transports numbers as doubles: 5 arrives as 5.0.
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 0:
        raise InvalidInput(name, f"{name} must be a whole number >= 0, not {value!r}")
    return int(value)


def duration_seconds(props: Mapping[str, Any], name: str, default: int) -> int:
    """A TTL given as seconds (3600) or Vault-style text ('1h', '30m', '1h30m', '45s')."""
    value = props.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return whole_number(props, name, default)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise InvalidInput(
            name, f"{name} {value!r} is not a duration: use seconds or text like '1h', '30m', '1h30m'"
        )
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def env_name(props: Mapping[str, Any], name: str) -> str | None:
    value = optional_text(props, name)
    if value is not None and not _ENV_NAME.match(value):
        raise InvalidInput(name, f"{name} {value!r} is not an environment variable name")
    return value


def rotation(props: Mapping[str, Any]) -> str:
    """The rotation marker as text, so 2, 2.0 and '2' are the same rotation."""
    value = props.get("rotation")
    if value is None:
        return ""
    if isinstance(value, bool):
        raise InvalidInput("rotation", "rotation must be a string or a number, not a boolean")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    raise InvalidInput("rotation", f"rotation must be a string or a number, not {type(value).__name__}")


def string_list(props: Mapping[str, Any], name: str, *, allow_empty: bool = False) -> list[Any]:
    """The list under `name` (missing means empty), refused if it is not a list or is empty when it must not be."""
    value = props.get(name)
    if value is None:
        value = []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput(name, f"{name} must be a list of strings")
    if not value and not allow_empty:
        raise InvalidInput(name, f"{name} must list at least one entry")
    return list(value)


def names(
    props: Mapping[str, Any], name: str, *, validate: Any, allow_empty: bool = False
) -> tuple[str, ...]:
    """A list of names, validated one by one, de-duplicated and sorted (order carries no meaning)."""
    value = string_list(props, name, allow_empty=allow_empty)
    with blame(name):
        return tuple(sorted({validate(item) for item in value}))


def connection(props: Mapping[str, Any]) -> VaultConnection:
    return VaultConnection.from_inputs(props)


def _service_account_name(value: object) -> str:
    if not isinstance(value, str) or "*" in value:
        raise ValueError(
            f"service account {value!r} must be named explicitly: a wildcard would let every service "
            "account log in with this role"
        )
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(f"service account {value!r} is not a valid Kubernetes name")
    return value


def _bound_namespace(value: object) -> str:
    # "*" alone serves a role whose policy is templated on the login's namespace (vault.environment):
    # every namespace may log in, and each reads only its own path. Partial patterns mean nothing there.
    if value == "*":
        return value
    if isinstance(value, str) and "*" in value:
        raise ValueError(
            f"namespace {value!r} must be named explicitly, or be '*' alone for a role whose policy is "
            "templated on the service account's namespace"
        )
    return require_dns_label(value, "namespace")


def _role_policy(value: object) -> str:
    name = require_vault_name(value, "policy")
    if name == "root":
        raise ValueError("policy 'root' must never be attached to a role")
    return name


@dataclass(frozen=True)
class GeneratedSecretInputs:
    connection: VaultConnection
    mount: str
    path: str
    # key inside the secret -> password policy that generates it, sorted for a stable comparison
    keys: tuple[tuple[str, str], ...]
    rotation: str
    retain_on_delete: bool

    IDENTITY: ClassVar[tuple[str, ...]] = ("mount", "path", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "GeneratedSecretInputs":
        with blame("mount"):
            mount = require_dns_label(text(props, "mount", DEFAULT_KV_MOUNT), "mount")
        with blame("path"):
            path = require_relative_path(text(props, "path"), "path")
        raw_keys = props.get("keys")
        if not isinstance(raw_keys, Mapping) or not raw_keys:
            raise InvalidInput("keys", "keys must map each key of the secret to a password policy name")
        with blame("keys"):
            keys = tuple(
                sorted(
                    (require_secret_key(key), require_vault_name(policy, f"password policy of key {key!r}"))
                    for key, policy in raw_keys.items()
                )
            )
        return cls(
            connection=connection(props),
            mount=mount,
            path=path,
            keys=keys,
            rotation=rotation(props),
            retain_on_delete=flag(props, "retain_on_delete", True),
        )

    @property
    def key_policies(self) -> dict[str, str]:
        return dict(self.keys)

    @property
    def resource_id(self) -> str:
        prefix = f"{self.connection.namespace.strip('/')}/" if self.connection.namespace else ""
        return f"{prefix}{self.mount}/{self.path}"

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "mount": self.mount,
            "path": self.path,
            "keys": self.key_policies,
            "rotation": self.rotation,
            "retain_on_delete": self.retain_on_delete,
        }


@dataclass(frozen=True)
class KvV2MountInputs:
    connection: VaultConnection
    path: str
    description: str
    # 0 lets Vault apply its default (10 versions kept per secret).
    max_versions: int
    cas_required: bool
    # Without it, deleting a mount that still holds secrets fails instead of destroying them.
    force_destroy: bool

    IDENTITY: ClassVar[tuple[str, ...]] = ("path", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "KvV2MountInputs":
        with blame("path"):
            path = require_dns_label(text(props, "path", DEFAULT_KV_MOUNT), "mount path")
        return cls(
            connection=connection(props),
            path=path,
            description=optional_text(props, "description") or "",
            max_versions=whole_number(props, "max_versions", 0),
            cas_required=flag(props, "cas_required", False),
            force_destroy=flag(props, "force_destroy", False),
        )

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "path": self.path,
            "description": self.description,
            "max_versions": self.max_versions,
            "cas_required": self.cas_required,
            "force_destroy": self.force_destroy,
        }


@dataclass(frozen=True)
class NamedPolicyInputs:
    """A password policy or an ACL policy: a name and its HCL text."""

    connection: VaultConnection
    name: str
    policy: str
    auth_accessor_of: str | None = None
    """An auth mount: its accessor, known only once Vault enabled it, replaces the placeholder in `policy`."""

    IDENTITY: ClassVar[tuple[str, ...]] = ("name", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "NamedPolicyInputs":
        with blame("name"):
            name = require_vault_name(text(props, "name"), "policy name")
        if name in _BUILTIN_POLICIES:
            raise InvalidInput(
                "name", f"policy name {name!r} is built into Vault and must not be managed here"
            )
        policy = text(props, "policy")
        if not policy.strip():
            raise InvalidInput("policy", "policy must hold HCL text")
        accessor_of = optional_text(props, "auth_accessor_of")
        if accessor_of is not None:
            with blame("auth_accessor_of"):
                require_dns_label(accessor_of, "auth mount path")
        return cls(connection=connection(props), name=name, policy=policy, auth_accessor_of=accessor_of)

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "name": self.name,
            "policy": self.policy,
            "auth_accessor_of": self.auth_accessor_of,
        }


@dataclass(frozen=True)
class KubernetesAuthMountInputs:
    connection: VaultConnection
    path: str
    kubernetes_host: str
    kubernetes_ca_cert: str | None
    # Name of the environment variable holding the token-reviewer JWT; the JWT never enters state.
    token_reviewer_jwt_env: str | None
    # Vault running outside the cluster has no local service-account CA/JWT to fall back on.
    disable_local_ca_jwt: bool
    description: str
    enable: bool = True
    """False: the mount is someone else's (the control center enabled it); only its configuration is ours."""

    IDENTITY: ClassVar[tuple[str, ...]] = ("path", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "KubernetesAuthMountInputs":
        with blame("path"):
            path = require_dns_label(text(props, "path"), "auth mount path")
        host = text(props, "kubernetes_host")
        if not re.match(r"^https?://[^/\s]+/?$", host):
            raise InvalidInput(
                "kubernetes_host",
                f"kubernetes_host {host!r} must be the API server URL, e.g. https://10.0.0.1:6443",
            )
        return cls(
            connection=connection(props),
            path=path,
            kubernetes_host=host,
            kubernetes_ca_cert=optional_text(props, "kubernetes_ca_cert"),
            token_reviewer_jwt_env=env_name(props, "token_reviewer_jwt_env"),
            disable_local_ca_jwt=flag(props, "disable_local_ca_jwt", False),
            description=optional_text(props, "description") or "",
            enable=flag(props, "enable", True),
        )

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "path": self.path,
            "kubernetes_host": self.kubernetes_host,
            "kubernetes_ca_cert": self.kubernetes_ca_cert,
            "token_reviewer_jwt_env": self.token_reviewer_jwt_env,
            "disable_local_ca_jwt": self.disable_local_ca_jwt,
            "description": self.description,
            "enable": self.enable,
        }


@dataclass(frozen=True)
class KubernetesAuthRoleInputs:
    connection: VaultConnection
    mount: str
    role: str
    bound_service_account_names: tuple[str, ...]
    bound_service_account_namespaces: tuple[str, ...]
    policies: tuple[str, ...]
    ttl: int
    max_ttl: int
    audience: str | None

    IDENTITY: ClassVar[tuple[str, ...]] = ("mount", "role", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "KubernetesAuthRoleInputs":
        with blame("mount"):
            mount = require_dns_label(text(props, "mount"), "auth mount path")
        with blame("role"):
            role = require_vault_name(text(props, "role"), "role")
        return cls(
            connection=connection(props),
            mount=mount,
            role=role,
            bound_service_account_names=names(
                props, "bound_service_account_names", validate=_service_account_name
            ),
            bound_service_account_namespaces=names(
                props, "bound_service_account_namespaces", validate=_bound_namespace
            ),
            policies=names(props, "policies", validate=_role_policy),
            ttl=duration_seconds(props, "ttl", 3600),
            max_ttl=duration_seconds(props, "max_ttl", 0),
            audience=optional_text(props, "audience"),
        )

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "mount": self.mount,
            "role": self.role,
            "bound_service_account_names": list(self.bound_service_account_names),
            "bound_service_account_namespaces": list(self.bound_service_account_namespaces),
            "policies": list(self.policies),
            "ttl": self.ttl,
            "max_ttl": self.max_ttl,
            "audience": self.audience,
        }


@dataclass(frozen=True)
class TokenRoleInputs:
    """A token role (`auth/token/roles/<name>`): who holds tokens of it gets only `allowed_policies`."""

    connection: VaultConnection
    name: str
    allowed_policies: tuple[str, ...]
    max_ttl: int
    """Hard cap on the life of every token of the role, renewals included (Vault's explicit max TTL)."""

    IDENTITY: ClassVar[tuple[str, ...]] = ("name", "namespace")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "TokenRoleInputs":
        with blame("name"):
            name = require_vault_name(text(props, "name"), "token role")
        max_ttl = duration_seconds(props, "max_ttl", 0)
        if max_ttl <= 0:
            raise InvalidInput("max_ttl", "max_ttl must be positive: tokens of the role must expire")
        return cls(
            connection=connection(props),
            name=name,
            allowed_policies=names(props, "allowed_policies", validate=_role_policy),
            max_ttl=max_ttl,
        )

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "name": self.name,
            "allowed_policies": list(self.allowed_policies),
            "max_ttl": self.max_ttl,
        }
