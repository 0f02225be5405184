"""Which buckets a control center's object store holds, and who may touch what in them.

Pure data: `plan_buckets` turns the control center's name and its environments into bucket specs
that the dynamic providers apply and `policies` renders into S3 policy documents.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from mojaloop_iac.objectstore.names import validate_bucket_name

STATE_BUCKET = "pulumi-state"
BACKUPS_BUCKET = "backups"
ENVIRONMENT_BUCKET_PREFIX = "env-"

# Logical consumer names; `policies.render_*` maps them to real principals (users) per server.
PULUMI_CONSUMER = "pulumi"
CONTROL_CENTER_CONSUMER = "control-center"

# Backups are split by owner so each owner's grant is limited to its own prefix.
CONTROL_CENTER_BACKUP_PREFIX = "control-center/"
ENVIRONMENT_BACKUP_PREFIX = "environments/"

TAG_CONTROL_CENTER = "mojaloop.io/control-center"
TAG_PURPOSE = "mojaloop.io/purpose"
TAG_ENVIRONMENT = "mojaloop.io/environment"

# S3 limits on bucket tags.
_MAX_TAGS = 50
_MAX_TAG_KEY = 128
_MAX_TAG_VALUE = 256


class Access(StrEnum):
    """What a consumer may do with the objects under its grant."""

    READ_WRITE = "read-write"
    # Write and read back (restore), never delete: expiry is the lifecycle rule's job, so a
    # compromised consumer cannot erase its own backup history. Overwrites only add a version
    # because the backups bucket is versioned.
    READ_WRITE_NO_DELETE = "read-write-no-delete"


class RetentionMode(StrEnum):
    """S3 object lock modes: GOVERNANCE can be bypassed by privileged users, COMPLIANCE by no one."""

    GOVERNANCE = "GOVERNANCE"
    COMPLIANCE = "COMPLIANCE"


@dataclass(frozen=True)
class ConsumerGrant:
    """One consumer's access to one bucket, optionally limited to a key prefix."""

    consumer: str
    access: Access
    prefix: str = ""

    def __post_init__(self) -> None:
        if not self.consumer:
            raise ValueError("a consumer grant needs a consumer name")
        if self.prefix and (self.prefix.startswith("/") or not self.prefix.endswith("/")):
            raise ValueError(
                f"grant prefix {self.prefix!r} for consumer {self.consumer!r} must be relative and end with '/'"
            )


@dataclass(frozen=True)
class DefaultRetention:
    """Object lock retention applied to every new object version in the bucket."""

    mode: RetentionMode
    days: int

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"default retention must be at least 1 day, got {self.days}")


@dataclass(frozen=True)
class ExpiryRule:
    """A lifecycle rule that deletes objects under `prefix` `days` after they were written."""

    rule_id: str
    days: int
    prefix: str = ""
    # Days an overwritten (noncurrent) version is kept; only meaningful on versioned buckets.
    noncurrent_days: int | None = None

    def __post_init__(self) -> None:
        if not self.rule_id:
            raise ValueError("a lifecycle rule needs an id")
        if self.days < 1:
            raise ValueError(
                f"lifecycle rule {self.rule_id!r}: expiry must be at least 1 day, got {self.days}"
            )
        if self.noncurrent_days is not None and self.noncurrent_days < 1:
            raise ValueError(
                f"lifecycle rule {self.rule_id!r}: noncurrent expiry must be at least 1 day, "
                f"got {self.noncurrent_days}"
            )


@dataclass(frozen=True)
class BucketSpec:
    """Everything declared about one bucket. Tags are sorted (key, value) pairs to stay hashable."""

    name: str
    versioning: bool = False
    object_lock: bool = False
    retention: DefaultRetention | None = None
    lifecycle: tuple[ExpiryRule, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    grants: tuple[ConsumerGrant, ...] = ()

    def __post_init__(self) -> None:
        validate_bucket_name(self.name)
        if self.object_lock and not self.versioning:
            raise ValueError(f"bucket {self.name!r}: object lock requires versioning")
        if self.retention is not None and not self.object_lock:
            raise ValueError(f"bucket {self.name!r}: a default retention requires object lock")
        rule_ids = [rule.rule_id for rule in self.lifecycle]
        if len(set(rule_ids)) != len(rule_ids):
            raise ValueError(f"bucket {self.name!r}: lifecycle rule ids must be unique, got {rule_ids}")
        _check_tags(self.name, self.tags)
        if list(self.tags) != sorted(self.tags):
            raise ValueError(f"bucket {self.name!r}: tags must be sorted pairs; build them with tags_of()")

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)


def tags_of(mapping: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Tags in the canonical form BucketSpec stores."""
    return tuple(sorted(mapping.items()))


def _check_tags(bucket: str, tags: tuple[tuple[str, str], ...]) -> None:
    if len(tags) > _MAX_TAGS:
        raise ValueError(f"bucket {bucket!r}: at most {_MAX_TAGS} tags, got {len(tags)}")
    keys = [key for key, _ in tags]
    if len(set(keys)) != len(keys):
        raise ValueError(f"bucket {bucket!r}: duplicate tag keys in {keys}")
    for key, value in tags:
        if not 1 <= len(key) <= _MAX_TAG_KEY:
            raise ValueError(f"bucket {bucket!r}: tag key {key!r} must be 1-{_MAX_TAG_KEY} characters")
        if len(value) > _MAX_TAG_VALUE:
            raise ValueError(
                f"bucket {bucket!r}: tag {key!r} value must be at most {_MAX_TAG_VALUE} characters"
            )


def environment_bucket(environment: str) -> str:
    return f"{ENVIRONMENT_BUCKET_PREFIX}{environment}"


def environment_consumer(environment: str) -> str:
    return f"env-{environment}"


def environment_backup_prefix(environment: str) -> str:
    return f"{ENVIRONMENT_BACKUP_PREFIX}{environment}/"


def plan_buckets(
    control_center_name: str,
    environments: Iterable[str],
    backups_expiry_days: int,
    *,
    object_lock: bool = True,
    state_retention: DefaultRetention | None = None,
) -> tuple[BucketSpec, ...]:
    """The control center's buckets: Pulumi state, backups, then one bucket per environment.

    `object_lock` can be turned off for S3 servers without object lock support; it only applies at
    bucket creation. `state_retention` locks every state version for that long when given.
    """
    if not control_center_name:
        raise ValueError("the control center needs a name")
    if backups_expiry_days < 1:
        raise ValueError(f"backups_expiry_days must be at least 1, got {backups_expiry_days}")
    env_names = list(environments)
    duplicates = sorted({name for name in env_names if env_names.count(name) > 1})
    if duplicates:
        raise ValueError(f"environment names must be unique, repeated: {duplicates}")
    for env in env_names:
        # Validate up front so the message names the environment, not just the derived bucket.
        try:
            validate_bucket_name(environment_bucket(env))
        except ValueError as error:
            raise ValueError(f"environment {env!r} cannot name a bucket: {error}") from error

    def tags(purpose: str, **extra: str) -> tuple[tuple[str, str], ...]:
        return tags_of({TAG_CONTROL_CENTER: control_center_name, TAG_PURPOSE: purpose, **extra})

    state = BucketSpec(
        name=STATE_BUCKET,
        versioning=True,  # every checkpoint write keeps the previous one: state can be rolled back
        object_lock=object_lock,
        retention=state_retention,
        tags=tags("pulumi-state"),
        grants=(ConsumerGrant(PULUMI_CONSUMER, Access.READ_WRITE),),
    )
    backups = BucketSpec(
        name=BACKUPS_BUCKET,
        versioning=True,
        lifecycle=(
            ExpiryRule(
                rule_id="expire-backups",
                days=backups_expiry_days,
                noncurrent_days=backups_expiry_days,
            ),
        ),
        tags=tags("backups"),
        grants=(
            ConsumerGrant(CONTROL_CENTER_CONSUMER, Access.READ_WRITE_NO_DELETE, CONTROL_CENTER_BACKUP_PREFIX),
            *(
                ConsumerGrant(
                    environment_consumer(env), Access.READ_WRITE_NO_DELETE, environment_backup_prefix(env)
                )
                for env in env_names
            ),
        ),
    )
    environment_buckets = tuple(
        BucketSpec(
            name=environment_bucket(env),
            tags=tags("environment", **{TAG_ENVIRONMENT: env}),
            grants=(ConsumerGrant(environment_consumer(env), Access.READ_WRITE),),
        )
        for env in env_names
    )
    return (state, backups, *environment_buckets)
