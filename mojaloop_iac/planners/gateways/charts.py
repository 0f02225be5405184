"""Platform charts pinned in config/charts/, with the Kubernetes versions their project supports them on.

The pins (repo, chart, version, namespace, `kubernetes: {minimum, maximum}`) are data; this module only
reads them and says when a cluster's Kubernetes version lies outside what the chart's project supports,
so the plan can warn before an install fails in ways no test here can show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mojaloop_iac.config.defaults import chart_pins

_MINOR_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


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
    kubernetes_minimum: str
    kubernetes_maximum: str

    def supports(self, kubernetes_version: str) -> bool:
        version = minor_version(kubernetes_version)
        return minor_version(self.kubernetes_minimum) <= version <= minor_version(self.kubernetes_maximum)

    def support_warning(self, kubernetes_version: str, product: str) -> str | None:
        """A plan warning when the cluster's Kubernetes version is outside the range `product` (what the
        chart installs, e.g. "Istio") supports at the pinned version."""
        if self.supports(kubernetes_version):
            return None
        return (
            f"{product} {self.version} is supported on Kubernetes {self.kubernetes_minimum} to "
            f"{self.kubernetes_maximum}, the cluster runs {kubernetes_version}: install it on a supported "
            f"Kubernetes version, or pin a release that supports {kubernetes_version} "
            f"(config/charts, entry {self.key})"
        )


def minor_version(version: str) -> tuple[int, int]:
    """(major, minor) of a Kubernetes version such as "1.28", "1.28.3" or "v1.28"."""
    match = _MINOR_VERSION.match(version.strip())
    if match is None:
        raise ValueError(f'{version!r} is not a Kubernetes version such as "1.28"')
    return int(match.group(1)), int(match.group(2))


def pinned_chart(key: str) -> PinnedChart:
    pin = chart_pins().get(key)
    if pin is None:
        raise ChartPinError(f"no chart {key!r} is pinned in config/charts/*.yaml")
    missing = sorted({"chart", "kubernetes"} - set(pin))
    supported = pin.get("kubernetes") or {}
    missing += [f"kubernetes.{bound}" for bound in ("minimum", "maximum") if bound not in supported]
    if missing:
        raise ChartPinError(f"config/charts: chart {key} lacks {', '.join(missing)}")
    for bound in ("minimum", "maximum"):
        try:
            minor_version(str(supported[bound]))
        except ValueError as wrong:
            raise ChartPinError(f"config/charts: chart {key} kubernetes.{bound}: {wrong}") from None
    return PinnedChart(
        key=key,
        repo=str(pin["repo"]),
        chart=str(pin["chart"]),
        version=str(pin["version"]),
        namespace=str(pin["namespace"]),
        kubernetes_minimum=str(supported["minimum"]),
        kubernetes_maximum=str(supported["maximum"]),
    )
