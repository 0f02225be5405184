"""After GitLab answers: Vault logs operators in through GitLab, and the runner gets its token.

`GitLabPostInstallProvider` converges GitLab and Vault on the planned `VaultOidcAuth` and
`RunnerRegistration` (mojaloop_iac.planners.control_center.gitlab), in order:

1. both tokens are read first (GitLab admin token from `admin_token_env`, Vault token from `token_env`),
   so a missing one stops the run before anything changes;
2. the confidential OAuth application, found by name. Created when missing. GitLab shows a secret only
   when it issues one, so when Vault lacks the client credentials for the application found, its
   secret is renewed (`renew-secret`, GitLab 16.11+) instead of the application being deleted. GitLab's
   API cannot change an application: when its redirect URIs (or confidentiality) drifted, a new one is
   created, Vault switched to it, and the old one deleted; the outcome line says so;
3. a newly issued client id and secret go straight from GitLab's answer to Vault's KV
   (`oidc.client_credentials_path`, check-and-set), never into outputs, state or messages;
4. the OIDC auth method at `oidc.mount_path` (enabled when missing), its config
   (`oidc.config_payload`; Vault fetches GitLab's discovery document while writing it) and the role
   (`oidc.role.payload`), each rewritten only when it differs from the plan;
5. the runner: when Vault holds no token at the runner's path (or the runner recorded next to it is gone
   from GitLab), `POST /api/v4/user/runners` and the token (with the runner id) written to Vault.

Every step reads first and reports an Outcome line; a second run reports everything unchanged. `read`
only looks and reports `in_sync: false` with the drift, so the next `pulumi up` converges. Deleting the
resource leaves GitLab and Vault as they are: operators keep their GitLab login to Vault, the runner its
token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from mojaloop_iac.gitlab.api import (
    Application,
    GitLabClient,
    IssuedApplication,
    ca_pem,
    open_gitlab,
    read_admin_token,
)
from mojaloop_iac.gitlab.inputs import PostInstallInputs
from mojaloop_iac.vault.bootstrap import Outcome
from mojaloop_iac.vault.client import (
    VaultSession,
    is_missing_mount,
    is_missing_object,
    is_missing_secret,
    open_session,
    read_token,
)
from mojaloop_iac.vault.errors import VaultOperationError
from mojaloop_iac.vault.inputs import duration_seconds
from mojaloop_iac.vault.paths import kv_data_path, kv_metadata_path
from mojaloop_iac.vault.providers import _VaultProvider

# Auth method types that serve OIDC logins (one plugin, two names).
OIDC_TYPES = ("oidc", "jwt")
MOUNT_DESCRIPTION = "Vault operators log in through GitLab (OIDC)"
CLIENT_ID_KEY = "client_id"
CLIENT_SECRET_KEY = "client_secret"
RUNNER_ID_KEY = "runner_id"
# Config fields compared with Vault's; the client secret is write-only in Vault.
_CONFIG_FIELDS = (
    "oidc_discovery_url",
    "bound_issuer",
    "oidc_client_id",
    "default_role",
    "oidc_discovery_ca_pem",
)


@dataclass(frozen=True)
class _KvSecret:
    version: int
    """Current version; 0 when nothing is stored (the check-and-set value for the next write)."""
    data: Mapping[str, Any] = field(repr=False)
    """Empty when nothing is stored or the current version is deleted or destroyed."""


class _Kv:
    """Reads and check-and-set writes of whole KV v2 secrets in one mount."""

    def __init__(self, vault: VaultSession, mount: str) -> None:
        self.vault = vault
        self.mount = mount

    def read(self, path: str) -> _KvSecret:
        metadata = self.vault.call_or_none(
            ("read",),
            kv_metadata_path(self.mount, path),
            lambda: self.vault.client.secrets.kv.v2.read_secret_metadata(path, mount_point=self.mount),
            absent_if=is_missing_secret,
        )
        if metadata is None:
            return _KvSecret(0, {})
        current = int(metadata["data"].get("current_version") or 0)
        state = (metadata["data"].get("versions") or {}).get(str(current), {})
        if current == 0 or state.get("deletion_time") or state.get("destroyed"):
            return _KvSecret(current, {})  # written over below with check-and-set on `current`
        answer = self.vault.call(
            ("read",),
            kv_data_path(self.mount, path),
            lambda: self.vault.client.secrets.kv.v2.read_secret_version(
                path, version=current, mount_point=self.mount, raise_on_deleted_version=True
            ),
        )
        return _KvSecret(current, dict(answer["data"]["data"] or {}))

    def write(self, path: str, data: Mapping[str, Any], cas: int) -> None:
        self.vault.call(
            ("create",) if cas == 0 else ("update",),
            kv_data_path(self.mount, path),
            lambda: self.vault.client.secrets.kv.v2.create_or_update_secret(
                path, secret=dict(data), cas=cas, mount_point=self.mount
            ),
        )


def _sorted_strings(value: Any) -> list[str]:
    if value is None:
        return []
    return sorted(str(item) for item in (value if isinstance(value, list | tuple) else [value]))


def _role_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """A role as comparable plain data, from the planned payload or Vault's answer alike."""
    claims = data.get("bound_claims") or {}
    return {
        "role_type": data.get("role_type") or "",
        "bound_audiences": _sorted_strings(data.get("bound_audiences")),
        "allowed_redirect_uris": _sorted_strings(data.get("allowed_redirect_uris")),
        "user_claim": data.get("user_claim") or "",
        "groups_claim": data.get("groups_claim") or "",
        "bound_claims": {str(claim): _sorted_strings(values) for claim, values in sorted(claims.items())},
        "oidc_scopes": _sorted_strings(data.get("oidc_scopes")),
        "token_policies": _sorted_strings(data.get("token_policies")),
        "token_ttl": duration_seconds(data, "token_ttl", 0),
        "token_max_ttl": duration_seconds(data, "token_max_ttl", 0),
    }


def _config_view(data: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(data.get(name) or "") for name in _CONFIG_FIELDS}


def _differences(live: Mapping[str, Any], desired: Mapping[str, Any]) -> str:
    return ", ".join(sorted(key for key in desired if live.get(key) != desired[key]))


@dataclass
class Facts:
    """Non-secret facts a run learns, for the outputs."""

    application_id: int | None = None
    client_id: str | None = None
    runner_id: int | None = None


class _Run:
    """One pass over the plan; `apply=False` only looks (refresh), `apply=True` converges."""

    def __init__(
        self, inputs: PostInstallInputs, apply: bool, vault: VaultSession, gitlab: GitLabClient
    ) -> None:
        self.inputs = inputs
        self.oidc = inputs.oidc
        self.apply = apply
        self.vault = vault
        self.gitlab = gitlab
        self.kv = _Kv(vault, inputs.kv_mount)
        self.outcomes: list[Outcome] = []
        self.facts = Facts()
        self.replaced: Application | None = None
        """An application superseded by a recreated one; deleted once Vault is configured with the new one."""

    def record(self, subject: str, result: str, detail: str = "") -> None:
        if not self.apply and result not in ("unchanged", "present"):
            result = f"would be {result}"
        self.outcomes.append(Outcome(subject, result, detail))

    # --- OAuth application and its credentials in Vault ---------------------------------------------

    def application(self) -> tuple[str | None, str | None, bool]:
        """Converge the application; the client id, the secret to configure Vault with, and whether GitLab
        just issued that secret. Id and secret are None when not known (look-only runs)."""
        planned = self.oidc.application
        path = self.oidc.client_credentials_path
        subject = f"OAuth application '{planned.name}'"
        stored = self.kv.read(path)
        stored_id = stored.data.get(CLIENT_ID_KEY)
        stored_secret = stored.data.get(CLIENT_SECRET_KEY)
        named = [app for app in self.gitlab.applications() if app.name == planned.name]
        current = next((app for app in named if app.client_id == stored_id), named[0] if named else None)
        if len(named) > 1:
            others = ", ".join(str(app.id) for app in named if app is not current)
            self.record(
                subject,
                "present",
                f"other applications with this name exist (ids {others}): delete them in Admin area > Applications",
            )
        if current is None:
            self.record(subject, "created", "it did not exist in GitLab")
            issued = self._issue(lambda: self.gitlab.create_application(planned.api_request()))
            return self._store(issued, stored, replaced=None)
        drift = self._drift(current)
        if drift:
            self.record(
                subject,
                "created",
                f"recreated: {drift} and GitLab's API cannot update an application; "
                f"application {current.id} is deleted once Vault uses the new one",
            )
            issued = self._issue(lambda: self.gitlab.create_application(planned.api_request()))
            return self._store(issued, stored, replaced=current)
        self.facts.application_id, self.facts.client_id = current.id, current.client_id
        if stored_id == current.client_id and stored_secret:
            self.record(subject, "unchanged", f"id {current.id}")
            return current.client_id, stored_secret, False
        self.record(
            f"{subject} secret",
            "updated",
            f"renewed: Vault had no client credentials for application {current.id} at "
            f"{kv_data_path(self.inputs.kv_mount, path)}, and GitLab shows a secret only when it issues one",
        )
        issued = self._issue(lambda: self.gitlab.renew_secret(current))
        return self._store(issued, stored, replaced=None)

    def _drift(self, current: Application) -> str:
        planned = self.oidc.application
        reasons = []
        if sorted(current.redirect_uris) != sorted(planned.redirect_uris):
            reasons.append(
                f"its redirect URIs are {list(current.redirect_uris)}, planned {list(planned.redirect_uris)}"
            )
        if not current.confidential:
            reasons.append("it is not confidential")
        return " and ".join(reasons)

    def _issue(self, issue: Callable[[], IssuedApplication]) -> IssuedApplication | None:
        return issue() if self.apply else None

    def _store(
        self, issued: IssuedApplication | None, stored: _KvSecret, replaced: Application | None
    ) -> tuple[str | None, str | None, bool]:
        """Write freshly issued credentials to Vault, then delete the application they replace."""
        if issued is None:  # look-only
            return None, None, False
        app = issued.application
        self.facts.application_id, self.facts.client_id = app.id, app.client_id
        path = self.oidc.client_credentials_path
        try:
            self.kv.write(
                path,
                {**stored.data, CLIENT_ID_KEY: app.client_id, CLIENT_SECRET_KEY: issued.secret},
                stored.version,
            )
        except VaultOperationError as error:
            raise VaultOperationError(
                f"{error}. GitLab already issued application {app.id} ('{app.name}'), whose secret is now lost: "
                "fix the Vault error and re-run (the secret is renewed then)",
                address=error.address,
                path=error.path,
                capabilities=error.capabilities,
            ) from None
        self.record(
            f"client credentials at {kv_data_path(self.inputs.kv_mount, path)}",
            "updated" if stored.version else "created",
            f"client id of application {app.id}",
        )
        self.replaced = replaced
        return app.client_id, issued.secret, True

    def retire_replaced(self) -> None:
        if self.replaced is None:
            return
        self.gitlab.delete_application(self.replaced)
        self.record(
            f"OAuth application {self.replaced.id}",
            "deleted",
            f"replaced by application {self.facts.application_id}",
        )

    # --- Vault's OIDC auth method --------------------------------------------------------------------

    def auth_mount(self) -> bool:
        """Enable the auth method if missing; True if it exists (now, or after this run applies)."""
        mount = self.oidc.mount_path
        path = f"sys/auth/{mount}"
        existing = self.vault.call_or_none(
            ("read", "sudo"),
            path,
            lambda: self.vault.client.adapter.get(f"/v1/{path}"),
            absent_if=is_missing_mount,
        )
        subject = f"OIDC auth mount '{mount}/'"
        if existing is not None:
            kind = (existing.get("data") or existing).get("type")
            if kind not in OIDC_TYPES:
                raise VaultOperationError(
                    f"Vault at {self.vault.address} already has a {kind} auth method at '{mount}/': refusing to "
                    "change it; choose another oidc_mount for GitLab logins",
                    address=self.vault.address,
                    path=path,
                )
            self.record(subject, "unchanged")
            return True
        if self.apply:
            self.vault.call(
                ("create", "update", "sudo"),
                path,
                lambda: self.vault.client.sys.enable_auth_method(
                    "oidc", path=mount, description=MOUNT_DESCRIPTION
                ),
            )
        self.record(subject, "enabled")
        return self.apply

    def _read(self, path: str) -> Mapping[str, Any] | None:
        """What Vault holds at `path` (an OIDC config or role), or None if it has none."""
        return self.vault.call_or_none(
            ("read",), path, lambda: self.vault.client.adapter.get(f"/v1/{path}"), absent_if=is_missing_object
        )

    def auth_config(self, client_id: str | None, secret: str | None, fresh: bool, mount_exists: bool) -> None:
        mount = self.oidc.mount_path
        path = f"auth/{mount}/config"
        subject = f"OIDC config of '{mount}/' (discovery {self.oidc.discovery_url})"
        live = self._read(path) if mount_exists else None
        desired = _config_view(
            self.oidc.config_payload(client_id or "", "", ca_pem(self.inputs.gitlab_ca_cert))
        )
        current = _config_view(live.get("data") or {}) if live is not None else None
        if client_id is None:  # look-only run that found nothing to compare the client id with
            desired["oidc_client_id"] = (current or {}).get("oidc_client_id", "")
        if current == desired and not fresh:
            self.record(subject, "unchanged")
            return
        why = (
            "new client credentials"
            if fresh and current == desired
            else (
                "it was not configured" if current is None else f"differs in {_differences(current, desired)}"
            )
        )
        if self.apply:
            if not secret:
                raise VaultOperationError(
                    f"Vault at {self.vault.address} needs {path} rewritten ({why}) but no client secret is at hand: "
                    f"delete {kv_data_path(self.inputs.kv_mount, self.oidc.client_credentials_path)} and re-run, "
                    "so GitLab renews the secret",
                    address=self.vault.address,
                    path=path,
                )
            payload = self.oidc.config_payload(client_id or "", secret, ca_pem(self.inputs.gitlab_ca_cert))
            self._write_config(path, payload)
        self.record(subject, "updated" if current is not None else "created", why)

    def _write_config(self, path: str, payload: Mapping[str, Any]) -> None:
        try:
            self.vault.call(
                ("create", "update"),
                path,
                lambda: self.vault.client.adapter.post(f"/v1/{path}", json=payload),
            )
        except VaultOperationError as error:
            if "discovery" not in str(error):
                raise
            raise VaultOperationError(
                f"{error}. Vault fetches {self.oidc.discovery_url}/.well-known/openid-configuration itself while "
                "configuring the OIDC auth method: Vault's pods must reach GitLab at that address and trust its "
                "certificate (pass the CA that signed it as gitlab_ca_cert)",
                address=error.address,
                path=error.path,
                capabilities=error.capabilities,
            ) from None

    def auth_role(self, client_id: str | None, mount_exists: bool) -> None:
        role = self.oidc.role
        path = f"auth/{self.oidc.mount_path}/role/{role.name}"
        subject = f"OIDC role '{self.oidc.mount_path}/{role.name}'"
        live = self._read(path) if mount_exists else None
        current = _role_view(live.get("data") or {}) if live is not None else None
        if client_id is None and current is not None:  # look-only run: compare everything but the audience
            client_id = (current["bound_audiences"] or [""])[0]
        payload = role.payload(client_id or "")
        desired = _role_view(payload)
        if current == desired:
            self.record(subject, "unchanged")
            return
        if self.apply:
            self.vault.call(
                ("create", "update"),
                path,
                lambda: self.vault.client.adapter.post(f"/v1/{path}", json=payload),
            )
        if current is None:
            self.record(subject, "created")
        else:
            self.record(subject, "updated", f"differed in {_differences(current, desired)}")

    # --- runner ------------------------------------------------------------------------------------------

    def runner(self) -> None:
        registration = self.inputs.runner
        target = registration.token_path
        where = f"{kv_data_path(self.inputs.kv_mount, target.path)} key {target.key}"
        subject = f"runner '{registration.description}'"
        stored = self.kv.read(target.path)
        recorded = stored.data.get(RUNNER_ID_KEY)
        runner_id = int(recorded) if str(recorded or "").isdigit() else None
        if stored.data.get(target.key):
            if runner_id is None or self.gitlab.runner_exists(runner_id):
                self.facts.runner_id = runner_id
                self.record(subject, "unchanged", f"token at {where}")
                return
            why = f"runner {runner_id}, whose token Vault holds, no longer exists in GitLab"
        else:
            why = f"Vault holds no token at {where}"
        self.record(subject, "created", why)
        if not self.apply:
            return
        issued = self.gitlab.create_runner(registration.api_request())
        self.facts.runner_id = issued.id
        try:
            self.kv.write(
                target.path,
                {**stored.data, target.key: issued.token, RUNNER_ID_KEY: str(issued.id)},
                stored.version,
            )
        except VaultOperationError as error:
            raise VaultOperationError(
                f"{error}. GitLab already created runner {issued.id}, whose token is now lost: delete it in "
                "Admin area > CI/CD > Runners, fix the Vault error and re-run",
                address=error.address,
                path=error.path,
                capabilities=error.capabilities,
            ) from None
        self.record(f"runner token at {where}", "created", f"runner {issued.id}")


def run_post_install(inputs: PostInstallInputs, apply: bool) -> tuple[list[Outcome], Facts]:
    """Converge (apply) or only inspect GitLab and Vault; the outcomes in order and the facts learnt."""
    # Both tokens first: a missing one stops the run before anything changes.
    read_admin_token(inputs.admin_token_env, inputs.gitlab_url)
    read_token(inputs.vault)
    with (
        open_session(inputs.vault) as vault,
        open_gitlab(inputs.gitlab_url, inputs.admin_token_env, inputs.gitlab_ca_cert) as gitlab,
    ):
        run = _Run(inputs, apply, vault, gitlab)
        client_id, secret, fresh = run.application()
        mount_exists = run.auth_mount()
        run.auth_config(client_id, secret, fresh, mount_exists)
        run.auth_role(client_id, mount_exists)
        run.retire_replaced()
        run.runner()
    return run.outcomes, run.facts


def _outputs(inputs: PostInstallInputs, outcomes: list[Outcome], facts: Facts) -> dict[str, Any]:
    """Inputs plus non-secret facts and the outcome lines; never a secret or a token."""
    return {
        **{key: value for key, value in inputs.to_props().items() if value is not None},
        "application_id": facts.application_id,
        "client_id": facts.client_id,
        "oidc_mount": inputs.oidc.mount_path,
        "oidc_role": inputs.oidc.role.name,
        "runner_id": facts.runner_id,
        "actions": [outcome.line() for outcome in outcomes],
        "changed": any(outcome.changed for outcome in outcomes),
        "drift": [],
    }


class GitLabPostInstallProvider(_VaultProvider):
    """Converges GitLab's OAuth application, Vault's OIDC login through it and the runner's token.

    Outputs: `application_id`, `client_id`, `oidc_mount`, `oidc_role`, `runner_id`, `actions` (one line per
    object), `changed`; `read` adds `drift` and `in_sync: false` when something changed outside Pulumi.
    Errors (missing token variable, GitLab unreachable or refusing the token, Vault errors) say what to do.
    """

    inputs_type = PostInstallInputs

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = PostInstallInputs.from_props(props)
        outcomes, facts = run_post_install(inputs, apply=True)
        return CreateResult(
            f"{inputs.gitlab_url}#{inputs.oidc.application.name}", _outputs(inputs, outcomes, facts)
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = PostInstallInputs.from_props(news)
        outcomes, facts = run_post_install(inputs, apply=True)
        return UpdateResult(_outputs(inputs, outcomes, facts))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = PostInstallInputs.from_props(props)
        outcomes, facts = run_post_install(inputs, apply=False)
        drift = [outcome.line() for outcome in outcomes if outcome.result.startswith("would be")]
        return ReadResult(id_, {**_outputs(inputs, outcomes, facts), "in_sync": not drift, "drift": drift})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leaves GitLab and Vault as they are: operators keep their login, the runner its token."""
