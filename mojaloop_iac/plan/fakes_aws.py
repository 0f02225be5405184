"""Deterministic stand-ins for what AWS returns, for the resource types the AWS substrate creates.

Each value is derived from the resource's type and name (and, for the OIDC provider, from its issuer
URL input, itself such a fake): the same program gives the same endpoints, ARNs and certificates on every
machine. The plan never contacts them.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

# A module reference, not names: fakes.py imports this module, and its constants are read at call time.
from mojaloop_iac.plan import fakes as _fakes

EKS_CLUSTER = "aws:eks/cluster:Cluster"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
IAM_ROLE = "aws:iam/role:Role"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _digest(type_: str, name: str, length: int = 32) -> str:
    return hashlib.sha256(f"{type_}::{name}".encode()).hexdigest()[:length]


def fake_certificate_pem(name: str) -> str:
    """PEM-armoured bytes shaped like a certificate: readers that only unwrap the PEM get a stable value."""
    body = base64.b64encode(hashlib.sha512(f"certificate::{name}".encode()).digest() * 4).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def _uuid(type_: str, name: str) -> str:
    hex_ = _digest(type_, name)
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:32]}"


def _eks_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region, account = _fakes.FAKE_REGION, _fakes.FAKE_ACCOUNT_ID
    cluster_name = inputs.get("name") or name
    hex_ = _digest(EKS_CLUSTER, name).upper()
    vpc_config = dict(inputs.get("vpcConfig") or {})
    vpc_config.setdefault("clusterSecurityGroupId", f"sg-{_digest(EKS_CLUSTER + ':sg', name, 17)}")
    return {
        "name": cluster_name,
        "arn": f"arn:aws:eks:{region}:{account}:cluster/{cluster_name}",
        "endpoint": f"https://{hex_}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {
            "data": base64.b64encode(fake_certificate_pem(cluster_name).encode()).decode()
        },
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{hex_}"}]}],
        "vpcConfig": vpc_config,
        "status": "ACTIVE",
    }


def _named_arn(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region, account = _fakes.FAKE_REGION, _fakes.FAKE_ACCOUNT_ID
    if type_ == IAM_ROLE:
        role_name = inputs.get("name") or f"{name}-{_digest(type_, name, 7)}"
        return {
            "name": role_name,
            "arn": f"arn:aws:iam::{account}:role/{role_name}",
            "uniqueId": _digest(type_, name, 21),
        }
    if type_ == OIDC_PROVIDER:
        issuer = str(
            inputs.get("url") or f"https://oidc.eks.{region}.amazonaws.com/id/{_digest(type_, name)}"
        )
        return {"arn": f"arn:aws:iam::{account}:oidc-provider/{issuer.removeprefix('https://')}"}
    if type_ == KMS_KEY:
        key_id = _uuid(type_, name)
        return {"keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
    if type_ == KMS_ALIAS:
        alias = inputs.get("name") or f"alias/{name}"
        return {"arn": f"arn:aws:kms:{region}:{account}:{alias}"}
    if type_ == LAUNCH_TEMPLATE:
        return {
            "latestVersion": 1,
            "defaultVersion": 1,
            "arn": f"arn:aws:ec2:{region}:{account}:launch-template/lt-{_digest(type_, name, 17)}",
        }
    if type_ == NODE_GROUP:
        group = inputs.get("nodeGroupName") or f"{name}-{_digest(type_, name, 7)}"
        cluster = inputs.get("clusterName", "cluster")
        return {
            "nodeGroupName": group,
            "status": "ACTIVE",
            "arn": f"arn:aws:eks:{region}:{account}:nodegroup/{cluster}/{group}/{_uuid(type_, name)}",
        }
    if type_ == LOG_GROUP:
        group = inputs.get("name") or name
        return {"arn": f"arn:aws:logs:{region}:{account}:log-group:{group}"}
    return {}


def fake_aws_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs plus the outputs a real AWS provider would add that the AWS substrate reads."""
    outputs = dict(inputs)
    if type_ == EKS_CLUSTER:
        outputs.update(_eks_cluster(name, inputs))
    else:
        outputs.update(_named_arn(type_, name, inputs))
    if "arn" not in outputs and type_.startswith("aws:"):
        service = type_.split(":")[1].split("/")[0]
        outputs["arn"] = f"arn:aws:{service}:{_fakes.FAKE_REGION}:{_fakes.FAKE_ACCOUNT_ID}:{name}"
    return outputs
