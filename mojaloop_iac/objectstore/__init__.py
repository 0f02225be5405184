"""Object storage for the control center: bucket plan, S3 policies and Pulumi dynamic resources.

- `plan`: which buckets exist and who may do what in them (pure data).
- `policies`: least-privilege bucket policies and per-consumer identity policies (pure functions).
- `bucket`, `bucket_policy`: dynamic resources applied through the `minio` S3 client.
- `admin`: MinIO users and policies through MinIO's admin API.
- `client`, `vault_source`: connections whose credentials are read at operation time, from Vault KV
  (the control center) or from environment variables.
- `control_center`: the control center's buckets and one `ConsumerAccess` per consumer, credentials
  from the Vault paths its secret delivery generates.
- docs/state-backend.md: using the `pulumi-state` bucket as the state backend of environment stacks.
"""

from mojaloop_iac.objectstore.client import S3Connection
from mojaloop_iac.objectstore.errors import CredentialUnavailable, MissingCredentials
from mojaloop_iac.objectstore.names import InvalidBucketName, validate_bucket_name
from mojaloop_iac.objectstore.plan import (
    BACKUPS_BUCKET,
    STATE_BUCKET,
    Access,
    BucketSpec,
    ConsumerGrant,
    DefaultRetention,
    ExpiryRule,
    RetentionMode,
    plan_buckets,
)
from mojaloop_iac.objectstore.policies import (
    iam_user_arn,
    render_bucket_policy,
    render_consumer_policy,
)
from mojaloop_iac.objectstore.vault_source import VaultKvField

__all__ = [
    "BACKUPS_BUCKET",
    "STATE_BUCKET",
    "Access",
    "BucketSpec",
    "ConsumerGrant",
    "CredentialUnavailable",
    "DefaultRetention",
    "ExpiryRule",
    "InvalidBucketName",
    "MissingCredentials",
    "RetentionMode",
    "S3Connection",
    "VaultKvField",
    "iam_user_arn",
    "plan_buckets",
    "render_bucket_policy",
    "render_consumer_policy",
    "validate_bucket_name",
]
