"""Which Istio, cert-manager and External Secrets versions a cluster gets, from config/platform-versions.yaml.

`platform_versions(kubernetes_version, overrides)` picks, for the cluster's Kubernetes minor, the version
pinned for each product, with a stack's `chartVersions` applied (keyed by a product, a chart pin or a Helm
release that installs the product). `check_platform_versions` says what is wrong with a choice: no pin for
the minor, Istio components at different versions (refused), or a version whose project does not support
the cluster's Kubernetes (a warning, as for the pins themselves). The planners ask the result which
capabilities the chosen versions have (`supports`), e.g. which API versions to write.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final, Literal

from mojaloop_iac import contract
from mojaloop_iac.config.defaults import load_data_file

DATA_FILE: Final = "platform-versions.yaml"
ISTIO: Final = "istio"
CERT_MANAGER: Final = "cert-manager"
EXTERNAL_SECRETS: Final = "external-secrets"
PRODUCTS: Final = (ISTIO, CERT_MANAGER, EXTERNAL_SECRETS)

# Helm releases of the Istio gateway chart, named after the contract's gateways.
ISTIO_GATEWAY_RELEASES: Final = (
    contract.INTERNAL_GATEWAY_NAME,
    contract.EXTERNAL_GATEWAY_NAME,
    contract.EGRESS_GATEWAY_NAME,
)

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")

Severity = Literal["error", "warning"]


class PlatformVersionError(ValueError):
    """No version can be chosen; the message names the key to fix."""


def minor(version: str) -> tuple[int, int]:
    """(major, minor) of a version such as "1.28", "v1.16.5" or "0.13.0"."""
    match = _VERSION.match(str(version).strip())
    if match is None:
        raise ValueError(f"{version!r} is not a version such as 1.28 or v1.16.5")
    return int(match.group(1)), int(match.group(2))


def line_name(version: str) -> str:
    major, minor_ = minor(version)
    return f"{major}.{minor_}"


@dataclass(frozen=True)
class Product:
    key: str
    name: str
    charts: tuple[str, ...]
    lines: Mapping[str, tuple[str, str]]
    """Release line -> (oldest, newest) supported Kubernetes minor."""
    features: Mapping[str, str]
    """Capability -> the first line that has it."""

    def support(self, version: str) -> tuple[str, str] | None:
        return self.lines.get(line_name(version))

    def supports_kubernetes(self, version: str, kubernetes: str) -> bool | None:
        """None when the version's line is not in the table."""
        support = self.support(version)
        if support is None:
            return None
        return minor(support[0]) <= minor(kubernetes) <= minor(support[1])


@dataclass(frozen=True)
class PlatformVersions:
    kubernetes: str
    versions: Mapping[str, str]
    """Product -> chart version."""
    overridden: frozenset[str] = field(default_factory=frozenset)
    """Products whose version a stack's chartVersions chose."""

    def version(self, product: str) -> str:
        return self.versions[product]

    def supports(self, product: str, feature: str) -> bool:
        """Whether the chosen version of `product` has `feature` (config/platform-versions.yaml features)."""
        since = products()[product].features[feature]
        return minor(self.versions[product]) >= minor(since)


@dataclass(frozen=True)
class VersionIssue:
    key: str
    """The chartVersions key (or `kubernetes.version`) the message is about."""
    message: str
    severity: Severity = "error"


@cache
def _data() -> dict[str, Any]:
    return load_data_file(DATA_FILE)


@cache
def products() -> dict[str, Product]:
    return {
        key: Product(
            key=key,
            name=str(entry["name"]),
            charts=tuple(entry["charts"]),
            lines={str(line): (str(bounds[0]), str(bounds[1])) for line, bounds in entry["lines"].items()},
            features={str(name): str(since) for name, since in (entry.get("features") or {}).items()},
        )
        for key, entry in _data()["products"].items()
    }


def pinned_minors() -> dict[str, dict[str, str]]:
    """Kubernetes minor -> product -> the pinned chart version."""
    return {str(kube): {str(p): str(v) for p, v in pins.items()} for kube, pins in _data()["kubernetes"].items()}


def sidecar_containers(kubernetes_version: str) -> Literal["on", "gate", "none"]:
    """Kubernetes' native sidecar containers: on by default, behind the (alpha) feature gate, or absent."""
    feature = _data()["sidecarContainers"]
    if minor(kubernetes_version) >= minor(feature["onByDefault"]):
        return "on"
    if minor(kubernetes_version) >= minor(feature["featureGate"]):
        return "gate"
    return "none"


def product_of(key: str) -> str | None:
    """The product a chartVersions key versions: a product, one of its chart pins or Helm releases."""
    if key in PRODUCTS:
        return key
    for product in products().values():
        if key in product.charts:
            return product.key
    if key in ISTIO_GATEWAY_RELEASES:
        return ISTIO
    return None


def check_platform_versions(kubernetes_version: str, overrides: Mapping[str, str] | None = None) -> list[VersionIssue]:
    """Every problem with the versions a cluster would get: errors refuse the stack, warnings are shown."""
    return list(_issues(kubernetes_version, overrides or {}))


def platform_versions(kubernetes_version: str, overrides: Mapping[str, str] | None = None) -> PlatformVersions:
    """The versions for a cluster; raises PlatformVersionError where check_platform_versions has errors."""
    overrides = overrides or {}
    errors = [issue for issue in _issues(kubernetes_version, overrides) if issue.severity == "error"]
    if errors:
        raise PlatformVersionError("; ".join(f"{issue.key}: {issue.message}" for issue in errors))
    chosen = dict(pinned_minors()[line_name(kubernetes_version)])
    by_product = _overrides_by_product(overrides)
    for product, values in by_product.items():
        chosen[product] = next(iter(values.values()))
    return PlatformVersions(kubernetes=kubernetes_version, versions=chosen, overridden=frozenset(by_product))


def _overrides_by_product(overrides: Mapping[str, str]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = {}
    for key, version in sorted(overrides.items()):
        product = product_of(key)
        if product is not None:
            grouped.setdefault(product, {})[key] = str(version)
    return grouped


def _issues(kubernetes_version: str, overrides: Mapping[str, str]) -> Iterator[VersionIssue]:
    pins = pinned_minors()
    kube = line_name(kubernetes_version)
    if kube not in pins:
        yield VersionIssue(
            "kubernetes.version",
            f"no Istio, cert-manager and External Secrets versions are pinned for Kubernetes {kube} in "
            f"config/{DATA_FILE} (pinned: {min(pins, key=minor)} to {max(pins, key=minor)})",
        )
        return
    catalog = products()
    for product, values in _overrides_by_product(overrides).items():
        components = [key for key in values if key != product]
        if components and len(catalog[product].charts) > 1:
            # One component's key moves every chart of the product: say so, rather than move them silently.
            listed = ", ".join(f"{key} {version}" for key, version in values.items())
            yield VersionIssue(
                f"chartVersions.{components[0]}",
                f"{listed}: {catalog[product].name}'s charts ({', '.join(catalog[product].charts)}) run one version, "
                f"so one of them cannot be moved alone; give the product's version, e.g. chartVersions: "
                f"{{{product}: {values[components[0]]}}}, which moves all of them",
            )
        elif len(set(values.values())) > 1:
            listed = ", ".join(f"{key} {version}" for key, version in values.items())
            yield VersionIssue(
                f"chartVersions.{next(iter(values))}",
                f"{catalog[product].name} components must run one version, these differ: {listed}; give one "
                f"version, e.g. chartVersions: {{{product}: {next(iter(values.values()))}}}",
            )
    for product, version, key in _chosen(kube, overrides):
        spec = catalog[product]
        supported = spec.supports_kubernetes(version, kube)
        if supported is None:
            yield VersionIssue(
                key,
                f"{spec.name} {version}: its supported Kubernetes versions are not recorded in config/{DATA_FILE} "
                f"(lines {', '.join(spec.lines)}); the cluster runs {kube}",
                "warning",
            )
        elif not supported:
            low, high = spec.support(version) or ("", "")
            yield VersionIssue(
                key,
                f"{spec.name} {version} is supported on Kubernetes {low} to {high}, the cluster runs {kube}: "
                f"remove the override to get {pins[kube][product]}, or choose a version that supports {kube}",
                "warning",
            )


def _chosen(kube: str, overrides: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    """(product, version, key to report) for each product: the override if given, else the pin."""
    grouped = _overrides_by_product(overrides)
    for product, version in pinned_minors()[kube].items():
        if product in grouped:
            key, chosen = next(iter(grouped[product].items()))
            yield product, chosen, f"chartVersions.{key}"
        else:
            yield product, version, "kubernetes.version"
