"""Platform charts pinned in config/charts/, at the version chosen for the cluster.

A pin (repo, chart, namespace) whose `product` is Istio, cert-manager or External Secrets takes its version
from the cluster's PlatformVersions (config/platform-versions.yaml per Kubernetes minor, or the stack's
chartVersions); validation has already said whether that version supports the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.platform_versions import PlatformVersions, minor


class ChartPinError(ValueError):
    """A pin in config/charts/ is missing or incomplete; the message names the file entry to fix."""


@dataclass(frozen=True)
class PinnedChart:
    key: str
    """Entry name in config/charts/*.yaml."""
    repo: str
    chart: str
    """The chart's name in its repository."""
    version: str
    namespace: str


def minor_version(version: str) -> tuple[int, int]:
    """(major, minor) of a Kubernetes version such as "1.28", "1.28.3" or "v1.28"."""
    try:
        return minor(version)
    except ValueError:
        raise ValueError(f'{version!r} is not a Kubernetes version such as "1.28"') from None


def pinned_chart(key: str, versions: PlatformVersions | None = None) -> PinnedChart:
    """The pin `key`; a product's chart needs `versions` (the cluster's PlatformVersions)."""
    pin = chart_pins().get(key)
    if pin is None:
        raise ChartPinError(f"no chart {key!r} is pinned in config/charts/*.yaml")
    if "chart" not in pin:
        raise ChartPinError(f"config/charts: chart {key} lacks chart")
    product = pin.get("product")
    if product is None:
        version = str(pin["version"])
    elif versions is None:
        raise ChartPinError(f"chart {key} takes its {product} version from the cluster's Kubernetes version")
    else:
        version = versions.version(str(product))
    return PinnedChart(
        key=key,
        repo=str(pin["repo"]),
        chart=str(pin["chart"]),
        version=version,
        namespace=str(pin["namespace"]),
    )
