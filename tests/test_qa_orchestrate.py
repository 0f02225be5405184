"""A QA run's order (up, tests, down) and its guarantee (down always runs: failures, exceptions, Ctrl-C,
SIGTERM), the reaper's choices, and `mojactl qa` end to end, all against a fake Pulumi workspace.

The Pulumi CLI cannot be installed here, so the Automation API adapter (qa/pulumi_workspace.py) never
runs in this suite; everything that decides runs for real, signals included (sent to this process)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mojaloop_iac.cli import main
from mojaloop_iac.qa import cli as qa_cli
from mojaloop_iac.qa.orchestrate import TestOutcome, Verdict, run_qa
from mojaloop_iac.qa.pulumi_workspace import own_children, stack_settings_from_state
from mojaloop_iac.qa.stacks import EXPIRES_TAG, QA_TAG, StackInfo, qa_tags, reap_selection
from mojaloop_iac.qa.tests import QaTestError, helm_test_runner
from tests.support.helm_standin import helm_stand_in
from tests.support.qa_workspace import FakeWorkspace

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def tags() -> dict[str, str]:
    return qa_tags("pr-1", "demo", NOW, "https://example.com/pr/1", None)


def passing(_outputs: Mapping[str, Any]) -> TestOutcome:
    return TestOutcome(True, "golden path passed")


def failing(_outputs: Mapping[str, Any]) -> TestOutcome:
    return TestOutcome(False, "ml-ttk-test-val-gp: FAILED")


def test_up_then_tests_then_down_and_the_verdict_is_the_tests():
    workspace = FakeWorkspace()
    report = run_qa(workspace, "demo-pr-1", Path("x.yaml"), tags(), passing)
    assert workspace.calls == ["up demo-pr-1", "destroy demo-pr-1"]
    assert report.steps == ["up: ok", "tests: passed", "down: ok"]
    assert report.verdict == Verdict.PASSED and report.verdict.exit_code == 0
    assert workspace.stacks() == []


def test_failed_tests_are_torn_down_and_exit_3():
    workspace = FakeWorkspace()
    report = run_qa(workspace, "demo-pr-1", Path("x.yaml"), tags(), failing)
    assert report.verdict == Verdict.TESTS_FAILED and report.verdict.exit_code == 3
    assert report.steps[-1] == "down: ok" and not workspace.deployed


def test_a_failed_deployment_is_torn_down_and_the_tests_never_run():
    def broken() -> None:
        raise RuntimeError("helm: timed out waiting for the condition")

    ran: list[str] = []
    workspace = FakeWorkspace(during_up=broken)
    report = run_qa(workspace, "demo-pr-1", Path("x.yaml"), tags(), lambda o: ran.append("tests") or passing(o))
    assert ran == [] and report.verdict == Verdict.DEPLOY_FAILED and report.verdict.exit_code == 4
    assert workspace.calls == ["up demo-pr-1", "destroy demo-pr-1"]


def test_an_exception_in_the_tests_is_a_failed_verdict_and_still_torn_down():
    def exploding(_outputs: Mapping[str, Any]) -> TestOutcome:
        raise OSError("helm: no such file")

    workspace = FakeWorkspace()
    report = run_qa(workspace, "demo-pr-1", Path("x.yaml"), tags(), exploding)
    assert report.verdict == Verdict.TESTS_FAILED and report.steps[-1] == "down: ok"


@pytest.mark.parametrize("signum,verdict", [(signal.SIGTERM, Verdict.TERMINATED), (signal.SIGINT, Verdict.INTERRUPTED)])
def test_a_signal_during_up_interrupts_pulumi_then_tears_down(signum: int, verdict: Verdict):
    before = {each: signal.getsignal(each) for each in (signal.SIGINT, signal.SIGTERM)}
    workspace = FakeWorkspace(during_up=lambda: os.kill(os.getpid(), signum))
    report = run_qa(workspace, "demo-pr-1", Path("x.yaml"), tags(), passing)
    assert report.verdict == verdict and report.verdict.exit_code == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum]
    assert workspace.calls == ["up demo-pr-1", "interrupt", "destroy demo-pr-1"]
    assert report.steps == [f"signal {signal.Signals(signum).name}", "up: cancelled", "down: ok"]
    # The process's own handlers are back afterwards.
    assert {each: signal.getsignal(each) for each in (signal.SIGINT, signal.SIGTERM)} == before


def test_a_cancelled_ci_job_during_the_tests_still_tears_down():
    def tests_cancelled(_outputs: Mapping[str, Any]) -> TestOutcome:
        os.kill(os.getpid(), signal.SIGTERM)
        return passing(_outputs)  # not reached: the signal cancels the tests

    workspace = FakeWorkspace()
    report = run_qa(workspace, "demo-pr-1", Path("x.yaml"), tags(), tests_cancelled)
    assert report.verdict == Verdict.TERMINATED and "tests: cancelled" in report.steps
    assert workspace.calls[-1] == "destroy demo-pr-1" and not workspace.deployed


def test_signals_during_teardown_are_noted_not_obeyed():
    def repeated_sigterm() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)

    workspace = FakeWorkspace(during_destroy=repeated_sigterm)
    report = run_qa(workspace, "demo-pr-1", Path("x.yaml"), tags(), passing)
    assert report.steps[-1] == "down: ok" and not workspace.deployed
    assert "signal SIGTERM during down: down continues" in report.steps
    assert report.verdict == Verdict.PASSED


def test_a_failed_teardown_is_its_own_verdict():
    def stuck() -> None:
        raise RuntimeError("the stack is locked")

    report = run_qa(FakeWorkspace(during_destroy=stuck), "demo-pr-1", Path("x.yaml"), tags(), passing)
    assert report.verdict == Verdict.TEARDOWN_FAILED and report.verdict.exit_code == 5


def stack(name: str, **tag_values: str) -> StackInfo:
    return StackInfo(name, tag_values)


def test_the_reaper_destroys_only_expired_qa_stacks():
    stacks = [
        stack("demo-pr-1", **{QA_TAG: "true", EXPIRES_TAG: "2025-06-01T11:00:00Z"}),
        stack("demo-pr-2", **{QA_TAG: "true", EXPIRES_TAG: "2025-06-01T13:00:00Z"}),
        stack("demo-pr-3", **{QA_TAG: "true", EXPIRES_TAG: "soon"}),
        stack("demo-pr-4", **{QA_TAG: "true"}),
        # Not QA: never touched, whatever else it carries.
        stack("demo", **{EXPIRES_TAG: "2020-01-01T00:00:00Z"}),
        stack("prod", **{QA_TAG: "false", EXPIRES_TAG: "2020-01-01T00:00:00Z"}),
        stack("control-center"),
    ]
    decision = reap_selection(stacks, NOW)
    assert [s.name for s in decision.destroy] == ["demo-pr-1"]
    kept = dict(decision.kept)
    assert set(kept) == {"demo-pr-2", "demo-pr-3", "demo-pr-4"}
    assert "missing or not a time" in kept["demo-pr-3"] and "expires at" in kept["demo-pr-2"]


@pytest.fixture
def qa_project(tmp_path: Path, monkeypatch) -> FakeWorkspace:
    """`mojactl qa` in a scratch directory, against a fake workspace holding two persistent stacks."""
    monkeypatch.chdir(tmp_path)
    workspace = FakeWorkspace(stacks_by_name={"demo": {}, "control-center": {"pulumi:project": "mojaloop"}})
    monkeypatch.setattr(qa_cli, "make_workspace", lambda secrets_provider=None: workspace)
    return workspace


def test_cli_stack_up_list_down(qa_project: FakeWorkspace, capsys):
    assert main(["qa", "stack", "demo", "--id", "PR 5", "--now", "2025-06-01T12:00:00Z",
                 "--source", "https://gitlab.example.com/hub/-/merge_requests/5"]) == 0
    assert capsys.readouterr().out.strip() == "out/qa/Pulumi.demo-pr-5.yaml"
    assert main(["qa", "up", "PR 5"]) == 0
    tags_set = qa_project.stacks_by_name["demo-pr-5"]
    assert tags_set[QA_TAG] == "true" and tags_set["mojaloop:qa-id"] == "pr-5"
    assert tags_set[EXPIRES_TAG] == "2025-06-01T16:00:00Z" and tags_set["mojaloop:template"] == "demo"
    assert tags_set["mojaloop:source"].endswith("/merge_requests/5") and tags_set["mojaloop:host-slot"]
    capsys.readouterr()
    assert main(["qa", "list", "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["stack"] for entry in listed] == ["demo-pr-5"]  # persistent stacks are not listed
    assert main(["qa", "down", "pr-5"]) == 0
    assert "demo-pr-5" not in qa_project.stacks_by_name and "demo" in qa_project.stacks_by_name
    # Again: nothing with that ID is left, said with exit 2.
    assert main(["qa", "down", "pr-5"]) == 2


def test_cli_up_refuses_a_host_slot_another_qa_stack_occupies(qa_project: FakeWorkspace, capsys):
    for qa_id in ("pr-5", "pr-6"):
        assert main(["qa", "stack", "demo", "--id", qa_id, "--host-slot", "qa-slot-1", "--now", "2025-06-01T12:00:00Z"]) == 0
    assert main(["qa", "up", "pr-5"]) == 0
    assert main(["qa", "up", "pr-6"]) == 2
    assert "qa-slot-1" in capsys.readouterr().err and "demo-pr-6" not in qa_project.stacks_by_name


def test_cli_reap_is_dry_run_able_leaves_other_stacks_alone_and_is_safe_twice(qa_project: FakeWorkspace, capsys):
    qa_project.stacks_by_name.update({
        "demo-pr-1": {QA_TAG: "true", EXPIRES_TAG: "2025-06-01T11:00:00Z"},
        "demo-pr-2": {QA_TAG: "true", EXPIRES_TAG: "2025-06-01T13:00:00Z"},
        "staging": {EXPIRES_TAG: "2020-01-01T00:00:00Z"},
    })
    assert main(["qa", "reap", "--dry-run", "--now", "2025-06-01T12:00:00Z"]) == 0
    assert "would destroy demo-pr-1" in capsys.readouterr().out
    assert qa_project.calls == []
    assert main(["qa", "reap", "--now", "2025-06-01T12:00:00Z"]) == 0
    assert qa_project.calls == ["destroy demo-pr-1"]
    assert main(["qa", "reap", "--now", "2025-06-01T12:00:00Z"]) == 0
    assert qa_project.calls == ["destroy demo-pr-1"]
    assert set(qa_project.stacks_by_name) == {"demo", "control-center", "demo-pr-2", "staging"}


def test_cli_reap_reports_a_failed_destroy_with_exit_5(qa_project: FakeWorkspace):
    qa_project.stacks_by_name["demo-pr-1"] = {QA_TAG: "true", EXPIRES_TAG: "2025-06-01T11:00:00Z"}

    def locked() -> None:
        raise RuntimeError("the stack is currently locked by another update")

    qa_project.during_destroy = locked
    assert main(["qa", "reap", "--now", "2025-06-01T12:00:00Z"]) == 5


def test_cli_run_exit_code_is_the_verdict(qa_project: FakeWorkspace, monkeypatch, tmp_path):
    monkeypatch.setattr(qa_cli, "_helm", lambda: "helm")
    import mojaloop_iac.qa.tests as qa_tests

    monkeypatch.setattr(qa_tests, "helm_test_runner", lambda *_args, **_kw: failing)
    code = main(["qa", "run", "demo", "--id", "pr-9", "--shared-cluster", "qa-cluster"])
    assert code == 3
    assert qa_project.calls == ["up demo-pr-9", "destroy demo-pr-9"]
    monkeypatch.setattr(qa_tests, "helm_test_runner", lambda *_args, **_kw: passing)
    assert main(["qa", "run", "demo", "--id", "pr-9", "--shared-cluster", "qa-cluster"]) == 0


GOLDEN_PATH_SUITES = [
    {"name": name, "collection": "goldenPath"}
    for name in ("ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-cleanup")
]


def qa_outputs(**qa: Any) -> dict[str, Any]:
    return {
        "qa": {"namespace": "demo-pr-1", "helmReleaseName": "moja", "expectedTestSuites": GOLDEN_PATH_SUITES, **qa},
        "kubeconfig": "apiVersion: v1",
    }


def test_helm_test_runner_uses_the_stacks_kubeconfig_privately_and_writes_junit(tmp_path):
    junit = tmp_path / "junit.xml"
    stand_in = helm_stand_in(tmp_path / "pass", "gp-passed.txt")
    passed = helm_test_runner(str(stand_in.helm), "5m", "demo-pr-1", junit)(qa_outputs())
    assert passed.passed and "passed" in passed.summary
    assert stand_in.kubeconfigs() and all(
        seen == {"mode": "0o600", "text": "apiVersion: v1"} for seen in stand_in.kubeconfigs()
    )
    assert 'failures="0"' in junit.read_text() and "ml-ttk-test-val-gp" in junit.read_text()
    failing_helm = helm_stand_in(tmp_path / "fail", "gp-failed-run-stopped.txt",
                                 stderr="gp-failed-run-stopped.stderr", exit_code=1)
    failed = helm_test_runner(str(failing_helm.helm), "5m", "demo-pr-1", junit)(qa_outputs())
    assert not failed.passed and "<failure" in junit.read_text()


def test_the_qa_verdict_expects_what_the_stack_exported_not_what_helm_reported(tmp_path):
    """A run that reports only the golden path fails when the stack's values also switched bulk on."""
    stand_in = helm_stand_in(tmp_path, "gp-passed.txt")
    bulk = {"name": "ml-ttk-test-val-bulk", "collection": "bulk"}
    outcome = helm_test_runner(str(stand_in.helm), "5m", "demo-pr-1")(
        qa_outputs(expectedTestSuites=[*GOLDEN_PATH_SUITES, bulk])
    )
    assert not outcome.passed and "ml-ttk-test-val-bulk" in outcome.summary


def test_a_stack_that_exports_no_expected_suites_is_refused(tmp_path):
    stand_in = helm_stand_in(tmp_path, "gp-passed.txt")
    outputs = qa_outputs()
    del outputs["qa"]["expectedTestSuites"]
    with pytest.raises(QaTestError, match="expectedTestSuites"):
        helm_test_runner(str(stand_in.helm), "5m", "demo-pr-1")(outputs)


def test_settings_to_decrypt_a_stack_come_back_from_its_state():
    assert stack_settings_from_state({"type": "passphrase", "state": {"salt": "v1:abc"}}) == {"encryptionsalt": "v1:abc"}
    assert stack_settings_from_state(
        {"type": "cloud", "state": {"url": "hashivault://qa-stacks", "encryptedkey": "dmF1bHQ="}}
    ) == {"secretsprovider": "hashivault://qa-stacks", "encryptedkey": "dmF1bHQ="}
    assert stack_settings_from_state(None) == {}


def test_interrupt_finds_this_processs_own_children():
    import subprocess

    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in own_children()
    finally:
        child.kill()
        child.wait()
