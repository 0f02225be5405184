"""What an environment's Vault needs to know about the cluster, and the operator release that reads it."""

from __future__ import annotations

import base64
from typing import Any

from mojaloop_iac.planners.gateways.charts import pinned_chart
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.platform_versions import EXTERNAL_SECRETS, PlatformVersions
from mojaloop_iac.yamlio import load_yaml


def kubeconfig_ca_pem(kubeconfig: str | None) -> str | None:
    """The cluster CA certificate of a kubeconfig's current cluster, as PEM; None when it has none."""
    if not kubeconfig:
        return None
    document: Any = load_yaml(kubeconfig) or {}
    if not isinstance(document, dict):
        return None  # not a kubeconfig (e.g. a stack reference the plan answers with a placeholder)
    context_name = document.get("current-context")
    contexts = {c.get("name"): c.get("context", {}) for c in document.get("contexts") or []}
    cluster_name = contexts.get(context_name, {}).get("cluster")
    for cluster in document.get("clusters") or []:
        if cluster.get("name") == cluster_name:
            data = (cluster.get("cluster") or {}).get("certificate-authority-data")
            return base64.b64decode(data).decode() if data else None
    return None


def external_secrets_release(versions: PlatformVersions) -> HelmReleaseSpec:
    chart = pinned_chart(EXTERNAL_SECRETS, versions)
    return HelmReleaseSpec(
        name="external-secrets",
        chart=chart.chart,
        repo=chart.repo,
        version=chart.version,
        namespace=chart.namespace,
        values={"installCRDs": True},
        timeout_seconds=600,
    )


def control_center_vault_address(internal_domain: str) -> str:
    """Where environments reach the control center's Vault: its internal gateway name, TLS on 443."""
    return f"https://vault.{internal_domain}"
