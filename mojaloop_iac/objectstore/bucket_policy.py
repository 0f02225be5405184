"""The `BucketPolicy` dynamic resource: the one resource policy an S3 bucket holds.

Which servers enforce what is described in `policies`: on MinIO a bucket policy only governs
anonymous requests, so consumers there are scoped by `ConsumerAccess` instead.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic
from minio.error import S3Error

from mojaloop_iac.objectstore.client import S3Connection, s3_client
from mojaloop_iac.objectstore.names import bucket_name_problem
from mojaloop_iac.objectstore.policies import normalize_policy
from mojaloop_iac.objectstore.props import (
    InvalidInput,
    as_list,
    as_mapping,
    as_str,
    contains_unknown,
    require,
)

_GONE = ("NoSuchBucket", "NoSuchBucketPolicy")


class PolicyNotApplied(RuntimeError):
    """The server stored something other than the policy that was sent."""


@dataclass(frozen=True)
class BucketPolicySettings:
    bucket: str
    policy: dict[str, Any]  # normalized
    connection: S3Connection


def bucket_policy_props(bucket: str, policy: Mapping[str, Any], connection: S3Connection) -> dict[str, Any]:
    return {"bucket": bucket, "policy": dict(policy), "connection": connection.to_props()}


def parse_bucket_policy_props(props: Mapping[str, Any]) -> BucketPolicySettings:
    bucket = as_str(require(props, "bucket"), "bucket")
    problem = bucket_name_problem(bucket)
    if problem is not None:
        raise InvalidInput("bucket", f"{bucket!r} {problem}")
    policy = as_mapping(require(props, "policy"), "policy")
    statements = as_list(require(policy, "Statement"), "policy.Statement")
    if not statements:
        raise InvalidInput("policy.Statement", "must hold at least one statement")
    try:
        connection = S3Connection.from_props(as_mapping(require(props, "connection"), "connection"))
    except (TypeError, ValueError) as error:
        raise InvalidInput("connection", str(error)) from error
    return BucketPolicySettings(bucket, normalize_policy(policy), connection)


def read_bucket_policy(client: Any, bucket: str) -> dict[str, Any] | None:
    """The bucket's policy, normalized, or None when it has none (or the bucket is gone)."""
    try:
        text = client.get_bucket_policy(bucket)
    except S3Error as error:
        if error.code in _GONE:
            return None
        raise
    return normalize_policy(json.loads(text)) if text else None


def _outs(settings: BucketPolicySettings, observed: dict[str, Any]) -> dict[str, Any]:
    return {"bucket": settings.bucket, "policy": observed, "connection": settings.connection.to_props()}


def apply_bucket_policy(settings: BucketPolicySettings) -> dict[str, Any]:
    client = s3_client(settings.connection)
    client.set_bucket_policy(settings.bucket, json.dumps(settings.policy))
    observed = read_bucket_policy(client, settings.bucket)
    if observed != settings.policy:
        # A server that silently drops statements it does not understand would leave consumers
        # with less (or more) access than declared; stop rather than record a false state.
        raise PolicyNotApplied(
            f"bucket {settings.bucket!r}: the server stored a different policy than the one sent; "
            f"sent {json.dumps(settings.policy, sort_keys=True)}, stored {json.dumps(observed, sort_keys=True)}"
        )
    return _outs(settings, observed)


class BucketPolicyProvider(pulumi.dynamic.ResourceProvider):
    """Sets, compares and removes a bucket's policy. The resource id is the bucket name."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        if contains_unknown({key: value for key, value in news.items() if key != "__provider"}):
            return pulumi.dynamic.CheckResult(news, [])
        try:
            settings = parse_bucket_policy_props(news)
        except InvalidInput as error:
            return pulumi.dynamic.CheckResult(
                news, [pulumi.dynamic.CheckFailure(error.property, error.reason)]
            )
        return pulumi.dynamic.CheckResult(
            bucket_policy_props(settings.bucket, settings.policy, settings.connection), []
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        if contains_unknown(news.get("bucket")):
            return pulumi.dynamic.DiffResult(changes=True, replaces=["bucket"], delete_before_replace=True)
        if contains_unknown([news.get("policy"), news.get("connection")]):
            return pulumi.dynamic.DiffResult(changes=True)
        new = parse_bucket_policy_props(news)
        old = parse_bucket_policy_props(olds)
        changed: list[str] = []
        replaces: list[str] = []
        if old.bucket != new.bucket:
            changed.append("bucket")
            replaces.append("bucket")
        if old.policy != new.policy:
            changed.append("policy")
        if old.connection != new.connection:
            changed.append("connection")
            if old.connection.endpoint != new.connection.endpoint:
                replaces.append("connection")
        return pulumi.dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces)
        )

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        settings = parse_bucket_policy_props(props)
        return pulumi.dynamic.CreateResult(settings.bucket, apply_bucket_policy(settings))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        connection = S3Connection.from_props(props["connection"])
        observed = read_bucket_policy(s3_client(connection), id_)
        if observed is None:
            return pulumi.dynamic.ReadResult("", {})
        return pulumi.dynamic.ReadResult(
            id_, {"bucket": id_, "policy": observed, "connection": connection.to_props()}
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(apply_bucket_policy(parse_bucket_policy_props(news)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = s3_client(S3Connection.from_props(props["connection"]))
        try:
            client.delete_bucket_policy(id_)
        except S3Error as error:
            if error.code not in _GONE:
                raise


class BucketPolicy(pulumi.dynamic.Resource, module="mojaloop-objectstore", name="BucketPolicy"):
    """The resource policy of one bucket, usually `render_bucket_policy(spec, principals)`."""

    bucket: pulumi.Output[str]
    policy: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        bucket: pulumi.Input[str],
        policy: Mapping[str, Any],
        connection: S3Connection,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            BucketPolicyProvider(),
            resource_name,
            {"bucket": bucket, "policy": dict(policy), "connection": connection.to_props()},
            opts,
        )
