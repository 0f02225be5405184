"""Mojaloop and its backend in the mesh: sidecars (istio-cni, native sidecars), shown on the real charts.

The demo's plan is rendered with the real Mojaloop 15.2.0 and example-mojaloop-backend 15.0.0 charts
(served on loopback, `helm template` with the plan's own values): every pod they create lands in a
namespace the plan labels for injection, and none opts out, Helm test pods and Jobs included (their proxy
is a native sidecar, so they still finish).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mojaloop_iac.config.load import validate_namespace
from mojaloop_iac.plan.run import plan_stack
from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS
from mojaloop_iac.planners.platform import plan_platform
from mojaloop_iac.planners.sidecars import k3s_cni_bin_dir, plan_sidecars
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401
from tests.test_chart_repository import run_helm

DEMO = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text(encoding="utf-8"))
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod")
OPT_OUT = ("sidecar.istio.io/inject",)


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "bundle"
    plan_stack("demo", out)
    return out


def namespace_labels(bundle: Path) -> dict[str, dict[str, str]]:
    resources = json.loads((bundle / "plan.json").read_text())["resources"]
    return {
        r["inputs"]["metadata"]["name"]: r["inputs"]["metadata"]["labels"]
        for r in resources
        if r["type"] == "kubernetes:core/v1:Namespace"
    }


def release(bundle: Path, name: str) -> tuple[dict[str, Any], Path]:
    return yaml.safe_load((bundle / "helm" / name / "release.yaml").read_text()), bundle / "helm" / name / "values.yaml"


def render(helm: Path, repo: ChartRepository, tmp_path: Path, bundle: Path, name: str) -> list[dict[str, Any]]:  # noqa: F811
    spec, values = release(bundle, name)
    run_helm(helm, tmp_path, "pull", spec["chart"], "--repo", repo.url, "--version", spec["version"], "-d", str(tmp_path))
    rendered = run_helm(
        helm, tmp_path, "template", spec["name"], str(tmp_path / f"{spec['chart']}-{spec['version']}.tgz"),
        "-n", spec["namespace"], "-f", str(values), "--kube-version", "1.28",
    )
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def pod_template(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "Pod":
        return doc
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]
    return doc["spec"]["template"]


def test_the_mojaloop_namespace_is_labelled_for_injection_and_istio_cni_is_planned(demo_bundle):
    labels = namespace_labels(demo_bundle)
    assert labels["mojaloop"]["istio-injection"] == "enabled"
    # Pod Security stays `baseline`: istio-cni redirects traffic, so no pod needs a NET_ADMIN init container.
    assert labels["mojaloop"]["pod-security.kubernetes.io/enforce"] == "baseline"
    # Only istio-cni's own namespace runs privileged pods; nothing else joins the mesh by label.
    assert labels["istio-cni"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert [name for name, values in labels.items() if values.get("istio-injection")] == ["mojaloop"]
    cni, cni_values = release(demo_bundle, "istio-cni")
    assert cni["chart"] == "cni" and cni["namespace"] == "istio-cni" and cni["version"] == "1.24.6"
    assert yaml.safe_load(cni_values.read_text())["cniBinDir"] == "/var/lib/rancher/k3s/data/cni"
    istiod = yaml.safe_load(release(demo_bundle, "istiod")[1].read_text())
    assert istiod["cni"] == {"enabled": True}
    assert istiod["env"]["ENABLE_NATIVE_SIDECARS"] == "true"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["moja", "backend"])
def test_every_pod_of_the_rendered_mojaloop_charts_would_get_a_sidecar(
    demo_bundle, helm: Path, chart_repository: ChartRepository, tmp_path: Path, name: str  # noqa: F811
):
    spec, _ = release(demo_bundle, name)
    injected = {ns for ns, labels in namespace_labels(demo_bundle).items() if labels.get("istio-injection") == "enabled"}
    documents = render(helm, chart_repository, tmp_path, demo_bundle, name)
    pods = [doc for doc in documents if doc["kind"] in WORKLOADS]
    assert len(pods) > 5
    for doc in pods:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert doc["metadata"].get("namespace", spec["namespace"]) in injected, where
        template = pod_template(doc)
        metadata = template.get("metadata") or {}
        for opt_out in OPT_OUT:
            assert (metadata.get("annotations") or {}).get(opt_out) != "false", where
            assert (metadata.get("labels") or {}).get(opt_out) != "false", where
        # The injector leaves host-network pods alone: none here.
        assert not template["spec"].get("hostNetwork"), where
    kinds = {doc["kind"] for doc in pods}
    if name == "moja":
        # The golden-path collections run as Helm test pods; they keep their proxy (a native sidecar).
        tests = [doc for doc in pods if (doc["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]
        assert {doc["metadata"]["name"] for doc in tests} >= {"moja-ml-ttk-test-setup", "moja-ml-ttk-test-val-gp"}
    else:
        assert "Job" in kinds  # the Kafka provisioning hook, meshed too


@pytest.mark.slow
def test_the_real_istiod_chart_injects_native_sidecars_with_istio_cni(
    helm: Path, chart_repository: ChartRepository, tmp_path: Path  # noqa: F811
):
    # The charts here are Istio 1.30.3, the release Kubernetes 1.32 and later get.
    env = copy.deepcopy(DEMO["config"]["mojaloop:environment"])
    env.update(kubernetes={"version": "1.33"}, mojaloop={"release": "17.0.0"})
    cluster = validate_namespace({"environment": env}).config.cluster
    (istiod,) = [r for layer in plan_platform(cluster, STORAGE_CLASS[cluster.substrate]).layers
                 for r in layer.releases if r.name == "istiod"]
    assert istiod.version == "1.30.3"
    values = tmp_path / "istiod.yaml"
    values.write_text(yaml.safe_dump(istiod.values))
    run_helm(helm, tmp_path, "pull", "istiod", "--repo", chart_repository.url, "--version", "1.30.3", "-d", str(tmp_path))
    rendered = run_helm(helm, tmp_path, "template", "istiod", str(tmp_path / "istiod-1.30.3.tgz"), "-n", "istio-system",
                        "-f", str(values))
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    env_vars = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env_vars["ENABLE_NATIVE_SIDECARS"] == "true"
    (injector,) = [d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "istio-sidecar-injector"]
    assert json.loads(injector["data"]["values"])["pilot"]["cni"]["enabled"] is True


def test_clusters_without_native_sidecars_keep_mojaloop_out_of_the_mesh_and_say_so():
    assert plan_sidecars("1.27", "baremetal") is None
    assert plan_sidecars("1.28", "aws") is None  # EKS cannot turn the alpha gate on
    assert plan_sidecars("1.28", "baremetal").feature_gate is True
    assert plan_sidecars("1.29", "baremetal").feature_gate is False
    assert plan_sidecars("1.32", "aws").cni_bin_dir is None  # the chart's /opt/cni/bin on EKS
    env = copy.deepcopy(DEMO["config"]["mojaloop:environment"])
    env.update(kubernetes={"version": "1.27"}, mojaloop={"release": "15.1.0"})
    cluster = validate_namespace({"environment": env}).config.cluster
    planned = plan_platform(cluster, STORAGE_CLASS[cluster.substrate])
    assert planned.sidecars is None
    assert not [r for layer in planned.layers for r in layer.releases if r.name == "istio-cni"]
    assert any("runs outside the mesh" in note for note in planned.warnings)


@pytest.mark.parametrize(
    ("k3s", "directory"),
    [
        ("v1.27.16+k3s1", "/var/lib/rancher/k3s/data/current/bin"),
        ("v1.28.14+k3s1", "/var/lib/rancher/k3s/data/current/bin"),
        ("v1.28.15+k3s1", "/var/lib/rancher/k3s/data/cni"),
        ("v1.31.1+k3s1", "/var/lib/rancher/k3s/data/current/bin"),
        ("v1.33.13+k3s1", "/var/lib/rancher/k3s/data/cni"),
    ],
)
def test_istio_cni_finds_the_k3s_release_s_cni_plugins(k3s, directory):
    assert k3s_cni_bin_dir(k3s) == directory
