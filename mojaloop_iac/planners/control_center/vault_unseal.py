"""Vault's KMS auto-unseal on AWS, as plain data: the key's alias, the IRSA role and its one permission.

The Vault servers unseal with a KMS key (`seal "awskms"`) using the credentials of an IAM role their
service account assumes through the cluster's OIDC provider (IRSA): no access key anywhere. The role is
trusted by exactly that service account of exactly that cluster, and may only Encrypt, Decrypt and
DescribeKey on that one key.

The role's ARN goes into the Vault chart's values (the service account annotation) before the role
exists, so it is built here from its name and the account id rather than read back from AWS: the plan
stays pure over strings and the Helm values show the real ARN.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.planners.aws_cluster.iam import POLICY_VERSION, ServiceAccount
from mojaloop_iac.planners.control_center.common import ControlCenterPlanError
from mojaloop_iac.vault.paths import require_dns_label

# IAM limits role names to 64 characters.
ROLE_NAME_MAX = 64
UNSEAL_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PARTITION = re.compile(r"^aws(-[a-z]+)*$")


@dataclass(frozen=True)
class AwsAccount:
    """The account and partition the control center's AWS resources live in (from the AWS provider)."""

    account_id: str
    partition: str = "aws"


@dataclass(frozen=True)
class VaultUnsealOnAws:
    region: str
    key_alias: str
    """`alias/<control center>-vault-unseal`: what the seal configuration names (`kms_key_id`)."""
    key_description: str
    role_name: str
    role_arn: str
    service_account: ServiceAccount
    """The Vault server pods' service account, the only principal allowed to assume the role."""


def _bounded(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    # Long control-center names keep a readable prefix and a stable suffix.
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def unseal_key_alias(control_center: str) -> str:
    return f"alias/{require_dns_label(control_center, 'control center name')}-vault-unseal"


def unseal_role_name(control_center: str) -> str:
    return _bounded(f"{require_dns_label(control_center, 'control center name')}-vault-unseal", ROLE_NAME_MAX)


def unseal_role_arn(control_center: str, account: AwsAccount) -> str:
    """The role's ARN, known before the role exists (the Vault chart's values name it)."""
    if not _ACCOUNT_ID.match(account.account_id or ""):
        raise ControlCenterPlanError(f"AWS account id {account.account_id!r} is not 12 digits")
    if not _PARTITION.match(account.partition or ""):
        raise ControlCenterPlanError(f"AWS partition {account.partition!r} is not one such as 'aws'")
    return f"arn:{account.partition}:iam::{account.account_id}:role/{unseal_role_name(control_center)}"


def plan_vault_unseal_on_aws(
    control_center: str, region: str, account: AwsAccount, service_account: ServiceAccount
) -> VaultUnsealOnAws:
    return VaultUnsealOnAws(
        region=region,
        key_alias=unseal_key_alias(control_center),
        key_description=f"Auto-unseal of the Vault servers of control center {control_center}",
        role_name=unseal_role_name(control_center),
        role_arn=unseal_role_arn(control_center, account),
        service_account=service_account,
    )


def unseal_key_policy(key_arn: str) -> dict[str, Any]:
    """The role's only permission: use this one key to wrap and unwrap Vault's root key."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [{"Effect": "Allow", "Action": list(UNSEAL_ACTIONS), "Resource": key_arn}],
    }
