"""What the control center's Vault is configured with after initialisation, as plain data (pure).

From the environments declared in the control-center configuration and the operators who administer Vault,
this derives everything the VaultBootstrap resource converges on:

- the file audit device (declared in the server configuration where the server requires it);
- the KV v2 mount and the password policies every environment's generated secrets use;
- per environment: its Kubernetes auth mount (enabled; the environment's stack points it at its cluster),
  the templated read policy and reader role its namespaces log in with, and the deploy policy and token
  role its stack works with (from mojaloop_iac.vault.environment, the same derivation an environment stack
  administering its own Vault uses, so both converge on identical objects);
- an administrators' policy and a userpass auth method with one account per operator, so that nobody
  needs the root token after the first run, which revokes it.

`to_props`/`from_props` give the plan as the dynamic resource's inputs and back: every text (policy HCL,
password policies) is part of the inputs, so changing one is a Pulumi diff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from mojaloop_iac.planners.vault_server import AuditFileDevice
from mojaloop_iac.vault.environment import DEFAULT_ROLE_TTL_SECONDS, plan_environment_vault
from mojaloop_iac.vault.errors import InvalidInput
from mojaloop_iac.vault.paths import DEFAULT_KV_MOUNT, require_dns_label, require_vault_name
from mojaloop_iac.vault.policies import (
    AUTH_ACCESSOR_PLACEHOLDER,
    PasswordPolicySpec,
    load_password_policies,
    qa_deployer_policy,
)

ADMIN_POLICY_NAME: Final = "operator-admin"
QA_DEPLOYER_POLICY_NAME: Final = "qa-deployer"
QA_DEPLOYER_ROLE: Final = "qa-deployer"
QA_TRANSIT_MOUNT: Final = "transit"
QA_TRANSIT_KEY: Final = "qa-stacks"
# A QA run (up, tests, down) fits in two hours; a token that leaks from a CI log is useless soon after.
DEFAULT_QA_TOKEN_TTL_SECONDS: Final = 2 * 3600
DEFAULT_OPERATOR_AUTH_MOUNT: Final = "userpass"
# Each operator's initial password comes from a variable of their own: this prefix and the operator's name
# in upper case, e.g. VAULT_OPERATOR_INITIAL_PASSWORD_ALICE.
DEFAULT_INITIAL_PASSWORD_ENV_PREFIX: Final = "VAULT_OPERATOR_INITIAL_PASSWORD_"
# Operator sessions: a working day at most, renewed hourly.
OPERATOR_TOKEN_TTL_SECONDS: Final = 3600
OPERATOR_TOKEN_MAX_TTL_SECONDS: Final = 8 * 3600

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class NamedText:
    name: str
    text: str


@dataclass(frozen=True)
class EnvironmentAccess:
    """What one environment declared in the control center gets in Vault."""

    name: str
    auth_mount: str
    read_policy: NamedText
    """Templated on `auth_mount`'s accessor: each namespace reads only its own path."""
    reader_role: str
    reader_service_accounts: tuple[str, ...]
    reader_namespaces: tuple[str, ...]
    reader_ttl_seconds: int
    deploy_policy: NamedText
    token_role: str
    token_max_ttl_seconds: int
    qa_read_policy: NamedText | None = None
    """A cluster hosting QA environments: their templated read policy (on `auth_mount`'s accessor)."""


@dataclass(frozen=True)
class CiLogin:
    """A JWT/OIDC auth mount trusting one CI system's job tokens, with the role that issues QA deployer tokens."""

    mount: str
    description: str
    jwks_url: str
    bound_issuer: str
    role: str
    bound_audiences: tuple[str, ...]
    bound_claims: tuple[tuple[str, tuple[str, ...]], ...]
    """Claim -> accepted values (globs); every claim must match (the projects/repositories and refs)."""
    user_claim: str
    """The claim naming the job in Vault's audit log and entity aliases."""


@dataclass(frozen=True)
class QaLogins:
    """How CI gets tokens to deploy ephemeral QA environments, and what those tokens may do."""

    deployer_policy: NamedText
    logins: tuple[CiLogin, ...]
    token_ttl_seconds: int
    transit_mount: str = QA_TRANSIT_MOUNT
    transit_key: str = QA_TRANSIT_KEY
    """The transit key QA stacks' secrets provider encrypts with (`hashivault://<key>`)."""


@dataclass(frozen=True)
class OperatorAuth:
    mount: str
    users: tuple[str, ...]
    initial_password_env_prefix: str
    """Prefix of the variables holding each account's initial password, one per operator (never stored)."""
    token_ttl_seconds: int = OPERATOR_TOKEN_TTL_SECONDS
    token_max_ttl_seconds: int = OPERATOR_TOKEN_MAX_TTL_SECONDS

    def password_env(self, user: str) -> str:
        """The variable holding `user`'s initial password: the prefix and the name, upper case."""
        return self.initial_password_env_prefix + re.sub(r"[^A-Za-z0-9]", "_", user).upper()


@dataclass(frozen=True)
class AuditPlan:
    device: AuditFileDevice
    declared_in_server_config: bool


@dataclass(frozen=True)
class VaultBootstrapPlan:
    audit: AuditPlan
    kv_mount: str
    password_policies: tuple[NamedText, ...]
    admin_policy: NamedText
    environments: tuple[EnvironmentAccess, ...]
    operator_auth: OperatorAuth
    revoke_root_token: bool = True
    qa: QaLogins | None = None

    def to_props(self) -> dict[str, Any]:
        return {
            "audit": {
                "path": self.audit.device.path,
                "file_path": self.audit.device.file_path,
                "description": self.audit.device.description,
                "declared_in_server_config": self.audit.declared_in_server_config,
            },
            "kv_mount": self.kv_mount,
            "password_policies": [{"name": p.name, "policy": p.text} for p in self.password_policies],
            "admin_policy": {"name": self.admin_policy.name, "policy": self.admin_policy.text},
            "environments": [_environment_props(environment) for environment in self.environments],
            "operator_auth": {
                "mount": self.operator_auth.mount,
                "users": list(self.operator_auth.users),
                "initial_password_env_prefix": self.operator_auth.initial_password_env_prefix,
                "token_ttl": self.operator_auth.token_ttl_seconds,
                "token_max_ttl": self.operator_auth.token_max_ttl_seconds,
            },
            "revoke_root_token": self.revoke_root_token,
            "qa": _qa_props(self.qa) if self.qa is not None else None,
        }

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> VaultBootstrapPlan:
        audit = _mapping(props, "audit")
        operator_auth = _mapping(props, "operator_auth")
        admin = _mapping(props, "admin_policy")
        plan = cls(
            audit=AuditPlan(
                AuditFileDevice(
                    path=_text(audit, "path", "audit"),
                    file_path=_text(audit, "file_path", "audit"),
                    description=str(audit.get("description") or ""),
                ),
                declared_in_server_config=bool(audit.get("declared_in_server_config")),
            ),
            kv_mount=_text(props, "kv_mount", "kv_mount"),
            password_policies=tuple(
                NamedText(_text(p, "name", "password_policies"), _text(p, "policy", "password_policies"))
                for p in _list(props, "password_policies")
            ),
            admin_policy=NamedText(
                _text(admin, "name", "admin_policy"), _text(admin, "policy", "admin_policy")
            ),
            environments=tuple(_environment_from_props(entry) for entry in _list(props, "environments")),
            operator_auth=OperatorAuth(
                mount=_text(operator_auth, "mount", "operator_auth"),
                users=tuple(str(user) for user in operator_auth.get("users") or []),
                initial_password_env_prefix=_text(operator_auth, "initial_password_env_prefix", "operator_auth"),
                token_ttl_seconds=_number(operator_auth, "token_ttl", "operator_auth"),
                token_max_ttl_seconds=_number(operator_auth, "token_max_ttl", "operator_auth"),
            ),
            revoke_root_token=bool(props.get("revoke_root_token", True)),
            qa=_qa_from_props(props["qa"]) if props.get("qa") else None,
        )
        _validate(plan)
        return plan


def _environment_props(environment: EnvironmentAccess) -> dict[str, Any]:
    return {
        "name": environment.name,
        "auth_mount": environment.auth_mount,
        "read_policy_name": environment.read_policy.name,
        "read_policy": environment.read_policy.text,
        "reader_role": environment.reader_role,
        "reader_service_accounts": list(environment.reader_service_accounts),
        "reader_namespaces": list(environment.reader_namespaces),
        "reader_ttl": environment.reader_ttl_seconds,
        "deploy_policy_name": environment.deploy_policy.name,
        "deploy_policy": environment.deploy_policy.text,
        "token_role": environment.token_role,
        "token_max_ttl": environment.token_max_ttl_seconds,
        **(
            {"qa_read_policy_name": environment.qa_read_policy.name, "qa_read_policy": environment.qa_read_policy.text}
            if environment.qa_read_policy is not None
            else {}
        ),
    }


def _qa_props(qa: QaLogins) -> dict[str, Any]:
    return {
        "deployer_policy": {"name": qa.deployer_policy.name, "policy": qa.deployer_policy.text},
        "token_ttl": qa.token_ttl_seconds,
        "transit_mount": qa.transit_mount,
        "transit_key": qa.transit_key,
        "logins": [
            {
                "mount": login.mount,
                "description": login.description,
                "jwks_url": login.jwks_url,
                "bound_issuer": login.bound_issuer,
                "role": login.role,
                "bound_audiences": list(login.bound_audiences),
                "bound_claims": {claim: list(values) for claim, values in login.bound_claims},
                "user_claim": login.user_claim,
            }
            for login in qa.logins
        ],
    }


def _qa_from_props(props: Mapping[str, Any]) -> QaLogins:
    policy = _mapping(props, "deployer_policy")
    logins = []
    for entry in _list(props, "logins"):
        claims = entry.get("bound_claims")
        if not isinstance(claims, Mapping) or not claims:
            raise InvalidInput("qa", "qa: every CI login needs bound_claims (who may log in)")
        logins.append(
            CiLogin(
                mount=_text(entry, "mount", "qa"),
                description=str(entry.get("description") or ""),
                jwks_url=_text(entry, "jwks_url", "qa"),
                bound_issuer=_text(entry, "bound_issuer", "qa"),
                role=_text(entry, "role", "qa"),
                bound_audiences=tuple(str(value) for value in entry.get("bound_audiences") or []),
                bound_claims=tuple((str(claim), tuple(str(v) for v in values)) for claim, values in sorted(claims.items())),
                user_claim=_text(entry, "user_claim", "qa"),
            )
        )
    return QaLogins(
        deployer_policy=NamedText(_text(policy, "name", "qa"), _text(policy, "policy", "qa")),
        logins=tuple(logins),
        token_ttl_seconds=_number(props, "token_ttl", "qa"),
        transit_mount=_text(props, "transit_mount", "qa"),
        transit_key=_text(props, "transit_key", "qa"),
    )


def _environment_from_props(entry: Mapping[str, Any]) -> EnvironmentAccess:
    def names(key: str) -> tuple[str, ...]:
        values = entry.get(key) or []
        if not isinstance(values, list | tuple) or not values:
            raise InvalidInput("environments", f"environments: {key} must be a non-empty list")
        return tuple(str(value) for value in values)

    return EnvironmentAccess(
        name=_text(entry, "name", "environments"),
        auth_mount=_text(entry, "auth_mount", "environments"),
        read_policy=NamedText(
            _text(entry, "read_policy_name", "environments"), _text(entry, "read_policy", "environments")
        ),
        reader_role=_text(entry, "reader_role", "environments"),
        reader_service_accounts=names("reader_service_accounts"),
        reader_namespaces=names("reader_namespaces"),
        reader_ttl_seconds=_number(entry, "reader_ttl", "environments"),
        deploy_policy=NamedText(
            _text(entry, "deploy_policy_name", "environments"), _text(entry, "deploy_policy", "environments")
        ),
        token_role=_text(entry, "token_role", "environments"),
        token_max_ttl_seconds=_number(entry, "token_max_ttl", "environments"),
        qa_read_policy=(
            NamedText(_text(entry, "qa_read_policy_name", "environments"), _text(entry, "qa_read_policy", "environments"))
            if entry.get("qa_read_policy")
            else None
        ),
    )


def _mapping(props: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = props.get(name)
    if not isinstance(value, Mapping):
        raise InvalidInput(name, f"{name} must be a mapping; build the inputs with plan_vault_bootstrap")
    return value


def _list(props: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = props.get(name) or []
    if not isinstance(value, list | tuple) or not all(isinstance(item, Mapping) for item in value):
        raise InvalidInput(
            name, f"{name} must be a list of mappings; build the inputs with plan_vault_bootstrap"
        )
    return list(value)


def _text(props: Mapping[str, Any], key: str, property_name: str) -> str:
    value = props.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(property_name, f"{property_name}: {key} must be a non-empty string")
    return value


def _number(props: Mapping[str, Any], key: str, property_name: str) -> int:
    value = props.get(key)
    # Pulumi transports numbers as doubles.
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value <= 0:
        raise InvalidInput(
            property_name, f"{property_name}: {key} must be a positive whole number of seconds"
        )
    return int(value)


def _validate(plan: VaultBootstrapPlan) -> None:
    def check(property_name: str, condition: bool, message: str) -> None:
        if not condition:
            raise InvalidInput(property_name, message)

    try:
        require_dns_label(plan.kv_mount, "KV mount")
        require_dns_label(plan.audit.device.path, "audit device path")
        require_dns_label(plan.operator_auth.mount, "operator auth mount")
        require_vault_name(plan.admin_policy.name, "admin policy name")
        for user in plan.operator_auth.users:
            require_vault_name(user, "operator user name")
    except ValueError as error:
        raise InvalidInput("plan", str(error)) from error
    check(
        "audit",
        plan.audit.device.file_path.startswith("/") and "\n" not in plan.audit.device.file_path,
        f"audit file_path {plan.audit.device.file_path!r} must be an absolute path on the Vault servers",
    )
    check(
        "operator_auth",
        bool(_ENV_NAME.match(plan.operator_auth.initial_password_env_prefix)),
        f"initial_password_env_prefix {plan.operator_auth.initial_password_env_prefix!r} does not start an "
        "environment variable name",
    )
    check(
        "operator_auth",
        plan.operator_auth.token_ttl_seconds <= plan.operator_auth.token_max_ttl_seconds,
        "operator_auth: token_ttl must not exceed token_max_ttl",
    )
    check(
        "operator_auth",
        len(set(plan.operator_auth.users)) == len(plan.operator_auth.users),
        "operator_auth: user names must be unique",
    )
    # Without an operator account, revoking the root token would lock everybody out of Vault.
    check(
        "operator_auth",
        bool(plan.operator_auth.users) or not plan.revoke_root_token,
        "operator_auth lists no operator: name at least one administrator before the root token is revoked, "
        "or nobody could administer Vault afterwards (short of regenerating a root token)",
    )
    names = [environment.name for environment in plan.environments]
    check("environments", len(set(names)) == len(names), f"environment names repeat: {sorted(names)}")
    mounts = [environment.auth_mount for environment in plan.environments] + [plan.operator_auth.mount]
    check("environments", len(set(mounts)) == len(mounts), f"auth mount paths repeat: {sorted(mounts)}")
    for environment in plan.environments:
        try:
            require_dns_label(environment.name, "environment")
            for name in (environment.read_policy.name, environment.deploy_policy.name, environment.token_role):
                require_vault_name(name, f"environment {environment.name!r}: policy or role name")
        except ValueError as error:
            raise InvalidInput("environments", str(error)) from error
        check(
            "environments",
            AUTH_ACCESSOR_PLACEHOLDER in environment.read_policy.text,
            f"environment {environment.name!r}: the read policy must be templated on its auth mount's accessor "
            "(build it with plan_environment_vault)",
        )


def admin_policy_hcl(kv_mount: str) -> str:
    """The administrators' ACL policy: everything the bootstrap and the environment stacks configure.

    It is broad on purpose: administrators manage policies and auth methods, so they could grant
    themselves anything anyway; what it replaces is the root token, which stays revoked.
    """
    require_dns_label(kv_mount, "KV mount")
    manage = '["create", "read", "update", "patch", "delete", "list"]'
    return (
        "# Managed by mojaloop-iac: administrators of this Vault, who log in through the operator auth method\n"
        "# once the root token is revoked (see docs/vault-recovery.md for regenerating a root token).\n"
        'path "sys/*" {\n'
        '  capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo"]\n'
        "}\n\n"
        'path "auth/*" {\n'
        '  capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo"]\n'
        "}\n\n"
        'path "identity/*" {\n'
        f"  capabilities = {manage}\n"
        "}\n\n"
        f'path "{kv_mount}/*" {{\n'
        f"  capabilities = {manage}\n"
        "}\n"
    )


def plan_vault_bootstrap(
    environments: Sequence[str],
    operators: Sequence[str],
    audit_device: AuditFileDevice,
    audit_declared_in_server_config: bool,
    *,
    kv_mount: str = DEFAULT_KV_MOUNT,
    password_policies: Mapping[str, PasswordPolicySpec] | None = None,
    operator_auth_mount: str = DEFAULT_OPERATOR_AUTH_MOUNT,
    initial_password_env_prefix: str = DEFAULT_INITIAL_PASSWORD_ENV_PREFIX,
    role_ttl_seconds: int = DEFAULT_ROLE_TTL_SECONDS,
    revoke_root_token: bool = True,
    qa_shared_clusters: Sequence[str] = (),
    ci_logins: Sequence[CiLogin] = (),
    qa_token_ttl_seconds: int = DEFAULT_QA_TOKEN_TTL_SECONDS,
    state_backend_secret: str | None = None,
) -> VaultBootstrapPlan:
    """Everything VaultBootstrap converges on for the declared environments (by name) and operators;
    `audit_*` come from the server plan (planners.vault_server)."""
    # Shared by every environment, and needed before the first one arrives: created even with none declared.
    policies = load_password_policies() if password_policies is None else password_policies
    accesses = []
    for name in sorted(set(environments)):
        environment = plan_environment_vault(
            name, kv_mount=kv_mount, password_policies=policies, role_ttl_seconds=role_ttl_seconds,
            qa_host=name in qa_shared_clusters,
        )
        reader, token_role, deploy = environment.reader_role, environment.deployer_token_role, environment.deploy_policy
        assert token_role is not None and deploy is not None, "a declared environment has its deployer role"
        qa_read = environment.qa_read_policy
        accesses.append(
            EnvironmentAccess(
                name=environment.environment,
                auth_mount=environment.kubernetes_auth_mount,
                read_policy=NamedText(environment.read_policy.name, environment.read_policy.hcl),
                reader_role=reader.role,
                reader_service_accounts=reader.service_accounts,
                reader_namespaces=reader.namespaces,
                reader_ttl_seconds=reader.ttl_seconds,
                deploy_policy=NamedText(deploy.name, deploy.hcl),
                token_role=token_role.name,
                token_max_ttl_seconds=token_role.max_ttl_seconds,
                qa_read_policy=NamedText(qa_read.name, qa_read.hcl) if qa_read is not None else None,
            )
        )
    qa = None
    if ci_logins:
        qa = QaLogins(
            deployer_policy=NamedText(
                QA_DEPLOYER_POLICY_NAME,
                qa_deployer_policy(
                    tuple(sorted(qa_shared_clusters)), kv_mount, state_backend_secret=state_backend_secret,
                    transit_mount=QA_TRANSIT_MOUNT, transit_key=QA_TRANSIT_KEY,
                ),
            ),
            logins=tuple(ci_logins),
            token_ttl_seconds=qa_token_ttl_seconds,
        )
    plan = VaultBootstrapPlan(
        audit=AuditPlan(audit_device, audit_declared_in_server_config),
        kv_mount=kv_mount,
        password_policies=tuple(
            NamedText(spec.name, spec.hcl) for spec in sorted(policies.values(), key=lambda spec: spec.name)
        ),
        admin_policy=NamedText(ADMIN_POLICY_NAME, admin_policy_hcl(kv_mount)),
        environments=tuple(accesses),
        operator_auth=OperatorAuth(
            mount=operator_auth_mount,
            users=tuple(sorted(operators)),
            initial_password_env_prefix=initial_password_env_prefix,
        ),
        revoke_root_token=revoke_root_token,
        qa=qa,
    )
    # The same checks the provider applies, so a bad plan fails at plan time with the same message.
    VaultBootstrapPlan.from_props(plan.to_props())
    return plan
