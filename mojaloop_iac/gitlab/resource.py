"""The Pulumi resource over GitLabPostInstallProvider, and the helper the control-center program calls.

    post_install = gitlab_post_install(
        "cc-gitlab-post-install", plan.services.gitlab, vault_address=plan.vault_address,
        kv_mount=plan.bootstrap.kv_mount, opts=pulumi.ResourceOptions(depends_on=[services, bootstrap]),
    )

Neither token is an input: the provider reads the GitLab admin token from `admin_token_env` and the Vault
token from `token_env` when it runs. Outputs hold no secret (see post_install._outputs).
"""

from __future__ import annotations

from typing import NotRequired

import pulumi
import pulumi.dynamic

from mojaloop_iac.gitlab.inputs import DEFAULT_ADMIN_TOKEN_ENV, oidc_props, runner_props
from mojaloop_iac.gitlab.post_install import GitLabPostInstallProvider
from mojaloop_iac.planners.control_center.gitlab import GitLabPlan, RunnerRegistration, VaultOidcAuth
from mojaloop_iac.vault.paths import DEFAULT_KV_MOUNT

# `_props` declares the output names the way every Vault resource does.
from mojaloop_iac.vault.resources import VaultConnectionArgs, _props

_MODULE = "mojaloop-gitlab"
_OUTPUTS = (
    "application_id",
    "client_id",
    "oidc_mount",
    "oidc_role",
    "runner_id",
    "actions",
    "changed",
    "drift",
)


class GitLabPostInstallArgs(VaultConnectionArgs):
    gitlab_url: pulumi.Input[str]
    """GitLab's address as this machine reaches it (GitLabPlan.url)."""
    oidc: VaultOidcAuth
    """GitLabPlan.oidc: the OAuth application, Vault's OIDC mount, config and role."""
    runner: RunnerRegistration
    """GitLabPlan.runner_registration: the runner and where its token goes in Vault."""
    admin_token_env: NotRequired[str]
    """Environment variable holding a GitLab administrator's token (scope `api`) at run time."""
    gitlab_ca_cert: NotRequired[pulumi.Input[str]]
    """CA that signed GitLab's certificate (PEM or file path); also handed to Vault for discovery."""
    kv_mount: NotRequired[str]
    """The control center's KV v2 mount (VaultBootstrapPlan.kv_mount)."""


class GitLabPostInstall(pulumi.dynamic.Resource, module=_MODULE, name="GitLabPostInstall"):
    """GitLab's OAuth application for Vault logins, Vault's OIDC auth method, and the runner's token."""

    application_id: pulumi.Output[int]
    client_id: pulumi.Output[str]
    oidc_mount: pulumi.Output[str]
    oidc_role: pulumi.Output[str]
    runner_id: pulumi.Output[int]
    actions: pulumi.Output[list[str]]
    changed: pulumi.Output[bool]
    drift: pulumi.Output[list[str]]

    def __init__(
        self, resource_name: str, args: GitLabPostInstallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            **{key: value for key, value in args.items() if key not in ("oidc", "runner")},
            "oidc": oidc_props(args["oidc"]),
            "runner": runner_props(args["runner"]),
            "in_sync": True,
        }
        super().__init__(GitLabPostInstallProvider(), resource_name, _props(props, _OUTPUTS), opts)


def gitlab_post_install(
    name: str,
    plan: GitLabPlan,
    *,
    vault_address: pulumi.Input[str],
    kv_mount: str = DEFAULT_KV_MOUNT,
    vault_token_env: str = "VAULT_TOKEN",
    admin_token_env: str | None = None,
    gitlab_ca_cert: pulumi.Input[str] | None = None,
    vault_ca_cert: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> GitLabPostInstall:
    """The post-install resource for a planned GitLab; run it after GitLab's release and Vault's bootstrap."""
    args: GitLabPostInstallArgs = {
        "address": vault_address,
        "token_env": vault_token_env,
        "gitlab_url": plan.url,
        "oidc": plan.oidc,
        "runner": plan.runner_registration,
        "admin_token_env": admin_token_env or plan.oidc.admin_token_env or DEFAULT_ADMIN_TOKEN_ENV,
        "kv_mount": kv_mount,
    }
    if gitlab_ca_cert is not None:
        args["gitlab_ca_cert"] = gitlab_ca_cert
    if vault_ca_cert is not None:
        args["ca_cert"] = vault_ca_cert
    return GitLabPostInstall(name, args, opts)
