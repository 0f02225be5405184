"""Least-privilege S3 policy documents rendered from bucket grants.

One statement builder serves two enforcement points:

- `render_bucket_policy`: a resource policy on the bucket, statements carry a `Principal`. AWS S3,
  Ceph RGW and SeaweedFS evaluate it for authenticated users. MinIO evaluates bucket policies for
  anonymous requests only, so there it does not scope consumers.
- `render_consumer_policy`: an identity (IAM) policy without `Principal`, one per consumer across all
  buckets, which MinIO attaches to the consumer's user through its admin API (see `admin`).
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mojaloop_iac.objectstore.plan import Access, BucketSpec, ConsumerGrant

POLICY_VERSION = "2012-10-17"
# SeaweedFS puts its identities in this account unless told otherwise; AWS needs the real account.
DEFAULT_ACCOUNT_ID = "000000000000"

_OBJECT_ACTIONS: Mapping[Access, tuple[str, ...]] = {
    Access.READ_WRITE: (
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    ),
    Access.READ_WRITE_NO_DELETE: (
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    ),
}
# Listing is needed by every consumer (Pulumi lists stacks, backup tools list what to restore).
_LIST_ACTIONS = ("s3:ListBucket", "s3:ListBucketMultipartUploads")
# Some clients ask where the bucket lives before anything else; the request carries no prefix, so
# it cannot sit in a statement conditioned on one.
_LOCATION_ACTIONS = ("s3:GetBucketLocation",)


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def iam_user_arn(user: str, account_id: str = DEFAULT_ACCOUNT_ID) -> str:
    """The principal an S3 server sees for an authenticated user (SeaweedFS and AWS form)."""
    return f"arn:aws:iam::{account_id}:user/{user}"


def object_actions(access: Access) -> tuple[str, ...]:
    return _OBJECT_ACTIONS[access]


def _sid(*parts: str) -> str:
    # Statement ids may hold only ASCII letters and digits.
    return "".join(word.capitalize() for part in parts for word in re.split(r"[^A-Za-z0-9]+", part) if word)


def grant_statements(bucket: str, grant: ConsumerGrant, principal: str | None) -> list[dict[str, Any]]:
    """Statements giving `grant.consumer` exactly its access to `bucket` (under its prefix, if any)."""
    who = {} if principal is None else {"Principal": {"AWS": [principal]}}
    objects = {
        "Sid": _sid(grant.consumer, bucket, "objects"),
        "Effect": "Allow",
        **who,
        "Action": list(object_actions(grant.access)),
        "Resource": [f"{bucket_arn(bucket)}/{grant.prefix}*"],
    }
    if not grant.prefix:
        listing = {
            "Sid": _sid(grant.consumer, bucket, "bucket"),
            "Effect": "Allow",
            **who,
            "Action": [*_LIST_ACTIONS, *_LOCATION_ACTIONS],
            "Resource": [bucket_arn(bucket)],
        }
        return [objects, listing]
    listing = {
        "Sid": _sid(grant.consumer, bucket, "list"),
        "Effect": "Allow",
        **who,
        "Action": list(_LIST_ACTIONS),
        "Resource": [bucket_arn(bucket)],
        "Condition": {"StringLike": {"s3:prefix": [f"{grant.prefix}*"]}},
    }
    location = {
        "Sid": _sid(grant.consumer, bucket, "location"),
        "Effect": "Allow",
        **who,
        "Action": list(_LOCATION_ACTIONS),
        "Resource": [bucket_arn(bucket)],
    }
    return [objects, listing, location]


def render_bucket_policy(spec: BucketSpec, principals: Mapping[str, str]) -> dict[str, Any]:
    """The bucket policy for `spec`: each consumer only its bucket/prefix and only its actions.

    `principals` maps each logical consumer to the principal ARN the server authenticates it as.
    """
    missing = sorted({grant.consumer for grant in spec.grants} - set(principals))
    if missing:
        raise ValueError(f"bucket {spec.name!r}: no principal given for consumers {missing}")
    if not spec.grants:
        raise ValueError(f"bucket {spec.name!r} has no grants: an empty policy would grant nothing")
    statements = [
        statement
        for grant in spec.grants
        for statement in grant_statements(spec.name, grant, principals[grant.consumer])
    ]
    return {"Version": POLICY_VERSION, "Statement": statements}


def consumers(specs: Iterable[BucketSpec]) -> tuple[str, ...]:
    """Every consumer named in `specs`, sorted."""
    return tuple(sorted({grant.consumer for spec in specs for grant in spec.grants}))


def render_consumer_policy(consumer: str, specs: Iterable[BucketSpec]) -> dict[str, Any]:
    """The identity policy for `consumer`: its grants across all buckets, nothing else."""
    statements = [
        statement
        for spec in specs
        for grant in spec.grants
        if grant.consumer == consumer
        for statement in grant_statements(spec.name, grant, None)
    ]
    if not statements:
        raise ValueError(f"consumer {consumer!r} has no grant in any planned bucket")
    return {"Version": POLICY_VERSION, "Statement": statements}


def _as_sorted_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return sorted(_normalize(item) for item in value)
    return _normalize(value)


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_sorted_list(item) for key, item in sorted(value.items())}
    return value


def normalize_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """A policy in a canonical shape so that equivalent documents compare equal.

    Servers rewrite what they store: one-element lists come back as plain strings (SeaweedFS,
    AWS), keys are reordered. Statement order is kept; it carries no meaning but servers keep it.
    """
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return {
        "Version": policy.get("Version", POLICY_VERSION),
        "Statement": [
            {
                key: (value if key in ("Effect", "Sid") else _as_sorted_list(value))
                for key, value in sorted(statement.items())
            }
            for statement in statements
        ],
    }
