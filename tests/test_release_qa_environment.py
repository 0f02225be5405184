"""`mojactl release validate` on an ephemeral QA environment (mojaloop_iac.release.qa_environment).

No Pulumi CLI, cluster or Kubernetes API server can run here, so the run goes end to end against stand-ins
for exactly those three: the fake QA workspace the `mojactl qa` tests use (it records each `pulumi up`
with the stack file it was handed and its `--target`s), the `helm` stand-in printing real-format `helm test`
output, and pods built from the real backend chart rendered by the pinned Helm. Everything else is real:
the QA derivation and validation of each stack file, the offline plan that names a backend step's
resources, the verdicts, the report. The Kubernetes client itself is exercised against a loopback HTTP
server answering the pod list as the API server does; its exec (a websocket) never ran here.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from mojaloop_iac import cli
from mojaloop_iac.catalog import load_catalog
from mojaloop_iac.charts import ChartRef, ChartRepositories, render_chart
from mojaloop_iac.commands import release as release_command
from mojaloop_iac.kubeapi.pods import KubernetesPods
from mojaloop_iac.qa.stacks import HOST_SLOT_TAG, QA_TAG
from mojaloop_iac.release import qa_environment
from mojaloop_iac.release.environment import EnvironmentOptions
from mojaloop_iac.release.kafka_topics import kafka_pod, kafka_selector
from mojaloop_iac.release.orchestrator import ValidationInterrupted, run_validation
from mojaloop_iac.release.qa_environment import QaValidationEnvironment
from mojaloop_iac.release.validation import plan_validation
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401
from tests.support.helm_standin import helm_stand_in
from tests.support.qa_workspace import FakeWorkspace

CANDIDATE = "16.0.0-rc.20240129"
NOW = "2026-12-07T10:00:00Z"
GOLDEN = ("ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-cleanup")
GATE = ("ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-val-bulk", "ml-ttk-test-setup-tp",
        "ml-ttk-test-val-tp", "ml-ttk-test-cleanup")
KUBECONFIG = "apiVersion: v1\nkind: Config\n"


def selected(pod: dict[str, Any], selector: str) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(key) == value for key, value in (term.split("=", 1) for term in selector.split(",") if term))


class ChartPods:
    """The pods a cluster would run for the real backend chart's workloads (one per replica), all Running;
    `exec` records the command and answers as kafka-topics.sh does."""

    def __init__(self, workloads: Sequence[dict[str, Any]], exec_exit: int = 0) -> None:
        self.items = [
            {"kind": "Pod", "metadata": {"name": f"{w['metadata']['name']}-0",
                                         "labels": w["spec"]["template"]["metadata"].get("labels") or {}},
             "spec": w["spec"]["template"]["spec"], "status": {"phase": "Running"}}
            for w in workloads
        ]
        self.exec_exit = exec_exit
        self.calls: list[tuple[str, ...]] = []
        self.kubeconfigs: list[str] = []

    def __call__(self, kubeconfig: str) -> ChartPods:
        self.kubeconfigs.append(kubeconfig)
        return self

    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        self.calls.append(("pods", namespace, selector))
        return [pod for pod in self.items if selected(pod, selector)]

    def exec(self, namespace: str, pod: str, container: str, command: Sequence[str]) -> tuple[int, str]:
        self.calls.append(("exec", namespace, pod, container, *command))
        return self.exec_exit, "Created topic" if self.exec_exit == 0 else "Error while executing topic command"


@pytest.fixture(scope="module")
def backend_workloads(chart_repository: ChartRepository, helm: Path, tmp_path_factory) -> list[dict[str, Any]]:  # noqa: F811
    """The StatefulSets and Deployments of the real example-mojaloop-backend 15.0.0 chart."""
    repositories = ChartRepositories(tmp_path_factory.mktemp("charts"), mirror=chart_repository.url)
    chart = repositories.fetch(ChartRef("https://mojaloop.github.io/helm/repo", "example-mojaloop-backend", "15.0.0"))
    rendered = render_chart(helm, chart.path, "backend", "mojaloop", {}, "1.32")
    return [o.body for o in rendered.objects if o.body["kind"] in ("StatefulSet", "Deployment")]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def environment(project: Path, workspace: FakeWorkspace, pods: ChartPods, helm_output: str = "bulk-tp-passed.txt",
                **options: Any) -> tuple[QaValidationEnvironment, Any]:
    stand_in = helm_stand_in(project / "helm", helm_output)
    settings = EnvironmentOptions(**{"shared_cluster": "qa-cluster", "log": project / "pulumi.log", **options})
    return QaValidationEnvironment("demo", settings, workspace, str(stand_in.helm), pods=pods,
                                   stack_dir=project / "qa", now=NOW), stand_in


def validate(env: QaValidationEnvironment, candidate: str = CANDIDATE, **kwargs: Any):
    return run_validation(plan_validation(load_catalog(), candidate, template="demo", **kwargs), env)


def mojaloop_settings(config: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    mojaloop = config["mojaloop:environment"]["mojaloop"]
    return mojaloop["release"], mojaloop.get("installedRelease"), mojaloop.get("features") or {}


# --- a whole run -------------------------------------------------------------------------------------------


def test_an_upgrade_rehearsal_derives_installs_upgrades_tests_measures_and_tears_down(project, backend_workloads):
    workspace, pods = FakeWorkspace(), ChartPods(backend_workloads)
    env, stand_in = environment(project, workspace, pods)
    report = validate(env)
    assert report.outcome == "passed" and report.passed, report.reason
    name = report.environment
    assert name == "demo-rv-16-0-0-rc20240129"
    # Two deployments of the derived QA stack: 15.2.0 as installed, then the upgrade as an operator sets it.
    assert workspace.calls == [f"up {name}", f"up {name}", f"destroy {name}"]
    first, second = workspace.ups
    assert mojaloop_settings(first.config) == ("15.2.0", None, {"bulk": True, "thirdParty": True})
    assert mojaloop_settings(second.config)[:2] == (CANDIDATE, "15.2.0")
    assert first.targets == second.targets == ()  # the umbrella step is a whole `pulumi up`
    qa = first.config["mojaloop:environment"]["qa"]
    assert qa["id"] == "rv-16-0-0-rc20240129" and qa["sharedCluster"]["stack"] == "qa-cluster"
    assert workspace.stacks_by_name == {}  # torn down, and the stack removed
    assert not (project / "qa" / f"Pulumi.{name}.yaml").exists()
    # The upgrade's operator step, done by the run: the topic, from the backend's Kafka pod.
    execs = [call for call in pods.calls if call[0] == "exec"]
    assert execs == [("exec", name, "kafka-0", "kafka", "/opt/bitnami/kafka/bin/kafka-topics.sh", "--create",
                      "--if-not-exists", "--bootstrap-server", "kafka:9092", "--replication-factor", "1",
                      "--partitions", "1", "--topic", "topic-transfer-position-batch")]
    assert set(pods.kubeconfigs) == {"k"}  # the stack's own kubeconfig output
    # helm test: the golden path as the baseline, then the gate, each only those suites, privately.
    tests = [call for call in stand_in.calls() if call[0] == "test"]
    assert [call[call.index("--filter") + 1] for call in tests] == [
        ",".join(f"name=moja-{suite}" for suite in GOLDEN), ",".join(f"name=moja-{suite}" for suite in GATE)]
    assert all(call[call.index("--namespace") + 1] == name for call in tests)
    assert all(seen == {"mode": "0o600", "text": "k"} for seen in stand_in.kubeconfigs())
    # The footprint is what runs in the namespace.
    assert report.footprint["pods"] == len(backend_workloads)
    assert "docker.io/bitnami/kafka:3.3.1-debian-11-r1" in report.footprint["images"]
    assert f"Updating ({name})" in (project / "pulumi.log").read_text()


def test_a_backend_step_updates_only_the_backend_release_and_what_it_reads(project, backend_workloads):
    workspace = FakeWorkspace()
    env, _ = environment(project, workspace, ChartPods(backend_workloads))
    report = validate(env, "17.0.0", previous_version="16.0.0")
    assert report.outcome == "passed", report.reason
    install, backend, umbrella = workspace.ups
    assert mojaloop_settings(install.config)[:2] == ("16.0.0", None)
    assert mojaloop_settings(backend.config)[:2] == mojaloop_settings(umbrella.config)[:2] == ("17.0.0", "16.0.0")
    releases = [urn for urn in backend.targets if ":helm.sh/v3:Release::" in urn]
    assert len(releases) == 1 and releases[0].endswith("-mojaloop-backend")
    assert backend.targets[-1] == releases[0]
    # What the backend release reads is in the update: its namespace and the ExternalSecrets of its passwords.
    assert any(":core/v1:Namespace::" in urn for urn in backend.targets)
    assert any("ExternalSecret::" in urn for urn in backend.targets)
    assert umbrella.targets == ()


def test_a_failed_deployment_ends_the_run_and_still_tears_down(project, backend_workloads):
    def broken() -> None:
        raise RuntimeError("helm: timed out waiting for the condition")

    workspace = FakeWorkspace(during_up=broken)
    env, _ = environment(project, workspace, ChartPods(backend_workloads))
    report = validate(env)
    assert report.outcome == "error"
    assert f"pulumi up of {report.environment} failed: helm: timed out waiting for the condition" in report.reason
    assert workspace.calls[-1] == f"destroy {report.environment}"


def test_ctrl_c_during_pulumi_up_stops_pulumi_and_tears_down(project, backend_workloads):
    def interrupted() -> None:
        raise KeyboardInterrupt

    workspace = FakeWorkspace(during_up=interrupted)
    env, _ = environment(project, workspace, ChartPods(backend_workloads))
    with pytest.raises(ValidationInterrupted) as caught:
        validate(env)
    name = caught.value.report.environment
    assert workspace.calls == [f"up {name}", "interrupt", f"destroy {name}"]
    assert caught.value.report.teardown_error is None


def test_a_topic_that_cannot_be_created_ends_the_run_naming_the_pod(project, backend_workloads):
    workspace = FakeWorkspace()
    env, _ = environment(project, workspace, ChartPods(backend_workloads, exec_exit=1))
    report = validate(env)
    assert report.outcome == "error"
    assert f"kafka-topics.sh in {report.environment}/kafka-0 exited 1" in report.reason


def test_nothing_is_destroyed_when_nothing_was_deployed(project, backend_workloads):
    """The host-pool slot the derivation picks is in use: provisioning stops before any `pulumi up`."""
    workspace = FakeWorkspace()
    env, _ = environment(project, workspace, ChartPods(backend_workloads), shared_cluster=None, host_slot="qa-slot-1")
    workspace.stacks_by_name["demo-pr-7"] = {QA_TAG: "true", HOST_SLOT_TAG: "qa-slot-1"}
    report = validate(env)
    assert report.outcome == "error" and "host-pool slot qa-slot-1 is in use by QA stack demo-pr-7" in report.reason
    assert workspace.calls == [] and report.teardown_error is None


def test_a_stack_the_release_cannot_run_on_is_refused_with_its_key(project, backend_workloads):
    """17.0.0 needs Kubernetes 1.29; the demo template's own cluster (not the shared one) is 1.28."""
    workspace = FakeWorkspace()
    env, _ = environment(project, workspace, ChartPods(backend_workloads), shared_cluster=None)
    report = validate(env, "17.0.0", previous_version="16.0.0")
    assert report.outcome == "error" and "is not valid: environment." in report.reason
    assert workspace.calls == []


# --- the parts -----------------------------------------------------------------------------------------------


def test_the_kafka_selector_and_pod_match_the_real_backend_chart(backend_workloads):
    pods = ChartPods(backend_workloads)
    selector = kafka_selector("backend", "15.0.0")
    assert selector == "app.kubernetes.io/instance=backend,app.kubernetes.io/name=kafka"
    assert kafka_pod(pods.pods("mojaloop", selector)) == "kafka-0"
    stopped = [{**pod, "status": {"phase": "Pending"}} for pod in pods.pods("mojaloop", selector)]
    with pytest.raises(LookupError, match=r"no running pod with a `kafka` container; pods found: kafka-0 \(Pending\)"):
        kafka_pod(stopped)


class _PodList(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [
            {"metadata": {"name": "moja-centralledger-service-0", "namespace": "demo-rv"},
             "spec": {"containers": [{"name": "cl", "image": "mojaloop/central-ledger:v17.6.0",
                                      "resources": {"requests": {"cpu": "250m"}}}]},
             "status": {"phase": "Running"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def api_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PodList)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_kubernetes_client_lists_pods_with_the_stacks_kubeconfig_from_memory(api_server):
    kubeconfig = json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "qa",
        "clusters": [{"name": "qa", "cluster": {"server": api_server}}],
        "users": [{"name": "qa", "user": {"token": "qa-token"}}],
        "contexts": [{"name": "qa", "context": {"cluster": "qa", "user": "qa"}}],
    })
    _PodList.seen.clear()
    pods = KubernetesPods(kubeconfig).pods("demo-rv", "app.kubernetes.io/name=kafka")
    assert [pod["metadata"]["name"] for pod in pods] == ["moja-centralledger-service-0"]
    assert pods[0]["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "250m"}}
    [(path, authorization)] = _PodList.seen
    where, _, query = path.partition("?")
    assert where == "/api/v1/namespaces/demo-rv/pods"
    assert urllib.parse.parse_qs(query)["labelSelector"] == ["app.kubernetes.io/name=kafka"]
    assert authorization == "Bearer qa-token"


# --- the command -------------------------------------------------------------------------------------------


def test_cli_hands_the_environment_options_to_the_qa_environment(project, backend_workloads, monkeypatch, capsys):
    from mojaloop_iac.release import promotion

    workspace, pods = FakeWorkspace(), ChartPods(backend_workloads)
    made: list[EnvironmentOptions] = []

    def provider(template: str, options: EnvironmentOptions) -> QaValidationEnvironment:
        made.append(options)
        stand_in = helm_stand_in(project / "helm", "bulk-tp-passed.txt")
        return QaValidationEnvironment(template, options, workspace, str(stand_in.helm), pods=pods)

    monkeypatch.setattr(release_command, "ENVIRONMENT_PROVIDER", provider)
    config = promotion.PromotionConfig.model_validate(
        {"environments": ["demo", "staging"], "reports": {"directory": str(project / "store")}})
    monkeypatch.setattr(promotion, "load_promotion_config", lambda path=None: config)
    code = cli.main(["release", "validate", "--candidate", CANDIDATE, "--template", "demo", "--id", "nightly-7",
                     "--shared-cluster", "qa-cluster", "--ttl", "3h", "--timeout", "45m"])
    assert code == 0, capsys.readouterr().err
    [options] = made
    assert (options.id, options.shared_cluster, options.ttl, options.test_timeout) == ("nightly-7", "qa-cluster", "3h", "45m")
    reports = Path("out") / "release-validation" / CANDIDATE  # under the working directory, the project
    assert options.log == reports / "pulumi.log" and (project / options.log).is_file()
    assert json.loads((reports / "report.json").read_text())["environment"] == "demo-nightly-7"
    assert workspace.calls[-1] == "destroy demo-nightly-7"


def test_without_the_pulumi_cli_a_run_is_refused_naming_what_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(qa_environment, "missing_prerequisites", lambda: ["the Pulumi CLI (pulumi on PATH)"])
    assert cli.main(["release", "validate", "--candidate", CANDIDATE, "--template", "demo"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the Pulumi CLI (pulumi on PATH)" in err and "Pulumi's state backend" in err


def test_a_ttl_a_qa_environment_cannot_have_is_refused_before_anything_starts(capsys):
    assert cli.main(["release", "validate", "--candidate", CANDIDATE, "--template", "demo", "--ttl", "9d"]) == 2
    assert "--ttl: 9d is outside 15m to 7d" in " ".join(capsys.readouterr().err.split())
