"""Pulumi dynamic providers that configure Vault through hvac.

Plain classes: the Pulumi engine calls check/diff/create/read/update/delete, and tests call them
directly against a real OpenBao server. Providers hold no state of their own (Pulumi pickles them into
the stack), read the token from the environment per operation, and never return a secret value.

Safety rules every provider follows:
- create converges on what already exists instead of failing or overwriting;
- KV writes always use check-and-set, so a concurrent or outside change is never written over;
- deletes that would destroy secret values refuse unless the user asked for it explicitly.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime import rpc

from mojaloop_iac.vault.client import (
    VaultSession,
    is_missing_mount,
    is_missing_object,
    is_missing_route,
    is_missing_secret,
    open_session,
)
from mojaloop_iac.vault.errors import InvalidInput, VaultOperationError
from mojaloop_iac.vault.inputs import (
    GeneratedSecretInputs,
    KubernetesAuthMountInputs,
    KubernetesAuthRoleInputs,
    KvV2MountInputs,
    NamedPolicyInputs,
    TokenRoleInputs,
)
from mojaloop_iac.vault.paths import kv_data_path, kv_metadata_path
from mojaloop_iac.vault.policies import render_auth_accessor


class _Inputs(Protocol):
    IDENTITY: ClassVar[tuple[str, ...]]

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> Any: ...

    def to_props(self) -> dict[str, Any]: ...


def _contains_unknown(value: Any) -> bool:
    """During preview, inputs computed from other resources arrive as this sentinel."""
    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(_contains_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_unknown(item) for item in value)
    return False


def _without_none(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if value is not None}


class _VaultProvider(ResourceProvider):
    """check and diff shared by every Vault resource, driven by its `*Inputs` type."""

    inputs_type: ClassVar[type[_Inputs]]

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        if any(_contains_unknown(value) for key, value in news.items() if key != "__provider"):
            return CheckResult(dict(news), [])
        try:
            parsed = self.inputs_type.from_props(news)
        except InvalidInput as error:
            return CheckResult(dict(news), [CheckFailure(error.property, str(error))])
        return CheckResult(_without_none(parsed.to_props()), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        identity = self.inputs_type.IDENTITY
        unknown = [key for key, value in news.items() if key != "__provider" and _contains_unknown(value)]
        if unknown:
            return DiffResult(
                changes=True,
                replaces=[key for key in unknown if key in identity],
                delete_before_replace=False,
            )
        old = self.inputs_type.from_props(olds).to_props()
        new = self.inputs_type.from_props(news).to_props()
        changed = sorted(key for key in new if old.get(key) != new[key])
        return DiffResult(
            changes=bool(changed),
            replaces=[key for key in changed if key in identity],
            delete_before_replace=False,
        )


def _env_value(variable: str, what: str, address: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise VaultOperationError(
            f"environment variable {variable} holds no {what} for Vault at {address}: export it before running",
            address=address,
        )
    return value


# --------------------------------------------------------------------------------------------------
# Generated secrets in KV v2
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LiveSecret:
    version: int
    # The live values stay inside this module: they are only carried into the next KV version.
    data: Mapping[str, Any] = field(repr=False)


def _read_metadata(
    vault: VaultSession, inputs: GeneratedSecretInputs, *, mount_may_be_gone: bool = False
) -> Mapping[str, Any] | None:
    """The secret's metadata, or None if nothing is stored (or, when deleting, if the mount is gone)."""
    metadata_path = kv_metadata_path(inputs.mount, inputs.path)
    answer = vault.call_or_none(
        ("read",),
        metadata_path,
        lambda: vault.client.secrets.kv.v2.read_secret_metadata(inputs.path, mount_point=inputs.mount),
        absent_if=(lambda error: is_missing_secret(error) or is_missing_route(error))
        if mount_may_be_gone
        else is_missing_secret,
    )
    return None if answer is None else answer["data"]


def _read_live(vault: VaultSession, inputs: GeneratedSecretInputs) -> _LiveSecret | None:
    """The current version and its data, or None if nothing is stored at the path."""
    metadata = _read_metadata(vault, inputs)
    if metadata is None:
        return None
    current = int(metadata.get("current_version") or 0)
    if current == 0:
        return _LiveSecret(0, {})
    data_path = kv_data_path(inputs.mount, inputs.path)
    state = (metadata.get("versions") or {}).get(str(current), {})
    if state.get("destroyed"):
        raise VaultOperationError(
            f"the current version {current} of {data_path} at Vault {vault.address} is destroyed: refusing "
            "to guess what it held. Remove the secret completely (`bao kv metadata delete "
            f"-mount={inputs.mount} {inputs.path}`) to have it generated again, then re-run",
            address=vault.address,
            path=data_path,
        )
    if state.get("deletion_time"):
        raise VaultOperationError(
            f"the current version {current} of {data_path} at Vault {vault.address} is deleted: refusing to "
            f"write over it. Undelete it (`bao kv undelete -mount={inputs.mount} -versions={current} "
            f"{inputs.path}`) or remove the secret completely (`bao kv metadata delete -mount={inputs.mount} "
            f"{inputs.path}`), then re-run",
            address=vault.address,
            path=data_path,
        )
    answer = vault.call(
        ("read",),
        data_path,
        lambda: vault.client.secrets.kv.v2.read_secret_version(
            inputs.path, version=current, mount_point=inputs.mount, raise_on_deleted_version=True
        ),
    )
    return _LiveSecret(current, dict(answer["data"]["data"] or {}))


def _generate(vault: VaultSession, key_policies: Mapping[str, str]) -> dict[str, str]:
    """One fresh value per key, each produced by Vault from the key's password policy."""
    values = {}
    for key, policy in key_policies.items():
        generate_path = f"sys/policies/password/{policy}/generate"
        answer = vault.call(
            ("read",), generate_path, lambda p=generate_path: vault.client.adapter.get(f"/v1/{p}")
        )
        values[key] = answer["data"]["password"]
    return values


def _write(vault: VaultSession, inputs: GeneratedSecretInputs, data: Mapping[str, Any], cas: int) -> int:
    """Write a new version only if the current one is still `cas` (0: only if nothing exists)."""
    capability = "create" if cas == 0 else "update"
    answer = vault.call(
        (capability,),
        kv_data_path(inputs.mount, inputs.path),
        lambda: vault.client.secrets.kv.v2.create_or_update_secret(
            inputs.path, secret=dict(data), cas=cas, mount_point=inputs.mount
        ),
    )
    return int(answer["data"]["version"])


def _secret_outputs(inputs: GeneratedSecretInputs, version: int, adopted: bool) -> dict[str, Any]:
    """Where the secret is and how its keys are generated; never a value."""
    policies = inputs.key_policies
    return _without_none(
        {
            **inputs.to_props(),
            "version": version,
            "key_names": sorted(policies),
            "policy_names": sorted(set(policies.values())),
            "adopted": adopted,
        }
    )


class GeneratedSecretProvider(_VaultProvider):
    """A KV v2 secret whose values Vault generates from named password policies.

    - create: adopts an existing secret (recording its version) and only adds keys it lacks;
    - a changed `rotation` regenerates every declared key as a new version;
    - keys removed from the inputs stay in Vault untouched (never deleted by accident);
    - delete keeps the secret unless `retain_on_delete` is False.
    """

    inputs_type = GeneratedSecretInputs

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = GeneratedSecretInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            live = _read_live(vault, inputs)
            if live is None:
                version = _write(vault, inputs, _generate(vault, inputs.key_policies), cas=0)
                return CreateResult(inputs.resource_id, _secret_outputs(inputs, version, adopted=False))
            missing = {key: policy for key, policy in inputs.key_policies.items() if key not in live.data}
            version = live.version
            if missing:
                version = _write(vault, inputs, {**live.data, **_generate(vault, missing)}, cas=live.version)
        return CreateResult(inputs.resource_id, _secret_outputs(inputs, version, adopted=True))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = GeneratedSecretInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            live = _read_live(vault, inputs)
        if live is None:
            return ReadResult("", {})
        # Only keys that really exist are reported, so a later diff adds the missing ones back.
        present = {key: policy for key, policy in inputs.key_policies.items() if key in live.data}
        refreshed = replace(inputs, keys=tuple(sorted(present.items())))
        return ReadResult(id_, _secret_outputs(refreshed, live.version, bool(props.get("adopted", False))))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old = GeneratedSecretInputs.from_props(olds)
        new = GeneratedSecretInputs.from_props(news)
        data_path = kv_data_path(new.mount, new.path)
        with open_session(new.connection) as vault:
            live = _read_live(vault, new)
            if live is None:
                raise VaultOperationError(
                    f"{data_path} no longer exists at Vault {vault.address}: it was deleted outside Pulumi. "
                    "Run `pulumi refresh` so the next `pulumi up` generates it again",
                    address=vault.address,
                    path=data_path,
                )
            recorded = int(olds.get("version") or 0)
            if live.version != recorded:
                raise VaultOperationError(
                    f"{data_path} is at version {live.version} in Vault {vault.address} but Pulumi recorded "
                    f"version {recorded}: it changed outside Pulumi and nothing was written. Run "
                    "`pulumi refresh`, check the change, then run `pulumi up` again",
                    address=vault.address,
                    path=data_path,
                )
            if new.rotation != old.rotation:
                to_generate = new.key_policies
            else:
                to_generate = {
                    key: policy for key, policy in new.key_policies.items() if key not in live.data
                }
            version = live.version
            if to_generate:
                version = _write(vault, new, {**live.data, **_generate(vault, to_generate)}, cas=live.version)
        return UpdateResult(_secret_outputs(new, version, bool(olds.get("adopted", False))))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = GeneratedSecretInputs.from_props(props)
        if inputs.retain_on_delete:
            return
        metadata_path = kv_metadata_path(inputs.mount, inputs.path)
        with open_session(inputs.connection) as vault:
            # A mount destroyed with force_destroy took the secret with it: nothing is left to delete.
            metadata = _read_metadata(vault, inputs, mount_may_be_gone=True)
            if metadata is None:
                return
            current = int(metadata.get("current_version") or 0)
            recorded = int(props.get("version") or 0)
            if current != recorded:
                raise VaultOperationError(
                    f"refusing to delete {metadata_path} at Vault {vault.address}: it holds version {current} "
                    f"but Pulumi recorded version {recorded}, so it changed outside Pulumi. Run "
                    "`pulumi refresh` and delete again, or remove it by hand",
                    address=vault.address,
                    path=metadata_path,
                )
            vault.call(
                ("delete",),
                metadata_path,
                lambda: vault.client.secrets.kv.v2.delete_metadata_and_all_versions(
                    inputs.path, mount_point=inputs.mount
                ),
            )


# --------------------------------------------------------------------------------------------------
# KV v2 mount
# --------------------------------------------------------------------------------------------------


def _read_secrets_mount(vault: VaultSession, path: str) -> Mapping[str, Any] | None:
    answer = vault.call_or_none(
        ("read",),
        f"sys/mounts/{path}",
        lambda: vault.client.adapter.get(f"/v1/sys/mounts/{path}"),
        absent_if=is_missing_mount,
    )
    return None if answer is None else answer.get("data", answer)


def _require_kv_v2(vault: VaultSession, path: str, mount: Mapping[str, Any]) -> None:
    version = str((mount.get("options") or {}).get("version", "1"))
    if mount.get("type") != "kv" or version != "2":
        kind = (
            f"{mount.get('type')} (version {version})"
            if mount.get("type") == "kv"
            else str(mount.get("type"))
        )
        raise VaultOperationError(
            f"Vault at {vault.address} already has a {kind} secrets engine at '{path}/', not KV v2: refusing to "
            "change it; choose another mount path",
            address=vault.address,
            path=f"sys/mounts/{path}",
        )


class KvV2MountProvider(_VaultProvider):
    """A KV version 2 secrets engine; deleting it refuses while it holds secrets unless force_destroy."""

    inputs_type = KvV2MountInputs

    def _configure(self, vault: VaultSession, inputs: KvV2MountInputs) -> None:
        vault.call(
            ("update",),
            f"{inputs.path}/config",
            lambda: vault.client.secrets.kv.v2.configure(
                max_versions=inputs.max_versions, cas_required=inputs.cas_required, mount_point=inputs.path
            ),
        )

    def _tune_description(self, vault: VaultSession, inputs: KvV2MountInputs) -> None:
        vault.call(
            ("update", "sudo"),
            f"sys/mounts/{inputs.path}/tune",
            lambda: vault.client.sys.tune_mount_configuration(inputs.path, description=inputs.description),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = KvV2MountInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            existing = _read_secrets_mount(vault, inputs.path)
            if existing is None:
                vault.call(
                    ("create", "update"),
                    f"sys/mounts/{inputs.path}",
                    lambda: vault.client.sys.enable_secrets_engine(
                        "kv", path=inputs.path, description=inputs.description, options={"version": "2"}
                    ),
                )
            else:
                _require_kv_v2(vault, inputs.path, existing)
                if (existing.get("description") or "") != inputs.description:
                    self._tune_description(vault, inputs)
            self._configure(vault, inputs)
        return CreateResult(
            inputs.path, _without_none({**inputs.to_props(), "adopted": existing is not None})
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = KvV2MountInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            existing = _read_secrets_mount(vault, inputs.path)
            if existing is None:
                return ReadResult("", {})
            _require_kv_v2(vault, inputs.path, existing)
            config = vault.call(
                ("read",),
                f"{inputs.path}/config",
                lambda: vault.client.secrets.kv.v2.read_configuration(mount_point=inputs.path),
            )["data"]
        live = {
            **props,
            "description": existing.get("description") or "",
            "max_versions": int(config.get("max_versions") or 0),
            "cas_required": bool(config.get("cas_required")),
        }
        return ReadResult(id_, _without_none(live))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = KvV2MountInputs.from_props(news)
        with open_session(inputs.connection) as vault:
            existing = _read_secrets_mount(vault, inputs.path)
            if existing is None:
                raise VaultOperationError(
                    f"KV mount '{inputs.path}/' no longer exists at Vault {vault.address}: run `pulumi refresh` "
                    "so the next `pulumi up` creates it again",
                    address=vault.address,
                    path=f"sys/mounts/{inputs.path}",
                )
            _require_kv_v2(vault, inputs.path, existing)
            if (existing.get("description") or "") != inputs.description:
                self._tune_description(vault, inputs)
            self._configure(vault, inputs)
        return UpdateResult(_without_none({**inputs.to_props(), "adopted": bool(olds.get("adopted", False))}))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = KvV2MountInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            existing = _read_secrets_mount(vault, inputs.path)
            if existing is None:
                return
            _require_kv_v2(vault, inputs.path, existing)
            listing = vault.call_or_none(
                ("list",),
                f"{inputs.path}/metadata/",
                lambda: vault.client.secrets.kv.v2.list_secrets("", mount_point=inputs.path),
                absent_if=is_missing_secret,
            )
            entries = sorted((listing or {}).get("data", {}).get("keys") or [])
            if entries and not inputs.force_destroy:
                shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
                raise VaultOperationError(
                    f"refusing to disable KV mount '{inputs.path}/' at Vault {vault.address}: it still holds "
                    f"secrets ({shown}). Delete them first, or set force_destroy=True to destroy them with it",
                    address=vault.address,
                    path=f"sys/mounts/{inputs.path}",
                )
            vault.call(
                ("delete",),
                f"sys/mounts/{inputs.path}",
                lambda: vault.client.sys.disable_secrets_engine(inputs.path),
            )


# --------------------------------------------------------------------------------------------------
# Password and ACL policies
# --------------------------------------------------------------------------------------------------


class _StoredObjectProvider(_VaultProvider):
    """An object Vault stores at one API path (a policy, a token role): create and update both converge by
    writing it, read reports what Vault holds, delete removes it."""

    def _path(self, inputs: Any) -> str:
        raise NotImplementedError

    def _id(self, inputs: Any) -> str:
        raise NotImplementedError

    def _write(self, inputs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _live(self, inputs: Any, props: dict[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        """`props` updated with what Vault holds (`data`)."""
        raise NotImplementedError

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self.inputs_type.from_props(props)
        return CreateResult(self._id(inputs), self._write(inputs))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._write(self.inputs_type.from_props(news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = self.inputs_type.from_props(props)
        with open_session(inputs.connection) as vault:
            answer = vault.call_or_none(
                ("read",),
                self._path(inputs),
                lambda: vault.client.adapter.get(f"/v1/{self._path(inputs)}"),
                absent_if=is_missing_object,
            )
        if answer is None:
            return ReadResult("", {})
        return ReadResult(id_, _without_none(self._live(inputs, props, answer.get("data") or {})))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = self.inputs_type.from_props(props)
        with open_session(inputs.connection) as vault:
            vault.call(
                ("delete",),
                self._path(inputs),
                lambda: vault.client.adapter.delete(f"/v1/{self._path(inputs)}"),
            )


class _NamedPolicyProvider(_StoredObjectProvider):
    """A policy stored as HCL under `<api_prefix>/<name>`."""

    inputs_type = NamedPolicyInputs
    api_prefix: ClassVar[str]

    def _path(self, inputs: NamedPolicyInputs) -> str:
        return f"{self.api_prefix}/{inputs.name}"

    def _id(self, inputs: NamedPolicyInputs) -> str:
        return inputs.name

    def _write(self, inputs: NamedPolicyInputs) -> dict[str, Any]:
        with open_session(inputs.connection) as vault:
            vault.call(
                ("create", "update"),
                self._path(inputs),
                lambda: vault.client.adapter.put(f"/v1/{self._path(inputs)}", json={"policy": inputs.policy}),
            )
        return _without_none(inputs.to_props())

    def _live(self, inputs: NamedPolicyInputs, props: dict[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        return {**props, "policy": data.get("policy", data.get("rules", inputs.policy))}


class PasswordPolicyProvider(_NamedPolicyProvider):
    """A Vault password policy (`sys/policies/password/<name>`); Vault rejects invalid HCL on write."""

    api_prefix = "sys/policies/password"


class AclPolicyProvider(_NamedPolicyProvider):
    """A Vault ACL policy (`sys/policies/acl/<name>`).

    A templated policy names an auth mount (`auth_accessor_of`): Vault stores it with that mount's
    accessor in place of the placeholder, and reading it back turns the accessor into the placeholder
    again, so an unchanged policy is no diff.
    """

    api_prefix = "sys/policies/acl"

    def _write(self, inputs: NamedPolicyInputs) -> dict[str, Any]:
        if inputs.auth_accessor_of is None:
            return super()._write(inputs)
        with open_session(inputs.connection) as vault:
            stored = render_auth_accessor(inputs.policy, _auth_accessor(vault, inputs.auth_accessor_of))
            vault.call(
                ("create", "update"),
                self._path(inputs),
                lambda: vault.client.adapter.put(f"/v1/{self._path(inputs)}", json={"policy": stored}),
            )
        return _without_none(inputs.to_props())

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        result = super().read(id_, props)
        inputs = NamedPolicyInputs.from_props(props)
        if not result.id or inputs.auth_accessor_of is None:
            return result
        with open_session(inputs.connection) as vault:
            mount = _read_auth_mount(vault, inputs.auth_accessor_of)
        live = result.outs["policy"]
        if mount is not None and live == render_auth_accessor(inputs.policy, mount["accessor"]):
            live = inputs.policy
        return ReadResult(result.id, {**result.outs, "policy": live})


def _auth_accessor(vault: VaultSession, path: str) -> str:
    mount = _read_auth_mount(vault, path)
    if mount is None:
        raise VaultOperationError(
            f"the policy is templated on auth mount '{path}/', which Vault at {vault.address} does not have: "
            "enable the mount first",
            address=vault.address,
            path=f"sys/auth/{path}",
        )
    return str(mount["accessor"])


# --------------------------------------------------------------------------------------------------
# Kubernetes auth
# --------------------------------------------------------------------------------------------------


def _read_auth_mount(vault: VaultSession, path: str) -> Mapping[str, Any] | None:
    answer = vault.call_or_none(
        ("read", "sudo"),
        f"sys/auth/{path}",
        lambda: vault.client.adapter.get(f"/v1/sys/auth/{path}"),
        absent_if=is_missing_mount,
    )
    return None if answer is None else answer.get("data", answer)


class KubernetesAuthMountProvider(_VaultProvider):
    """A Kubernetes auth method for one environment cluster, configured with its API server and CA.

    The token-reviewer JWT is read from the environment variable `token_reviewer_jwt_env` at each
    operation; Vault never returns it, so outputs only say whether one is set.
    """

    inputs_type = KubernetesAuthMountInputs

    def _configure(self, vault: VaultSession, inputs: KubernetesAuthMountInputs) -> None:
        jwt = (
            _env_value(inputs.token_reviewer_jwt_env, "token-reviewer JWT", vault.address)
            if inputs.token_reviewer_jwt_env
            else None
        )
        config_path = f"auth/{inputs.path}/config"
        try:
            vault.call(
                ("create", "update"),
                config_path,
                lambda: vault.client.auth.kubernetes.configure(
                    kubernetes_host=inputs.kubernetes_host,
                    kubernetes_ca_cert=inputs.kubernetes_ca_cert,
                    token_reviewer_jwt=jwt,
                    disable_local_ca_jwt=inputs.disable_local_ca_jwt,
                    mount_point=inputs.path,
                ),
            )
        except VaultOperationError as error:
            if "/var/run/secrets/kubernetes.io" not in str(error):
                raise
            # Vault outside a pod looked for its own service-account CA/JWT and found none.
            raise VaultOperationError(
                f"{error}. Vault at {vault.address} does not run inside the cluster: set "
                "disable_local_ca_jwt=True and pass kubernetes_ca_cert (and a token_reviewer_jwt_env)",
                address=vault.address,
                path=config_path,
                capabilities=error.capabilities,
            ) from error

    def _configure_only(self, vault: VaultSession, inputs: KubernetesAuthMountInputs) -> None:
        try:
            self._configure(vault, inputs)
        except VaultOperationError as error:
            if "has no mount serving" not in str(error):
                raise
            raise VaultOperationError(
                f"Vault at {vault.address} has no auth mount '{inputs.path}/' for this environment: the control "
                "center enables it for each environment it declares. Add the environment to the control "
                "center's `environments`, run `pulumi up` on the control-center stack, then re-run",
                address=vault.address,
                path=f"auth/{inputs.path}/config",
            ) from error

    def _converge(self, vault: VaultSession, inputs: KubernetesAuthMountInputs) -> bool:
        """Enable (or check and re-describe) the mount, then configure it; True if it already existed."""
        if not inputs.enable:
            self._configure_only(vault, inputs)
            return True
        existing = _read_auth_mount(vault, inputs.path)
        if existing is None:
            vault.call(
                ("create", "update", "sudo"),
                f"sys/auth/{inputs.path}",
                lambda: vault.client.sys.enable_auth_method(
                    "kubernetes", path=inputs.path, description=inputs.description
                ),
            )
        else:
            if existing.get("type") != "kubernetes":
                raise VaultOperationError(
                    f"Vault at {vault.address} already has a {existing.get('type')} auth method at "
                    f"'{inputs.path}/': refusing to change it; choose another path",
                    address=vault.address,
                    path=f"sys/auth/{inputs.path}",
                )
            if (existing.get("description") or "") != inputs.description:
                vault.call(
                    ("update", "sudo"),
                    f"sys/auth/{inputs.path}/tune",
                    lambda: vault.client.sys.tune_auth_method(inputs.path, description=inputs.description),
                )
        self._configure(vault, inputs)
        return existing is not None

    def _outputs(self, inputs: KubernetesAuthMountInputs, adopted: bool) -> dict[str, Any]:
        return _without_none(
            {
                **inputs.to_props(),
                "token_reviewer_jwt_set": bool(inputs.token_reviewer_jwt_env),
                "adopted": adopted,
            }
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = KubernetesAuthMountInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            adopted = self._converge(vault, inputs)
        return CreateResult(inputs.path, self._outputs(inputs, adopted))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = KubernetesAuthMountInputs.from_props(news)
        with open_session(inputs.connection) as vault:
            self._converge(vault, inputs)
        return UpdateResult(self._outputs(inputs, bool(olds.get("adopted", False))))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = KubernetesAuthMountInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            if inputs.enable:
                existing = _read_auth_mount(vault, inputs.path)
                if existing is None or existing.get("type") != "kubernetes":
                    return ReadResult("", {})
            else:
                # Not ours to inspect (sys/auth needs sudo): its configuration tells whether it exists.
                existing = {"description": inputs.description}
            config = vault.call_or_none(
                ("read",),
                f"auth/{inputs.path}/config",
                lambda: vault.client.auth.kubernetes.read_config(mount_point=inputs.path),
                absent_if=is_missing_object,
            )
            if config is None:
                return ReadResult("", {})
        live = {
            **props,
            "kubernetes_host": config.get("kubernetes_host"),
            "kubernetes_ca_cert": config.get("kubernetes_ca_cert") or None,
            "disable_local_ca_jwt": bool(config.get("disable_local_ca_jwt")),
            "token_reviewer_jwt_set": bool(config.get("token_reviewer_jwt_set")),
            "description": existing.get("description") or "",
        }
        return ReadResult(id_, _without_none(live))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = KubernetesAuthMountInputs.from_props(props)
        if not inputs.enable:
            return  # the control center's mount outlives the environment's configuration of it
        with open_session(inputs.connection) as vault:
            # Removes the roles under it too; an auth method holds configuration, never secret values.
            vault.call(
                ("delete", "sudo"),
                f"sys/auth/{inputs.path}",
                lambda: vault.client.sys.disable_auth_method(inputs.path),
            )


class KubernetesAuthRoleProvider(_VaultProvider):
    """A Kubernetes auth role bound to named service accounts in named namespaces (never wildcards)."""

    inputs_type = KubernetesAuthRoleInputs

    @staticmethod
    def _path(inputs: KubernetesAuthRoleInputs) -> str:
        return f"auth/{inputs.mount}/role/{inputs.role}"

    def _write(self, inputs: KubernetesAuthRoleInputs) -> dict[str, Any]:
        with open_session(inputs.connection) as vault:
            vault.call(
                ("create", "update"),
                self._path(inputs),
                lambda: vault.client.auth.kubernetes.create_role(
                    name=inputs.role,
                    bound_service_account_names=list(inputs.bound_service_account_names),
                    bound_service_account_namespaces=list(inputs.bound_service_account_namespaces),
                    ttl=f"{inputs.ttl}s",
                    max_ttl=f"{inputs.max_ttl}s",
                    policies=list(inputs.policies),
                    audience=inputs.audience,
                    mount_point=inputs.mount,
                ),
            )
        return _without_none(inputs.to_props())

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = KubernetesAuthRoleInputs.from_props(props)
        return CreateResult(f"{inputs.mount}/{inputs.role}", self._write(inputs))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._write(KubernetesAuthRoleInputs.from_props(news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = KubernetesAuthRoleInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            role = vault.call_or_none(
                ("read",),
                self._path(inputs),
                lambda: vault.client.auth.kubernetes.read_role(name=inputs.role, mount_point=inputs.mount),
                absent_if=is_missing_object,  # covers a missing role and a removed auth mount alike
            )
        if role is None:
            return ReadResult("", {})
        live = {
            **props,
            "bound_service_account_names": sorted(role.get("bound_service_account_names") or []),
            "bound_service_account_namespaces": sorted(role.get("bound_service_account_namespaces") or []),
            "policies": sorted(role.get("token_policies") or role.get("policies") or []),
            "ttl": int(role.get("token_ttl") or role.get("ttl") or 0),
            "max_ttl": int(role.get("token_max_ttl") or role.get("max_ttl") or 0),
            "audience": role.get("audience") or None,
        }
        return ReadResult(id_, _without_none(live))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = KubernetesAuthRoleInputs.from_props(props)
        with open_session(inputs.connection) as vault:
            # Disabling the auth mount removes its roles, so a missing mount means the role is gone too.
            vault.call_or_none(
                ("delete",),
                self._path(inputs),
                lambda: vault.client.auth.kubernetes.delete_role(name=inputs.role, mount_point=inputs.mount),
                absent_if=is_missing_route,
            )


class TokenRoleProvider(_StoredObjectProvider):
    """A token role: tokens created with it are orphans carrying only its allowed policies."""

    inputs_type = TokenRoleInputs

    def _path(self, inputs: TokenRoleInputs) -> str:
        return f"auth/token/roles/{inputs.name}"

    def _id(self, inputs: TokenRoleInputs) -> str:
        return inputs.name

    def _write(self, inputs: TokenRoleInputs) -> dict[str, Any]:
        settings = {
            "allowed_policies": list(inputs.allowed_policies),
            # Not a child of the administrator who created it: it survives their session, nothing more.
            "orphan": True,
            "renewable": True,
            "token_type": "service",
            "token_explicit_max_ttl": inputs.max_ttl,
        }
        with open_session(inputs.connection) as vault:
            vault.call(
                ("create", "update"),
                self._path(inputs),
                lambda: vault.client.adapter.post(f"/v1/{self._path(inputs)}", json=settings),
            )
        return _without_none(inputs.to_props())

    def _live(self, inputs: TokenRoleInputs, props: dict[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **props,
            "allowed_policies": sorted(data.get("allowed_policies") or []),
            "max_ttl": int(data.get("token_explicit_max_ttl") or data.get("explicit_max_ttl") or 0),
        }


__all__ = [
    "AclPolicyProvider",
    "GeneratedSecretProvider",
    "KubernetesAuthMountProvider",
    "KubernetesAuthRoleProvider",
    "KvV2MountProvider",
    "PasswordPolicyProvider",
    "TokenRoleProvider",
]
