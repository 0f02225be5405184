"""The kubeconfig of an EKS cluster, holding no credential.

It authenticates through the `aws eks get-token` exec plugin: every use mints a short-lived token from
the caller's own AWS identity, so nothing in the file, the state or the plan can be replayed. It is still
marked secret by the component, since it names the cluster's endpoint and CA.
"""

from __future__ import annotations

import yaml

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def eks_kubeconfig(cluster_name: str, endpoint: str, certificate_authority_data: str, region: str) -> str:
    user = f"{cluster_name}-aws"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority_data},
            }
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": user,
                "user": {
                    "exec": {
                        "apiVersion": EXEC_API_VERSION,
                        "command": "aws",
                        "args": [
                            "--region", region,
                            "eks", "get-token", "--cluster-name", cluster_name, "--output", "json",
                        ],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }  # fmt: skip
    return yaml.safe_dump(document, sort_keys=False)
