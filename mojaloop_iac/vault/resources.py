"""Pulumi resources over the Vault dynamic providers: typed inputs in, non-secret outputs out.

Every resource shares the connection inputs `address`, optional `ca_cert` (path or PEM), optional
`namespace` and `token_env` (the *name* of the variable holding the token, `VAULT_TOKEN` by default).
Outputs repeat the inputs plus what Vault computed; none of them ever holds a secret value.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi.dynamic

from mojaloop_iac.vault.providers import (
    AclPolicyProvider,
    GeneratedSecretProvider,
    KubernetesAuthMountProvider,
    KubernetesAuthRoleProvider,
    KvV2MountProvider,
    PasswordPolicyProvider,
)

_MODULE = "mojaloop-vault"


class VaultConnectionArgs(TypedDict):
    address: pulumi.Input[str]
    """Vault API address, e.g. https://vault.example.org:8200."""
    token_env: NotRequired[pulumi.Input[str]]
    """Name of the environment variable holding the Vault token at run time (default VAULT_TOKEN)."""
    ca_cert: NotRequired[pulumi.Input[str]]
    """CA certificate that signed Vault's TLS certificate: a file path or PEM text."""
    namespace: NotRequired[pulumi.Input[str]]
    """Vault Enterprise / OpenBao namespace; leave out for the root namespace."""


class GeneratedSecretArgs(VaultConnectionArgs):
    path: pulumi.Input[str]
    """KV path relative to the mount; build it with `mojaloop_iac.vault.paths.secret_path`."""
    keys: pulumi.Input[Mapping[str, str]]
    """Each key of the secret mapped to the password policy Vault generates it from."""
    mount: NotRequired[pulumi.Input[str]]
    """KV v2 mount (default `mojaloop`)."""
    rotation: NotRequired[pulumi.Input[str | int]]
    """Change it (any string or number) to regenerate every key as a new KV version."""
    retain_on_delete: NotRequired[pulumi.Input[bool]]
    """True (default): deleting the resource leaves the secret in Vault. False: remove all versions."""


class KvV2MountArgs(VaultConnectionArgs):
    path: NotRequired[pulumi.Input[str]]
    """Mount path (default `mojaloop`)."""
    description: NotRequired[pulumi.Input[str]]
    max_versions: NotRequired[pulumi.Input[int]]
    """Versions kept per secret; 0 means Vault's default (10)."""
    cas_required: NotRequired[pulumi.Input[bool]]
    """Require check-and-set on every write to the mount, by anyone."""
    force_destroy: NotRequired[pulumi.Input[bool]]
    """Allow deleting the mount while it holds secrets (default False: deletion refuses)."""


class NamedPolicyArgs(VaultConnectionArgs):
    name: pulumi.Input[str]
    policy: pulumi.Input[str]
    """Policy HCL."""


class KubernetesAuthMountArgs(VaultConnectionArgs):
    path: pulumi.Input[str]
    """Auth mount path; build it with `mojaloop_iac.vault.paths.kubernetes_auth_mount`."""
    kubernetes_host: pulumi.Input[str]
    """The cluster's API server URL."""
    kubernetes_ca_cert: NotRequired[pulumi.Input[str]]
    """PEM CA certificate of the cluster's API server."""
    token_reviewer_jwt_env: NotRequired[pulumi.Input[str]]
    """Name of the environment variable holding the token-reviewer JWT (never stored in state)."""
    disable_local_ca_jwt: NotRequired[pulumi.Input[bool]]
    """Set True when Vault runs outside the cluster it authenticates."""
    description: NotRequired[pulumi.Input[str]]


class KubernetesAuthRoleArgs(VaultConnectionArgs):
    mount: pulumi.Input[str]
    role: pulumi.Input[str]
    bound_service_account_names: pulumi.Input[Sequence[str]]
    """Service accounts allowed to log in; wildcards are refused."""
    bound_service_account_namespaces: pulumi.Input[Sequence[str]]
    """Namespaces those service accounts live in; wildcards are refused."""
    policies: pulumi.Input[Sequence[str]]
    ttl: NotRequired[pulumi.Input[str | int]]
    """Token TTL, seconds or text such as '1h' (default 1h)."""
    max_ttl: NotRequired[pulumi.Input[str | int]]
    audience: NotRequired[pulumi.Input[str]]


def _props(args: Mapping[str, Any], outputs: Sequence[str]) -> dict[str, Any]:
    """Inputs plus None for each computed output, which is how Pulumi learns the output names."""
    return {**{name: None for name in outputs}, **dict(args)}


class GeneratedSecret(pulumi.dynamic.Resource, module=_MODULE, name="GeneratedSecret"):
    """A KV v2 secret whose values Vault generates from password policies; state never holds a value."""

    address: pulumi.Output[str]
    mount: pulumi.Output[str]
    path: pulumi.Output[str]
    version: pulumi.Output[int]
    key_names: pulumi.Output[list[str]]
    policy_names: pulumi.Output[list[str]]
    adopted: pulumi.Output[bool]

    def __init__(
        self, resource_name: str, args: GeneratedSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        outputs = ("mount", "version", "key_names", "policy_names", "adopted")
        super().__init__(GeneratedSecretProvider(), resource_name, _props(args, outputs), opts)


class KvV2Mount(pulumi.dynamic.Resource, module=_MODULE, name="KvV2Mount"):
    """A KV version 2 secrets engine."""

    path: pulumi.Output[str]
    adopted: pulumi.Output[bool]

    def __init__(
        self, resource_name: str, args: KvV2MountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(KvV2MountProvider(), resource_name, _props(args, ("path", "adopted")), opts)


class PasswordPolicy(pulumi.dynamic.Resource, module=_MODULE, name="PasswordPolicy"):
    """A Vault password policy."""

    name: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: NamedPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(PasswordPolicyProvider(), resource_name, _props(args, ()), opts)


class AclPolicy(pulumi.dynamic.Resource, module=_MODULE, name="AclPolicy"):
    """A Vault ACL policy."""

    name: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: NamedPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AclPolicyProvider(), resource_name, _props(args, ()), opts)


class KubernetesAuthMount(pulumi.dynamic.Resource, module=_MODULE, name="KubernetesAuthMount"):
    """A Kubernetes auth method for one environment cluster."""

    path: pulumi.Output[str]
    token_reviewer_jwt_set: pulumi.Output[bool]
    adopted: pulumi.Output[bool]

    def __init__(
        self, resource_name: str, args: KubernetesAuthMountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        outputs = ("token_reviewer_jwt_set", "adopted")
        super().__init__(KubernetesAuthMountProvider(), resource_name, _props(args, outputs), opts)


class KubernetesAuthRole(pulumi.dynamic.Resource, module=_MODULE, name="KubernetesAuthRole"):
    """A Kubernetes auth role bound to explicit service accounts and namespaces."""

    mount: pulumi.Output[str]
    role: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: KubernetesAuthRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(KubernetesAuthRoleProvider(), resource_name, _props(args, ()), opts)
