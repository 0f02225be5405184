"""Bucket and bucket-policy providers against a real SeaweedFS S3 server.

The providers are plain classes: their create/diff/update/read/delete are called directly, as the
Pulumi engine would. Consumers are identities in SeaweedFS's identities file. Two mechanisms scope
them there, and both are exercised: the bucket policies rendered by `render_bucket_policy` (for
identities that have no actions of their own) and SeaweedFS's own per-identity actions such as
"Read:<bucket>".
"""

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import S3Error
from minio.versioningconfig import SUSPENDED, VersioningConfig

from mojaloop_iac.objectstore import (
    BucketSpec,
    DefaultRetention,
    ExpiryRule,
    MissingCredentials,
    RetentionMode,
    S3Connection,
    iam_user_arn,
    plan_buckets,
    render_bucket_policy,
)
from mojaloop_iac.objectstore.bucket import (
    BucketConflict,
    BucketNotEmpty,
    BucketProvider,
    bucket_props,
)
from mojaloop_iac.objectstore.bucket_policy import BucketPolicyProvider, bucket_policy_props
from mojaloop_iac.objectstore.plan import tags_of
from mojaloop_iac.objectstore.policies import consumers, normalize_policy
from tests.support.seaweedfs import ADMIN_ACTIONS, S3Identity, SeaweedS3Server, run_seaweedfs

pytestmark = pytest.mark.slow

ACCESS_KEY_ENV = "OBJECTSTORE_TEST_ACCESS_KEY"
SECRET_KEY_ENV = "OBJECTSTORE_TEST_SECRET_KEY"
ENVIRONMENTS = ("dev", "qa")
STATE_RETENTION = DefaultRetention(RetentionMode.GOVERNANCE, 1)


@dataclass(frozen=True)
class AppliedPlan:
    server: SeaweedS3Server
    connection: S3Connection
    specs: dict[str, BucketSpec]
    bucket_outs: dict[str, dict[str, Any]]
    policies: dict[str, dict[str, Any]]
    policy_outs: dict[str, dict[str, Any]]

    def admin(self) -> Minio:
        return self.server.client(self.server.admin)

    def as_consumer(self, name: str) -> Minio:
        return self.server.client(self.server.identity(name))


@pytest.fixture(scope="session")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedPlan]:
    specs = plan_buckets("cc-test", ENVIRONMENTS, backups_expiry_days=30, state_retention=STATE_RETENTION)
    admin = S3Identity.generate("admin", ADMIN_ACTIONS)
    # Planned consumers get no actions of their own: whatever they can do comes from bucket policies.
    policy_only = [S3Identity.generate(name, ()) for name in consumers(specs)]
    # Scoped by SeaweedFS's identity actions alone, to show that mechanism separately.
    by_actions = S3Identity.generate("reader-qa", ("Read:env-qa", "List:env-qa"))
    with (
        run_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), [admin, *policy_only, by_actions]) as server,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv(ACCESS_KEY_ENV, admin.access_key)
        env.setenv(SECRET_KEY_ENV, admin.secret_key)
        connection = S3Connection(
            server.endpoint, secure=False, access_key_env=ACCESS_KEY_ENV, secret_key_env=SECRET_KEY_ENV
        )
        principals = {identity.name: iam_user_arn(identity.name) for identity in policy_only}
        bucket_outs = {
            spec.name: BucketProvider().create(bucket_props(spec, connection)).outs for spec in specs
        }
        policies = {spec.name: render_bucket_policy(spec, principals) for spec in specs}
        policy_outs = {
            name: BucketPolicyProvider().create(bucket_policy_props(name, policy, connection)).outs
            for name, policy in policies.items()
        }
        yield AppliedPlan(server, connection, {s.name: s for s in specs}, bucket_outs, policies, policy_outs)


def put(client: Minio, bucket: str, key: str, data: bytes = b"payload") -> None:
    client.put_object(bucket, key, io.BytesIO(data), len(data))


def denied(call) -> bool:
    try:
        call()
    except S3Error as error:
        if error.code == "AccessDenied":
            return True
        raise
    return False


# --- buckets as declared ---------------------------------------------------------------------


def test_every_planned_bucket_exists(applied: AppliedPlan):
    names = {bucket.name for bucket in applied.admin().list_buckets()}

    assert set(applied.specs) <= names
    assert set(applied.specs) == {"pulumi-state", "backups", "env-dev", "env-qa"}


def test_state_bucket_is_versioned_and_object_locked_with_default_retention(applied: AppliedPlan):
    admin = applied.admin()
    lock = admin.get_object_lock_config("pulumi-state")

    assert admin.get_bucket_versioning("pulumi-state").status == "Enabled"
    assert (lock.mode, lock.duration, lock.duration_unit) == ("GOVERNANCE", 1, "Days")
    assert applied.bucket_outs["pulumi-state"]["retention"] == {"mode": "GOVERNANCE", "days": 1}


def test_object_lock_keeps_a_state_version_from_being_deleted(applied: AppliedPlan):
    admin = applied.admin()
    written = admin.put_object("pulumi-state", "locktest/stack.json", io.BytesIO(b"{}"), 2)

    with pytest.raises(S3Error) as raised:
        admin.remove_object("pulumi-state", "locktest/stack.json", version_id=written.version_id)

    assert raised.value.code == "AccessDenied"


def test_backups_lifecycle_rule_reads_back_as_declared(applied: AppliedPlan):
    rules = applied.admin().get_bucket_lifecycle("backups").rules

    assert [
        (r.rule_id, r.status, r.expiration.days, r.noncurrent_version_expiration.noncurrent_days)
        for r in rules
    ] == [("expire-backups", ENABLED, 30, 30)]
    assert applied.bucket_outs["backups"]["lifecycle"] == [
        {"id": "expire-backups", "prefix": "", "days": 30, "noncurrent_days": 30}
    ]


def test_bucket_tags_read_back_as_declared(applied: AppliedPlan):
    assert dict(applied.admin().get_bucket_tags("env-qa")) == applied.specs["env-qa"].tag_map


def test_environment_buckets_are_not_versioned_or_locked(applied: AppliedPlan):
    outs = applied.bucket_outs["env-dev"]

    assert (outs["versioning"], outs["object_lock"], outs["retention"]) == (False, False, None)


def test_a_second_create_run_succeeds_and_reports_the_same_state(applied: AppliedPlan):
    for spec in applied.specs.values():
        props = bucket_props(spec, applied.connection)
        again = BucketProvider().create(props)

        assert (again.id, again.outs) == (spec.name, applied.bucket_outs[spec.name])
        assert BucketProvider().diff(spec.name, again.outs, props).changes is False


def test_a_second_policy_create_run_succeeds_and_reports_the_same_state(applied: AppliedPlan):
    for name, policy in applied.policies.items():
        props = bucket_policy_props(name, policy, applied.connection)
        again = BucketPolicyProvider().create(props)

        assert again.outs == applied.policy_outs[name]
        assert BucketPolicyProvider().diff(name, again.outs, props).changes is False


def test_bucket_policies_read_back_as_declared(applied: AppliedPlan):
    for name, policy in applied.policies.items():
        stored = json.loads(applied.admin().get_bucket_policy(name))

        assert normalize_policy(stored) == normalize_policy(policy)


def test_outputs_hold_no_credentials(applied: AppliedPlan):
    admin = applied.server.admin
    everything = json.dumps([applied.bucket_outs, applied.policy_outs])

    assert admin.secret_key not in everything
    assert admin.access_key not in everything
    assert ACCESS_KEY_ENV in everything  # only the variable's name is recorded


# --- consumers: bucket policies ----------------------------------------------------------------


def test_environment_consumer_reads_writes_and_deletes_in_its_own_bucket(applied: AppliedPlan):
    dev = applied.as_consumer("env-dev")
    put(dev, "env-dev", "reports/run-1.json", b"ok")

    assert dev.get_object("env-dev", "reports/run-1.json").read() == b"ok"
    assert [o.object_name for o in dev.list_objects("env-dev", prefix="reports/")] == ["reports/run-1.json"]
    dev.remove_object("env-dev", "reports/run-1.json")


def test_environment_consumer_is_denied_in_other_buckets(applied: AppliedPlan):
    put(applied.admin(), "env-qa", "secret.txt")
    dev = applied.as_consumer("env-dev")

    assert denied(lambda: dev.get_object("env-qa", "secret.txt").read())
    assert denied(lambda: put(dev, "env-qa", "intruder.txt"))
    assert denied(lambda: list(dev.list_objects("env-qa")))
    assert denied(lambda: put(dev, "pulumi-state", "intruder.txt"))


def test_environment_consumer_writes_and_restores_backups_only_under_its_prefix(applied: AppliedPlan):
    dev = applied.as_consumer("env-dev")
    put(dev, "backups", "environments/dev/mysql.sql.gz", b"dump")

    assert dev.get_object("backups", "environments/dev/mysql.sql.gz").read() == b"dump"
    assert [o.object_name for o in dev.list_objects("backups", prefix="environments/dev/")] == [
        "environments/dev/mysql.sql.gz"
    ]
    assert denied(lambda: put(dev, "backups", "environments/qa/mysql.sql.gz"))
    assert denied(lambda: list(dev.list_objects("backups", prefix="environments/qa/")))
    assert denied(lambda: list(dev.list_objects("backups", recursive=True)))


def test_backup_writers_cannot_delete_backups(applied: AppliedPlan):
    writer = applied.as_consumer("control-center")
    put(writer, "backups", "control-center/vault.snap", b"snapshot")

    assert denied(lambda: writer.remove_object("backups", "control-center/vault.snap"))
    assert applied.admin().stat_object("backups", "control-center/vault.snap").size == len(b"snapshot")


def test_state_consumer_uses_the_state_bucket_and_nothing_else(applied: AppliedPlan):
    pulumi_user = applied.as_consumer("pulumi")
    put(pulumi_user, "pulumi-state", ".pulumi/stacks/env/dev.json", b"{}")
    pulumi_user.remove_object("pulumi-state", ".pulumi/stacks/env/dev.json")  # a delete marker: allowed

    assert denied(lambda: put(pulumi_user, "backups", "control-center/x"))
    assert denied(lambda: put(pulumi_user, "env-dev", "x"))


# --- consumers: SeaweedFS identity actions -------------------------------------------------------


def test_identity_actions_alone_scope_a_consumer_to_one_bucket_and_to_reading(applied: AppliedPlan):
    put(applied.admin(), "env-qa", "shared.txt", b"hello")
    reader = applied.as_consumer("reader-qa")

    assert reader.get_object("env-qa", "shared.txt").read() == b"hello"
    assert denied(lambda: put(reader, "env-qa", "write-attempt.txt"))
    assert denied(lambda: reader.get_object("env-dev", "anything").read())


# --- lifecycle of a bucket through the provider ---------------------------------------------------


def scratch_spec(name: str, **changes: Any) -> BucketSpec:
    base = {"name": name, "tags": tags_of({"purpose": "test"})}
    return BucketSpec(**{**base, **changes})


def test_delete_refuses_a_non_empty_bucket_without_force_destroy(applied: AppliedPlan):
    provider = BucketProvider()
    created = provider.create(bucket_props(scratch_spec("scratch-nonempty"), applied.connection))
    put(applied.admin(), "scratch-nonempty", "keep/me.txt")

    with pytest.raises(
        BucketNotEmpty, match=r"'scratch-nonempty' still holds objects \(for example 'keep/me.txt'\)"
    ):
        provider.delete(created.id, created.outs)

    assert applied.admin().bucket_exists("scratch-nonempty")


def test_delete_with_force_destroy_removes_every_version_and_the_bucket(applied: AppliedPlan):
    provider = BucketProvider()
    spec = scratch_spec("scratch-forced", versioning=True)
    created = provider.create(bucket_props(spec, applied.connection, force_destroy=True))
    put(applied.admin(), "scratch-forced", "a.txt", b"v1")
    put(applied.admin(), "scratch-forced", "a.txt", b"v2")
    applied.admin().remove_object("scratch-forced", "a.txt")

    provider.delete(created.id, created.outs)

    assert not applied.admin().bucket_exists("scratch-forced")
    provider.delete(created.id, created.outs)  # deleting what is gone is not an error


def test_update_changes_lifecycle_and_tags_in_place(applied: AppliedPlan):
    provider = BucketProvider()
    before = scratch_spec("scratch-update", versioning=True, lifecycle=(ExpiryRule("expire", days=10),))
    created = provider.create(bucket_props(before, applied.connection))
    after = scratch_spec(
        "scratch-update",
        versioning=True,
        lifecycle=(ExpiryRule("expire", days=3, prefix="tmp/"),),
        tags=tags_of({"purpose": "test", "owner": "qa"}),
    )
    news = bucket_props(after, applied.connection)

    diff = provider.diff(created.id, created.outs, news)
    updated = provider.update(created.id, created.outs, news)

    assert (diff.changes, diff.replaces) == (True, [])
    assert updated.outs["lifecycle"] == [
        {"id": "expire", "prefix": "tmp/", "days": 3, "noncurrent_days": None}
    ]
    assert dict(applied.admin().get_bucket_tags("scratch-update")) == {"purpose": "test", "owner": "qa"}

    cleared = provider.update(
        created.id, updated.outs, bucket_props(scratch_spec("scratch-update"), applied.connection)
    )

    assert (cleared.outs["lifecycle"], cleared.outs["versioning"], cleared.outs["tags"]) == (
        [],
        False,
        {"purpose": "test"},
    )
    assert applied.admin().get_bucket_versioning("scratch-update").status == "Suspended"


def test_changing_object_lock_is_a_replacement(applied: AppliedPlan):
    outs = applied.bucket_outs["env-dev"]
    news = bucket_props(BucketSpec("env-dev", versioning=True, object_lock=True), applied.connection)

    diff = BucketProvider().diff("env-dev", outs, news)

    assert "object_lock" in diff.replaces
    assert diff.delete_before_replace is True


def test_create_adopts_an_existing_bucket_and_converges_it(applied: AppliedPlan):
    applied.admin().make_bucket("scratch-adopted")
    spec = scratch_spec("scratch-adopted", versioning=True, lifecycle=(ExpiryRule("expire", days=5),))

    created = BucketProvider().create(bucket_props(spec, applied.connection))

    assert (created.outs["versioning"], created.outs["lifecycle"][0]["days"]) == (True, 5)


def test_create_refuses_to_adopt_a_bucket_without_the_declared_object_lock(applied: AppliedPlan):
    applied.admin().make_bucket("scratch-unlocked")
    spec = scratch_spec("scratch-unlocked", versioning=True, object_lock=True)

    with pytest.raises(BucketConflict, match="does not have object lock"):
        BucketProvider().create(bucket_props(spec, applied.connection))

    assert applied.admin().bucket_exists("scratch-unlocked")  # not ours to remove


def test_refresh_shows_drift_and_update_repairs_it(applied: AppliedPlan):
    provider = BucketProvider()
    spec = scratch_spec("scratch-drift", versioning=True)
    created = provider.create(bucket_props(spec, applied.connection))
    applied.admin().set_bucket_versioning("scratch-drift", VersioningConfig(SUSPENDED))

    refreshed = provider.read(created.id, created.outs)
    diff = provider.diff(created.id, refreshed.outs, bucket_props(spec, applied.connection))
    repaired = provider.update(created.id, refreshed.outs, bucket_props(spec, applied.connection))

    assert refreshed.outs["versioning"] is False
    assert (diff.changes, diff.replaces) == (True, [])
    assert repaired.outs["versioning"] is True


def test_read_of_a_deleted_bucket_reports_it_gone(applied: AppliedPlan):
    provider = BucketProvider()
    created = provider.create(bucket_props(scratch_spec("scratch-gone"), applied.connection))
    applied.admin().remove_bucket("scratch-gone")

    assert provider.read(created.id, created.outs).id == ""


def test_bucket_policy_delete_removes_it_and_read_reports_it_gone(applied: AppliedPlan):
    BucketProvider().create(bucket_props(scratch_spec("scratch-policy"), applied.connection))
    policy = render_bucket_policy(
        scratch_spec("scratch-policy", grants=applied.specs["env-dev"].grants),
        {"env-dev": iam_user_arn("env-dev")},
    )
    provider = BucketPolicyProvider()
    created = provider.create(bucket_policy_props("scratch-policy", policy, applied.connection))

    provider.delete(created.id, created.outs)

    assert provider.read(created.id, created.outs).id == ""
    provider.delete(created.id, created.outs)  # already gone: not an error


def test_missing_credentials_name_the_variable_and_not_a_value(applied: AppliedPlan, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_ENV)

    with pytest.raises(MissingCredentials, match=SECRET_KEY_ENV) as raised:
        BucketProvider().create(bucket_props(scratch_spec("scratch-nocreds"), applied.connection))

    assert applied.server.admin.access_key not in str(raised.value)
