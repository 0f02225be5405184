"""Istio for an environment: pinned releases in order, the contract's gateways and mesh-wide mutual TLS."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml

from mojaloop_iac import contract
from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.planners.certificates import CertificatesInput, plan_certificates
from mojaloop_iac.planners.gateways import (
    EGRESS_GATEWAY,
    EXTERNAL,
    INTERNAL,
    GatewaysError,
    GatewaysInput,
    plan_gateways,
)
from mojaloop_iac.planners.gateways.charts import pinned_chart
from mojaloop_iac.planners.gateways.planner import check_one_istio_release
from mojaloop_iac.planners.placement import Scheduling
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
from mojaloop_iac.platform_versions import pinned_minors, platform_versions
from tests.support.manifests import crd_schemas, validate_core, validate_custom

INTERNAL_DOMAIN = "int.qa1.example.com"
EXTERNAL_DOMAIN = "qa1.example.com"
CLIENT_CA = "external-wildcard-tls-cacert"
OATHKEEPER = {
    "name": "oathkeeper",
    "envoyExtAuthzHttp": {"service": "oathkeeper-api.ory.svc.cluster.local", "port": 4456},
}
GATEWAY_RELEASES = (
    contract.INTERNAL_GATEWAY_NAME,
    contract.EXTERNAL_GATEWAY_NAME,
    contract.EGRESS_GATEWAY_NAME,
)


def fields_the_api_server_would_prune(document: dict[str, Any]) -> list[str]:
    """Fields the CRD's structural schema does not know: the API server drops them silently, so a
    misspelt field (say `caCertCredentialName`) would pass a plain schema check and do nothing."""
    group, _, version = document["apiVersion"].rpartition("/")
    schema = crd_schemas()[(group, version, document["kind"])]
    body = {key: value for key, value in document.items() if key not in ("apiVersion", "kind", "metadata")}
    return _unknown_fields(body, schema, document["kind"])


def _unknown_fields(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(value, dict):
        properties, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        found = []
        for key, item in value.items():
            if key in properties:
                found += _unknown_fields(item, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found += _unknown_fields(item, extra, f"{path}.{key}")
            elif extra is not True:
                found.append(f"{path}.{key}")
        return found
    if isinstance(value, list):
        items = schema.get("items") or {}
        return [
            field
            for index, item in enumerate(value)
            for field in _unknown_fields(item, items, f"{path}[{index}]")
        ]
    return []


def certificates():
    return plan_certificates(
        CertificatesInput(
            INTERNAL_DOMAIN,
            EXTERNAL_DOMAIN,
            "1.33",
            acme_email="hub-ops@example.com",
            acme_dns01_solver={"route53": {"region": "eu-west-1"}},
        )
    )


def gateways_input(substrate="baremetal", **changes):
    certs = certificates()
    inp = GatewaysInput(
        substrate=substrate,
        internal_domain=INTERNAL_DOMAIN,
        external_domain=EXTERNAL_DOMAIN,
        kubernetes_version="1.33",
        internal_tls_secret=certs.internal_tls_secret,
        external_tls_secret=certs.external_tls_secret,
        client_ca_secret=CLIENT_CA,
        extension_providers=(OATHKEEPER,),
    )
    return replace(inp, **changes)


def plan(substrate="baremetal", **changes):
    return plan_gateways(gateways_input(substrate, **changes))


def release(result, name):
    return next(r for r in result.releases if r.name == name)


def gateway(result, namespace):
    return next(
        m for m in result.manifests if m["kind"] == "Gateway" and m["metadata"]["namespace"] == namespace
    )


def service_ports(result, name):
    return {port["name"]: port for port in release(result, name).values["service"]["ports"]}


@pytest.mark.parametrize("substrate", ["baremetal", "aws"])
def test_every_manifest_and_namespace_validates_against_its_schema(substrate):
    result = plan(substrate)
    for manifest in result.manifests:
        validate_custom(manifest)
        assert fields_the_api_server_would_prune(manifest) == []
    for version in ("1.28", "1.33"):
        for spec in result.namespaces:
            namespace = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": spec.name, "labels": spec.labels(version)},
            }
            validate_core(namespace, version)


def test_bare_metal_services_get_exactly_the_contract_node_ports():
    result = plan("baremetal")
    expected = {
        contract.INTERNAL_GATEWAY_NAME: {"https": 31443, "http2": 31080, "status-port": 31081},
        contract.EXTERNAL_GATEWAY_NAME: {"https": 32443, "http2": 32080, "status-port": 32081},
    }
    for name, node_ports in expected.items():
        service = release(result, name).values["service"]
        assert service["type"] == "NodePort"
        ports = service_ports(result, name)
        assert {port_name: port["nodePort"] for port_name, port in ports.items()} == node_ports
        # https/http/health are the gateway's 443/80 and its status port 15021.
        assert {port_name: port["port"] for port_name, port in ports.items()} == {
            "https": 443,
            "http2": 80,
            "status-port": 15021,
        }
        assert all(port["targetPort"] == port["port"] for port in ports.values())


def test_aws_gateways_sit_behind_network_load_balancers_of_their_scheme():
    result = plan("aws")
    for name, scheme in (
        (contract.INTERNAL_GATEWAY_NAME, "internal"),
        (contract.EXTERNAL_GATEWAY_NAME, "internet-facing"),
    ):
        service = release(result, name).values["service"]
        assert service["type"] == "LoadBalancer"
        annotations = service["annotations"]
        # EKS's cloud controller makes the NLB: no add-on load-balancer controller is needed.
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
        internal = annotations.get("service.beta.kubernetes.io/aws-load-balancer-internal") == "true"
        assert internal is (scheme == "internal")
        assert service["externalTrafficPolicy"] == "Local"
        assert all("nodePort" not in port for port in service["ports"])
        # The status port is not on the load balancer: it checks the health-check NodePort instead.
        assert [port["port"] for port in service["ports"]] == [80, 443]


@pytest.mark.parametrize("substrate", ["baremetal", "aws"])
def test_the_egress_gateway_is_reachable_only_from_inside_the_cluster(substrate):
    service = release(plan(substrate), contract.EGRESS_GATEWAY_NAME).values["service"]
    assert service["type"] == "ClusterIP"
    assert all("nodePort" not in port for port in service["ports"])
    assert "annotations" not in service


def test_mutual_tls_is_strict_across_the_whole_mesh():
    (peer,) = [m for m in plan().manifests if m["kind"] == "PeerAuthentication"]
    assert peer["metadata"]["namespace"] == chart_pins()["istiod"]["namespace"] == "istio-system"
    assert "selector" not in peer["spec"]
    assert peer["spec"]["mtls"] == {"mode": "STRICT"}


def test_the_external_gateway_demands_client_certificates_signed_by_the_dfsp_ca():
    https = gateway(plan(), EXTERNAL.namespace)["spec"]["servers"][0]
    assert https["port"]["protocol"] == "HTTPS"
    assert https["tls"]["mode"] == "MUTUAL"
    assert https["tls"]["caCertCredentialName"] == CLIENT_CA


def test_the_internal_gateway_serves_tls_without_client_certificates():
    https = gateway(plan(), INTERNAL.namespace)["spec"]["servers"][0]
    assert https["tls"]["mode"] == "SIMPLE"
    assert "caCertCredentialName" not in https["tls"]


def test_each_ingress_gateway_serves_its_domains_wildcard_and_redirects_plain_http():
    result = plan()
    for namespace, domain in ((INTERNAL.namespace, INTERNAL_DOMAIN), (EXTERNAL.namespace, EXTERNAL_DOMAIN)):
        servers = {
            server["port"]["protocol"]: server for server in gateway(result, namespace)["spec"]["servers"]
        }
        assert set(servers) == {"HTTPS", "HTTP"}
        assert servers["HTTPS"]["hosts"] == servers["HTTP"]["hosts"] == [f"*.{domain}"]
        assert servers["HTTPS"]["tls"]["minProtocolVersion"] == "TLSV1_2"
        assert servers["HTTP"]["tls"] == {"httpsRedirect": True}


def test_each_credential_name_is_the_secret_a_certificate_in_the_same_namespace_writes():
    certs = certificates()
    written = {
        (m["metadata"]["namespace"], m["spec"]["secretName"]): m["spec"].get("dnsNames")
        for m in certs.manifests
        if m["kind"] == "Certificate"
    }
    result = plan()
    for namespace in (INTERNAL.namespace, EXTERNAL.namespace):
        https = gateway(result, namespace)["spec"]["servers"][0]
        assert (namespace, https["tls"]["credentialName"]) in written
        assert written[(namespace, https["tls"]["credentialName"])] == https["hosts"]


def test_the_gateways_are_the_ones_virtual_services_name_and_select_their_releases_pods():
    result = plan()
    named = {
        f"{m['metadata']['namespace']}/{m['metadata']['name']}"
        for m in result.manifests
        if m["kind"] == "Gateway"
    }
    assert named == {contract.INTERNAL_GATEWAY, contract.EXTERNAL_GATEWAY, EGRESS_GATEWAY}
    for manifest in (m for m in result.manifests if m["kind"] == "Gateway"):
        gateway_release = release(result, manifest["metadata"]["name"])
        assert gateway_release.namespace == manifest["metadata"]["namespace"]
        assert manifest["spec"]["selector"] == {"istio": gateway_release.values["labels"]["istio"]}


def test_the_egress_gateway_accepts_only_mesh_workloads():
    servers = gateway(plan(), contract.EGRESS_GATEWAY_NAMESPACE)["spec"]["servers"]
    assert [server["tls"]["mode"] for server in servers] == ["ISTIO_MUTUAL"]


def test_releases_install_base_then_istiod_then_the_gateways_in_their_namespaces():
    result = plan()
    assert [(r.name, r.chart, r.namespace) for r in result.releases] == [
        ("istio-base", "base", "istio-system"),
        ("istiod", "istiod", "istio-system"),
        (contract.INTERNAL_GATEWAY_NAME, "gateway", contract.INTERNAL_GATEWAY_NAMESPACE),
        (contract.EXTERNAL_GATEWAY_NAME, "gateway", contract.EXTERNAL_GATEWAY_NAMESPACE),
        (contract.EGRESS_GATEWAY_NAME, "gateway", contract.EGRESS_GATEWAY_NAMESPACE),
    ]
    assert all(r.atomic and r.timeout_seconds > 0 for r in result.releases)


def test_every_chart_comes_from_config_charts_at_the_istio_release_pinned_for_the_kubernetes_minor():
    pinned = yaml.safe_load((CONFIG_DIR / "charts" / "istio.yaml").read_text(encoding="utf-8"))
    by_chart = {pin["chart"]: pin for pin in pinned.values()}
    istio = pinned_minors()["1.33"]["istio"]
    for spec in plan().releases:
        assert (spec.repo, spec.version) == (by_chart[spec.chart]["repo"], istio)


def test_a_mix_of_istio_versions_is_refused():
    mixed = platform_versions("1.33")
    mixed = replace(mixed, versions={**mixed.versions, "istio": "1.29.6"})
    base = pinned_chart("istio-base", platform_versions("1.33"))
    with pytest.raises(GatewaysError, match="mix of Istio releases"):
        check_one_istio_release(base, pinned_chart("istiod", mixed), pinned_chart("istio-gateway", mixed))


def test_extension_providers_reach_istiods_mesh_config_in_name_order():
    tracing = {
        "name": "otel",
        "opentelemetry": {"service": "otel-collector.monitoring.svc.cluster.local", "port": 4317},
    }
    first = plan(extension_providers=(OATHKEEPER, tracing))
    second = plan(extension_providers=(tracing, OATHKEEPER))
    providers = release(first, "istiod").values["meshConfig"]["extensionProviders"]
    assert providers == [OATHKEEPER, tracing]
    assert first == second


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        (({"envoyExtAuthzHttp": {}},), "has no `name`"),
        (({"name": "authz"},), "exactly one provider kind"),
        (({"name": "authz", "envoyExtAuthzHttp": {}, "envoyExtAuthzGrpc": {}},), "exactly one provider kind"),
        ((OATHKEEPER, OATHKEEPER), "two extension providers are named 'oathkeeper'"),
    ],
)
def test_malformed_extension_providers_are_refused(providers, message):
    with pytest.raises(GatewaysError, match=message):
        plan(extension_providers=providers)


def test_scheduling_reaches_every_gateway_pod_and_only_them():
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}
    tolerations = ({"key": "moja-enabled", "operator": "Equal", "value": "true", "effect": "NoSchedule"},)
    result = plan(scheduling=Scheduling(affinity=affinity, tolerations=tolerations))
    for name in GATEWAY_RELEASES:
        values = release(result, name).values
        assert values["affinity"] == affinity
        assert values["tolerations"] == list(tolerations)
    assert "affinity" not in release(plan(), contract.INTERNAL_GATEWAY_NAME).values


def test_istio_pods_are_configured_for_pod_security_restricted():
    result = plan()
    assert {spec.name: spec.enforce for spec in result.namespaces} == {
        "istio-system": "restricted",
        contract.INTERNAL_GATEWAY_NAMESPACE: "restricted",
        contract.EXTERNAL_GATEWAY_NAMESPACE: "restricted",
        contract.EGRESS_GATEWAY_NAMESPACE: "restricted",
    }
    assert release(result, "istiod").values["seccompProfile"] == {"type": "RuntimeDefault"}
    # Sysctls Pod Security lets `restricted` pods set (the "safe" set of Kubernetes 1.28).
    safe_sysctls = {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
    }
    for name in GATEWAY_RELEASES:
        pod = release(result, name).values["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        # Replacing the chart's default securityContext must keep its one sysctl, or Envoy cannot bind 80/443.
        assert {sysctl["name"] for sysctl in pod["sysctls"]} == {"net.ipv4.ip_unprivileged_port_start"}
        assert {sysctl["name"] for sysctl in pod["sysctls"]} <= safe_sysctls


def test_the_dfsp_client_ca_is_delivered_to_the_external_gateways_namespace():
    result = plan()
    assert list(result.secret_needs) == [EXTERNAL.namespace]
    (need,) = result.secret_needs[EXTERNAL.namespace]
    assert need.name == CLIENT_CA and set(need.keys) == {"ca.crt"}
    delivery = plan_secret_delivery("qa1", "https://vault.example:8200", "mojaloop", result.secret_needs)
    (external,) = [m for m in delivery.manifests if m["kind"] == "ExternalSecret"]
    assert external["metadata"] == {
        "name": CLIENT_CA,
        "namespace": EXTERNAL.namespace,
        "annotations": {"pulumi.com/waitFor": "condition=Ready"},
    }
    assert [item["secretKey"] for item in external["spec"]["data"]] == ["ca.crt"]
    # A certificate is no password: the operator writes it to Vault, and the plan says where.
    assert len(delivery.operator_supplied) == 1 and CLIENT_CA in delivery.operator_supplied[0]


def test_the_istio_release_follows_the_kubernetes_version_and_older_ones_find_the_client_ca_by_name():
    modern, older = plan(kubernetes_version="1.33"), plan(kubernetes_version="1.28")
    assert {r.version for r in modern.releases} == {"1.30.3"}
    assert {r.version for r in older.releases} == {"1.24.6"}
    assert modern.warnings == older.warnings == ()
    # Istio 1.24 has no caCertCredentialName: it reads `<credentialName>-cacert`, which is the Secret's name.
    tls_new = gateway(modern, EXTERNAL.namespace)["spec"]["servers"][0]["tls"]
    tls_old = gateway(older, EXTERNAL.namespace)["spec"]["servers"][0]["tls"]
    assert tls_new["caCertCredentialName"] == CLIENT_CA == f"{tls_new['credentialName']}-cacert"
    assert "caCertCredentialName" not in tls_old and f"{tls_old['credentialName']}-cacert" == CLIENT_CA


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"substrate": "gcp"}, "substrate 'gcp'"),
        ({"internal_domain": "*.int.qa1.example.com"}, "without '\\*.'"),
        ({"external_domain": "Qa1.Example.com"}, "external domain 'Qa1.Example.com'"),
        ({"internal_domain": EXTERNAL_DOMAIN}, "both 'qa1.example.com'"),
        ({"kubernetes_version": "latest"}, "'latest' is not a Kubernetes version"),
        ({"client_ca_secret": "DFSP_CA"}, "client CA secret 'DFSP_CA'"),
        ({"client_ca_secret": "external-wildcard-tls"}, "cert-manager owns the TLS secret"),
        ({"client_ca_secret": "dfsp-client-ca"}, "must be named 'external-wildcard-tls-cacert'"),
    ],
)
def test_invalid_input_is_refused_naming_what_to_change(changes, message):
    with pytest.raises(GatewaysError, match=message):
        plan(**changes)


@pytest.mark.parametrize("substrate", ["baremetal", "aws"])
def test_the_plan_is_deterministic(substrate):
    def rendered():
        result = plan(substrate)
        return json.dumps(
            {"releases": [r.__dict__ for r in result.releases], "manifests": result.manifests},
            sort_keys=False,
        )

    assert rendered() == rendered()
    assert plan(substrate) == plan(substrate)


def test_a_misspelt_field_would_be_caught_before_the_api_server_drops_it():
    external = json.loads(json.dumps(gateway(plan(), EXTERNAL.namespace)))
    tls = external["spec"]["servers"][0]["tls"]
    tls["caCertCredentialNme"] = tls.pop("caCertCredentialName")
    validate_custom(external)  # a plain schema check lets it through
    assert fields_the_api_server_would_prune(external) == ["Gateway.spec.servers[0].tls.caCertCredentialNme"]
