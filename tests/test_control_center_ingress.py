"""The control center's services are reached through one Istio gateway passing TLS through to them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

import yaml

from mojaloop_iac import contract
from mojaloop_iac.config.models import ControlCenter, ControlCenterProfile
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.plan.run import plan_stack
from mojaloop_iac.planners.certificates import CertificatesInput, plan_certificates
from mojaloop_iac.planners.control_center import ControlCenterPlanError
from mojaloop_iac.planners.control_center.ingress import (
    ControlCenterIngressInput,
    PassthroughRoute,
    control_center_routes,
    plan_control_center_ingress,
)
from mojaloop_iac.planners.control_center_stack import ControlCenterPlan, plan_control_center
from mojaloop_iac.planners.gateways import INTERNAL, GatewaysInput, plan_gateways
from mojaloop_iac.planners.vault_server import API_PORT
from mojaloop_iac.platform_versions import pinned_minors
from tests.support.manifests import bundle_manifests, is_core, validate_core, validate_custom
from tests.support.stacks import copy_stack
from tests.test_control_center_aws import ACCOUNT, control_center
from tests.test_gateways import fields_the_api_server_would_prune

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIPS = yaml.safe_load((Path(__file__).parent / "checkov-skips.yaml").read_text()) or {}


def full(cc: ControlCenter) -> ControlCenter:
    return cc.model_copy(update={"profile": ControlCenterProfile.FULL})


def planned(stack: str = "control-center", profile: str = "minimal") -> ControlCenterPlan:
    cc = control_center(stack)
    if profile == "full":
        cc = full(cc)
    aws = ACCOUNT if stack == "control-center-aws" else None
    return plan_control_center(cc, "local-path", {"alice": "key"}, aws)


def manifests_of(plan: ControlCenterPlan, kind: str) -> list[dict]:
    return [m for m in plan.ingress.manifests if m["kind"] == kind]


def gateway_release(plan: ControlCenterPlan):
    (release,) = [r for r in plan.ingress.releases if r.chart == "gateway"]
    return release


def all_manifests(plan: ControlCenterPlan) -> list[dict]:
    return [
        *plan.certificates.manifests,
        *plan.secrets_store.manifests,
        *plan.ingress.manifests,
        *plan.services.manifests,
    ]


# ---------------------------------------------------------------------------------------------------------
# What the gateway serves and where it sends it
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "names"),
    [("minimal", ["vault", "s3", "mirror"]), ("full", ["vault", "s3", "mirror", "gitlab"])],
)
def test_the_gateway_passes_through_exactly_the_services_host_names(profile, names):
    plan = planned(profile=profile)
    domain = "int.cc.mojaloop.example"
    expected = [f"{name}.{domain}" for name in names]
    (gateway,) = manifests_of(plan, "Gateway")
    (server,) = gateway["spec"]["servers"]
    assert server["hosts"] == expected
    assert server["port"] == {"number": 443, "name": "tls-passthrough", "protocol": "TLS"}
    # Passthrough: the gateway holds no certificate and terminates nothing.
    assert server["tls"] == {"mode": "PASSTHROUGH"}
    # The host names the stack exports are the ones routed.
    outputs = plan.services.outputs()
    exported = [plan.vault_address, outputs["objectStorageUrl"], outputs["registryMirror"]["url"]]
    exported += [outputs["gitlabUrl"]] if profile == "full" else []
    assert [f"https://{host}" for host in expected] == exported
    routed = [vs["spec"]["hosts"] for vs in manifests_of(plan, "VirtualService")]
    assert routed == [[host] for host in expected]


def test_the_gateway_selects_the_gateway_pods_the_release_labels():
    plan = planned()
    (gateway,) = manifests_of(plan, "Gateway")
    release = gateway_release(plan)
    assert gateway["spec"]["selector"] == {"istio": release.values["labels"]["istio"]}
    assert (gateway["metadata"]["namespace"], release.namespace) == (INTERNAL.namespace, INTERNAL.namespace)
    for vs in manifests_of(plan, "VirtualService"):
        assert vs["spec"]["gateways"] == [f"{gateway['metadata']['namespace']}/{gateway['metadata']['name']}"]
        assert vs["spec"]["gateways"] == [contract.INTERNAL_GATEWAY]


@pytest.mark.parametrize("profile", ["minimal", "full"])
def test_each_route_reaches_the_service_its_chart_creates_and_a_certificate_there_covers_the_name(profile):
    plan = planned(profile=profile)
    releases = {r.name: r for r in (*plan.secrets_store.releases, *plan.services.releases)}
    routes = {route.name: route for route in plan_routes(plan)}
    # Service names and ports as each chart's values make them.
    vault = releases["vault"]
    assert (routes["vault"].service, routes["vault"].namespace) == (
        vault.values["fullnameOverride"],
        vault.namespace,
    )
    # The chart's `vault` Service keeps its default port, the listener's.
    assert "service" not in vault.values["server"] and routes["vault"].port == API_PORT
    assert f'address = "[::]:{API_PORT}"' in plan.vault_server.server_config_hcl
    minio = releases["minio"]
    assert (routes["object-storage"].service, routes["object-storage"].namespace) == (
        "minio",
        minio.namespace,
    )
    assert str(routes["object-storage"].port) == minio.values["service"]["port"]
    assert minio.values["tls"]["enabled"] is True
    zot = releases["zot"]
    assert (routes["registry-mirror"].service, routes["registry-mirror"].namespace) == ("zot", zot.namespace)
    assert routes["registry-mirror"].port == zot.values["service"]["port"]
    assert "tls" in json.loads(zot.values["configFiles"]["config.json"])["http"]
    if profile == "full":
        gitlab = releases["gitlab"]
        assert gitlab.values["nginx-ingress"]["enabled"] is True
        route = routes["gitlab"]
        assert (route.service, route.namespace, route.port) == (
            "gitlab-nginx-ingress-controller",
            gitlab.namespace,
            443,
        )
        assert gitlab.values["global"]["ingress"]["tls"] == {"enabled": True, "secretName": "gitlab-tls"}
    else:
        assert "gitlab" not in routes
    # TLS ends in the route's namespace: a Certificate there covers the SNI name the gateway matched.
    certificates = [m for m in all_manifests(plan) if m["kind"] == "Certificate"]
    for route in routes.values():
        covering = [
            c
            for c in certificates
            if c["metadata"]["namespace"] == route.namespace and route.hostname in c["spec"]["dnsNames"]
        ]
        assert covering, f"no Certificate in {route.namespace} covers {route.hostname}"
    # And each VirtualService sends exactly its SNI name there.
    for vs in manifests_of(plan, "VirtualService"):
        route = routes[vs["metadata"]["name"]]
        (rule,) = vs["spec"]["tls"]
        assert rule["match"] == [{"port": 443, "sniHosts": [route.hostname]}]
        assert rule["route"] == [
            {
                "destination": {
                    "host": f"{route.service}.{route.namespace}.svc.cluster.local",
                    "port": {"number": route.port},
                }
            }
        ]


def plan_routes(plan: ControlCenterPlan) -> tuple[PassthroughRoute, ...]:
    return control_center_routes(plan.vault_server, plan.services)


def test_vault_is_routed_to_every_server_so_a_fresh_vault_can_be_initialised_through_the_gateway():
    (route,) = [r for r in plan_routes(planned()) if r.name == "vault"]
    # `vault-active` has no endpoint until a server is initialised and unsealed.
    assert route.service == "vault"


# ---------------------------------------------------------------------------------------------------------
# The environments' Istio, reduced to what the control center needs
# ---------------------------------------------------------------------------------------------------------


def environment_gateways(substrate: str):
    return plan_gateways(
        GatewaysInput(
            substrate=substrate,  # type: ignore[arg-type]
            internal_domain="int.qa1.example.com",
            external_domain="qa1.example.com",
            kubernetes_version="1.33",
            internal_tls_secret="internal-wildcard-tls",
            external_tls_secret="external-wildcard-tls",
            client_ca_secret="external-wildcard-tls-cacert",
        )
    )


@pytest.mark.parametrize(
    ("stack", "substrate"), [("control-center", "baremetal"), ("control-center-aws", "aws")]
)
def test_istio_base_istiod_and_the_environments_internal_gateway_only(stack, substrate):
    plan = planned(stack)
    assert [(r.chart, r.name, r.namespace) for r in plan.ingress.releases] == [
        ("base", "istio-base", "istio-system"),
        ("istiod", "istiod", "istio-system"),
        ("gateway", INTERNAL.name, INTERNAL.namespace),
    ]
    environment = {r.name: r for r in environment_gateways(substrate).releases}
    # The same builders and pins: istio base and the gateway are the environment's own releases.
    assert plan.ingress.releases[0] == environment["istio-base"]
    assert gateway_release(plan) == environment[INTERNAL.name]
    assert plan.ingress.releases[1].version == environment["istiod"].version
    assert plan.ingress.releases[1].values["meshConfig"] == {"extensionProviders": []}


def test_bare_metal_exposes_the_contract_node_ports():
    service = gateway_release(planned("control-center")).values["service"]
    assert service["type"] == "NodePort" and service["externalTrafficPolicy"] == "Local"
    assert {p["name"]: p["nodePort"] for p in service["ports"]} == {
        "https": 31443,
        "http2": 31080,
        "status-port": 31081,
    }


def test_aws_puts_an_internal_network_load_balancer_in_front():
    service = gateway_release(planned("control-center-aws")).values["service"]
    annotations = service["annotations"]
    assert service["type"] == "LoadBalancer" and all("nodePort" not in p for p in service["ports"])
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"


@pytest.mark.parametrize("stack", ["control-center", "control-center-aws"])
def test_no_sidecars_and_no_mesh_wide_policy_in_the_control_center(stack):
    plan = planned(stack, "full" if stack == "control-center" else "minimal")
    for spec in plan.namespaces:
        labels = spec.labels("1.33")
        assert "istio-injection" not in labels and "istio.io/rev" not in labels
    kinds = {m["kind"] for m in all_manifests(plan)}
    assert "PeerAuthentication" not in kinds
    assert {m["kind"] for m in plan.ingress.manifests} == {"Gateway", "VirtualService"}
    namespaces = {spec.name: spec.enforce for spec in plan.namespaces}
    assert namespaces["istio-system"] == namespaces[INTERNAL.namespace] == "restricted"
    assert "istio-ingress-ext" not in namespaces and "egress-gateway" not in namespaces


@pytest.mark.parametrize("profile", ["minimal", "full"])
def test_every_ingress_object_validates_against_the_istio_crds(profile):
    plan = planned(profile=profile)
    for manifest in plan.ingress.manifests:
        validate_custom(manifest)
        assert fields_the_api_server_would_prune(manifest) == []
    for spec in (s for s in plan.namespaces if s.name in ("istio-system", INTERNAL.namespace)):
        validate_core(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": spec.name, "labels": spec.labels("1.33")},
            },
            "1.33",
        )


def test_the_istio_release_follows_the_control_centers_kubernetes_minor():
    older = control_center("control-center").model_copy(
        update={"kubernetes": control_center("control-center").kubernetes.model_copy(update={"version": "1.30"})}
    )
    planned_older = plan_control_center(older, "local-path", {"alice": "key"})
    assert {r.version for r in planned_older.ingress.releases} == {pinned_minors()["1.30"]["istio"]}
    for stack in ("control-center", "control-center-aws"):
        assert not [w for w in planned(stack).warnings if w.startswith("Istio ")]


# ---------------------------------------------------------------------------------------------------------
# Certificates: the control center has no gateway certificates, environments keep theirs
# ---------------------------------------------------------------------------------------------------------


def certificates_input(**changes) -> CertificatesInput:
    inp = CertificatesInput("int.qa1.example.com", "qa1.example.com", "1.33", external_issuer="internal-ca")
    return replace(inp, **changes)


def test_the_control_center_plans_no_wildcard_certificate_but_keeps_its_issuers():
    for stack in ("control-center", "control-center-aws"):
        manifests = planned(stack).certificates.manifests
        assert not [m for m in manifests if m["metadata"].get("namespace", "").startswith("istio-ingress")]
        assert not [m for m in manifests if any(n.startswith("*.") for n in m["spec"].get("dnsNames", []))]
        issuers = {m["metadata"]["name"] for m in manifests if m["kind"] == "ClusterIssuer"}
        assert {"internal-ca", "internal-ca-bootstrap"} <= issuers
        assert any(m["kind"] == "Certificate" and m["spec"].get("isCA") for m in manifests)


def test_environments_still_get_both_gateway_certificates():
    default = plan_certificates(certificates_input())
    without = plan_certificates(certificates_input(gateway_certificates=False))
    wildcards = [m for m in default.manifests if m not in without.manifests]
    assert [(m["metadata"]["namespace"], m["spec"]["dnsNames"]) for m in wildcards] == [
        ("istio-ingress-int", ["*.int.qa1.example.com"]),
        ("istio-ingress-ext", ["*.qa1.example.com"]),
    ]
    assert default.manifests[: len(without.manifests)] == without.manifests


# ---------------------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------------------


def ingress_input(*routes: PassthroughRoute, **changes) -> ControlCenterIngressInput:
    default = (PassthroughRoute("vault", "vault.int.cc.example.com", "vault", "vault", 8200),)
    return replace(ControlCenterIngressInput("baremetal", "1.33", routes or default), **changes)


def test_two_routes_for_one_host_name_are_refused_by_name():
    twice = PassthroughRoute("other", "vault.int.cc.example.com", "other", "other", 443)
    with pytest.raises(ControlCenterPlanError, match="hostname vault.int.cc.example.com"):
        plan_control_center_ingress(ingress_input(ingress_input().routes[0], twice))


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (PassthroughRoute("vault", "vault", "vault", "vault", 8200), "host name"),
        (PassthroughRoute("vault", "vault.int.cc.example.com", "Vault", "vault", 8200), "Service 'Vault'"),
        (PassthroughRoute("vault", "vault.int.cc.example.com", "vault", "vault", 0), "port 0"),
    ],
)
def test_a_route_the_gateway_could_not_serve_is_refused(route, message):
    with pytest.raises(ValueError, match=message):
        plan_control_center_ingress(ingress_input(route))


def test_no_routes_unknown_substrate_or_bad_kubernetes_version_are_refused():
    with pytest.raises(ControlCenterPlanError, match="at least one service"):
        plan_control_center_ingress(ingress_input(routes=()))
    with pytest.raises(ControlCenterPlanError, match="substrate 'gcp'"):
        plan_control_center_ingress(ingress_input(substrate="gcp"))
    with pytest.raises(ControlCenterPlanError, match="Kubernetes version"):
        plan_control_center_ingress(ingress_input(kubernetes_version="latest"))


def test_a_service_url_on_another_port_than_the_gateways_is_refused():
    plan = planned()
    mirror = replace(
        plan.services.registry_mirror,
        mirror=replace(plan.services.registry_mirror.mirror, host="mirror.int.cc.mojaloop.example:5443"),
    )
    services = replace(plan.services, registry_mirror=mirror)
    with pytest.raises(ControlCenterPlanError, match="registry mirror URL .* port 5443"):
        control_center_routes(plan.vault_server, services)


def test_gitlab_behind_another_ingress_controller_is_refused():
    plan = planned(profile="full")
    assert plan.services.gitlab is not None
    [release] = plan.services.gitlab.service.releases
    values = {**release.values, "nginx-ingress": {"enabled": False}}
    service = replace(plan.services.gitlab.service, releases=(replace(release, values=values),))
    services = replace(plan.services, gitlab=replace(plan.services.gitlab, service=service))
    with pytest.raises(ControlCenterPlanError, match="bundled NGINX ingress controller"):
        control_center_routes(plan.vault_server, services)


# ---------------------------------------------------------------------------------------------------------
# The full profile's plan bundle (the example stacks' bundles are checked in test_plan_bundle/test_checkov)
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cc-full")

    def full_profile(stack: dict) -> None:
        stack["config"]["mojaloop:controlCenter"]["profile"] = "full"

    stack_file = copy_stack("control-center", out, "cc-full", full_profile)
    plan_stack(str(stack_file), out / "bundle")
    return out / "bundle"


def test_the_full_profile_bundle_routes_gitlab_and_every_object_validates(full_bundle):
    names = set()
    for path, document in bundle_manifests(full_bundle):
        validate_core(document, "1.33") if is_core(document) else validate_custom(document)
        names.add(str(path.relative_to(full_bundle / "manifests")))
    assert "istio-ingress-int/VirtualService-gitlab.yaml" in names
    assert not [name for name in names if name.startswith("istio-ingress-ext/")]


@pytest.mark.slow
def test_checkov_finds_no_failed_check_in_the_full_profile_manifests(full_bundle, tmp_path):
    assert CHECKOV.is_file(), f"checkov is not installed at {CHECKOV}: run ./scripts/test (it installs it)"
    scanned = tmp_path / "scan"
    shutil.copytree(full_bundle / "manifests", scanned)
    command = [
        str(CHECKOV),
        "-d",
        str(scanned),
        "--framework",
        "kubernetes",
        "--skip-download",
        "-o",
        "json",
        "--quiet",
    ]
    if SKIPS:
        command += ["--skip-check", ",".join(sorted(SKIPS))]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    report = json.loads(done.stdout)
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    summary = report["summary"]
    assert summary["resource_count"] > 0 and summary["passed"] > 0 and summary["parsing_errors"] == 0, summary
