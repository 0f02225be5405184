"""Istio, cert-manager and External Secrets per Kubernetes minor (config/platform-versions.yaml)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.catalog import load_catalog
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import validate_namespace
from mojaloop_iac.planners.api_versions import served_api_versions
from mojaloop_iac.platform_versions import (
    check_platform_versions,
    line_name,
    minor,
    pinned_minors,
    platform_versions,
    products,
)

DEMO = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text(encoding="utf-8"))["config"]["mojaloop:environment"]


def platform_warnings(validated):
    """The warnings this module is about: not the catalog's word on a release's own support window."""
    return tuple(w for w in validated.warnings if not w.path.endswith("mojaloop.release"))


def demo_with(**changes):
    env = copy.deepcopy(DEMO)
    for key, value in changes.items():
        env[key] = value
    return {"environment": env}


@pytest.mark.parametrize("kubernetes", sorted(pinned_minors(), key=minor))
def test_each_minor_gets_the_newest_line_whose_project_supports_it(kubernetes):
    for product, version in pinned_minors()[kubernetes].items():
        spec = products()[product]
        supporting = [line for line in spec.lines if spec.supports_kubernetes(f"{line}.0", kubernetes)]
        assert supporting, f"no {product} line supports {kubernetes}"
        assert line_name(version) == max(supporting, key=minor), (product, kubernetes, version)


@pytest.mark.parametrize("release", load_catalog().releases.values(), ids=lambda r: r.version)
def test_every_catalog_release_plans_at_its_validated_kubernetes_without_a_support_warning(release):
    kubernetes = release.kubernetes.validated
    assert check_platform_versions(kubernetes) == []
    versions = platform_versions(kubernetes)
    assert set(versions.versions) == {"istio", "cert-manager", "external-secrets"}
    stack = demo_with(kubernetes={"version": kubernetes}, mojaloop={"release": release.version})
    try:
        validated = validate_namespace(stack)
    except ConfigError as refused:
        # Releases the toolkit cannot install yet (their backend values are not described) are refused for
        # that alone, never for the Kubernetes version.
        assert all(issue.path.endswith("mojaloop.release") for issue in refused.issues), refused.issues
        return
    assert platform_warnings(validated) == ()


def test_the_demo_gets_istio_124_cert_manager_116_and_external_secrets_013():
    versions = platform_versions(DEMO["kubernetes"]["version"])
    assert versions.versions == {"istio": "1.24.6", "cert-manager": "v1.16.5", "external-secrets": "0.13.0"}


def test_a_mix_of_istio_components_in_chart_versions_is_refused_with_its_key():
    with pytest.raises(ConfigError) as refused:
        validate_namespace(demo_with(chartVersions={"istiod": "1.24.5", "istio-base": "1.24.6"}))
    (issue,) = refused.value.issues
    assert issue.path.startswith("environment.chartVersions.istio")
    assert "one version" in issue.message and "istiod 1.24.5" in issue.message


def test_istio_moves_as_one_by_its_product_key():
    assert platform_warnings(validate_namespace(demo_with(chartVersions={"istio": "1.24.5"}))) == ()
    assert platform_versions("1.28", {"istio": "1.24.5"}).version("istio") == "1.24.5"


@pytest.mark.parametrize("components", [
    {"istiod": "1.23.0"},  # alone it would silently move base, CNI and the gateways too
    {"istiod": "1.24.5", "istio-base": "1.24.5", "istio-internal-ingress-gw": "1.24.5"},
])
def test_a_key_naming_istio_components_is_refused_for_the_products_key(components):
    with pytest.raises(ConfigError) as refused:
        validate_namespace(demo_with(chartVersions=components))
    (issue,) = refused.value.issues
    first = sorted(components)[0]  # as the stack's keys are read
    assert issue.path == f"environment.chartVersions.{first}"
    assert f"chartVersions: {{istio: {components[first]}}}, which moves all of them" in issue.message


def test_an_override_outside_its_projects_support_is_a_warning_naming_the_key():
    validated = validate_namespace(demo_with(chartVersions={"cert-manager": "v1.21.1"}))
    (warning,) = platform_warnings(validated)
    assert warning.path == "environment.chartVersions.cert-manager"
    assert "cert-manager v1.21.1 is supported on Kubernetes 1.33 to 1.36, the cluster runs 1.28" in warning.message


def test_an_override_of_an_unrecorded_line_is_a_warning():
    (warning,) = platform_warnings(validate_namespace(demo_with(chartVersions={"istio": "1.31.0"})))
    assert "Istio 1.31.0" in warning.message and "not recorded" in warning.message


def test_a_kubernetes_minor_without_pins_is_refused():
    issues = check_platform_versions("1.40")
    assert [issue.key for issue in issues] == ["kubernetes.version"]
    assert "1.24 to 1.36" in issues[0].message


def test_older_releases_get_the_api_versions_they_serve():
    manifests = (
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService"},
        {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication"},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret"},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate"},
    )
    modern = [m["apiVersion"] for m in served_api_versions(manifests, platform_versions("1.33"))]
    assert modern == [m["apiVersion"] for m in manifests]
    demo = [m["apiVersion"] for m in served_api_versions(manifests, platform_versions("1.28"))]
    assert demo == ["networking.istio.io/v1", "security.istio.io/v1", "external-secrets.io/v1beta1", "cert-manager.io/v1"]
    oldest = [m["apiVersion"] for m in served_api_versions(manifests, platform_versions("1.24"))]
    assert oldest == [
        "networking.istio.io/v1beta1",
        "security.istio.io/v1beta1",
        "external-secrets.io/v1beta1",
        "cert-manager.io/v1",
    ]
