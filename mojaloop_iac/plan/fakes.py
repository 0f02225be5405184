"""Deterministic stand-ins for what a cloud or cluster would return, so the offline plan is repeatable.

Every value is derived from the resource's type and name only: the same program gives the same ids,
ARNs, endpoints and kubeconfigs on every machine.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

FAKE_ACCOUNT_ID = "123456789012"
FAKE_REGION = "eu-west-1"
DYNAMIC_RESOURCE_TYPE = "pulumi-python:dynamic:Resource"
WIREGUARD_KEY_TYPE = "pulumi-python:dynamic/mojaloop-wireguard:WireGuardKeyInVault"
CLUSTER_CA_TYPE = "pulumi-python:dynamic/mojaloop-kubeapi:ClusterCaCertificate"
PINNED_MANIFEST_TYPE = "pulumi-python:dynamic/mojaloop-manifests:PinnedManifest"
# What kubeapi.ca_certificate.ClusterCaCertificate hands back in the offline plan: a real self-signed ECDSA
# P-256 CA certificate (like cert-manager's internal CA), generated once with `cryptography` and kept here
# so every plan is byte-identical. Its private key was thrown away: nothing can be signed with it.
PLAN_CA_CERTIFICATE = """\
-----BEGIN CERTIFICATE-----
MIIBqTCCAU6gAwIBAgIUetPRRUL34nVqFB5gcEP0FY7a6eIwCgYIKoZIzj0EAwIw
MjEwMC4GA1UEAwwnTW9qYWxvb3AgaHViIGludGVybmFsIENBIChvZmZsaW5lIHBs
YW4pMB4XDTI1MDEwMTAwMDAwMFoXDTM0MTIzMDAwMDAwMFowMjEwMC4GA1UEAwwn
TW9qYWxvb3AgaHViIGludGVybmFsIENBIChvZmZsaW5lIHBsYW4pMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEUGP+FXSPPwYqsUxsVOGjRk+UqSws+62mKbldk9Fx
aUnXXOwWC+ssRk1J9fwOwIS3Ijg4LvDkYjPt9Xg/S9Axo6NCMEAwDwYDVR0TAQH/
BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAqQwHQYDVR0OBBYEFFJ4ntBcTpi5IaWtAS9b
i4i36pMWMAoGCCqGSM49BAMCA0kAMEYCIQCrpd0iJatXjhL6MXohO5sWSN+Nm/lV
Z3R7EAfoHiInyAIhAJ1cg70P4033CNDmhLJPJ9E3e1ZTjWW5f+34eY0AqBQn
-----END CERTIFICATE-----
"""


def fake_id(type_: str, name: str) -> str:
    digest = hashlib.sha256(f"{type_}::{name}".encode()).hexdigest()[:12]
    return f"{name}-{digest}"


def fake_kubeconfig(cluster: str) -> str:
    """A syntactically valid kubeconfig pointing nowhere; the plan never contacts a cluster."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster:\n    server: https://{cluster}.plan.invalid:6443\n"
        f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: plan\n"
        f"current-context: {cluster}\nusers:\n- name: plan\n  user:\n    token: offline-plan-placeholder\n"
    )


def fake_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs a real provider would add to the inputs, for the types whose consumers read them."""
    outputs = dict(inputs)
    if type_.startswith("aws:"):
        # Imported here: only AWS stacks create aws: resources.
        from mojaloop_iac.plan.fakes_aws import fake_aws_outputs

        return fake_aws_outputs(type_, name, inputs)
    if type_ == "kubernetes:helm.sh/v3:Release":
        outputs["status"] = {
            "name": inputs.get("name", name),
            "namespace": inputs.get("namespace", "default"),
            "chart": inputs.get("chart", ""),
            "version": inputs.get("version", ""),
            "status": "deployed",
            "revision": 1,
        }
    if type_ == DYNAMIC_RESOURCE_TYPE and "inventory_hash" in inputs:
        # The bare-metal playbook run (baremetal.provider.AnsibleRun) hands back the cluster's kubeconfig.
        outputs["kubeconfig"] = fake_kubeconfig(name)
    if type_ == WIREGUARD_KEY_TYPE:
        # A key pair generated into Vault (wireguard.vault_key) hands back its public key: 32 bytes, base64.
        digest = hashlib.sha256(f"wireguard-public-key::{name}".encode()).digest()
        outputs["public_key"] = base64.b64encode(digest).decode("ascii")
    if type_ == PINNED_MANIFEST_TYPE:
        # pulumi up fetches and checks the file; the plan names it (`mojactl plan --render` fetches it).
        outputs["content"] = f"# {inputs.get('url')} (sha256 {inputs.get('sha256')}), fetched by pulumi up\n"
    if type_ == CLUSTER_CA_TYPE:
        # The CA certificate read from its Secret; like the real provider, no kubeconfig among the outputs.
        outputs.pop("kubeconfig", None)
        outputs["key"] = inputs.get("key") or "ca.crt"
        outputs["certificate"] = PLAN_CA_CERTIFICATE
    if type_.startswith("kubernetes:") and "metadata" in inputs:
        metadata = dict(inputs.get("metadata") or {})
        metadata.setdefault("name", name)
        outputs["metadata"] = metadata
    return outputs


def fake_call(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Answers data-source invocations the programs make."""
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        # As many zones as a stack may ask for (aws.availabilityZones <= 6): how many a real region offers is
        # only known at deployment, so the plan never refuses a count validation accepts.
        zones = [f"{FAKE_REGION}{suffix}" for suffix in "abcdef"]
        return {"names": zones, "zoneIds": [f"euw1-az{i}" for i in range(1, 7)], "id": FAKE_REGION}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": FAKE_ACCOUNT_ID, "arn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:user/plan", "id": FAKE_ACCOUNT_ID}
    if token == "aws:index/getRegion:getRegion":
        return {"name": FAKE_REGION, "region": FAKE_REGION, "id": FAKE_REGION}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    return {}
