"""The EKS control plane: version, service network, Secrets encryption, audit logging, API access and
the add-ons that need AWS permissions."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from mojaloop_iac.planners.aws_cluster.errors import AwsClusterPlanError
from mojaloop_iac.planners.aws_cluster.iam import EBS_CSI_ROLE, VPC_CNI_ROLE

# Every control-plane log: `audit` and `authenticator` answer who did what; the others explain failures.
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# A year, as payment-industry audit trails are kept (PCI DSS 10.5.1); EKS's own default is forever.
LOG_RETENTION_DAYS = 365
# Envelope encryption with the cluster's own KMS key; `secrets` is the only resource type EKS encrypts.
ENCRYPTED_RESOURCES = ("secrets",)
# Access entries only (no aws-auth ConfigMap to drift); whoever creates the cluster (the identity running
# `pulumi up`) is its first administrator, and the kubeconfig authenticates as that identity.
AUTHENTICATION_MODE = "API"
# EKS takes service CIDRs from the private ranges only, /12 to /24.
_EKS_SERVICE_RANGES = tuple(
    ipaddress.IPv4Network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_SERVICE_PREFIXES = range(12, 25)


@dataclass(frozen=True)
class ControlPlaneSpec:
    name: str
    kubernetes_version: str
    service_cidr: ipaddress.IPv4Network
    log_types: tuple[str, ...] = CONTROL_PLANE_LOG_TYPES
    log_retention_days: int = LOG_RETENTION_DAYS
    encrypted_resources: tuple[str, ...] = ENCRYPTED_RESOURCES
    authentication_mode: str = AUTHENTICATION_MODE
    endpoint_private_access: bool = True
    """Nodes reach the API server inside the VPC."""
    public_access_cidrs: tuple[str, ...] = ()
    """Networks that reach the API server from outside the VPC (still authenticated by IAM); none: the
    endpoint is private, reached from the VPC only (nodes; operators over the WireGuard mesh or a VPN)."""

    @property
    def endpoint_public_access(self) -> bool:
        return bool(self.public_access_cidrs)

    @property
    def log_group_name(self) -> str:
        """The name EKS writes to; created beforehand so its retention is ours."""
        return f"/aws/eks/{self.name}/cluster"


@dataclass(frozen=True)
class AddonSpec:
    name: str
    role: str
    """Key of the IAM role (iam.cluster_roles) its service account assumes."""
    before_nodes: bool
    """Installed before the node groups (the network plugin must be ready when nodes join); the others
    need running nodes to become active."""


ADDONS = (
    # Replaces the self-managed VPC CNI EKS installs, so its service account uses its own role.
    AddonSpec("vpc-cni", VPC_CNI_ROLE, before_nodes=True),
    AddonSpec("aws-ebs-csi-driver", EBS_CSI_ROLE, before_nodes=False),
)


def check_service_cidr(service_cidr: ipaddress.IPv4Network, vpc_cidr: ipaddress.IPv4Network) -> None:
    if not any(service_cidr.subnet_of(allowed) for allowed in _EKS_SERVICE_RANGES):
        raise AwsClusterPlanError(
            f"network.serviceCidr {service_cidr} must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 "
            "on EKS"
        )
    if service_cidr.prefixlen not in _SERVICE_PREFIXES:
        raise AwsClusterPlanError(
            f"network.serviceCidr {service_cidr} must be between a /12 and a /24 on EKS"
        )
    if service_cidr.overlaps(vpc_cidr):
        raise AwsClusterPlanError(f"network.serviceCidr {service_cidr} overlaps aws.vpcCidr {vpc_cidr}")


def plan_control_plane(
    name: str,
    kubernetes_version: str,
    service_cidr: ipaddress.IPv4Network,
    vpc_cidr: ipaddress.IPv4Network,
    public_access_cidrs: tuple[ipaddress.IPv4Network, ...] = (),
) -> ControlPlaneSpec:
    check_service_cidr(service_cidr, vpc_cidr)
    return ControlPlaneSpec(
        name=name,
        kubernetes_version=kubernetes_version,
        service_cidr=service_cidr,
        public_access_cidrs=tuple(str(cidr) for cidr in public_access_cidrs),
    )
