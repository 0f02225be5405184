"""The API versions the chosen platform releases serve.

Planners write the current API versions: `networking.istio.io/v1`, `security.istio.io/v1` and
`external-secrets.io/v1`. Older releases serve the same objects (same schema) under `v1beta1` only: Istio
before 1.22, External Secrets before 0.16 (config/platform-versions.yaml, features `networkingV1` and
`v1Api`). For a cluster that gets such a release the manifests are written with v1beta1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from mojaloop_iac.platform_versions import EXTERNAL_SECRETS, ISTIO, PlatformVersions

# (product, feature, {API version the planners write: what releases without the feature serve}).
_OLDER_SERVED: Final = (
    (
        ISTIO,
        "networkingV1",
        {"networking.istio.io/v1": "networking.istio.io/v1beta1", "security.istio.io/v1": "security.istio.io/v1beta1"},
    ),
    (EXTERNAL_SECRETS, "v1Api", {"external-secrets.io/v1": "external-secrets.io/v1beta1"}),
)


def served_api_versions(
    manifests: Iterable[Mapping[str, Any]], versions: PlatformVersions
) -> tuple[dict[str, Any], ...]:
    """The manifests with API versions the cluster's Istio and External Secrets serve; others unchanged."""
    renames: dict[str, str] = {}
    for product, feature, older in _OLDER_SERVED:
        if not versions.supports(product, feature):
            renames.update(older)
    return tuple(
        {**manifest, "apiVersion": renames[manifest["apiVersion"]]}
        if manifest.get("apiVersion") in renames
        else dict(manifest)
        for manifest in manifests
    )
