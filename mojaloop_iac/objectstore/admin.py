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
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi.dynamic
from minio.error import MinioAdminException
from minio.minioadmin import MinioAdmin

from mojaloop_iac.objectstore.client import MissingCredentials, S3Connection, admin_client
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
class ConsumerAccessSettings:
    user: str
    secret_key_env: str
    # Bumped when Vault rotates the secret, so the change shows in a diff without the secret itself.
    secret_version: int
    policy_name: str
    policy: dict[str, Any]  # normalized
    connection: S3Connection

    def secret_key(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        value = env.get(self.secret_key_env)
        if not value:
            raise MissingCredentials(
                f"the secret for object store consumer {self.user!r} is not set: export {self.secret_key_env} "
                "(for example from Vault) before running"
            )
        return value


def consumer_access_props(
    user: str,
    policy_name: str,
    policy: Mapping[str, Any],
    connection: S3Connection,
    secret_key_env: str,
    secret_version: int = 1,
) -> dict[str, Any]:
    return {
        "user": user,
        "secret_key_env": secret_key_env,
        "secret_version": secret_version,
        "policy_name": policy_name,
        "policy": dict(policy),
        "connection": connection.to_props(),
    }


def parse_consumer_access_props(props: Mapping[str, Any]) -> ConsumerAccessSettings:
    policy = as_mapping(require(props, "policy"), "policy")
    if not as_list(require(policy, "Statement"), "policy.Statement"):
        raise InvalidInput("policy.Statement", "must hold at least one statement")
    try:
        connection = S3Connection.from_props(as_mapping(require(props, "connection"), "connection"))
    except (TypeError, ValueError) as error:
        raise InvalidInput("connection", str(error)) from error
    secret_version = as_int(props.get("secret_version", 1), "secret_version")
    if secret_version < 1:
        raise InvalidInput("secret_version", f"must be at least 1, got {secret_version}")
    return ConsumerAccessSettings(
        user=as_str(require(props, "user"), "user"),
        secret_key_env=as_str(require(props, "secret_key_env"), "secret_key_env"),
        secret_version=secret_version,
        policy_name=as_str(require(props, "policy_name"), "policy_name"),
        policy=normalize_policy(policy),
        connection=connection,
    )


def _outs(settings: ConsumerAccessSettings) -> dict[str, Any]:
    return consumer_access_props(
        settings.user,
        settings.policy_name,
        settings.policy,
        settings.connection,
        settings.secret_key_env,
        settings.secret_version,
    )


class ConsumerAccessProvider(pulumi.dynamic.ResourceProvider):
    """One consumer on MinIO: its user, its canned policy, and the attachment between them."""

    def __init__(self, admin_factory: Callable[[S3Connection], ConsumerAdmin] = minio_consumer_admin) -> None:
        super().__init__()
        self._admin_factory = admin_factory

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        if contains_unknown({key: value for key, value in news.items() if key != "__provider"}):
            return pulumi.dynamic.CheckResult(news, [])
        try:
            settings = parse_consumer_access_props(news)
        except InvalidInput as error:
            return pulumi.dynamic.CheckResult(
                news, [pulumi.dynamic.CheckFailure(error.property, error.reason)]
            )
        return pulumi.dynamic.CheckResult(_outs(settings), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        if contains_unknown({key: value for key, value in news.items() if key != "__provider"}):
            return pulumi.dynamic.DiffResult(changes=True)
        old, new = _outs(parse_consumer_access_props(olds)), _outs(parse_consumer_access_props(news))
        changed = [key for key in new if old[key] != new[key]]
        replaces = [key for key in changed if key in REPLACE_ON_CHANGE]
        if old["connection"]["endpoint"] != new["connection"]["endpoint"]:
            replaces.append("connection")
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=replaces)

    def _apply(self, settings: ConsumerAccessSettings, *, push_secret: bool, push_policy: bool) -> None:
        admin = self._admin_factory(settings.connection)
        if push_secret:
            admin.put_user(settings.user, settings.secret_key())
        if push_policy:
            admin.put_policy(settings.policy_name, settings.policy)
        admin.attach_policy(settings.policy_name, settings.user)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        settings = parse_consumer_access_props(props)
        self._apply(settings, push_secret=True, push_policy=True)
        return pulumi.dynamic.CreateResult(settings.user, _outs(settings))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        old, new = parse_consumer_access_props(olds), parse_consumer_access_props(news)
        self._apply(
            new,
            push_secret=(old.secret_version, old.secret_key_env) != (new.secret_version, new.secret_key_env),
            push_policy=old.policy != new.policy,
        )
        return pulumi.dynamic.UpdateResult(_outs(new))

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
    """A MinIO consumer: user (secret read from `secret_key_env` at apply time) plus its policy."""

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
        secret_key_env: str,
        secret_version: int = 1,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            ConsumerAccessProvider(),
            resource_name,
            consumer_access_props(user, policy_name, policy, connection, secret_key_env, secret_version),
            opts,
        )
