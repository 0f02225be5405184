"""What an environment's Vault needs to know about the cluster, and the operator release that reads it."""

from __future__ import annotations

import base64
from typing import Any

import yaml

from mojaloop_iac.planners.gateways.charts import pinned_chart
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.platform_versions import EXTERNAL_SECRETS, PlatformVersions
from mojaloop_iac.yamlio import load_yaml


def kubeconfig_ca_pem(kubeconfig: str | None) -> str | None:
    """The cluster CA certificate of a kubeconfig's current cluster, as PEM; None when it has none."""
    if not kubeconfig:
        return None
    try:
        document: Any = load_yaml(kubeconfig) or {}
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict):
        return None  # not a kubeconfig (e.g. the plan's placeholder for an encrypted one or a stack reference)
    context_name = document.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in _entries(document, "contexts")}
    context = contexts.get(context_name)
    cluster_name = context.get("cluster") if isinstance(context, dict) else None
    for cluster in _entries(document, "clusters"):
        if cluster.get("name") == cluster_name:
            data = (cluster.get("cluster") or {}).get("certificate-authority-data")
            return base64.b64decode(data).decode() if data else None
    return None


def _entries(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = document.get(key)
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []


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
