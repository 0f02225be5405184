"""`mojactl release validate`: gates as data, the validation plan, and the orchestration.

No cluster runs here, so the orchestration runs against a stand-in environment that records what it is
asked to do and answers with scripted test verdicts; the footprint is computed from the real Mojaloop
chart rendered by the pinned Helm. What never ran for real: a validation against an actual ephemeral
environment (the QA environments, the Pulumi CLI and a cluster are not available here).
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import yaml

from mojaloop_iac import cli
from mojaloop_iac.catalog import Release, UpgradeStep, load_catalog
from mojaloop_iac.commands import release as release_command
from mojaloop_iac.planners.mojaloop_values import load_values_data
from mojaloop_iac.release.footprint import Footprint, footprint_of, parse_quantity
from mojaloop_iac.release.gates import Gate, GatesFile, GateSuite, check_gates, load_gates, meets, release_gate
from mojaloop_iac.release.orchestrator import ValidationInterrupted, run_validation
from mojaloop_iac.release.report import report_junit, report_markdown
from mojaloop_iac.release.validation import ValidationRefused, dry_run_text, plan_validation
from mojaloop_iac.testenv.ttk_log import TtkLogSummary
from mojaloop_iac.testenv.verdict import Outcome, SuiteVerdict, Verdict
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401

GATE_SUITES = ("ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-val-bulk", "ml-ttk-test-setup-tp",
               "ml-ttk-test-val-tp", "ml-ttk-test-cleanup")
GOLDEN = ("ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-cleanup")


# --- gates ---------------------------------------------------------------------------------------------------


def test_the_shipped_gates_require_golden_path_bulk_and_third_party_at_100_percent():
    gates = load_gates()
    assert set(gates.lines) == {"15", "16", "17"}
    for gate in gates.lines.values():
        assert gate.suites() == GATE_SUITES
        assert {rule.pass_rate for rule in gate.required} == {100.0}
        assert {(f.suite, f.retries, f.issue) for f in gate.flaky} == {
            ("ml-ttk-test-val-gp", 1, "mojaloop/project#2925"), ("ml-ttk-test-val-tp", 0, "mojaloop/project#2717")}


def test_a_gate_switches_on_the_features_its_suites_need():
    gate = release_gate(load_catalog().get("16.0.0"))
    assert gate.line == "16" and gate.features == {"bulk", "thirdParty"} and gate.golden_path == GOLDEN


@pytest.mark.parametrize(
    ("required", "words"),
    [
        ((*GOLDEN, "ml-ttk-test-val-bulky"), "'ml-ttk-test-val-bulky' is not a test sub-chart of line 15"),
        ((*GOLDEN, "ml-ttk-test-val-sdk-r2p"), "cannot be switched on by the toolkit"),
        (("ml-ttk-test-setup", "ml-ttk-test-val-gp"), "the golden path is always required; add ml-ttk-test-cleanup"),
    ],
)
def test_gates_are_checked_against_the_release_lines_test_charts(required, words):
    gates = GatesFile(lines={"15": Gate(required=tuple(GateSuite(suite=s) for s in required))})
    assert any(words in problem for problem in check_gates(gates, load_values_data()))


def test_a_flaky_suite_must_be_required():
    with pytest.raises(ValueError, match="flaky names ml-ttk-test-val-bulk, which is not required"):
        Gate.model_validate({"required": [{"suite": "ml-ttk-test-val-gp"}],
                             "flaky": [{"suite": "ml-ttk-test-val-bulk", "retries": 1, "issue": "x", "reason": "y"}]})


def _suite(status: str, phase: str | None = None, passed: int | None = None, total: int | None = None,
           summaries: int = 1) -> SuiteVerdict:
    log = TtkLogSummary(summaries, total, passed) if total is not None else None
    return SuiteVerdict("ml-ttk-test-val-gp", "goldenPath", status, f"scripted {status}", phase, log=log)  # type: ignore[arg-type]


def test_a_pass_rate_below_100_accepts_a_failed_suite_only_on_its_own_unambiguous_count():
    strict, lenient = GateSuite(suite="s"), GateSuite(suite="s", passRate=95)
    assert meets(strict, _suite("passed", "Succeeded"))
    assert not meets(strict, _suite("failed", "Failed", 96, 100))
    assert meets(lenient, _suite("failed", "Failed", 96, 100))
    assert not meets(lenient, _suite("failed", "Failed", 94, 100))
    assert not meets(lenient, _suite("failed", "Failed", 99, 100, summaries=2)), "two summaries: ambiguous"
    assert not meets(lenient, _suite("missing")) and not meets(lenient, _suite("stale", "Succeeded"))


# --- the plan ----------------------------------------------------------------------------------------------


def test_a_release_candidate_is_validated_from_the_newest_release_that_upgrades_to_it():
    plan = plan_validation(load_catalog(), "16.0.0-rc.20240129")
    assert plan.previous.version == "15.2.0" and plan.mode == "upgrade"
    assert [(s.phase, s.kind) for s in plan.steps] == [
        ("provision", "automated"), ("install", "automated"), ("baseline", "automated"),
        ("upgrade", "operator-automated"), ("upgrade", "operator-skipped"), ("upgrade", "automated"),
        ("test", "automated"), ("footprint", "automated"), ("teardown", "automated")]
    assert plan.steps[2].suites == GOLDEN and plan.steps[6].suites == GATE_SUITES
    assert plan.steps[3].upgrade.kafka_topic == "topic-transfer-position-batch"
    assert plan.blockers == () and plan.stops_at is None


@pytest.mark.parametrize(("candidate", "previous"), [("17.3.0", "17.2.0"), ("17.2.0", "17.1.0"), ("15.3.0", "15.2.0"),
                                                     ("16.2.0", "16.0.0")])
def test_the_default_previous_release(candidate, previous):
    assert plan_validation(load_catalog(), candidate).previous.version == previous


def test_the_backend_is_upgraded_before_the_umbrella():
    plan = plan_validation(load_catalog(), "17.3.0")
    parts = [s.upgrade.part for s in plan.steps if s.upgrade is not None]
    assert parts == ["backend", "operator", "umbrella"]


def test_a_fresh_validation_installs_the_candidate_directly():
    plan = plan_validation(load_catalog(), "16.0.0-rc.20240129", fresh=True)
    assert plan.previous is None and plan.mode == "fresh"
    assert [s.phase for s in plan.steps] == ["provision", "install", "test", "footprint", "teardown"]
    assert plan.steps[1].release == "16.0.0-rc.20240129"


def test_a_template_with_custom_values_files_turns_override_steps_into_stops():
    plan = plan_validation(load_catalog(), "16.0.0-rc.20240129", template_has_overrides=True)
    assert plan.stops_at.order == 5 and "Carry custom config-file overrides" in plan.stops_at.detail


def test_releases_the_toolkit_cannot_install_yet_block_the_run_but_not_the_plan():
    plan = plan_validation(load_catalog(), "17.3.0")
    assert len(plan.blockers) == 2 and all("backend-values.yaml" in b for b in plan.blockers)
    assert "This run cannot happen yet" in dry_run_text(plan)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"candidate_version": "18.0.0"}, "neither a release nor a candidate"),
        ({"candidate_version": "16.0.0-rc.20240129", "previous_version": "15.2.0", "fresh": True}, "takes no --previous"),
        ({"candidate_version": "17.2.0", "previous_version": "15.2.0"}, "cannot rehearse the upgrade 15.2.0 -> 17.2.0"),
        ({"candidate_version": "15.0.0"}, "no published release can be upgraded directly to 15.0.0"),
    ],
)
def test_validations_that_cannot_be_planned_are_refused_with_the_reason(kwargs, words):
    with pytest.raises(ValidationRefused, match=words):
        plan_validation(load_catalog(), **kwargs)


def test_the_dry_run_lists_the_steps_the_gate_and_where_the_release_diff_goes():
    plan = plan_validation(load_catalog(), "16.0.0-rc.20240129")
    text = dry_run_text(plan)
    assert "## Validation of Mojaloop 16.0.0-rc.20240129 from 15.2.0" in text
    assert "6. **upgrade** Upgrade umbrella chart mojaloop 15.2.0 -> 16.0.0-rc.20240129" in text
    assert "| `ml-ttk-test-val-tp` | 100% | 0 (mojaloop/project#2717) |" in text
    assert "Not available: no chart rendering was set up for this dry run." in text
    with_diff = dry_run_text(plan, lambda old, new: f"DIFF {old.version}..{new.version}")
    assert "DIFF 15.2.0..16.0.0-rc.20240129" in with_diff


# --- the orchestration against a stand-in environment ------------------------------------------------------------


class StandInEnvironment:
    """Records every call; answers run_tests from a script of rounds, {suite: status}."""

    def __init__(self, rounds: Sequence[dict[str, str]] = (), *, fail_on: str | None = None,
                 interrupt_on: str | None = None, teardown_error: Exception | None = None, unreachable: bool = False):
        self.calls: list[tuple] = []
        self.rounds = list(rounds)
        self.fail_on, self.interrupt_on = fail_on, interrupt_on
        self.teardown_error, self.unreachable = teardown_error, unreachable

    name = "qa-rc-1a2b"

    def _call(self, *call) -> None:
        self.calls.append(call)
        if call[0] == self.interrupt_on:
            raise KeyboardInterrupt
        if call[0] == self.fail_on:
            raise RuntimeError(f"{call[0]} failed: quota exceeded")

    def provision(self, release: Release, features: frozenset[str]) -> None:
        self._call("provision", release.version, tuple(sorted(features)))

    def install(self, release: Release) -> None:
        self._call("install", release.version)

    def upgrade(self, step: UpgradeStep, release: Release) -> None:
        self._call("upgrade", step.part, step.to_version, release.version)

    def create_kafka_topic(self, topic: str) -> None:
        self._call("create_kafka_topic", topic)

    def run_tests(self, suites: Sequence[str]) -> Verdict:
        self._call("run_tests", tuple(suites))
        if self.unreachable:
            return Verdict("moja", Outcome.UNREACHABLE, (), ("Kubernetes cluster unreachable",))
        script = self.rounds.pop(0) if self.rounds else {}
        verdicts = []
        start = datetime(2026, 12, 7, 10)
        for index, suite in enumerate(suites):
            status = script.get(suite, "passed")
            if status == "absent":
                continue
            phase = {"passed": "Succeeded", "failed": "Failed"}.get(status)
            verdicts.append(SuiteVerdict(suite, "goldenPath", status, f"scripted {status}", phase,  # type: ignore[arg-type]
                                         start + timedelta(minutes=index), start + timedelta(minutes=index, seconds=50)))
        passed = all(v.passed for v in verdicts) and len(verdicts) == len(suites)
        return Verdict("moja", Outcome.PASSED if passed else Outcome.FAILED, tuple(verdicts), ())

    def footprint(self) -> Footprint:
        self._call("footprint")
        return footprint_of([{"kind": "Pod", "metadata": {"name": "moja-centralledger-service-0"},
                              "spec": {"containers": [{"name": "cl", "image": "mojaloop/central-ledger:v17.6.0",
                                                       "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}]}}])

    def teardown(self) -> None:
        self.calls.append(("teardown",))
        if self.teardown_error is not None:
            raise self.teardown_error


def ticking_clock():
    ticks = iter(range(0, 10_000, 7))
    return lambda: float(next(ticks))


def validate(environment: StandInEnvironment, candidate: str = "16.0.0-rc.20240129", **kwargs):
    plan = plan_validation(load_catalog(), candidate, **kwargs)
    return run_validation(plan, environment, clock=ticking_clock(),
                          now=iter([datetime(2026, 12, 7, 10), datetime(2026, 12, 7, 11, 30)]).__next__)


def test_a_passing_validation_installs_baselines_upgrades_tests_measures_and_tears_down():
    env = StandInEnvironment()
    report = validate(env)
    assert report.outcome == "passed" and report.passed and report.exit_code == 0
    assert env.calls == [
        ("provision", "16.0.0-rc.20240129", ("bulk", "thirdParty")),
        ("install", "15.2.0"),
        ("run_tests", GOLDEN),
        ("create_kafka_topic", "topic-transfer-position-batch"),
        ("upgrade", "umbrella", "16.0.0-rc.20240129", "16.0.0-rc.20240129"),
        ("run_tests", GATE_SUITES),
        ("footprint",),
        ("teardown",),
    ]
    assert [(s.order, s.status) for s in report.steps] == [
        (1, "done"), (2, "done"), (3, "done"), (4, "done"), (5, "skipped"), (6, "done"), (7, "done"), (8, "done"),
        (9, "done")]
    assert all(s.seconds == 7 for s in report.steps), "every phase is timed"
    assert report.footprint["images"] == ["mojaloop/central-ledger:v17.6.0"]


def test_the_backend_chart_goes_first_on_an_upgrade_that_changes_it():
    env = StandInEnvironment()
    validate(env, "17.3.0")
    upgrades = [call for call in env.calls if call[0] == "upgrade"]
    assert upgrades == [("upgrade", "backend", "17.3.0", "17.3.0"), ("upgrade", "umbrella", "17.3.0", "17.3.0")]


def test_a_known_flaky_suite_is_retried_with_the_suites_after_it_and_every_retry_is_reported():
    env = StandInEnvironment(rounds=[{}, {"ml-ttk-test-val-gp": "failed", "ml-ttk-test-val-bulk": "absent",
                                          "ml-ttk-test-setup-tp": "absent", "ml-ttk-test-val-tp": "absent",
                                          "ml-ttk-test-cleanup": "absent"}, {}])
    report = validate(env)
    assert report.passed
    runs = [call[1] for call in env.calls if call[0] == "run_tests"]
    assert runs[1:] == [GATE_SUITES, GATE_SUITES[1:]]
    gp = next(r for r in report.gate if r.suite == "ml-ttk-test-val-gp")
    assert [(a.round, a.status, a.met) for a in gp.attempts] == [(1, "failed", False), (2, "passed", True)]
    assert gp.retried == 1 and gp.flaky_issue == "mojaloop/project#2925"
    assert "retried 1x (mojaloop/project#2925)" in report_markdown(report)
    junit = ET.fromstring(report_junit(report)).find("testsuite")
    assert junit.get("failures") == "0"
    gate_cases = {c.get("name"): c for c in junit.findall("testcase") if c.get("classname").endswith(".gate")}
    assert gate_cases["ml-ttk-test-val-gp"].find("skipped").get("message").startswith("failed, retried")
    assert gate_cases["ml-ttk-test-val-gp (retry 1)"].find("failure") is None


def test_the_third_party_collection_is_never_retried_and_fails_the_gate():
    env = StandInEnvironment(rounds=[{}, {"ml-ttk-test-val-tp": "failed", "ml-ttk-test-cleanup": "absent"}])
    report = validate(env)
    assert report.outcome == "failed" and report.exit_code == 3
    assert "the gate is not met: ml-ttk-test-val-tp, ml-ttk-test-cleanup" == report.reason
    assert [call[1] for call in env.calls if call[0] == "run_tests"] == [GOLDEN, GATE_SUITES]
    assert env.calls[-1] == ("teardown",)
    assert [s.status for s in report.steps if s.phase in ("test", "footprint", "teardown")] == ["failed", "not-run", "done"]


def test_a_failing_baseline_blames_the_environment_and_never_upgrades():
    env = StandInEnvironment(rounds=[{"ml-ttk-test-setup": "failed", "ml-ttk-test-val-gp": "absent",
                                      "ml-ttk-test-cleanup": "absent"}])
    report = validate(env)
    assert report.outcome == "baseline-failed" and "environment, not the candidate" in report.reason
    assert not any(call[0] in ("upgrade", "create_kafka_topic") for call in env.calls)
    assert env.calls[-1] == ("teardown",)


def test_an_operator_step_that_cannot_be_automated_stops_the_run_and_names_it():
    env = StandInEnvironment()
    report = validate(env, template_has_overrides=True)
    assert report.outcome == "stopped" and report.exit_code == 3
    assert report.reason.startswith("step 5 needs a person: Carry custom config-file overrides")
    assert not any(call[0] == "upgrade" for call in env.calls)
    assert [s.status for s in report.steps][4:] == ["stopped", "not-run", "not-run", "not-run", "done"]


def test_an_environment_failure_ends_the_run_and_still_tears_down():
    env = StandInEnvironment(fail_on="install")
    report = validate(env)
    assert report.outcome == "error" and "install failed: quota exceeded" in report.reason
    assert env.calls == [("provision", "16.0.0-rc.20240129", ("bulk", "thirdParty")), ("install", "15.2.0"), ("teardown",)]


def test_an_interrupted_run_tears_down_and_carries_its_report():
    env = StandInEnvironment(interrupt_on="run_tests")
    with pytest.raises(ValidationInterrupted) as caught:
        validate(env)
    assert env.calls[-1] == ("teardown",)
    report = caught.value.report
    assert report.outcome == "interrupted" and report.exit_code == 130
    assert "interrupted during step 3" in report.reason


def test_a_teardown_failure_is_reported_and_fails_the_run_even_when_the_gate_passed():
    env = StandInEnvironment(teardown_error=RuntimeError("pulumi destroy: 2 resources left"))
    report = validate(env)
    assert report.outcome == "passed" and not report.passed and report.exit_code == 3
    assert report.teardown_error == "RuntimeError: pulumi destroy: 2 resources left"
    assert "torn down: **NO**" in report_markdown(report)


def test_an_unreachable_environment_is_its_own_outcome():
    report = validate(StandInEnvironment(unreachable=True))
    assert report.outcome == "unreachable" and report.exit_code == 4


def test_the_json_report_is_the_record_promotion_reads():
    data = validate(StandInEnvironment()).to_json()
    assert data["schema"] == "mojaloop-iac/release-validation/v1"
    assert (data["candidate"], data["candidateStatus"], data["previous"], data["template"], data["passed"]) == (
        "16.0.0-rc.20240129", "release-candidate", "15.2.0", "qa", True)
    assert data["durationSeconds"] == 5400.0
    json.dumps(data)


# --- the footprint ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("250m", "0.25"), ("1.5", "1.5"), ("128Mi", str(128 * 2**20)),
                                            ("1G", "1000000000"), ("1e3", "1000"), ("2", "2")])
def test_kubernetes_quantities_are_read_exactly(text, value):
    assert parse_quantity(text) == Decimal(value)


def test_footprint_of_the_real_mojaloop_chart_rendered_by_helm(helm, chart_repository, tmp_path):  # noqa: F811
    env = {"HELM_CACHE_HOME": str(tmp_path / "c"), "HELM_CONFIG_HOME": str(tmp_path / "f"),
           "HELM_DATA_HOME": str(tmp_path / "d"), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(helm), "pull", "mojaloop", "--repo", chart_repository.url, "--version", "15.2.0",
                    "--destination", str(tmp_path)], check=True, env=env, capture_output=True)
    rendered = subprocess.run([str(helm), "template", "moja", str(tmp_path / "mojaloop-15.2.0.tgz"), "-n", "mojaloop",
                               "--kube-version", "1.28"], check=True, env=env, capture_output=True, text=True).stdout
    objects = [doc for doc in yaml.safe_load_all(rendered) if doc]
    footprint = footprint_of(objects)
    deployments = [w for w in footprint.workloads if w.kind == "Deployment"]
    assert len(deployments) == sum(1 for o in objects if o["kind"] == "Deployment") and footprint.pods >= len(deployments)
    assert any(image.startswith("mojaloop/central-ledger:") for image in footprint.images)
    ledger = next(w for w in footprint.workloads if w.name == "moja-centralledger-service")
    assert ledger.replicas >= 1 and ledger.containers
    data = footprint.to_json()
    assert data["pods"] == footprint.pods and data["images"] == list(footprint.images)
    # What the footprint shows about the chart itself: its defaults request no CPU or memory at all.
    containers = sum(len(w.containers) for w in footprint.workloads)
    assert data["cpuRequests"] == 0 and len(data["containersWithoutCpuRequests"]) == containers


# --- the command -------------------------------------------------------------------------------------------------


def test_cli_dry_run_prints_the_ordered_steps_with_the_gates_collections(capsys):
    assert cli.main(["release", "validate", "--candidate", "16.0.0-rc.20240129", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.index("2. **install** Install Mojaloop 15.2.0") < out.index("6. **upgrade** Upgrade umbrella chart")
    for suite in GATE_SUITES:
        assert f"| `{suite}` | 100% |" in out
    # The default template is the lowest environment of config/promotion.yaml; the example project has no
    # stack of that name, and the dry run says how to choose one.
    assert "Environment: ephemeral, from stack `qa`." in out
    assert ("(--template defaults to qa, the lowest environment of config/promotion.yaml); pass --template STACK, "
            "e.g. --template demo") in " ".join(out.split())


def test_cli_refuses_a_real_run_naming_what_is_missing(capsys):
    assert cli.main(["release", "validate", "--candidate", "16.0.0-rc.20240129", "--template", "demo"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the Pulumi CLI (pulumi on PATH)" in err and "a shared QA cluster (--shared-cluster)" in err


def test_cli_runs_a_validation_with_a_provided_environment_and_keeps_the_reports(tmp_path, capsys, monkeypatch):
    from mojaloop_iac.release import promotion

    env = StandInEnvironment()
    monkeypatch.setattr(release_command, "ENVIRONMENT_PROVIDER", lambda template, options: env)
    config = promotion.PromotionConfig.model_validate(
        {"environments": ["demo", "staging"], "reports": {"directory": str(tmp_path / "store")}})
    monkeypatch.setattr(promotion, "load_promotion_config", lambda path=None: config)
    code = cli.main(["release", "validate", "--candidate", "16.0.0-rc.20240129", "--template", "demo",
                     "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith("## Validation of Mojaloop 16.0.0-rc.20240129 (release-candidate): ✅ passed")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.json", "report.md", "junit.xml"}
    [kept] = (tmp_path / "store" / "16.0.0-rc.20240129").glob("*-demo.json")
    assert json.loads(kept.read_text())["passed"] is True


def test_cli_exit_code_follows_the_outcome(tmp_path, capsys, monkeypatch):
    from mojaloop_iac.release import promotion

    env = StandInEnvironment(rounds=[{}, {"ml-ttk-test-val-tp": "failed", "ml-ttk-test-cleanup": "absent"}])
    monkeypatch.setattr(release_command, "ENVIRONMENT_PROVIDER", lambda template, options: env)
    config = promotion.PromotionConfig.model_validate(
        {"environments": ["demo", "staging"], "reports": {"directory": str(tmp_path / "store")}})
    monkeypatch.setattr(promotion, "load_promotion_config", lambda path=None: config)
    assert cli.main(["release", "validate", "--candidate", "16.0.0-rc.20240129", "--template", "demo",
                     "--out", str(tmp_path / "out")]) == 3
    assert "validation failed" in capsys.readouterr().err


def test_environment_interface_names_every_call_the_orchestrator_makes():
    from mojaloop_iac.release.environment import ValidationEnvironment

    members = {name for name in vars(ValidationEnvironment) if not name.startswith("_")}
    assert members == {"name", "provision", "install", "upgrade", "create_kafka_topic", "run_tests", "footprint",
                       "teardown"}
    env = StandInEnvironment()
    validate(env)
    called = {call[0] for call in env.calls}
    assert called <= members



def test_an_environment_runs_exactly_the_suites_asked_with_helm_and_judges_them(tmp_path):
    from mojaloop_iac.release.environment import run_suites
    from mojaloop_iac.testenv import HelmTestCommand
    from tests.support.helm_standin import helm_stand_in

    stand_in = helm_stand_in(tmp_path, "gp-failed-run-stopped.txt", stderr="gp-failed-run-stopped.stderr", exit_code=1)
    verdict = run_suites(HelmTestCommand(str(stand_in.helm), "moja", "mojaloop", tmp_path / "kc"),
                         ("ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-cleanup"))
    assert stand_in.calls()[0][-2:] == ["--filter", "name=moja-ml-ttk-test-setup,name=moja-ml-ttk-test-val-gp,"
                                                    "name=moja-ml-ttk-test-cleanup"]
    assert [(s.name, s.status) for s in verdict.suites] == [
        ("ml-ttk-test-setup", "passed"), ("ml-ttk-test-val-gp", "failed"), ("ml-ttk-test-cleanup", "missing")]


def test_the_footprint_of_live_pods_comes_from_kubectl_json():
    from mojaloop_iac.release.environment import footprint_from_pods

    pods = {"items": [{"kind": "Pod", "metadata": {"name": f"moja-ml-api-adapter-{i}"},
                       "spec": {"containers": [{"name": "api", "image": "mojaloop/ml-api-adapter:v14.0.5",
                                                "resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                                                              "limits": {"memory": "1Gi"}}}],
                                "volumes": [{"name": "config", "configMap": {"name": "moja-ml-api-adapter-config"}}]}}
                      for i in range(2)]}
    footprint = footprint_from_pods(json.dumps(pods))
    data = footprint.to_json()
    assert (data["pods"], data["cpuRequests"], data["memoryRequestsMiB"], data["memoryLimitsMiB"]) == (2, 1.0, 512.0, 2048.0)
    assert footprint.workloads[0].volumes == ("configMap/moja-ml-api-adapter-config",)
    assert data["containersWithoutCpuRequests"] == [] and len(data["containersWithoutMemoryLimits"]) == 0
