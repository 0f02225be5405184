"""Provider input handling that needs no server: check, diff, and the Pulumi resources' inputs."""

import base64
from typing import Any

import pulumi
import pytest
from pulumi.runtime.rpc import UNKNOWN

from mojaloop_iac.objectstore import BucketSpec, ExpiryRule, S3Connection, plan_buckets
from mojaloop_iac.objectstore.bucket import Bucket, BucketProvider, bucket_props, parse_bucket_props
from mojaloop_iac.objectstore.bucket_policy import BucketPolicy, BucketPolicyProvider, bucket_policy_props
from mojaloop_iac.objectstore.client import MissingCredentials, s3_client
from mojaloop_iac.objectstore.policies import iam_user_arn, render_bucket_policy

CONNECTION = S3Connection("minio.control-center.internal:9000")
SPEC = BucketSpec("backups", versioning=True, lifecycle=(ExpiryRule("expire", days=30),))


def as_engine_sends(props: dict[str, Any]) -> dict[str, Any]:
    """Numbers as floats (protobuf doubles) and the engine's own key, as a real engine passes them."""

    def floats(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return float(value)
        if isinstance(value, dict):
            return {key: floats(item) for key, item in value.items()}
        if isinstance(value, list):
            return [floats(item) for item in value]
        return value

    return {**floats(props), "__provider": "serialized"}


def test_props_with_float_numbers_from_the_engine_parse_to_the_declared_spec():
    settings = parse_bucket_props(as_engine_sends(bucket_props(SPEC, CONNECTION)))

    assert (settings.spec, settings.connection, settings.force_destroy) == (SPEC, CONNECTION, False)


@pytest.mark.parametrize(
    ("change", "property_", "reason"),
    [
        ({"bucket": "Backups"}, "bucket", "lowercase"),
        ({"lifecycle": [{"id": "x", "days": 1.5}]}, "lifecycle[0].days", "whole number"),
        ({"retention": {"mode": "FOREVER", "days": 1}}, "retention.mode", "GOVERNANCE"),
        ({"object_lock": True}, "bucket", "object lock requires versioning"),
        ({"connection": {"endpoint": "https://minio:9000"}}, "connection", "without scheme"),
        ({"tags": {"owner": 7}}, "tags.owner", "must be a string"),
    ],
)
def test_check_reports_the_offending_property(change, property_, reason):
    news = {**bucket_props(BucketSpec("backups"), CONNECTION), **change}

    failures = BucketProvider().check({}, news).failures

    assert [failure.property for failure in failures] == [property_]
    assert reason in failures[0].reason


def test_check_lets_unknown_preview_values_through():
    news = {**bucket_props(SPEC, CONNECTION), "bucket": UNKNOWN}

    assert BucketProvider().check({}, news).failures == []


def test_diff_without_changes_reports_none_even_when_lifecycle_order_differs():
    spec = BucketSpec("backups", lifecycle=(ExpiryRule("b", days=2), ExpiryRule("a", days=1)))
    olds = bucket_props(
        BucketSpec("backups", lifecycle=(ExpiryRule("a", days=1), ExpiryRule("b", days=2))), CONNECTION
    )

    assert (
        BucketProvider().diff("backups", as_engine_sends(olds), bucket_props(spec, CONNECTION)).changes
        is False
    )


def test_diff_replaces_on_a_new_name_or_endpoint_but_not_on_new_credential_variable_names():
    olds = bucket_props(SPEC, CONNECTION)
    provider = BucketProvider()

    renamed = provider.diff("backups", olds, bucket_props(BucketSpec("backups-2"), CONNECTION))
    moved = provider.diff("backups", olds, bucket_props(SPEC, S3Connection("other-minio:9000")))
    new_env = provider.diff(
        "backups", olds, bucket_props(SPEC, S3Connection(CONNECTION.endpoint, access_key_env="K"))
    )

    assert "bucket" in renamed.replaces
    assert moved.replaces == ["connection"]
    assert (new_env.changes, new_env.replaces) == (True, [])


def test_diff_with_an_unknown_name_plans_a_replacement():
    news = {**bucket_props(SPEC, CONNECTION), "bucket": UNKNOWN}

    diff = BucketProvider().diff("backups", bucket_props(SPEC, CONNECTION), news)

    assert (diff.changes, diff.replaces) == (True, ["bucket"])


def test_policy_diff_ignores_how_the_server_spelled_the_same_policy():
    policy = render_bucket_policy(plan_buckets("cc", ["dev"], 30)[2], {"env-dev": iam_user_arn("env-dev")})
    stored_spelling = {
        "Statement": [
            {**statement, "Action": statement["Action"][0]} if len(statement["Action"]) == 1 else statement
            for statement in policy["Statement"]
        ],
        "Version": "2012-10-17",
    }
    olds = bucket_policy_props("env-dev", stored_spelling, CONNECTION)

    assert (
        BucketPolicyProvider()
        .diff("env-dev", olds, bucket_policy_props("env-dev", policy, CONNECTION))
        .changes
        is False
    )


def test_client_factory_reads_credentials_at_call_time_from_the_named_variables():
    connection = S3Connection("127.0.0.1:9000", secure=False, access_key_env="A_KEY", secret_key_env="S_KEY")

    with pytest.raises(MissingCredentials, match="export A_KEY, S_KEY"):
        s3_client(connection, environ={})
    client = s3_client(connection, environ={"A_KEY": "id", "S_KEY": "very-secret"})

    assert client._provider.retrieve().secret_key == "very-secret"  # the named variable was used


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def test_resources_send_no_credentials_to_the_engine_even_inside_the_serialized_provider(monkeypatch):
    monkeypatch.setenv("MINIO_ROOT_USER", "root-user-value")
    monkeypatch.setenv("MINIO_ROOT_PASSWORD", "root-password-value")
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    specs = plan_buckets("cc", ["dev"], 30)

    @pulumi.runtime.test
    def program():
        bucket = Bucket("env-dev", specs[2], CONNECTION)
        policy = BucketPolicy(
            "env-dev-policy",
            bucket.bucket,
            render_bucket_policy(specs[2], {"env-dev": iam_user_arn("env-dev")}),
            CONNECTION,
        )
        return pulumi.Output.all(bucket.urn, bucket.bucket, policy.bucket).apply(check)

    def check(values: list[Any]) -> None:
        urn, bucket_name, policy_bucket = values
        assert "dynamic/mojaloop-objectstore:Bucket" in urn
        assert bucket_name == policy_bucket == "env-dev"
        for name in ("env-dev", "env-dev-policy"):
            sent = mocks.inputs[name]
            provider = base64.b64decode(sent["__provider"]["value"])
            everything = repr(sent).encode() + provider
            assert b"root-password-value" not in everything, name
            assert b"root-user-value" not in everything, name
            assert sent["connection"]["secret_key_env"] == "MINIO_ROOT_PASSWORD"

    program()
