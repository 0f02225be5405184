"""The `Bucket` dynamic resource: one S3 bucket, its versioning, object lock, lifecycle and tags.

The provider talks to the server through the `minio` client only. Its outputs are what the server
reports after the change, in the same shape as the inputs, so a later diff compares like with like
and a refresh shows drift.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic
from minio import Minio
from minio.commonconfig import ENABLED, Filter, Tags
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.versioningconfig import SUSPENDED, VersioningConfig

from mojaloop_iac.objectstore.client import S3Connection, s3_client, trusting
from mojaloop_iac.objectstore.names import bucket_name_problem
from mojaloop_iac.objectstore.plan import BucketSpec, DefaultRetention, ExpiryRule, RetentionMode, tags_of
from mojaloop_iac.objectstore.policies import bucket_arn
from mojaloop_iac.objectstore.props import (
    InvalidInput,
    as_bool,
    as_int,
    as_list,
    as_mapping,
    as_str,
    contains_unknown,
    require,
)

# Changing these cannot be done to an existing bucket: the bucket is replaced.
REPLACE_ON_CHANGE = ("bucket", "object_lock")
_SETTINGS = ("versioning", "retention", "lifecycle", "tags", "force_destroy")

# Codes S3 servers answer with when they cannot create a bucket with object lock.
_OBJECT_LOCK_UNSUPPORTED = {
    "NotImplemented",
    "InvalidRequest",
    "InvalidArgument",
    "InvalidBucketObjectLockConfiguration",
}


class BucketNotEmpty(RuntimeError):
    """Deleting a bucket that still holds objects without force_destroy."""


class BucketConflict(RuntimeError):
    """An existing bucket cannot be brought to the declared state (object lock is creation-only)."""


class ObjectLockUnavailable(RuntimeError):
    """The server refused to create a bucket with object lock."""


@dataclass(frozen=True)
class BucketSettings:
    """A `Bucket`'s inputs, parsed. Grants are not part of a bucket; `BucketPolicy` applies them."""

    spec: BucketSpec
    connection: S3Connection
    force_destroy: bool = False


# ---------------------------------------------------------------------------------------------
# Property bags: BucketSettings <-> plain data
# ---------------------------------------------------------------------------------------------


def _retention_props(retention: DefaultRetention | None) -> dict[str, Any] | None:
    return None if retention is None else {"mode": retention.mode.value, "days": retention.days}


def _rule_props(rule: ExpiryRule) -> dict[str, Any]:
    return {
        "id": rule.rule_id,
        "prefix": rule.prefix,
        "days": rule.days,
        "noncurrent_days": rule.noncurrent_days,
    }


def spec_props(spec: BucketSpec) -> dict[str, Any]:
    """The bucket-state part of the property bag (what `observe_bucket` also reports)."""
    return {
        "bucket": spec.name,
        "versioning": spec.versioning,
        "object_lock": spec.object_lock,
        "retention": _retention_props(spec.retention),
        "lifecycle": [_rule_props(rule) for rule in spec.lifecycle],
        "tags": spec.tag_map,
    }


def bucket_props(spec: BucketSpec, connection: S3Connection, force_destroy: bool = False) -> dict[str, Any]:
    """The full `Bucket` property bag. Holds environment variable names, never credentials."""
    return {**spec_props(spec), "force_destroy": force_destroy, "connection": connection.to_props()}


def _parse_retention(value: Any) -> DefaultRetention | None:
    if value is None:
        return None
    raw = as_mapping(value, "retention")
    mode = as_str(require(raw, "mode"), "retention.mode")
    if mode not in RetentionMode.__members__:
        raise InvalidInput(
            "retention.mode", f"must be one of {list(RetentionMode.__members__)}, got {mode!r}"
        )
    return DefaultRetention(RetentionMode(mode), as_int(require(raw, "days"), "retention.days"))


def _parse_rule(value: Any, index: int) -> ExpiryRule:
    where = f"lifecycle[{index}]"
    raw = as_mapping(value, where)
    noncurrent = raw.get("noncurrent_days")
    return ExpiryRule(
        rule_id=as_str(require(raw, "id"), f"{where}.id"),
        days=as_int(require(raw, "days"), f"{where}.days"),
        prefix=as_str(raw["prefix"], f"{where}.prefix") if raw.get("prefix") else "",
        noncurrent_days=None if noncurrent is None else as_int(noncurrent, f"{where}.noncurrent_days"),
    )


def parse_bucket_props(props: Mapping[str, Any]) -> BucketSettings:
    """Typed settings from a property bag; raises InvalidInput naming the bad property."""
    name = as_str(require(props, "bucket"), "bucket")
    problem = bucket_name_problem(name)
    if problem is not None:
        raise InvalidInput("bucket", f"{name!r} {problem}")
    tags = as_mapping(props.get("tags") or {}, "tags")
    for key, value in tags.items():
        if not isinstance(value, str):
            raise InvalidInput(f"tags.{key}", f"must be a string, got {value!r}")
    try:
        connection = S3Connection.from_props(as_mapping(require(props, "connection"), "connection"))
    except (TypeError, ValueError) as error:
        raise InvalidInput("connection", str(error)) from error
    try:
        spec = BucketSpec(
            name=name,
            versioning=as_bool(props.get("versioning", False), "versioning"),
            object_lock=as_bool(props.get("object_lock", False), "object_lock"),
            retention=_parse_retention(props.get("retention")),
            lifecycle=tuple(
                _parse_rule(rule, index)
                for index, rule in enumerate(as_list(props.get("lifecycle") or [], "lifecycle"))
            ),
            tags=tags_of(tags),
        )
    except InvalidInput:
        raise
    except ValueError as error:
        raise InvalidInput("bucket", str(error)) from error
    return BucketSettings(spec, connection, as_bool(props.get("force_destroy", False), "force_destroy"))


# ---------------------------------------------------------------------------------------------
# Talking to the server
# ---------------------------------------------------------------------------------------------


def _missing(error: S3Error, *codes: str) -> bool:
    return error.code in codes


def observe_bucket(client: Minio, name: str) -> dict[str, Any]:
    """The bucket's live settings in the shape of `spec_props`."""
    versioning = client.get_bucket_versioning(name).status == "Enabled"
    object_lock, retention = False, None
    try:
        lock = client.get_object_lock_config(name)
    except S3Error as error:
        if not _missing(error, "ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"):
            raise
    else:
        object_lock = True
        if lock.mode is not None and lock.duration is not None:
            unit = "days" if lock.duration_unit == DAYS else "years"
            retention = {"mode": lock.mode, unit: lock.duration}
    lifecycle_config = client.get_bucket_lifecycle(name)
    lifecycle = [
        {
            "id": rule.rule_id,
            "prefix": (rule.rule_filter.prefix if rule.rule_filter is not None else None) or "",
            "days": rule.expiration.days if rule.expiration is not None else None,
            "noncurrent_days": (
                rule.noncurrent_version_expiration.noncurrent_days
                if rule.noncurrent_version_expiration is not None
                else None
            ),
        }
        # A disabled rule expires nothing: reporting it as absent makes the next update re-enable it.
        for rule in (lifecycle_config.rules if lifecycle_config is not None else [])
        if rule.status == ENABLED
    ]
    tags = client.get_bucket_tags(name)
    return {
        "bucket": name,
        "versioning": versioning,
        "object_lock": object_lock,
        "retention": retention,
        "lifecycle": sorted(lifecycle, key=lambda rule: rule["id"] or ""),
        "tags": dict(tags) if tags is not None else {},
    }


def _lifecycle_config(rules: tuple[ExpiryRule, ...]) -> LifecycleConfig:
    return LifecycleConfig(
        [
            Rule(
                ENABLED,
                rule_filter=Filter(prefix=rule.prefix),
                rule_id=rule.rule_id,
                expiration=Expiration(days=rule.days),
                noncurrent_version_expiration=(
                    None
                    if rule.noncurrent_days is None
                    else NoncurrentVersionExpiration(noncurrent_days=rule.noncurrent_days)
                ),
            )
            for rule in rules
        ]
    )


def converge_bucket(client: Minio, spec: BucketSpec) -> dict[str, Any]:
    """Change only what differs between the live bucket and `spec`; return the live state after."""
    observed = observe_bucket(client, spec.name)
    if observed["object_lock"] != spec.object_lock:
        have = "has" if observed["object_lock"] else "does not have"
        raise BucketConflict(
            f"bucket {spec.name!r} exists and {have} object lock, which can only be chosen when a bucket is "
            f"created: empty and delete it, or declare object_lock={observed['object_lock']}"
        )
    desired = spec_props(spec)
    if observed["versioning"] != spec.versioning:
        # S3 cannot turn versioning off, only suspend it; suspended reads back as not enabled.
        client.set_bucket_versioning(spec.name, VersioningConfig(ENABLED if spec.versioning else SUSPENDED))
    if spec.object_lock and observed["retention"] != desired["retention"]:
        retention = spec.retention
        client.set_object_lock_config(
            spec.name,
            ObjectLockConfig(None, None, None)
            if retention is None
            else ObjectLockConfig(retention.mode.value, retention.days, DAYS),
        )
    if observed["lifecycle"] != sorted(desired["lifecycle"], key=lambda rule: rule["id"]):
        if spec.lifecycle:
            client.set_bucket_lifecycle(spec.name, _lifecycle_config(spec.lifecycle))
        else:
            client.delete_bucket_lifecycle(spec.name)
    if observed["tags"] != desired["tags"]:
        if spec.tags:
            tags = Tags.new_bucket_tags()
            tags.update(spec.tag_map)
            client.set_bucket_tags(spec.name, tags)
        else:
            client.delete_bucket_tags(spec.name)
    return observe_bucket(client, spec.name)


def _outs(settings: BucketSettings, observed: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **observed,
        "force_destroy": settings.force_destroy,
        "connection": settings.connection.to_props(),
        "arn": bucket_arn(settings.spec.name),
    }


def _first_object(client: Minio, name: str) -> str | None:
    for item in client.list_objects(name, recursive=True, include_version=True):
        return item.object_name
    return None


def _empty_bucket(client: Minio, name: str) -> None:
    versions = [
        DeleteObject(item.object_name, item.version_id)
        for item in client.list_objects(name, recursive=True, include_version=True)
    ]
    if not versions:
        return
    # Governance-mode locks are meant to be overridable by the operator who asked for force_destroy;
    # compliance-mode locks are not and make this fail, which is the point of them.
    failures = list(client.remove_objects(name, iter(versions), bypass_governance_mode=True))
    if failures:
        first = failures[0]
        raise BucketNotEmpty(
            f"bucket {name!r}: {len(failures)} object versions could not be deleted "
            f"(first: {first.name!r}, {first.code}: {first.message})"
        )


# ---------------------------------------------------------------------------------------------
# The provider
# ---------------------------------------------------------------------------------------------


def _comparable(props: Mapping[str, Any]) -> dict[str, Any]:
    """Olds or news reduced to what matters for a diff, in canonical form."""
    settings = parse_bucket_props(props)
    state = spec_props(settings.spec)
    state["lifecycle"] = sorted(state["lifecycle"], key=lambda rule: rule["id"])
    return {**state, "force_destroy": settings.force_destroy}


class BucketProvider(pulumi.dynamic.ResourceProvider):
    """Creates, converges and deletes one bucket. Stateless: a client is built per operation."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        if contains_unknown({key: value for key, value in news.items() if key != "__provider"}):
            return pulumi.dynamic.CheckResult(news, [])
        try:
            settings = parse_bucket_props(news)
        except InvalidInput as error:
            return pulumi.dynamic.CheckResult(
                news, [pulumi.dynamic.CheckFailure(error.property, error.reason)]
            )
        return pulumi.dynamic.CheckResult(
            bucket_props(settings.spec, settings.connection, settings.force_destroy), []
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        unknown = [
            key for key in (*REPLACE_ON_CHANGE, *_SETTINGS, "connection") if contains_unknown(news.get(key))
        ]
        if unknown:
            replaces = [key for key in unknown if key in REPLACE_ON_CHANGE]
            return pulumi.dynamic.DiffResult(changes=True, replaces=replaces, delete_before_replace=True)
        new = _comparable(news)
        try:
            old = _comparable(olds)
        except InvalidInput:
            # The live bucket was changed outside Pulumi into something inputs cannot express
            # (a rule without expiry, a retention in years): compare raw, the update converges it.
            old = {key: olds.get(key) for key in new}
        changed = [key for key in new if old.get(key) != new[key]]
        replaces = [key for key in changed if key in REPLACE_ON_CHANGE]
        old_connection = S3Connection.from_props(olds["connection"])
        new_connection = S3Connection.from_props(news["connection"])
        if old_connection != new_connection:
            changed.append("connection")
            # Another endpoint is another server: the bucket there is a different bucket.
            if old_connection.endpoint != new_connection.endpoint:
                replaces.append("connection")
        return pulumi.dynamic.DiffResult(
            changes=bool(changed),
            replaces=replaces,
            stables=["bucket", "arn"] if "bucket" not in replaces else [],
            # Same name on the same server: the old bucket must be gone before the new one exists.
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        settings = parse_bucket_props(props)
        spec = settings.spec
        client = s3_client(settings.connection)
        created = False
        if not client.bucket_exists(spec.name):
            try:
                client.make_bucket(spec.name, object_lock=spec.object_lock)
                created = True
            except S3Error as error:
                if error.code == "BucketAlreadyOwnedByYou":
                    pass  # created concurrently by us: converge it like any existing bucket
                elif spec.object_lock and error.code in _OBJECT_LOCK_UNSUPPORTED:
                    raise ObjectLockUnavailable(
                        f"{settings.connection.url} refused to create bucket {spec.name!r} with object lock "
                        f"({error.code}: {error.message}); declare object_lock=False for this server"
                    ) from error
                else:
                    raise
        try:
            observed = converge_bucket(client, spec)
        except Exception:
            # Create must be all or nothing: a bucket we just made and could not configure goes away.
            if created:
                client.remove_bucket(spec.name)
            raise
        return pulumi.dynamic.CreateResult(spec.name, _outs(settings, observed))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        connection = S3Connection.from_props(props["connection"])
        client = s3_client(connection)
        if not client.bucket_exists(id_):
            return pulumi.dynamic.ReadResult("", {})  # an empty id tells the engine it is gone
        observed = observe_bucket(client, id_)
        outs = {
            **observed,
            "force_destroy": bool(props.get("force_destroy", False)),
            "connection": connection.to_props(),
            "arn": bucket_arn(id_),
        }
        return pulumi.dynamic.ReadResult(id_, outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        settings = parse_bucket_props(news)
        observed = converge_bucket(s3_client(settings.connection), settings.spec)
        return pulumi.dynamic.UpdateResult(_outs(settings, observed))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        connection = S3Connection.from_props(props["connection"])
        force_destroy = bool(props.get("force_destroy", False))
        client = s3_client(connection)
        if not client.bucket_exists(id_):
            return
        if force_destroy:
            _empty_bucket(client, id_)
        else:
            first = _first_object(client, id_)
            if first is not None:
                raise BucketNotEmpty(
                    f"bucket {id_!r} still holds objects (for example {first!r}) and force_destroy is false: "
                    "move or delete its contents, or set force_destroy=True to delete them with the bucket"
                )
        try:
            client.remove_bucket(id_)
        except S3Error as error:
            if error.code != "NoSuchBucket":
                raise


class Bucket(pulumi.dynamic.Resource, module="mojaloop-objectstore", name="Bucket"):
    """One S3 bucket as declared by a `BucketSpec`. Outputs hold no credentials."""

    bucket: pulumi.Output[str]
    arn: pulumi.Output[str]
    versioning: pulumi.Output[bool]
    object_lock: pulumi.Output[bool]
    retention: pulumi.Output[dict[str, Any] | None]
    lifecycle: pulumi.Output[list[dict[str, Any]]]
    tags: pulumi.Output[dict[str, str]]
    force_destroy: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        spec: BucketSpec,
        connection: S3Connection,
        force_destroy: bool = False,
        opts: pulumi.ResourceOptions | None = None,
        *,
        ca_cert: pulumi.Input[str] | None = None,
    ) -> None:
        props = bucket_props(spec, connection, force_destroy)
        props["connection"] = trusting(props["connection"], ca_cert)
        super().__init__(BucketProvider(), resource_name, {**props, "arn": None}, opts)
