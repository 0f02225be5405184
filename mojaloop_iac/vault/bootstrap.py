"""Configuring an initialised Vault for the control center, as one Pulumi dynamic provider.

VaultBootstrap converges Vault on a `VaultBootstrapPlan` (mojaloop_iac.vault.bootstrap_plan), in order:

1. the seal status: an uninitialised or sealed Vault stops the run with what the operators must do;
2. the token (read from the variable `token_env` names): the one-time root token on the first run, an
   administrator's token afterwards;
3. the file audit device, so everything that follows is audited;
4. the KV v2 mount and the password policies; the administrators' policy;
5. per environment: its Kubernetes auth mount, its templated read policy and reader role, and the deploy
   policy and token role its stack works with (a cluster hosting QA environments also their read policy);
   then CI's JWT logins (GitLab id_tokens, GitHub OIDC) and the QA deployer policy they lead to;
6. the operator auth method (userpass) with one administrator account per operator;
7. last, revoking the root token, if that is what the run used: `auth/token/revoke-self`.

Each step reads first and writes only what differs, through the same dynamic providers the environment
stacks use (mojaloop_iac.vault.providers), and reports what it did; a second run reports everything
unchanged. Nothing is ever deleted: re-running against a partially configured Vault (say, a mount removed
by hand) recreates what is missing and leaves every stored secret alone. Deleting the resource leaves
Vault as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import hvac.exceptions
from pulumi.dynamic import CreateResult, ReadResult, ResourceProvider, UpdateResult

from mojaloop_iac.vault.bootstrap_init import CLIS
from mojaloop_iac.vault.bootstrap_plan import AuditPlan, OperatorAuth, VaultBootstrapPlan
from mojaloop_iac.vault.bootstrap_status import require_unsealed
from mojaloop_iac.vault.client import (
    VaultConnection,
    VaultSession,
    is_missing_mount,
    is_missing_object,
    open_session,
    open_unauthenticated_session,
)
from mojaloop_iac.vault.errors import InvalidInput, VaultOperationError
from mojaloop_iac.vault.inputs import (
    KubernetesAuthRoleInputs,
    KvV2MountInputs,
    NamedPolicyInputs,
    TokenRoleInputs,
    connection,
    text,
)
from mojaloop_iac.vault.providers import (
    AclPolicyProvider,
    KubernetesAuthRoleProvider,
    KvV2MountProvider,
    PasswordPolicyProvider,
    TokenRoleProvider,
    _VaultProvider,
)

# Results that mean Vault was changed by the step.
CHANGES: Final = frozenset({"created", "updated", "enabled", "revoked"})
# An initial password must hold up until the operator replaces it at first login.
MIN_INITIAL_PASSWORD_LENGTH: Final = 16
_PROBE_ID: Final = "probe"


@dataclass(frozen=True)
class Outcome:
    subject: str
    result: str
    """created, updated, enabled, revoked (Vault changed) or unchanged, present, kept (it did not)."""
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.result in CHANGES

    def line(self) -> str:
        return f"{self.subject}: {self.result}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class BootstrapInputs:
    connection: VaultConnection
    cli: str
    plan: VaultBootstrapPlan
    in_sync: bool
    """Always true in the inputs; `read` reports false when Vault drifted, so the next diff converges it."""

    IDENTITY: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> BootstrapInputs:
        cli = text(props, "cli", "vault")
        if cli not in CLIS:
            raise InvalidInput("cli", f"cli {cli!r} must be one of {', '.join(CLIS)}")
        return cls(
            connection(props), cli, VaultBootstrapPlan.from_props(props), bool(props.get("in_sync", True))
        )

    def to_props(self) -> dict[str, Any]:
        return {
            **self.connection.to_outputs(),
            "cli": self.cli,
            **self.plan.to_props(),
            "in_sync": self.in_sync,
        }


class _Run:
    """One pass over the plan; `apply=False` only looks (refresh), `apply=True` converges."""

    def __init__(self, inputs: BootstrapInputs, apply: bool) -> None:
        self.inputs = inputs
        self.plan = inputs.plan
        self.apply = apply
        self.outcomes: list[Outcome] = []
        self.connection_props = {k: v for k, v in inputs.connection.to_outputs().items() if v is not None}

    @property
    def address(self) -> str:
        return self.inputs.connection.base_address

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    # --- through the existing providers ------------------------------------------------------------

    def converge(
        self, subject: str, provider: ResourceProvider, inputs_type: Any, props: Mapping[str, Any]
    ) -> None:
        """Read the object through its provider; create/converge it only if it is missing or differs."""
        desired = inputs_type.from_props({**self.connection_props, **props}).to_props()
        live = provider.read(_PROBE_ID, dict(desired))
        if live.id == _PROBE_ID and inputs_type.from_props(live.outs).to_props() == desired:
            self.record(Outcome(subject, "unchanged"))
            return
        result = "created" if live.id != _PROBE_ID else "updated"
        if self.apply:
            provider.create(dict(desired))
            self.record(Outcome(subject, result))
        else:
            self.record(Outcome(subject, f"would be {result}"))

    # --- steps ------------------------------------------------------------------------------------------

    def audit_device(self, vault: VaultSession) -> None:
        audit: AuditPlan = self.plan.audit
        device = audit.device
        subject = f"audit device '{device.path}/' writing {device.file_path}"
        devices = vault.call(("read", "sudo"), "sys/audit", lambda: vault.client.adapter.get("/v1/sys/audit"))
        listed = devices.get("data", devices) if isinstance(devices, Mapping) else {}
        live = listed.get(f"{device.path}/")
        if live is not None:
            live_path = (live.get("options") or {}).get("file_path")
            if live.get("type") != "file" or live_path != device.file_path:
                raise VaultOperationError(
                    f"Vault at {self.address} has a {live.get('type')} audit device at '{device.path}/' writing "
                    f"{live_path}, not a file device writing {device.file_path}. Refusing to replace it (a "
                    "replaced device gets a new HMAC salt, so older log entries can no longer be matched): "
                    "change it by hand, or plan another audit device path",
                    address=self.address,
                    path=f"sys/audit/{device.path}",
                )
            how = "declared in the server configuration" if audit.declared_in_server_config else "enabled"
            self.record(Outcome(subject, "present", how))
            return
        if audit.declared_in_server_config:
            raise VaultOperationError(
                f"Vault at {self.address} has no audit device '{device.path}/' although the planned server "
                "configuration declares it: the servers still run an older configuration. Roll out the planned "
                "configuration (helm upgrade, then restart the pods one at a time, standbys first) and re-run",
                address=self.address,
                path="sys/audit",
            )
        if not self.apply:
            self.record(Outcome(subject, "would be enabled"))
            return
        enabled = vault.call_or_none(
            ("create", "update", "sudo"),
            f"sys/audit/{device.path}",
            lambda: vault.client.adapter.put(
                f"/v1/sys/audit/{device.path}",
                json={
                    "type": "file",
                    "description": device.description,
                    "options": {"file_path": device.file_path},
                },
            ),
            absent_if=_refused_through_api,
        )
        if enabled is None:
            raise VaultOperationError(
                f"Vault at {self.address} refuses enabling audit devices through its API (OpenBao): declare "
                f"'{device.path}' in the server configuration (an `audit \"file\"` stanza; the OpenBao server "
                "plan does) and restart the servers",
                address=self.address,
                path=f"sys/audit/{device.path}",
            )
        self.record(Outcome(subject, "enabled"))

    def kv_and_policies(self) -> None:
        # No description and default settings: exactly what the environment stacks converge the mount on.
        self.converge(
            f"KV v2 mount '{self.plan.kv_mount}/'",
            KvV2MountProvider(),
            KvV2MountInputs,
            {"path": self.plan.kv_mount},
        )
        for policy in self.plan.password_policies:
            self.converge(
                f"password policy '{policy.name}'",
                PasswordPolicyProvider(),
                NamedPolicyInputs,
                {"name": policy.name, "policy": policy.text},
            )
        admin = self.plan.admin_policy
        self.converge(
            f"ACL policy '{admin.name}'",
            AclPolicyProvider(),
            NamedPolicyInputs,
            {"name": admin.name, "policy": admin.text},
        )

    def auth_mount(self, vault: VaultSession, path: str, kind: str, description: str, subject: str) -> bool:
        """Enable auth method `kind` at `path` unless it is there; True if it already existed."""
        mount_path = f"sys/auth/{path}"
        mount = vault.call_or_none(
            ("read", "sudo"),
            mount_path,
            lambda: vault.client.adapter.get(f"/v1/{mount_path}"),
            absent_if=is_missing_mount,
        )
        if mount is None:
            if self.apply:
                vault.call(
                    ("create", "update", "sudo"),
                    mount_path,
                    lambda: vault.client.sys.enable_auth_method(kind, path=path, description=description),
                )
            self.record(Outcome(subject, "enabled" if self.apply else "would be enabled"))
            return False
        live_kind = (mount.get("data") or mount).get("type")
        if live_kind != kind:
            raise VaultOperationError(
                f"Vault at {self.address} already has a {live_kind} auth method at '{path}/', not {kind}: "
                "refusing to change it; choose another path",
                address=self.address,
                path=mount_path,
            )
        self.record(Outcome(subject, "unchanged"))
        return True

    def environments(self, vault: VaultSession) -> None:
        for environment in self.plan.environments:
            mount = environment.auth_mount
            existed = self.auth_mount(
                vault,
                mount,
                "kubernetes",
                f"Environment {environment.name}: its stack points it at the cluster's API server",
                f"Kubernetes auth mount '{mount}/' of environment '{environment.name}'",
            )
            if not existed and not self.apply:
                # The templated policy and the role need the mount: all of them come with it.
                self.record(Outcome(f"policies and roles of environment '{environment.name}'", "would be created"))
                continue
            policies = [(environment.read_policy, mount), (environment.deploy_policy, None)]
            if environment.qa_read_policy is not None:
                policies.append((environment.qa_read_policy, mount))
            for policy, accessor_of in policies:
                self.converge(
                    f"ACL policy '{policy.name}'",
                    AclPolicyProvider(),
                    NamedPolicyInputs,
                    {"name": policy.name, "policy": policy.text, "auth_accessor_of": accessor_of},
                )
            self.converge(
                f"Kubernetes auth role '{mount}/{environment.reader_role}'",
                KubernetesAuthRoleProvider(),
                KubernetesAuthRoleInputs,
                {
                    "mount": mount,
                    "role": environment.reader_role,
                    "bound_service_account_names": list(environment.reader_service_accounts),
                    "bound_service_account_namespaces": list(environment.reader_namespaces),
                    "policies": [environment.read_policy.name],
                    "ttl": environment.reader_ttl_seconds,
                },
            )
            self.converge(
                f"token role '{environment.token_role}' (policy {environment.deploy_policy.name})",
                TokenRoleProvider(),
                TokenRoleInputs,
                {
                    "name": environment.token_role,
                    "allowed_policies": [environment.deploy_policy.name],
                    "max_ttl": environment.token_max_ttl_seconds,
                },
            )

    def qa_logins(self, vault: VaultSession) -> None:
        """CI's JWT logins and the QA deployer role and policy they lead to (controlCenter.qa)."""
        qa = self.plan.qa
        if qa is None:
            return
        policy = qa.deployer_policy
        self.converge(
            f"ACL policy '{policy.name}'", AclPolicyProvider(), NamedPolicyInputs, {"name": policy.name, "policy": policy.text}
        )
        self.transit_key(vault, qa.transit_mount, qa.transit_key)
        for login in qa.logins:
            existed = self.auth_mount(
                vault, login.mount, "jwt", login.description, f"JWT auth mount '{login.mount}/' ({login.description})"
            )
            if not existed and not self.apply:
                self.record(Outcome(f"configuration and role '{login.role}' of '{login.mount}/'", "would be created"))
                continue
            self.settings(
                vault,
                f"auth/{login.mount}/config",
                {"jwks_url": login.jwks_url, "bound_issuer": login.bound_issuer},
                f"JWT auth mount '{login.mount}/' trusting {login.bound_issuer}",
            )
            self.settings(
                vault,
                f"auth/{login.mount}/role/{login.role}",
                {
                    "role_type": "jwt",
                    "user_claim": login.user_claim,
                    "bound_audiences": sorted(login.bound_audiences),
                    "bound_claims": {claim: sorted(values) for claim, values in login.bound_claims},
                    "bound_claims_type": "glob",
                    "token_policies": [policy.name],
                    "token_ttl": qa.token_ttl_seconds,
                    # Renewable up to the run's length and no further: a token that leaks stops working soon.
                    "token_max_ttl": qa.token_ttl_seconds,
                },
                f"JWT role '{login.mount}/{login.role}' (policy {policy.name})",
            )

    def transit_key(self, vault: VaultSession, mount: str, key: str) -> None:
        """The transit engine at `mount` and its key `key` (QA stacks' secrets provider), created if missing;
        an existing key is never changed or rotated here."""
        engine = vault.call_or_none(
            ("read", "sudo"), f"sys/mounts/{mount}", lambda: vault.client.adapter.get(f"/v1/sys/mounts/{mount}"),
            absent_if=is_missing_mount,
        )
        subject = f"transit engine '{mount}/'"
        if engine is None:
            if self.apply:
                vault.call(
                    ("create", "update", "sudo"), f"sys/mounts/{mount}",
                    lambda: vault.client.sys.enable_secrets_engine("transit", path=mount,
                                                                   description="Pulumi secrets providers"),
                )
            self.record(Outcome(subject, "enabled" if self.apply else "would be enabled"))
        else:
            kind = (engine.get("data") or engine).get("type")
            if kind != "transit":
                raise VaultOperationError(
                    f"Vault at {self.address} has a {kind} secrets engine at '{mount}/', not transit: refusing to "
                    "change it",
                    address=self.address, path=f"sys/mounts/{mount}",
                )
            self.record(Outcome(subject, "unchanged"))
        path = f"{mount}/keys/{key}"
        existing = None
        if engine is not None:
            existing = vault.call_or_none(
                ("read",), path, lambda: vault.client.adapter.get(f"/v1/{path}"), absent_if=is_missing_object
            )
        if existing is not None:
            self.record(Outcome(f"transit key '{path}'", "unchanged"))
        elif self.apply:
            vault.call(("create", "update"), path, lambda: vault.client.adapter.post(f"/v1/{path}", json={}))
            self.record(Outcome(f"transit key '{path}'", "created"))
        else:
            self.record(Outcome(f"transit key '{path}'", "would be created"))

    def settings(self, vault: VaultSession, path: str, desired: Mapping[str, Any], subject: str) -> None:
        """Write `desired` at `path` unless Vault already holds exactly those values there."""
        live = vault.call_or_none(
            ("read",), path, lambda: vault.client.adapter.get(f"/v1/{path}"), absent_if=is_missing_object
        )
        data = (live or {}).get("data") or {}
        current = {key: _comparable(data.get(key)) for key in desired}
        if live is not None and current == {key: _comparable(value) for key, value in desired.items()}:
            self.record(Outcome(subject, "unchanged"))
            return
        result = "created" if live is None else "updated"
        if self.apply:
            vault.call(("create", "update"), path, lambda: vault.client.adapter.post(f"/v1/{path}", json=dict(desired)))
            self.record(Outcome(subject, result))
        else:
            self.record(Outcome(subject, f"would be {result}"))

    def operator_auth(self, vault: VaultSession) -> None:
        auth: OperatorAuth = self.plan.operator_auth
        mount_exists = self.auth_mount(
            vault, auth.mount, "userpass", "Vault administrators (operators)", f"userpass auth mount '{auth.mount}/'"
        )
        for user in auth.users:
            self._operator_user(vault, auth, user, mount_exists=mount_exists)

    def _operator_user(self, vault: VaultSession, auth: OperatorAuth, user: str, mount_exists: bool) -> None:
        path = f"auth/{auth.mount}/users/{user}"
        subject = f"operator account '{user}' ({auth.mount}, policy {self.plan.admin_policy.name})"
        settings = {
            "token_policies": [self.plan.admin_policy.name],
            "token_ttl": auth.token_ttl_seconds,
            "token_max_ttl": auth.token_max_ttl_seconds,
        }
        live = (
            vault.call_or_none(
                ("read",), path, lambda: vault.client.adapter.get(f"/v1/{path}"), absent_if=is_missing_object
            )
            if mount_exists
            else None
        )
        if live is not None:
            data = live.get("data") or {}
            current = {
                "token_policies": sorted(data.get("token_policies") or []),
                "token_ttl": int(data.get("token_ttl") or 0),
                "token_max_ttl": int(data.get("token_max_ttl") or 0),
            }
            if current == settings:
                self.record(Outcome(subject, "unchanged"))
                return
            if self.apply:
                # Without a password field Vault keeps the operator's own password.
                vault.call(("update",), path, lambda: vault.client.adapter.post(f"/v1/{path}", json=settings))
            self.record(Outcome(subject, "updated" if self.apply else "would be updated"))
            return
        if not self.apply:
            self.record(Outcome(subject, "would be created"))
            return
        variable = auth.password_env(user)
        password = os.environ.get(variable, "")
        if len(password) < MIN_INITIAL_PASSWORD_LENGTH:
            raise VaultOperationError(
                f"operator account '{user}' does not exist yet at Vault {self.address}: export its initial "
                f"password ({MIN_INITIAL_PASSWORD_LENGTH}+ characters) in {variable} and re-run. "
                f"The operator replaces it at first login (`{self.inputs.cli} write auth/{auth.mount}/users/{user}/"
                "password password=...`); it is never stored by the toolkit",
                address=self.address,
                path=path,
            )
        sharing = [other for other in auth.users if other != user and os.environ.get(auth.password_env(other)) == password]
        if sharing:
            # Until the first login, whoever knows one account's password could log in as the other.
            raise VaultOperationError(
                f"operator account '{user}' would get the same initial password as {', '.join(sharing)}: give each "
                f"operator a password of their own ({variable}, "
                f"{', '.join(auth.password_env(other) for other in sharing)})",
                address=self.address,
                path=path,
            )
        vault.call(
            ("create", "update"),
            path,
            lambda: vault.client.adapter.post(f"/v1/{path}", json={**settings, "password": password}),
        )
        self.record(Outcome(subject, "created", f"initial password from ${variable}"))

    def root_token(self, vault: VaultSession, token_is_root: bool) -> bool:
        """Revoke the run's token if it is a root token; True when it was revoked."""
        token_env = self.inputs.connection.token_env
        if not token_is_root:
            self.record(Outcome("root token", "not in use", f"the token in ${token_env} is not a root token"))
            return False
        if not self.plan.revoke_root_token:
            self.record(
                Outcome("root token", "kept", "revoke_root_token is false: revoke it by hand when done")
            )
            return False
        if not self.apply:
            self.record(Outcome("root token", "would be revoked"))
            return False
        vault.call(("update",), "auth/token/revoke-self", lambda: vault.client.auth.token.revoke_self())
        if _token_or_none(vault) is None:
            users = ", ".join(self.plan.operator_auth.users)
            self.record(
                Outcome(
                    "root token",
                    "revoked",
                    f"administrators log in with `{self.inputs.cli} login -method=userpass -path="
                    f"{self.plan.operator_auth.mount} username=<{users}>`",
                )
            )
            return True
        raise VaultOperationError(
            f"Vault at {self.address} still accepts the root token in ${token_env} after revoke-self: revoke it "
            f"by hand (`{self.inputs.cli} token revoke -self`)",
            address=self.address,
            path="auth/token/revoke-self",
        )


def _comparable(value: Any) -> Any:
    """Vault answers lists sorted or not and mappings of lists: compare them as sorted data."""
    if isinstance(value, Mapping):
        return {str(key): _comparable(item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return sorted(_comparable(item) for item in value)
    return value


def _token_or_none(vault: VaultSession) -> Mapping[str, Any] | None:
    """The session token's own description, or None when Vault no longer accepts the token."""
    return vault.call_or_none(
        ("read",),
        "auth/token/lookup-self",
        lambda: vault.client.auth.token.lookup_self(),
        absent_if=lambda error: isinstance(error, hvac.exceptions.Forbidden),
    )


def _refused_through_api(error: hvac.exceptions.VaultError) -> bool:
    """OpenBao's answer to enabling an audit device through the API."""
    text = " ".join(str(message) for message in error.errors or [])
    return isinstance(error, hvac.exceptions.InvalidRequest) and "via API" in text


def _lookup_self(vault: VaultSession, token_env: str, cli: str, mount: str) -> Mapping[str, Any]:
    answer = _token_or_none(vault)
    if answer is None:
        raise VaultOperationError(
            f"the token in ${token_env} is not valid at Vault {vault.address} (expired, revoked, or from another "
            "Vault). The first run uses the initial root token (decrypted from VaultInitialization's "
            "encrypted_root_token) and revokes it; later runs use an administrator's token: "
            f"`{cli} login -method=userpass -path={mount} username=<operator>`, then export it in ${token_env}",
            address=vault.address,
            path="auth/token/lookup-self",
        )
    return answer["data"]


def run_bootstrap(inputs: BootstrapInputs, apply: bool) -> tuple[list[Outcome], bool]:
    """Converge (apply) or only inspect Vault; the outcomes in order and whether the root token was revoked."""
    with open_unauthenticated_session(inputs.connection) as vault:
        require_unsealed(vault, inputs.cli)
    run = _Run(inputs, apply)
    with open_session(inputs.connection) as vault:
        token = _lookup_self(vault, inputs.connection.token_env, inputs.cli, inputs.plan.operator_auth.mount)
        token_is_root = "root" in (token.get("policies") or [])
        run.audit_device(vault)
    run.kv_and_policies()
    with open_session(inputs.connection) as vault:
        run.environments(vault)
        run.qa_logins(vault)
        run.operator_auth(vault)
        # Last: once revoked, the token can do nothing more.
        revoked = run.root_token(vault, token_is_root)
    return run.outcomes, revoked


def _outputs(
    inputs: BootstrapInputs, outcomes: list[Outcome], revoked: bool, previously_revoked: bool
) -> dict[str, Any]:
    return {
        **{key: value for key, value in inputs.to_props().items() if value is not None},
        "actions": [outcome.line() for outcome in outcomes],
        "changed": any(outcome.changed for outcome in outcomes),
        "root_token_revoked": revoked or previously_revoked,
    }


class VaultBootstrapProvider(_VaultProvider):
    """Converges an initialised, unsealed Vault on a VaultBootstrapPlan and reports every step.

    Outputs: `actions` (one line per object: created / updated / enabled / unchanged / present, and the
    root token's fate), `changed`, `root_token_revoked`. `read` inspects without writing and reports
    `in_sync: false` plus `drift` when something was changed or removed outside Pulumi, so the next
    `pulumi up` converges it again.
    """

    inputs_type = BootstrapInputs

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = BootstrapInputs.from_props(props)
        outcomes, revoked = run_bootstrap(inputs, apply=True)
        return CreateResult(inputs.connection.base_address, _outputs(inputs, outcomes, revoked, False))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = BootstrapInputs.from_props(news)
        outcomes, revoked = run_bootstrap(inputs, apply=True)
        return UpdateResult(_outputs(inputs, outcomes, revoked, bool(olds.get("root_token_revoked", False))))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = BootstrapInputs.from_props(props)
        outcomes, _ = run_bootstrap(inputs, apply=False)
        drift = [outcome.line() for outcome in outcomes if outcome.result.startswith("would be")]
        # The root token is expected to be gone after the first run: its absence is not drift.
        drift = [line for line in drift if not line.startswith("root token")]
        return ReadResult(id_, {**props, "in_sync": not drift, "drift": drift})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leaves Vault as it is: its mounts hold the environments' secrets and its policies guard them."""
