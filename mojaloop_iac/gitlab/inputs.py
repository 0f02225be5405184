"""The post-install resource's input bag: validated, normalised, and free of credentials (pure).

The planned OIDC and runner data (`VaultOidcAuth`, `RunnerRegistration` from
`planners.control_center.gitlab`) travel as nested plain dicts; `from_props` rebuilds them so the
provider works with the very objects the planner produced, and `to_props` gives the dicts back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from mojaloop_iac.planners.control_center.gitlab import (
    GitLabOAuthApplication,
    RunnerRegistration,
    VaultOidcAuth,
    VaultOidcRole,
)
from mojaloop_iac.planners.control_center.object_storage import VaultValue
from mojaloop_iac.vault.client import VaultConnection
from mojaloop_iac.vault.errors import InvalidInput
from mojaloop_iac.vault.inputs import (
    blame,
    connection,
    duration_seconds,
    env_name,
    optional_text,
    string_list,
    text,
)
from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    require_dns_label,
    require_relative_path,
    require_secret_key,
    require_vault_name,
)

DEFAULT_ADMIN_TOKEN_ENV = "GITLAB_TOKEN"
_URL = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$")


def _url(props: Mapping[str, Any], name: str) -> str:
    value = text(props, name).rstrip("/")
    if not _URL.match(value):
        raise InvalidInput(
            name, f"{name} {value!r} is not an http(s):// URL such as https://gitlab.example.org"
        )
    return value


@contextmanager
def _within(section: str) -> Iterator[None]:
    """Name a problem inside a nested section by its full path (`oidc.role.token_policies`)."""
    try:
        yield
    except InvalidInput as error:
        raise InvalidInput(f"{section}.{error.property}", str(error)) from None
    except ValueError as error:
        raise InvalidInput(section, str(error)) from None


def _named(error: InvalidInput, leaf: str) -> InvalidInput:
    """The message with the full path of the property instead of its last part."""
    message = str(error)
    if message.startswith(leaf) and error.property != leaf:
        message = error.property + message[len(leaf) :]
    elif error.property != leaf:
        message = f"{error.property}: {message}"
    return InvalidInput(error.property, message)


def _strings(props: Mapping[str, Any], name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings, order kept (redirect URIs and scopes are shown in that order)."""
    value = string_list(props, name, allow_empty=allow_empty)
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise InvalidInput(name, f"{name} must hold non-empty strings only")
    return tuple(value)


def _section(props: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = props.get(name)
    if not isinstance(value, Mapping):
        raise InvalidInput(name, f"{name} is required (the plan's {name} data)")
    return value


def _role(props: Mapping[str, Any]) -> VaultOidcRole:
    raw = _section(props, "role")
    with _within("role"):
        claims = raw.get("bound_claims")
        if not isinstance(claims, Mapping) or not claims:
            raise InvalidInput("bound_claims", "bound_claims must map claims to their allowed values")
        with blame("name"):
            name = require_vault_name(text(raw, "name"), "OIDC role")
        with blame("token_policies"):
            policies = tuple(require_vault_name(p, "Vault policy") for p in _strings(raw, "token_policies"))
        for duration in ("token_ttl", "token_max_ttl"):
            duration_seconds(raw, duration, 0)  # refuse what Vault would refuse
        return VaultOidcRole(
            name=name,
            allowed_redirect_uris=_strings(raw, "allowed_redirect_uris"),
            bound_claims={str(claim): _strings(claims, claim) for claim in sorted(claims)},
            token_policies=policies,
            oidc_scopes=_strings(raw, "oidc_scopes"),
            user_claim=text(raw, "user_claim"),
            groups_claim=text(raw, "groups_claim"),
            token_ttl=str(raw.get("token_ttl")),
            token_max_ttl=str(raw.get("token_max_ttl")),
        )


def _oidc(props: Mapping[str, Any], admin_token_env: str) -> VaultOidcAuth:
    raw = _section(props, "oidc")
    with _within("oidc"):
        application = _section(raw, "application")
        with _within("application"):
            planned = GitLabOAuthApplication(
                name=text(application, "name"),
                redirect_uris=_strings(application, "redirect_uris"),
                scopes=_strings(application, "scopes"),
            )
        with blame("mount_path"):
            mount_path = require_dns_label(text(raw, "mount_path"), "OIDC auth mount")
        with blame("client_credentials_path"):
            credentials_path = require_relative_path(
                text(raw, "client_credentials_path"), "client_credentials_path"
            )
        return VaultOidcAuth(
            application=planned,
            mount_path=mount_path,
            discovery_url=_url(raw, "discovery_url"),
            role=_role(raw),
            client_credentials_path=credentials_path,
            admin_token_env=admin_token_env,
            # A Kubernetes Secret name: what the resource needs is the PEM itself (gitlab_ca_cert).
            discovery_ca_secret=None,
        )


def _runner(props: Mapping[str, Any]) -> RunnerRegistration:
    raw = _section(props, "runner")
    with _within("runner"):
        with blame("token_path"):
            path = require_relative_path(text(raw, "token_path"), "token_path")
        with blame("token_key"):
            key = require_secret_key(text(raw, "token_key"), "token_key")
        return RunnerRegistration(description=text(raw, "description"), token_path=VaultValue(path, key))


def oidc_props(oidc: VaultOidcAuth) -> dict[str, Any]:
    role = oidc.role
    return {
        "application": {
            "name": oidc.application.name,
            "redirect_uris": list(oidc.application.redirect_uris),
            "scopes": list(oidc.application.scopes),
        },
        "mount_path": oidc.mount_path,
        "discovery_url": oidc.discovery_url,
        "client_credentials_path": oidc.client_credentials_path,
        "role": {
            "name": role.name,
            "allowed_redirect_uris": list(role.allowed_redirect_uris),
            "bound_claims": {claim: list(values) for claim, values in sorted(role.bound_claims.items())},
            "token_policies": list(role.token_policies),
            "oidc_scopes": list(role.oidc_scopes),
            "user_claim": role.user_claim,
            "groups_claim": role.groups_claim,
            "token_ttl": role.token_ttl,
            "token_max_ttl": role.token_max_ttl,
        },
    }


def runner_props(runner: RunnerRegistration) -> dict[str, Any]:
    return {
        "description": runner.description,
        "token_path": runner.token_path.path,
        "token_key": runner.token_path.key,
    }


@dataclass(frozen=True)
class PostInstallInputs:
    gitlab_url: str
    gitlab_ca_cert: str | None
    """PEM text or file path of the CA that signed GitLab's certificate; Vault's discovery fetch gets it too."""
    admin_token_env: str
    vault: VaultConnection
    kv_mount: str
    oidc: VaultOidcAuth
    runner: RunnerRegistration
    in_sync: bool
    """Always true in the inputs; `read` reports false when GitLab or Vault drifted, so the next diff converges."""

    IDENTITY: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> PostInstallInputs:
        try:
            return cls._parse(props)
        except InvalidInput as error:
            raise _named(error, error.property.rsplit(".", 1)[-1]) from None

    @classmethod
    def _parse(cls, props: Mapping[str, Any]) -> PostInstallInputs:
        admin_token_env = env_name(props, "admin_token_env") or DEFAULT_ADMIN_TOKEN_ENV
        with blame("kv_mount"):
            kv_mount = require_dns_label(text(props, "kv_mount", DEFAULT_KV_MOUNT), "KV mount")
        return cls(
            gitlab_url=_url(props, "gitlab_url"),
            gitlab_ca_cert=optional_text(props, "gitlab_ca_cert"),
            admin_token_env=admin_token_env,
            vault=connection(props),
            kv_mount=kv_mount,
            oidc=_oidc(props, admin_token_env),
            runner=_runner(props),
            in_sync=bool(props.get("in_sync", True)),
        )

    def to_props(self) -> dict[str, Any]:
        return {
            "gitlab_url": self.gitlab_url,
            "gitlab_ca_cert": self.gitlab_ca_cert,
            "admin_token_env": self.admin_token_env,
            **self.vault.to_outputs(),
            "kv_mount": self.kv_mount,
            "oidc": oidc_props(self.oidc),
            "runner": runner_props(self.runner),
            "in_sync": self.in_sync,
        }
