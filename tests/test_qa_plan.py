"""`mojactl qa plan`: the bundle of a QA environment keeps nothing after destroy, carries its ID
everywhere, shows its time to verdict, and two IDs share nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mojaloop_iac.cli import main
from mojaloop_iac.paths import REPO_ROOT
from tests.support.manifests import bundle_manifests, is_core, validate_core, validate_custom

NOW = "2025-06-01T12:00:00Z"
# Targets of the issue, in seconds (modelled from the plan, config/durations.yaml).
SHARED_CLUSTER_TARGET, BAREMETAL_TARGET, EKS_TARGET = 15 * 60, 25 * 60, 35 * 60


def qa_plan(workdir: Path, template: str, qa_id: str, *extra: str) -> Path:
    out = workdir / f"bundle-{template}-{qa_id}"
    code = main(["qa", "plan", template, "--id", qa_id, "--now", NOW, "--out", str(out), "-q", *extra])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("qa")


@pytest.fixture(scope="module")
def bundles(workdir: Path) -> dict[str, Path]:
    # The derived stack files land in out/qa relative to the working directory: keep them out of the project.
    previous = Path.cwd()
    import os

    os.chdir(workdir)
    try:
        return {
            "pr-123": qa_plan(workdir, str(REPO_ROOT / "stacks/Pulumi.demo.yaml"), "pr-123"),
            "pr-124": qa_plan(workdir, "demo", "pr-124"),
            "shared-1": qa_plan(workdir, "demo", "pr-1", "--shared-cluster", "qa-cluster"),
            "shared-2": qa_plan(workdir, "demo", "pr-2", "--shared-cluster", "qa-cluster"),
            "eks": qa_plan(workdir, "aws-dev", "pr-7"),
        }
    finally:
        os.chdir(previous)


def plan_of(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "plan.json").read_text())


def test_no_resource_is_protected_or_retained(bundles):
    for key, bundle in bundles.items():
        kept = [(r["name"], r["options"]) for r in plan_of(bundle)["resources"]
                if r["options"].get("protect") or r["options"].get("retainOnDelete")]
        assert kept == [], f"{key}: {kept}"


def test_secrets_are_deleted_on_destroy_and_the_vault_access_goes_with_the_environment(bundles):
    resources = plan_of(bundles["pr-123"])["resources"]
    secrets = [r for r in resources if r["type"].endswith(":GeneratedSecret")]
    assert secrets and all(r["inputs"]["retain_on_delete"] is False for r in secrets)
    # Shared objects of the Vault (KV mount, password policies) are not the QA environment's to manage.
    kinds = {r["type"].rsplit(":", 1)[-1] for r in resources if "mojaloop-vault" in r["type"]}
    assert kinds == {"GeneratedSecret", "KubernetesAuthMount", "AclPolicy", "KubernetesAuthRole"}
    hosts = next(r for r in resources if r["name"].endswith("-cluster-hosts"))
    assert hosts["inputs"]["reset_on_delete"] is True


def test_eks_qa_environment_has_no_deletion_protection_and_the_shortest_key_window(bundles):
    resources = plan_of(bundles["eks"])["resources"]
    cluster = next(r for r in resources if r["type"] == "aws:eks/cluster:Cluster")
    key = next(r for r in resources if r["type"] == "aws:kms/key:Key")
    assert cluster["inputs"].get("deletionProtection") is False
    assert key["inputs"]["deletionWindowInDays"] == 7


def test_persistent_environments_keep_their_protections(tmp_path):
    assert main(["plan", "aws-dev", "--out", str(tmp_path), "-q"]) == 0
    resources = plan_of(tmp_path)["resources"]
    cluster = next(r for r in resources if r["type"] == "aws:eks/cluster:Cluster")
    key = next(r for r in resources if r["type"] == "aws:kms/key:Key")
    assert cluster["options"].get("protect") and cluster["inputs"]["deletionProtection"] is True
    assert key["options"].get("protect") and key["inputs"]["deletionWindowInDays"] == 30


def names_and_domains(bundle: Path) -> dict[str, set[str]]:
    plan = plan_of(bundle)
    resources = plan["resources"]
    manifests = [body for _, body in bundle_manifests(bundle)]
    namespaced = {m["metadata"]["namespace"] for m in manifests if m["metadata"].get("namespace")}
    return {
        "stack": {plan["stack"]},
        "namespaces": {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"},
        "mojaloop namespace": {r["inputs"]["namespace"] for r in resources
                               if r["type"] == "kubernetes:helm.sh/v3:Release" and r["inputs"]["chart"] == "mojaloop"},
        "hosts": {host for m in manifests if m["kind"] in ("VirtualService", "Gateway")
                  for host in m["spec"].get("hosts") or [h for s in m["spec"].get("servers", []) for h in s["hosts"]]},
        "vault paths": {r["inputs"]["path"] for r in resources if r["type"].endswith(":GeneratedSecret")},
        "vault access": {r["inputs"].get("role") or r["inputs"].get("name") or r["inputs"]["path"]
                         for r in resources if r["type"].rsplit(":", 1)[-1] in ("KubernetesAuthRole", "AclPolicy", "KubernetesAuthMount")},
        "objects in own namespaces": namespaced,
    }


def test_every_name_and_domain_carries_the_id(bundles):
    found = names_and_domains(bundles["pr-123"])
    assert found["stack"] == {"demo-pr-123"}
    assert found["mojaloop namespace"] == {"demo-pr-123"}
    assert found["hosts"] and all("pr-123" in host for host in found["hosts"])
    assert found["vault paths"] and all("/demo-pr-123/" in path for path in found["vault paths"])
    assert {"kubernetes-demo-pr-123", "env-demo-pr-123-read"} <= found["vault access"]
    plan = plan_of(bundles["pr-123"])
    assert plan["outputs"]["qa"]["id"] == "pr-123" and plan["outputs"]["kubeconfig"] == "[secret]"


def test_two_ids_give_disjoint_names_namespaces_and_vault_paths(bundles):
    for one, two in (("pr-123", "pr-124"), ("shared-1", "shared-2")):
        first, second = names_and_domains(bundles[one]), names_and_domains(bundles[two])
        for key in ("stack", "mojaloop namespace", "hosts", "vault paths"):
            assert first[key].isdisjoint(second[key]), (one, two, key, first[key] & second[key])
    # Side by side on one cluster, even the Vault objects and the namespaces differ.
    first, second = names_and_domains(bundles["shared-1"]), names_and_domains(bundles["shared-2"])
    assert first["namespaces"].isdisjoint(second["namespaces"])
    assert first["vault access"].isdisjoint(second["vault access"])


def test_on_a_shared_cluster_nothing_cluster_wide_is_installed_or_changed(bundles):
    for key in ("shared-1", "shared-2"):
        bundle = bundles[key]
        resources = plan_of(bundle)["resources"]
        charts = {r["inputs"]["chart"] for r in resources if r["type"] == "kubernetes:helm.sh/v3:Release"}
        assert charts == {"mojaloop", "example-mojaloop-backend"}
        cluster_scoped = {(m["kind"], m["metadata"]["name"]) for path, m in bundle_manifests(bundle) if "/_cluster/" in str(path)}
        namespace = f"demo-{key.replace('shared', 'pr')}"
        assert cluster_scoped == {("Namespace", namespace),
                                  ("ClusterRoleBinding", f"vault-secrets-reader-{namespace}-auth-delegator")}
        assert not any(r["type"] in ("kubernetes:core/v1:NodePatch", "pulumi-python:dynamic:Resource") for r in resources)
        # Its Vault side is one role on the shared cluster's mount, bound to its own namespace, and its secrets.
        role = next(r for r in resources if r["type"].endswith(":KubernetesAuthRole"))
        assert (role["inputs"]["mount"], role["inputs"]["role"]) == ("kubernetes-qa-cluster", f"qa-{namespace}")
        assert role["inputs"]["bound_service_account_namespaces"] == [namespace]
        assert role["inputs"]["policies"] == ["env-qa-cluster-qa-read"]
        vault_kinds = {r["type"].rsplit(":", 1)[-1] for r in resources if "mojaloop-vault" in r["type"]}
        assert vault_kinds == {"GeneratedSecret", "KubernetesAuthRole"}
        # Its hosts are on a Gateway of its own (and its certificate), on the shared gateway pods.
        manifests = {(m["kind"], m["metadata"]["name"]): m for _, m in bundle_manifests(bundle)}
        gateway = manifests[("Gateway", f"{namespace}-internal")]
        assert gateway["metadata"]["namespace"] == "istio-ingress-int"
        assert gateway["spec"]["selector"] == {"istio": "istio-internal-ingress-gw"}
        routes = [m for m in manifests.values() if m["kind"] == "VirtualService"]
        assert routes and all(m["spec"]["gateways"] == [f"istio-ingress-int/{namespace}-internal"] for m in routes)


def test_the_qa_profile_leaves_out_identity_and_unused_gateways(bundles):
    charts = {r["inputs"]["chart"] for r in plan_of(bundles["pr-123"])["resources"]
              if r["type"] == "kubernetes:helm.sh/v3:Release"}
    assert {"keto", "kratos", "oathkeeper", "mysql"}.isdisjoint(charts)
    releases = {r["inputs"]["name"] for r in plan_of(bundles["pr-123"])["resources"]
                if r["type"] == "kubernetes:helm.sh/v3:Release"}
    assert "istio-internal-ingress-gw" in releases
    assert {"istio-external-ingress-gw", "callback-egress-gateway"}.isdisjoint(releases)
    values = yaml.safe_load((bundles["pr-123"] / "helm/moja/values.yaml").read_text())
    assert values["centralledger"]["centralledger-service"]["replicaCount"] == 1
    assert values["centralledger"]["centralledger-service"]["resources"]["requests"]["cpu"] == "50m"
    backend = yaml.safe_load((bundles["pr-123"] / "helm/backend/values.yaml").read_text())
    assert backend["mysql"]["primary"]["persistence"]["size"] == "2Gi"


def test_namespaces_are_isolated_by_network_policy(bundles):
    manifests = {(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]): m
                 for _, m in bundle_manifests(bundles["shared-1"])}
    policy = manifests[("NetworkPolicy", "demo-pr-1", "qa-isolation")]
    namespace = manifests[("Namespace", None, "demo-pr-1")]
    assert namespace["metadata"]["labels"]["mojaloop.io/environment"] == "demo-pr-1"
    assert policy["spec"]["policyTypes"] == ["Ingress"] and policy["spec"]["podSelector"] == {}


def test_qa_bundles_are_valid_kubernetes(bundles):
    for bundle in bundles.values():
        for path, body in bundle_manifests(bundle):
            if is_core(body):
                validate_core(body, "1.32")
            else:
                validate_custom(body)


def summary(bundle: Path) -> str:
    return (bundle / "summary.md").read_text()


def verdict_seconds(bundle: Path) -> int:
    return plan_of(bundle)["timeToReady"]["verdictSeconds"]


def test_the_summary_shows_the_critical_path_and_the_time_to_verdict(bundles):
    text = summary(bundles["pr-123"])
    assert "## Time to ready" in text and "Modelled time to verdict" in text
    assert "`demo-pr-123-cluster-hosts`" in text and "`demo-pr-123-mojaloop-umbrella` (mojaloop)" in text
    path = plan_of(bundles["pr-123"])["timeToReady"]["criticalPath"]
    assert [step["name"] for step in path][0] == "demo-pr-123-cluster-hosts"
    assert all(later["starts"] >= earlier["starts"] + earlier["seconds"] for earlier, later in zip(path, path[1:]))


def test_modelled_time_to_verdict_meets_the_targets(bundles):
    assert verdict_seconds(bundles["shared-1"]) <= SHARED_CLUSTER_TARGET
    assert verdict_seconds(bundles["pr-123"]) <= BAREMETAL_TARGET
    assert verdict_seconds(bundles["eks"]) <= EKS_TARGET


def test_the_derived_stack_files_are_written_and_deterministic(workdir):
    files = sorted((workdir / "out" / "qa").glob("Pulumi.*.yaml"))
    assert [f.name for f in files] == [
        "Pulumi.aws-dev-pr-7.yaml", "Pulumi.demo-pr-1.yaml", "Pulumi.demo-pr-123.yaml",
        "Pulumi.demo-pr-124.yaml", "Pulumi.demo-pr-2.yaml",
    ]
    text = (workdir / "out/qa/Pulumi.demo-pr-123.yaml").read_text()
    assert "derived from stacks/Pulumi.demo.yaml" in text and str(workdir) not in text
