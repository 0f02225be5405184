"""The bucket plan and the policies rendered from it: pure functions, no server."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mojaloop_iac.objectstore import (
    Access,
    BucketSpec,
    ConsumerGrant,
    DefaultRetention,
    ExpiryRule,
    InvalidBucketName,
    RetentionMode,
    iam_user_arn,
    plan_buckets,
    render_bucket_policy,
    render_consumer_policy,
    validate_bucket_name,
)
from mojaloop_iac.objectstore.names import bucket_name_problem
from mojaloop_iac.objectstore.policies import consumers, normalize_policy

ENV_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)


def by_name(specs: tuple[BucketSpec, ...]) -> dict[str, BucketSpec]:
    return {spec.name: spec for spec in specs}


def all_actions(policy: dict) -> set[str]:
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_plan_holds_state_backups_and_one_bucket_per_environment_in_order():
    specs = plan_buckets("cc-main", ["dev", "qa"], backups_expiry_days=30)

    assert [spec.name for spec in specs] == ["pulumi-state", "backups", "env-dev", "env-qa"]


def test_state_bucket_is_versioned_with_object_lock_and_optional_retention():
    retention = DefaultRetention(RetentionMode.GOVERNANCE, 7)
    state = by_name(plan_buckets("cc", ["dev"], 30, state_retention=retention))["pulumi-state"]

    assert (state.versioning, state.object_lock, state.retention) == (True, True, retention)


def test_object_lock_can_be_left_off_for_servers_without_it():
    state = by_name(plan_buckets("cc", [], 30, object_lock=False))["pulumi-state"]

    assert (state.versioning, state.object_lock) == (True, False)


def test_backups_expire_current_and_overwritten_versions_after_the_given_days():
    backups = by_name(plan_buckets("cc", ["dev"], backups_expiry_days=14))["backups"]

    assert backups.versioning is True
    assert backups.lifecycle == (ExpiryRule("expire-backups", days=14, prefix="", noncurrent_days=14),)


def test_every_bucket_is_tagged_with_its_control_center_and_purpose():
    specs = by_name(plan_buckets("cc-main", ["dev"], 30))

    assert specs["env-dev"].tag_map == {
        "mojaloop.io/control-center": "cc-main",
        "mojaloop.io/purpose": "environment",
        "mojaloop.io/environment": "dev",
    }
    assert specs["pulumi-state"].tag_map["mojaloop.io/purpose"] == "pulumi-state"


def test_environments_write_backups_only_under_their_own_prefix_and_cannot_delete_them():
    backups = by_name(plan_buckets("cc", ["dev", "qa"], 30))["backups"]

    assert ConsumerGrant("env-dev", Access.READ_WRITE_NO_DELETE, "environments/dev/") in backups.grants
    assert ConsumerGrant("control-center", Access.READ_WRITE_NO_DELETE, "control-center/") in backups.grants


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "3-63 characters"),
        ("a" * 64, "3-63 characters"),
        ("Env-Dev", "lowercase"),
        ("env_dev", "lowercase"),
        ("-env", "start and end"),
        ("env..dev", "adjacent dots"),
        ("192.168.1.10", "IP address"),
        ("xn--bucket", "reserved prefix"),
        ("bucket-s3alias", "reserved suffix"),
    ],
)
def test_invalid_bucket_names_are_rejected_naming_the_name_and_the_rule(name, rule):
    with pytest.raises(InvalidBucketName, match=rule) as raised:
        validate_bucket_name(name)

    assert repr(name) in str(raised.value)


def test_an_environment_that_cannot_name_a_bucket_is_named_in_the_error():
    with pytest.raises(ValueError, match="environment 'QA_1' cannot name a bucket"):
        plan_buckets("cc", ["dev", "QA_1"], 30)


def test_repeated_environment_names_are_rejected():
    with pytest.raises(ValueError, match=r"repeated: \['dev'\]"):
        plan_buckets("cc", ["dev", "qa", "dev"], 30)


def test_backups_need_a_positive_expiry():
    with pytest.raises(ValueError, match="backups_expiry_days must be at least 1"):
        plan_buckets("cc", ["dev"], 0)


def test_bucket_spec_rejects_retention_without_object_lock_and_lock_without_versioning():
    with pytest.raises(ValueError, match="object lock requires versioning"):
        BucketSpec("locked", object_lock=True)
    with pytest.raises(ValueError, match="retention requires object lock"):
        BucketSpec("kept", versioning=True, retention=DefaultRetention(RetentionMode.COMPLIANCE, 1))


@given(st.lists(ENV_NAMES, unique=True, max_size=8))
def test_every_planned_bucket_name_is_valid_and_unique(environments):
    specs = plan_buckets("cc", environments, 30)
    names = [spec.name for spec in specs]

    assert len(set(names)) == len(names)
    assert all(bucket_name_problem(name) is None for name in names)


@given(st.lists(ENV_NAMES, unique=True, min_size=1, max_size=6))
def test_each_consumer_policy_reaches_only_its_own_buckets_and_prefixes(environments):
    specs = plan_buckets("cc", environments, 30)
    for env in environments:
        policy = render_consumer_policy(f"env-{env}", specs)
        resources = {resource for statement in policy["Statement"] for resource in statement["Resource"]}

        assert resources == {
            f"arn:aws:s3:::env-{env}",
            f"arn:aws:s3:::env-{env}/*",
            "arn:aws:s3:::backups",
            f"arn:aws:s3:::backups/environments/{env}/*",
        }
        assert all("Principal" not in statement for statement in policy["Statement"])


def test_bucket_policy_names_each_consumer_principal_for_its_statements_only():
    specs = by_name(plan_buckets("cc", ["dev", "qa"], 30))
    principals = {name: iam_user_arn(name) for name in consumers(specs.values())}

    policy = render_bucket_policy(specs["env-dev"], principals)

    assert {p for s in policy["Statement"] for p in s["Principal"]["AWS"]} == {iam_user_arn("env-dev")}


def test_backup_writers_get_no_delete_and_listing_is_limited_to_their_prefix():
    specs = by_name(plan_buckets("cc", ["dev"], 30))
    policy = render_bucket_policy(
        specs["backups"], {name: iam_user_arn(name) for name in consumers(specs.values())}
    )
    dev = [s for s in policy["Statement"] if s["Principal"]["AWS"] == [iam_user_arn("env-dev")]]

    assert not any(action.startswith("s3:Delete") for action in all_actions({"Statement": dev}))
    listing = next(s for s in dev if "s3:ListBucket" in s["Action"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["environments/dev/*"]}}


def test_state_consumer_may_delete_because_pulumi_removes_its_lock_files():
    state = by_name(plan_buckets("cc", [], 30))["pulumi-state"]

    policy = render_bucket_policy(state, {"pulumi": iam_user_arn("pulumi")})

    assert "s3:DeleteObject" in all_actions(policy)
    assert not any(action.endswith("*") for action in all_actions(policy))


def test_bucket_policy_refuses_consumers_without_a_principal():
    state = by_name(plan_buckets("cc", [], 30))["pulumi-state"]

    with pytest.raises(ValueError, match=r"no principal given for consumers \['pulumi'\]"):
        render_bucket_policy(state, {})


def test_normalized_policies_ignore_single_string_versus_list_and_key_order():
    sent = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}],
    }
    stored = {
        "Statement": [{"Resource": "arn:aws:s3:::b/*", "Action": "s3:GetObject", "Effect": "Allow"}],
        "Version": "2012-10-17",
    }

    assert normalize_policy(sent) == normalize_policy(stored)
    assert normalize_policy(sent) != normalize_policy(
        {**stored, "Statement": [{**stored["Statement"][0], "Effect": "Deny"}]}
    )
