"""IAM roles of the cluster, least privilege, as policy documents.

- The control plane role has only `AmazonEKSClusterPolicy`, plus use of the one KMS key that encrypts
  Secrets.
- The node role has only what the kubelet needs: describe EC2 and pull images from ECR. The VPC CNI's
  permissions (which let it attach network interfaces) are not on the node role, where every pod able to
  reach the instance metadata would inherit them: they go to a role only the CNI's service account can
  assume.
- Each add-on that calls AWS APIs gets a role trusted by exactly one service account through the
  cluster's OIDC provider (IAM roles for service accounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

POLICY_VERSION = "2012-10-17"
STS_AUDIENCE = "sts.amazonaws.com"

CLUSTER_ROLE = "cluster"
NODE_ROLE = "nodes"
VPC_CNI_ROLE = "vpc-cni"
EBS_CSI_ROLE = "ebs-csi"


@dataclass(frozen=True)
class ServicePrincipal:
    """An AWS service that assumes the role, e.g. `eks` or `ec2`."""

    service: str


@dataclass(frozen=True)
class ServiceAccount:
    """A Kubernetes service account that assumes the role with its projected token."""

    namespace: str
    name: str

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


@dataclass(frozen=True)
class RoleSpec:
    key: str
    description: str
    trusted: ServicePrincipal | ServiceAccount
    managed_policies: tuple[str, ...]
    """AWS-managed policy names, with their path where they have one (`service-role/...`)."""

    def managed_policy_arns(self, partition: str) -> tuple[str, ...]:
        return tuple(f"arn:{partition}:iam::aws:policy/{policy}" for policy in self.managed_policies)


VPC_CNI_SERVICE_ACCOUNT = ServiceAccount("kube-system", "aws-node")
EBS_CSI_SERVICE_ACCOUNT = ServiceAccount("kube-system", "ebs-csi-controller-sa")


def cluster_roles() -> dict[str, RoleSpec]:
    roles = (
        RoleSpec(CLUSTER_ROLE, "EKS control plane", ServicePrincipal("eks"), ("AmazonEKSClusterPolicy",)),
        RoleSpec(
            NODE_ROLE,
            "EKS managed node groups (kubelet)",
            ServicePrincipal("ec2"),
            # PullOnly rather than ReadOnly: nodes pull images, they never list or describe repositories.
            ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"),
        ),
        RoleSpec(VPC_CNI_ROLE, "VPC CNI (aws-node)", VPC_CNI_SERVICE_ACCOUNT, ("AmazonEKS_CNI_Policy",)),
        RoleSpec(
            EBS_CSI_ROLE,
            "EBS CSI driver controller",
            EBS_CSI_SERVICE_ACCOUNT,
            ("service-role/AmazonEBSCSIDriverPolicy",),
        ),
    )
    return {role.key: role for role in roles}


def service_trust_policy(service: ServicePrincipal, dns_suffix: str = "amazonaws.com") -> dict[str, Any]:
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": f"{service.service}.{dns_suffix}"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def issuer_host_path(issuer_url: str) -> str:
    """The OIDC issuer as IAM condition keys name it: without the scheme."""
    return issuer_url.removeprefix("https://")


def service_account_trust_policy(
    oidc_provider_arn: str, issuer_url: str, account: ServiceAccount
) -> dict[str, Any]:
    """Only this one service account of this one cluster may assume the role: exact `sub` and `aud`
    matches (StringEquals, never StringLike wildcards)."""
    issuer = issuer_host_path(issuer_url)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{issuer}:sub": account.subject, f"{issuer}:aud": STS_AUDIENCE}
                },
            }
        ],
    }


def trust_policy(
    role: RoleSpec, *, oidc_provider_arn: str = "", issuer_url: str = "", dns_suffix: str = "amazonaws.com"
) -> dict[str, Any]:
    if isinstance(role.trusted, ServicePrincipal):
        return service_trust_policy(role.trusted, dns_suffix)
    if not oidc_provider_arn or not issuer_url:
        raise ValueError(
            f"role {role.key} is trusted by a service account: it needs the OIDC provider and issuer"
        )
    return service_account_trust_policy(oidc_provider_arn, issuer_url, role.trusted)


def cluster_encryption_policy(key_arn: str) -> dict[str, Any]:
    """What the control plane needs of the Secrets key, and only on that key."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": key_arn,
            }
        ],
    }
