"""Consumer users and their identity policies on MinIO, through MinIO's admin API.

MinIO scopes authenticated users with identity policies attached to them (its bucket policies only
govern anonymous requests), so each consumer becomes: a user whose secret comes from Vault, a
canned policy from `render_consumer_policy`, and the attachment of one to the other.

The admin API is MinIO-only; no server for it runs in this project's test environment, so this
module is exercised against a recorded-response HTTP fake (see tests), not a real MinIO.
"""

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi.dynamic
from minio.error import MinioAdminException
from minio.minioadmin import MinioAdmin

from mojaloop_iac.objectstore.client import S3Connection, admin_client, trusting
from mojaloop_iac.objectstore.errors import MissingCredentials
from mojaloop_iac.objectstore.policies import normalize_policy
from mojaloop_iac.objectstore.props import (
    InvalidInput,
    as_int,
    as_list,
    as_mapping,
    as_str,
    contains_unknown,
    require,
)
from mojaloop_iac.objectstore.vault_source import VaultKvField, read_kv_field

# MinIO answers these when the thing to remove is already gone or the change is already in effect.
_NO_SUCH_USER = "XMinioAdminNoSuchUser"
_NO_SUCH_POLICY = "XMinioAdminNoSuchPolicy"
_ALREADY_APPLIED = "XMinioAdminPolicyChangeAlreadyApplied"

REPLACE_ON_CHANGE = ("user", "policy_name")


class AdminApiError(RuntimeError):
    """The admin API refused a request; carries MinIO's error code."""

    def __init__(self, action: str, status: str, code: str, message: str) -> None:
        super().__init__(f"MinIO admin API: {action} failed with HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


class ConsumerAdmin(Protocol):
    """The few admin operations consumer management needs; every call is idempotent."""

    def put_user(self, access_key: str, secret_key: str) -> None: ...

    def remove_user(self, access_key: str) -> None: ...

    def put_policy(self, name: str, document: Mapping[str, Any]) -> None: ...

    def get_policy(self, name: str) -> dict[str, Any] | None: ...

    def remove_policy(self, name: str) -> None: ...

    def attach_policy(self, name: str, user: str) -> None: ...

    def detach_policy(self, name: str, user: str) -> None: ...


def _admin_error(action: str, error: MinioAdminException) -> AdminApiError:
    # The exception exposes its HTTP status and body only through its pickling arguments.
    status, body = error.__reduce__()[1]
    try:
        detail = json.loads(body)
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    return AdminApiError(action, status, detail.get("Code", ""), detail.get("Message", body[:200]))


class MinioConsumerAdmin:
    """`ConsumerAdmin` over `minio.MinioAdmin`, tolerating "already so" answers."""

    def __init__(self, client: MinioAdmin) -> None:
        self._client = client

    def _call(self, action: str, call: Callable[[], str], tolerated: tuple[str, ...] = ()) -> str | None:
        try:
            return call()
        except MinioAdminException as error:
            translated = _admin_error(action, error)
            if translated.code in tolerated:
                return None
            # Secrets travel encrypted in request bodies and are never part of the message.
            raise translated from None

    def put_user(self, access_key: str, secret_key: str) -> None:
        # Adding an existing user replaces its secret, which is what a rotation wants.
        self._call(f"add user {access_key!r}", lambda: self._client.user_add(access_key, secret_key))

    def remove_user(self, access_key: str) -> None:
        self._call(
            f"remove user {access_key!r}", lambda: self._client.user_remove(access_key), (_NO_SUCH_USER,)
        )

    def put_policy(self, name: str, document: Mapping[str, Any]) -> None:
        self._call(f"add policy {name!r}", lambda: self._client.policy_add(name, policy=dict(document)))

    def get_policy(self, name: str) -> dict[str, Any] | None:
        text = self._call(f"read policy {name!r}", lambda: self._client.policy_info(name), (_NO_SUCH_POLICY,))
        if text is None:
            return None
        document = json.loads(text)
        # Newer servers wrap the document in {"PolicyName", "Policy", ...}.
        if isinstance(document, dict) and isinstance(document.get("Policy"), dict):
            document = document["Policy"]
        return normalize_policy(document)

    def remove_policy(self, name: str) -> None:
        self._call(f"remove policy {name!r}", lambda: self._client.policy_remove(name), (_NO_SUCH_POLICY,))

    def attach_policy(self, name: str, user: str) -> None:
        self._call(
            f"attach policy {name!r} to {user!r}",
            lambda: self._client.attach_policy([name], user=user),
            (_ALREADY_APPLIED,),
        )

    def detach_policy(self, name: str, user: str) -> None:
        self._call(
            f"detach policy {name!r} from {user!r}",
            lambda: self._client.detach_policy([name], user=user),
            (_ALREADY_APPLIED, _NO_SUCH_USER, _NO_SUCH_POLICY),
        )


def minio_consumer_admin(connection: S3Connection) -> ConsumerAdmin:
    return MinioConsumerAdmin(admin_client(connection))


@dataclass(frozen=True)
class ConsumerSecret:
    """A consumer's secret key as read for one operation, and the version it is recorded as."""

    value: str = field(repr=False)
    version: int


@dataclass(frozen=True)
class ConsumerAccessSettings:
    """A `ConsumerAccess`'s inputs (or outputs), parsed. Exactly one secret source is set.

    - `secret_key_vault`: the secret key is read from Vault KV v2; `secret_version` is the KV version
      last pushed to MinIO (outputs only: Vault decides it, so a rotation there shows in the next diff).
    - `secret_key_env`: the secret key is read from that environment variable; `secret_version` is an
      input the caller bumps after rotating the secret.
    """

    user: str
    secret_key_env: str | None
    secret_key_vault: VaultKvField | None
    secret_version: int | None
    policy_name: str
    policy: dict[str, Any]  # normalized
    connection: S3Connection

    def secret_key(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret from the environment variable (environment source only)."""
        if self.secret_key_env is None:
            raise MissingCredentials(
                f"object store consumer {self.user!r} reads its secret from Vault, not the environment"
            )
        env = os.environ if environ is None else environ
        value = env.get(self.secret_key_env)
        if not value:
            raise MissingCredentials(
                f"the secret for object store consumer {self.user!r} is not set: export {self.secret_key_env} "
                "(for example from Vault) before running"
            )
        return value

    @property
    def _purpose(self) -> str:
        return f"the secret key of object store consumer {self.user!r}"

    def read_secret(self, environ: Mapping[str, str] | None = None) -> ConsumerSecret:
        """The one place that picks the source: Vault (value and its KV version) or the environment."""
        if self.secret_key_vault is not None:
            read = read_kv_field(self.secret_key_vault, self._purpose)
            return ConsumerSecret(read.value, read.version)
        return ConsumerSecret(self.secret_key(environ), self.secret_version or 1)

    def current_version(self) -> int | None:
        """Vault's current KV version of the secret (read now); None for the environment source."""
        if self.secret_key_vault is None:
            return None
        return read_kv_field(self.secret_key_vault, self._purpose).version


def consumer_access_props(
    user: str,
    policy_name: str,
    policy: Mapping[str, Any],
    connection: S3Connection,
    secret_key_env: str | None = None,
    secret_version: int | None = 1,
    *,
    secret_key_vault: VaultKvField | None = None,
) -> dict[str, Any]:
    """The `ConsumerAccess` property bag: names, paths and versions, never a secret."""
    props: dict[str, Any] = {"user": user}
    if secret_key_vault is not None:
        props["secret_key_vault"] = secret_key_vault.to_props()
    else:
        props["secret_key_env"] = secret_key_env
    if secret_version is not None:
        props["secret_version"] = secret_version
    return {**props, "policy_name": policy_name, "policy": dict(policy), "connection": connection.to_props()}


def _parse_secret_source(props: Mapping[str, Any]) -> tuple[str | None, VaultKvField | None]:
    env, vault = props.get("secret_key_env"), props.get("secret_key_vault")
    if (env is None) == (vault is None):
        raise InvalidInput(
            "secret_key_vault",
            "give exactly one of secret_key_vault (read the secret from Vault) and secret_key_env "
            "(read it from an environment variable)",
        )
    if env is not None:
        return as_str(env, "secret_key_env"), None
    try:
        return None, VaultKvField.from_props(as_mapping(vault, "secret_key_vault"))
    except (TypeError, ValueError) as error:
        raise InvalidInput("secret_key_vault", str(error)) from error


def parse_consumer_access_props(props: Mapping[str, Any]) -> ConsumerAccessSettings:
    policy = as_mapping(require(props, "policy"), "policy")
    if not as_list(require(policy, "Statement"), "policy.Statement"):
        raise InvalidInput("policy.Statement", "must hold at least one statement")
    try:
        connection = S3Connection.from_props(as_mapping(require(props, "connection"), "connection"))
    except (TypeError, ValueError) as error:
        raise InvalidInput("connection", str(error)) from error
    secret_key_env, secret_key_vault = _parse_secret_source(props)
    raw_version = props.get("secret_version")
    secret_version: int | None = None
    if raw_version is not None or secret_key_env is not None:
        secret_version = as_int(1 if raw_version is None else raw_version, "secret_version")
        if secret_version < 1:
            raise InvalidInput("secret_version", f"must be at least 1, got {secret_version}")
    return ConsumerAccessSettings(
        user=as_str(require(props, "user"), "user"),
        secret_key_env=secret_key_env,
        secret_key_vault=secret_key_vault,
        secret_version=secret_version,
        policy_name=as_str(require(props, "policy_name"), "policy_name"),
        policy=normalize_policy(policy),
        connection=connection,
    )


def _outs(settings: ConsumerAccessSettings, secret_version: int | None = None) -> dict[str, Any]:
    return consumer_access_props(
        settings.user,
        settings.policy_name,
        settings.policy,
        settings.connection,
        settings.secret_key_env,
        settings.secret_version if secret_version is None else secret_version,
        secret_key_vault=settings.secret_key_vault,
    )


def _declared(settings: ConsumerAccessSettings) -> dict[str, Any]:
    """What the inputs declare; with the Vault source the secret version is Vault's, not an input."""
    outs = _outs(settings)
    if settings.secret_key_vault is not None:
        outs.pop("secret_version", None)
    return outs


class ConsumerAccessProvider(pulumi.dynamic.ResourceProvider):
    """One consumer on MinIO: its user, its canned policy, and the attachment between them.

    With the Vault source, diff reads the secret's current KV version and reports a change when it
    differs from the version last pushed (recorded in the outputs), so a rotation in Vault is re-pushed
    by the next `pulumi up`. Refresh (`read`) keeps the recorded version: MinIO never reports a user's
    secret, so the state must keep saying which version MinIO was last given.
    """

    def __init__(self, admin_factory: Callable[[S3Connection], ConsumerAdmin] = minio_consumer_admin) -> None:
        super().__init__()
        self._admin_factory = admin_factory

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        if contains_unknown({key: value for key, value in news.items() if key != "__provider"}):
            return pulumi.dynamic.CheckResult(news, [])
        try:
            settings = parse_consumer_access_props(news)
            if settings.secret_key_vault is not None and settings.secret_version is not None:
                raise InvalidInput(
                    "secret_version",
                    "comes from Vault's KV version when secret_key_vault is given: leave it out",
                )
        except InvalidInput as error:
            return pulumi.dynamic.CheckResult(
                news, [pulumi.dynamic.CheckFailure(error.property, error.reason)]
            )
        return pulumi.dynamic.CheckResult(_outs(settings), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        if contains_unknown({key: value for key, value in news.items() if key != "__provider"}):
            return pulumi.dynamic.DiffResult(changes=True)
        old_settings, new_settings = parse_consumer_access_props(olds), parse_consumer_access_props(news)
        old, new = _declared(old_settings), _declared(new_settings)
        changed = [key for key in sorted({*old, *new}) if old.get(key) != new.get(key)]
        replaces = [key for key in changed if key in REPLACE_ON_CHANGE]
        if old["connection"]["endpoint"] != new["connection"]["endpoint"]:
            replaces.append("connection")
        # Same Vault secret: it needs pushing again only if Vault holds another version than MinIO got.
        if (
            new_settings.secret_key_vault is not None
            and "secret_key_vault" not in changed
            and old_settings.secret_version != new_settings.current_version()
        ):
            changed.append("secret_version")
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=replaces)

    def _apply(
        self, settings: ConsumerAccessSettings, secret: ConsumerSecret | None, *, push_policy: bool
    ) -> None:
        admin = self._admin_factory(settings.connection)
        if secret is not None:
            admin.put_user(settings.user, secret.value)
        if push_policy:
            admin.put_policy(settings.policy_name, settings.policy)
        admin.attach_policy(settings.policy_name, settings.user)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        settings = parse_consumer_access_props(props)
        # Read before anything reaches MinIO: a missing secret leaves the server untouched.
        secret = settings.read_secret()
        self._apply(settings, secret, push_policy=True)
        return pulumi.dynamic.CreateResult(settings.user, _outs(settings, secret.version))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        old, new = parse_consumer_access_props(olds), parse_consumer_access_props(news)
        same_source = (old.secret_key_env, old.secret_key_vault) == (new.secret_key_env, new.secret_key_vault)
        if new.secret_key_vault is not None:
            # Value and version in one read, so what is recorded is exactly what was pushed.
            current: ConsumerSecret | None = new.read_secret()
            assert current is not None
            push = not same_source or old.secret_version != current.version
            recorded = current.version
        else:
            push = not same_source or old.secret_version != new.secret_version
            current = new.read_secret() if push else None
            recorded = new.secret_version or 1
        # Without a new version MinIO already holds this secret: it is not resent.
        self._apply(new, current if push else None, push_policy=old.policy != new.policy)
        return pulumi.dynamic.UpdateResult(_outs(new, recorded))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        settings = parse_consumer_access_props(props)
        observed = self._admin_factory(settings.connection).get_policy(settings.policy_name)
        if observed is None:
            return pulumi.dynamic.ReadResult("", {})
        return pulumi.dynamic.ReadResult(id_, {**_outs(settings), "policy": observed})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        settings = parse_consumer_access_props(props)
        admin = self._admin_factory(settings.connection)
        admin.detach_policy(settings.policy_name, settings.user)
        admin.remove_user(settings.user)
        admin.remove_policy(settings.policy_name)


class ConsumerAccess(pulumi.dynamic.Resource, module="mojaloop-objectstore", name="ConsumerAccess"):
    """A MinIO consumer: user plus its policy. The secret key is read at apply time from Vault
    (`secret_key_vault`, versioned by Vault) or from the environment variable `secret_key_env`."""

    user: pulumi.Output[str]
    policy_name: pulumi.Output[str]
    secret_version: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        user: str,
        policy_name: str,
        policy: Mapping[str, Any],
        connection: S3Connection,
        secret_key_env: str | None = None,
        secret_version: int | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        secret_key_vault: VaultKvField | None = None,
        ca_cert: pulumi.Input[str] | None = None,
    ) -> None:
        if (secret_key_env is None) == (secret_key_vault is None):
            raise ValueError(
                f"ConsumerAccess {resource_name!r}: give exactly one of secret_key_vault and secret_key_env"
            )
        if secret_key_vault is not None and secret_version is not None:
            raise ValueError(
                f"ConsumerAccess {resource_name!r}: secret_version comes from Vault's KV version when "
                "secret_key_vault is given; leave it out"
            )
        props = consumer_access_props(
            user,
            policy_name,
            policy,
            connection,
            secret_key_env,
            (secret_version or 1) if secret_key_env is not None else None,
            secret_key_vault=secret_key_vault,
        )
        props["connection"] = trusting(props["connection"], ca_cert)
        if ca_cert is not None and "secret_key_vault" in props:
            props["secret_key_vault"] = {**props["secret_key_vault"], "ca_cert": ca_cert}
        # Declared so the output exists; with the Vault source the provider fills it in.
        super().__init__(ConsumerAccessProvider(), resource_name, {"secret_version": None, **props}, opts)
