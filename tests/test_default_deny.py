"""Deny by default in every namespace the environment owns, with the allows its traffic needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mojaloop_iac import contract
from mojaloop_iac.plan.run import plan_stack
from mojaloop_iac.planners.platform import gateway_routes
from tests.support.manifests import bundle_manifests, is_core, validate_core, validate_custom


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Any]:
    bundle = tmp_path_factory.mktemp("demo") / "bundle"
    plan_stack("demo", bundle)
    manifests = [document for _, document in bundle_manifests(bundle)]
    return {
        "bundle": bundle,
        "manifests": manifests,
        "namespaces": sorted(m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"),
    }


def named(manifests, kind: str, namespace: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind and m["metadata"].get("namespace") == namespace}


def peers(policy: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    key = "from" if direction == "ingress" else "to"
    return [peer for rule in policy["spec"].get(direction, []) for peer in rule[key]]


def namespace_peers(policy: dict[str, Any], direction: str) -> set[str]:
    return {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for peer in peers(policy, direction)
        if "namespaceSelector" in peer
    }


def test_every_owned_namespace_denies_by_default_in_both_layers(demo):
    assert len(demo["namespaces"]) >= 10
    for namespace in demo["namespaces"]:
        network = named(demo["manifests"], "NetworkPolicy", namespace)["deny-by-default"]
        assert network["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        authorization = named(demo["manifests"], "AuthorizationPolicy", namespace)["deny-by-default"]
        assert authorization["spec"] == {}


def test_every_pod_resolves_names(demo):
    for namespace in demo["namespaces"]:
        dns = named(demo["manifests"], "NetworkPolicy", namespace)["allow-dns-out"]
        (rule,) = dns["spec"]["egress"]
        assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                               "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
        assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}


def test_the_gateways_reach_exactly_the_namespaces_their_routes_name(demo):
    routes = gateway_routes([m for m in demo["manifests"] if m["kind"] == "VirtualService"])
    assert routes[contract.INTERNAL_GATEWAY_NAMESPACE] == {"mojaloop", "keycloak", "ory"}
    assert routes[contract.EXTERNAL_GATEWAY_NAMESPACE] == {"mojaloop", "keycloak"}
    for gateway, destinations in routes.items():
        egress = named(demo["manifests"], "NetworkPolicy", gateway)["allow-gateway-out"]
        # Oathkeeper (ory) is also the internal gateway's ext-authz service.
        assert namespace_peers(egress, "egress") == destinations | ({"ory"} if gateway.endswith("int") else set())
        for destination in destinations:
            ingress = named(demo["manifests"], "NetworkPolicy", destination)["allow-gateway-in"]
            assert gateway in namespace_peers(ingress, "ingress")
    keycloak = named(demo["manifests"], "NetworkPolicy", "keycloak")["allow-gateway-in"]
    assert {p["port"] for rule in keycloak["spec"]["ingress"] for p in rule["ports"]} == {8080}


def test_mojaloop_talks_to_its_backend_and_sends_callbacks_through_the_egress_gateway(demo):
    policies = named(demo["manifests"], "NetworkPolicy", "mojaloop")
    assert namespace_peers(policies["allow-same-namespace-in"], "ingress") == {"mojaloop"}
    assert namespace_peers(policies["allow-callbacks-out"], "egress") == {contract.EGRESS_GATEWAY_NAMESPACE}
    # Only the Helm test pods reach outside, for their test cases, on 443.
    tests = policies["allow-test-cases-out"]
    assert set(tests["spec"]["podSelector"]["matchExpressions"][0]["values"]) >= {"ml-ttk-test-setup", "ml-ttk-test-val-gp"}
    blocks = [peer["ipBlock"] for peer in peers(tests, "egress")]
    assert blocks == [{"cidr": "0.0.0.0/0", "except": ["10.42.0.0/16", "10.43.0.0/16"]}, {"cidr": "::/0"}]
    egress = named(demo["manifests"], "NetworkPolicy", contract.EGRESS_GATEWAY_NAMESPACE)
    assert namespace_peers(egress["allow-callbacks-in"], "ingress") == {"mojaloop"}


def test_only_controllers_reach_the_api_server_and_only_the_api_server_calls_their_webhooks(demo):
    with_api = {
        m["metadata"]["namespace"] for m in demo["manifests"]
        if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "allow-kubernetes-api-out"
    }
    assert with_api == {"cert-manager", "external-secrets", "istio-system", "keycloak", "ory"}
    api = named(demo["manifests"], "NetworkPolicy", "istio-system")["allow-kubernetes-api-out"]
    # The `kubernetes` Service, and the demo's one server on 6443.
    assert {(p["ipBlock"]["cidr"], r["ports"][0]["port"]) for r in api["spec"]["egress"] for p in r["to"]} >= {
        ("10.43.0.1/32", 443), ("192.0.2.11/32", 6443)
    }
    webhooks = named(demo["manifests"], "NetworkPolicy", "istio-system")["allow-webhooks-in"]
    # The server's address, and the pod network (k3s' API server reaches pods on other nodes through flannel).
    assert [p["ipBlock"]["cidr"] for p in peers(webhooks, "ingress")] == ["192.0.2.11/32", "10.42.0.0/16"]


def test_meshed_mojaloop_accepts_only_its_own_pods_and_the_gateways_identities(demo):
    allow = named(demo["manifests"], "AuthorizationPolicy", "mojaloop")["allow-known-peers"]
    sources = allow["spec"]["rules"][0]["from"]
    assert {"source": {"namespaces": ["mojaloop"]}} in sources
    (principals,) = [s["source"]["principals"] for s in sources if "principals" in s["source"]]
    assert principals == [
        f"cluster.local/ns/{contract.INTERNAL_GATEWAY_NAMESPACE}/sa/{contract.INTERNAL_GATEWAY_NAME}",
        f"cluster.local/ns/{contract.EXTERNAL_GATEWAY_NAMESPACE}/sa/{contract.EXTERNAL_GATEWAY_NAME}",
    ]


def test_every_policy_validates_against_its_schema(demo):
    policies = [m for m in demo["manifests"] if m["kind"] in ("NetworkPolicy", "AuthorizationPolicy")]
    assert len(policies) > 40
    for policy in policies:
        if is_core(policy):
            validate_core(policy, "1.28")
        else:
            validate_custom(policy)


def test_the_bundle_files_are_where_the_readme_says(demo):
    path = demo["bundle"] / "manifests" / "mojaloop" / "NetworkPolicy-deny-by-default.yaml"
    assert yaml.safe_load(path.read_text())["kind"] == "NetworkPolicy"


def test_external_secrets_reaches_the_control_centers_vault_on_443(demo):
    vault = named(demo["manifests"], "NetworkPolicy", "external-secrets")["allow-vault-out"]
    assert [p["port"] for rule in vault["spec"]["egress"] for p in rule["ports"]] == [443]


def test_a_vault_address_with_a_port_opens_that_port(tmp_path: Path):
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    env = stack["config"]["mojaloop:environment"]
    env.pop("controlCenterStack")
    env["vault"] = {"address": "https://vault.demo.example:8200"}
    path = tmp_path / "Pulumi.own-vault.yaml"
    path.write_text(yaml.safe_dump(stack))
    plan_stack(str(path), tmp_path / "bundle")
    vault = yaml.safe_load((tmp_path / "bundle" / "manifests" / "external-secrets" / "NetworkPolicy-allow-vault-out.yaml").read_text())
    assert [p["port"] for rule in vault["spec"]["egress"] for p in rule["ports"]] == [8200]


@pytest.mark.parametrize("stack", ["control-center", "control-center-aws"])
def test_the_control_center_denies_by_default_too(stack, tmp_path: Path):
    plan_stack(stack, tmp_path / "bundle")
    manifests = [document for _, document in bundle_manifests(tmp_path / "bundle")]
    namespaces = sorted(m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace")
    assert {"vault", "minio", "registry-mirror", "istio-ingress-int", "external-secrets"} <= set(namespaces)
    for namespace in namespaces:
        assert named(manifests, "NetworkPolicy", namespace)["deny-by-default"]["spec"]["podSelector"] == {}
        assert named(manifests, "AuthorizationPolicy", namespace)["deny-by-default"]["spec"] == {}
    gateway = named(manifests, "NetworkPolicy", "istio-ingress-int")
    assert namespace_peers(gateway["allow-gateway-out"], "egress") == {"vault", "minio", "registry-mirror"}
    # The gateway passes TLS through on 443; nothing else reaches it through the mesh's deny-by-default.
    allow = named(manifests, "AuthorizationPolicy", "istio-ingress-int")["allow-passthrough"]
    assert allow["spec"]["rules"] == [{"to": [{"operation": {"ports": ["443"]}}]}]
    vault_out = named(manifests, "NetworkPolicy", "vault")["allow-outside-out"]
    assert {p["port"] for rule in vault_out["spec"]["egress"] for p in rule["ports"]} == {443, 6443}
    assert namespace_peers(named(manifests, "NetworkPolicy", "vault")["allow-same-namespace-in"], "ingress") == {"vault"}
    if stack == "control-center-aws":
        hub = named(manifests, "NetworkPolicy", "wireguard")["allow-peers-in"]
        assert [(p["protocol"], p["port"]) for rule in hub["spec"]["ingress"] for p in rule["ports"]] == [("UDP", 51820)]
    for policy in (m for m in manifests if m["kind"] in ("NetworkPolicy", "AuthorizationPolicy")):
        validate_core(policy, "1.33") if is_core(policy) else validate_custom(policy)
