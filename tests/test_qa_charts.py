"""Two QA environments side by side on one cluster, checked against the real charts: the Mojaloop 15.2.0
umbrella chart and its backend chart, rendered with `helm template` twice with the two QA environments'
planned values, create nothing cluster-wide and nothing outside their own namespace, so the releases do
not clash; and the planned NetworkPolicies keep each environment's workloads from the other's services."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mojaloop_iac.cli import main
from mojaloop_iac.plan.bundle import CLUSTER_SCOPED_KINDS
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401
from tests.support.manifests import bundle_manifests
from tests.support.network_policy import Pod, ingress_allowed

pytestmark = pytest.mark.slow
QA_IDS = ("pr-1", "pr-2")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    workdir = tmp_path_factory.mktemp("qa-side-by-side")
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        found = {}
        for qa_id in QA_IDS:
            out = workdir / qa_id
            assert main(["qa", "plan", "demo", "--id", qa_id, "--shared-cluster", "qa-cluster",
                         "--now", "2025-06-01T12:00:00Z", "--out", str(out), "-q"]) == 0
            found[f"demo-{qa_id}"] = out
        return found
    finally:
        os.chdir(previous)


def render(helm: Path, repository: ChartRepository, workdir: Path, release: dict[str, Any], values: Path) -> list[dict]:
    env = {**os.environ, **{f"HELM_{kind}_HOME": str(workdir / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")}}
    done = subprocess.run(
        [str(helm), "template", release["name"], release["chart"], "--repo", repository.url, "--version",
         release["version"], "--namespace", release["namespace"], "-f", str(values), "--kube-version", "1.32"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [document for document in yaml.safe_load_all(done.stdout) if document]


@pytest.fixture(scope="module")
def rendered(bundles, helm, chart_repository, tmp_path_factory) -> dict[str, dict[str, list[dict]]]:  # noqa: F811
    workdir = tmp_path_factory.mktemp("helm")
    result: dict[str, dict[str, list[dict]]] = {}
    for environment, bundle in bundles.items():
        result[environment] = {}
        for release_dir in sorted((bundle / "helm").iterdir()):
            release = yaml.safe_load((release_dir / "release.yaml").read_text())
            # The charts' own repository is unreachable: the same chart, served on loopback.
            result[environment][release["chart"]] = render(helm, chart_repository, workdir, release,
                                                           release_dir / "values.yaml")
    return result


def test_both_releases_install_the_real_charts_into_their_own_namespace(bundles, rendered):
    for environment in bundles:
        assert set(rendered[environment]) == {"mojaloop", "example-mojaloop-backend"}
        for chart, documents in rendered[environment].items():
            assert documents, chart
            for document in documents:
                kind, metadata = document["kind"], document["metadata"]
                assert kind not in CLUSTER_SCOPED_KINDS, f"{chart} renders cluster-scoped {kind} {metadata['name']}"
                assert metadata.get("namespace", environment) == environment, (chart, kind, metadata)


def test_the_two_releases_share_no_object_and_no_host(rendered):
    objects = {
        environment: {(d["kind"], d["metadata"].get("namespace", environment), d["metadata"]["name"])
                      for documents in charts.values() for d in documents}
        for environment, charts in rendered.items()
    }
    first, second = (objects[f"demo-{qa_id}"] for qa_id in QA_IDS)
    assert first.isdisjoint(second)
    # Same release names in both (`moja`, `backend`): namespaced objects only, so Helm keeps them apart.
    assert {name for _, _, name in first} == {name for _, _, name in second}
    text = {environment: json.dumps(charts["mojaloop"]) for environment, charts in rendered.items()}
    assert "ttk-api.demo-pr-1.int.qa.mojaloop.example" in text["demo-pr-1"]
    assert "demo-pr-2" not in text["demo-pr-1"] and "demo-pr-1" not in text["demo-pr-2"]


def test_services_wait_for_the_backend_in_init_containers(rendered):
    """Why an ephemeral first install may run the backend and umbrella releases side by side
    (planners.mojaloop_release.backend_first): every service reading MySQL, Kafka or MongoDB waits for
    them itself. The ones that do not wait touch no backend (simulators, their caches, the TTK frontend),
    except transaction-requests-service, which restarts until it gets its answers."""
    workloads = [d for d in rendered["demo-pr-1"]["mojaloop"] if d["kind"] in ("Deployment", "StatefulSet")]
    waiting = {d["metadata"]["name"] for d in workloads
               if any(c["name"].startswith("wait-for-") for c in d["spec"]["template"]["spec"].get("initContainers") or [])}
    not_waiting = {d["metadata"]["name"].removeprefix("moja-") for d in workloads} - {
        name.removeprefix("moja-") for name in waiting}
    expected = {"ml-testing-toolkit-frontend", "simulator", "transaction-requests-service"} | {
        f"sim-{fsp}-{part}" for fsp in ("payerfsp", "payeefsp", "testfsp1", "testfsp2", "testfsp3", "testfsp4")
        for part in ("backend", "cache")
    }
    assert not_waiting == expected
    assert {"moja-centralledger-service", "moja-account-lookup-service", "moja-ml-testing-toolkit-backend"} <= waiting


def test_one_qa_environments_workloads_cannot_reach_the_others(bundles, rendered):
    policies, namespace_labels = [], {"istio-ingress-int": {"kubernetes.io/metadata.name": "istio-ingress-int"},
                                      "default": {"kubernetes.io/metadata.name": "default"}}
    for bundle in bundles.values():
        for _, manifest in bundle_manifests(bundle):
            if manifest["kind"] == "NetworkPolicy":
                policies.append(manifest)
            elif manifest["kind"] == "Namespace":
                name = manifest["metadata"]["name"]
                namespace_labels[name] = {**manifest["metadata"]["labels"], "kubernetes.io/metadata.name": name}

    def pods(environment: str) -> list[Pod]:
        return [Pod(environment, d["spec"]["template"]["metadata"].get("labels") or {})
                for d in rendered[environment]["mojaloop"] if d["kind"] in ("Deployment", "StatefulSet")]

    one, two = (pods(f"demo-{qa_id}") for qa_id in QA_IDS)
    assert len(policies) == 2
    for source, target in ((one[0], two[1]), (two[0], one[1])):
        assert not ingress_allowed(policies, namespace_labels, source, target)
    assert ingress_allowed(policies, namespace_labels, one[0], one[1])
    assert ingress_allowed(policies, namespace_labels, Pod("istio-ingress-int", {"istio": "x"}), one[1])
    assert not ingress_allowed(policies, namespace_labels, Pod("default", {}), one[1])
