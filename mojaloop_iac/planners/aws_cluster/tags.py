"""Tags every AWS resource of a cluster carries (the AWS provider's default tags): who owns it."""

from __future__ import annotations

CLUSTER_NAME_TAG = "mojaloop.io/cluster"
MANAGED_BY_TAG = "mojaloop.io/managed-by"
MANAGED_BY = "mojaloop-iac"


def resource_tags(cluster_name: str) -> dict[str, str]:
    return {CLUSTER_NAME_TAG: cluster_name, MANAGED_BY_TAG: MANAGED_BY}
