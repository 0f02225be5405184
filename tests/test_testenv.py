"""`mojactl test-env`: verdicts that cannot lie.

Helm's output is read the way Helm 3 writes it (fixtures in tests/fixtures/helm-test, real format, see
its README); the expected collections come from the stack's own values; a pass needs every expected
collection reported Succeeded by Helm itself, in this run.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mojaloop_iac import cli
from mojaloop_iac.catalog import load_catalog
from mojaloop_iac.commands.common import EXIT_FAILED, EXIT_UNREACHABLE
from mojaloop_iac.config.load import validate_stack_file
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.testenv import (
    EXIT_TESTS_FAILED,
    ExpectedSuite,
    HelmTestCommand,
    Outcome,
    judge,
    parse_helm_test_output,
    run_helm_test,
    stack_expected_suites,
    verdict_json,
    verdict_junit,
    verdict_markdown,
)
from mojaloop_iac.testenv import verdict as verdict_module
from tests.support.helm_standin import FIXTURES, ansic, fixture, helm_stand_in

BASE = datetime(2026, 12, 7, 10, 0, 0)
GOLDEN_PATH = (
    ExpectedSuite("ml-ttk-test-setup", "goldenPath"),
    ExpectedSuite("ml-ttk-test-val-gp", "goldenPath"),
    ExpectedSuite("ml-ttk-test-cleanup", "goldenPath"),
)


def verdict_of(name: str, exit_code: int | None = 0, stderr: str = "", expected=GOLDEN_PATH, base=BASE):
    output = parse_helm_test_output(fixture(name, base) if name else "")
    return judge(expected, output, release="moja", helm_exit_code=exit_code, helm_error=stderr, not_before=BASE)


def status(verdict, name: str) -> str:
    suite = verdict.suite(name)
    assert suite is not None, name
    return suite.status


# --- reading Helm's output ---------------------------------------------------------------------------


def test_suite_blocks_are_read_from_helms_status_section_with_their_times():
    output = parse_helm_test_output(fixture("gp-passed.txt", BASE))
    assert output.has_status and output.suites_section_complete
    assert [(s.name, s.phase) for s in output.suites] == [
        ("moja-ml-ttk-test-setup", "Succeeded"),
        ("moja-ml-ttk-test-val-gp", "Succeeded"),
        ("moja-ml-ttk-test-cleanup", "Succeeded"),
    ]
    assert output.suites[1].started == BASE + timedelta(seconds=81)
    assert output.suites[1].seconds == 109
    assert set(output.pod_logs) == {f"moja-{s.name}" for s in GOLDEN_PATH}


def test_lines_in_pod_logs_that_look_like_suite_blocks_are_not_suite_blocks():
    output = parse_helm_test_output(fixture("hostile-phase-in-log.txt", BASE))
    assert [(s.name, s.phase) for s in output.suites] == [
        ("moja-ml-ttk-test-setup", "Succeeded"),
        ("moja-ml-ttk-test-val-gp", "Failed"),
    ]
    assert output.lookalike_blocks == 5


def test_a_hook_that_is_still_running_has_no_completion_time():
    running = parse_helm_test_output(fixture("status-gp-running.txt", BASE)).suites[1]
    assert (running.phase, running.completed, running.seconds) == ("Running", None, None)


# --- verdicts ------------------------------------------------------------------------------------------


def test_a_run_passes_when_every_expected_collection_succeeded():
    verdict = verdict_of("gp-passed.txt")
    assert verdict.outcome == Outcome.PASSED and verdict.exit_code == 0
    assert [(s.name, s.status, s.seconds) for s in verdict.suites] == [
        ("ml-ttk-test-setup", "passed", 78),
        ("ml-ttk-test-val-gp", "passed", 109),
        ("ml-ttk-test-cleanup", "passed", 39),
    ]
    assert verdict.suite("ml-ttk-test-val-gp").log.total_assertions == 27


def test_a_failed_golden_path_fails_naming_the_failed_request_and_the_suites_that_never_ran():
    stderr = (FIXTURES / "gp-failed-run-stopped.stderr").read_text()
    verdict = verdict_of("gp-failed-run-stopped.txt", exit_code=1, stderr=stderr)
    assert verdict.outcome == Outcome.FAILED and verdict.exit_code == EXIT_TESTS_FAILED
    assert status(verdict, "ml-ttk-test-val-gp") == "failed"
    assert status(verdict, "ml-ttk-test-cleanup") == "missing"
    assert verdict.suite("ml-ttk-test-val-gp").log.failed_requests == (
        "p2p_money_transfer - p2p_happy_path: Send transfer (POST /transfers) 6/8 assertions",
    )
    assert "helm test exited 1: 1 error occurred: * pod moja-ml-ttk-test-val-gp failed" in verdict.problems


@pytest.mark.parametrize("exit_code", [0, 1, None])
def test_output_cut_off_before_a_suite_fails_even_when_helm_exits_0(exit_code):
    # The first false pass: Helm's output stops after the setup suite's block. Only the expectation,
    # fixed from the stack before Helm ran, knows the golden path and cleanup are missing.
    verdict = verdict_of("truncated-before-suite.txt", exit_code=exit_code)
    assert verdict.outcome == Outcome.FAILED
    assert [(s.name, s.status) for s in verdict.suites] == [
        ("ml-ttk-test-setup", "passed"),
        ("ml-ttk-test-val-gp", "missing"),
        ("ml-ttk-test-cleanup", "missing"),
    ]


def test_without_the_expected_collections_a_truncated_run_would_look_like_a_pass():
    # What the expectation check protects against: judged only on what Helm printed, the cut-off run
    # has nothing but passing suites.
    reported_only = tuple(
        ExpectedSuite(block.name.removeprefix("moja-"), "goldenPath")
        for block in parse_helm_test_output(fixture("truncated-before-suite.txt", BASE)).suites
    )
    assert [s.status for s in verdict_of("truncated-before-suite.txt", expected=reported_only).suites] == ["passed"]


@pytest.mark.parametrize("exit_code", [0, 1])
def test_a_pod_log_claiming_success_cannot_pass_a_failed_suite(exit_code):
    # The second false pass: the golden path's log quotes `Phase: Succeeded` (and a whole fake block,
    # and one for the cleanup that never ran) after Helm reported the suite Failed.
    verdict = verdict_of("hostile-phase-in-log.txt", exit_code=exit_code)
    assert verdict.outcome == Outcome.FAILED
    assert status(verdict, "ml-ttk-test-val-gp") == "failed"
    assert verdict.suite("ml-ttk-test-val-gp").phase == "Failed"
    assert status(verdict, "ml-ttk-test-cleanup") == "missing"
    assert any("looked like its suite blocks" in note for note in verdict.notes)


def test_a_pod_that_succeeded_but_logged_failed_assertions_fails():
    text = (FIXTURES / "golden-path-failed.txt").read_text().replace("Phase:          Failed", "Phase:          Succeeded")
    verdict = judge(GOLDEN_PATH, parse_helm_test_output(text), release="moja", helm_exit_code=0)
    gp = verdict.suite("ml-ttk-test-val-gp")
    assert gp.phase == "Succeeded" and gp.status == "failed" and "25/27" in gp.reason
    assert verdict.outcome == Outcome.FAILED


def test_suite_blocks_left_over_from_an_earlier_run_are_stale():
    verdict = verdict_of("gp-passed.txt", base=BASE - timedelta(days=2))
    assert {s.status for s in verdict.suites} == {"stale"}
    assert verdict.outcome == Outcome.FAILED


@pytest.mark.parametrize("stderr_fixture", ["unreachable.stderr", "release-not-found.stderr"])
def test_a_cluster_or_release_that_cannot_be_reached_is_its_own_outcome(stderr_fixture):
    stderr = (FIXTURES / stderr_fixture).read_text()
    verdict = verdict_of("", exit_code=1, stderr=stderr)
    assert verdict.outcome == Outcome.UNREACHABLE and verdict.exit_code == EXIT_UNREACHABLE == 4
    assert stderr.removeprefix("Error: ").strip() in verdict.problems[0]
    assert {s.status for s in verdict.suites} == {"missing"}


def test_no_status_at_all_is_a_failure_even_with_exit_code_0():
    verdict = verdict_of("", exit_code=0)
    assert verdict.outcome == Outcome.FAILED and "printed no release status" in verdict.problems[0]


def test_a_suite_the_stack_does_not_expect_fails_the_run_when_it_fails():
    extra_block = (f"TEST SUITE:     moja-ml-ttk-test-val-sdk-r2p\nLast Started:   {ansic(BASE + timedelta(seconds=240))}\n"
                   f"Last Completed: {ansic(BASE + timedelta(seconds=300))}\nPhase:          Failed\nNOTES:")
    text = fixture("gp-passed.txt", BASE).replace("NOTES:", extra_block, 1)
    verdict = judge(GOLDEN_PATH, parse_helm_test_output(text), release="moja", helm_exit_code=0)
    extra = verdict.suite("ml-ttk-test-val-sdk-r2p")
    assert extra is not None and not extra.expected and extra.status == "failed"
    assert verdict.outcome == Outcome.FAILED
    passing_extra = judge(GOLDEN_PATH, parse_helm_test_output(text.replace("Phase:          Failed", "Phase:          Succeeded")),
                          release="moja", helm_exit_code=0)
    assert passing_extra.outcome == Outcome.PASSED and passing_extra.suite("ml-ttk-test-val-sdk-r2p").collection is None


def test_a_suite_listed_twice_is_ambiguous_and_fails():
    text = fixture("gp-passed.txt", BASE)
    block = text[text.index("TEST SUITE:     moja-ml-ttk-test-val-gp"):text.index("TEST SUITE:     moja-ml-ttk-test-cleanup")]
    verdict = judge(GOLDEN_PATH, parse_helm_test_output(text.replace(block, block + block)), release="moja",
                    helm_exit_code=0)
    assert status(verdict, "ml-ttk-test-val-gp") == "failed" and "ambiguous" in verdict.suite("ml-ttk-test-val-gp").reason


def test_no_expected_collection_is_never_a_pass():
    assert verdict_of("gp-passed.txt", expected=()).outcome == Outcome.FAILED


_log_text = st.lists(
    st.one_of(
        st.sampled_from([
            "Phase:          Succeeded", "TEST SUITE:     moja-ml-ttk-test-val-gp", "TEST SUITE:     moja-ml-ttk-test-cleanup",
            "Last Started:   Mon Dec  7 10:01:21 2026", "Last Completed: Mon Dec  7 10:03:10 2026", "POD LOGS: moja-ml-ttk-test-cleanup",
            "POD LOGS: moja-ml-ttk-test-val-gp", "NOTES:", "NAME: moja", "REVISION: 2", "│ Passed assertions │ 27 │",
            "│ Total assertions  │ 27 │", "--------------------FINAL REPORT--------------------", "",
        ]),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                max_size=40),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(_log_text, st.sampled_from([0, 1, None]))
def test_no_pod_log_text_turns_a_failed_run_into_a_pass(injected, exit_code):
    text = fixture("gp-failed-run-stopped.txt", BASE)
    at = text.index("POD LOGS: moja-ml-ttk-test-val-gp")
    hostile = text[:at] + "\n".join(injected) + "\n" + text[at:] + "\n".join(injected) + "\n"
    verdict = judge(GOLDEN_PATH, parse_helm_test_output(hostile), release="moja", helm_exit_code=exit_code,
                    not_before=BASE)
    assert verdict.outcome == Outcome.FAILED
    assert status(verdict, "ml-ttk-test-val-gp") == "failed" and status(verdict, "ml-ttk-test-cleanup") == "missing"


# --- the expectation comes from the stack -----------------------------------------------------------------


def _stack(tmp_path: Path, features: dict | None = None, overrides: dict | None = None) -> str:
    stack = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text())
    mojaloop = stack["config"]["mojaloop:environment"]["mojaloop"]
    if features:
        mojaloop["features"] = features
    if overrides is not None:
        values = tmp_path / "overrides.yaml"
        values.write_text(yaml.safe_dump(overrides))
        mojaloop["valuesFile"] = "overrides.yaml"  # next to the stack file, which paths are relative to
    path = tmp_path / "Pulumi.tested.yaml"
    path.write_text(yaml.safe_dump(stack))
    return str(path)


def _expected(stack: str) -> list[tuple[str, str]]:
    env = validate_stack_file(stack)[1].config.environment
    return [(s.name, s.collection) for s in stack_expected_suites(env, load_catalog().get(env.mojaloop.release))]


def test_the_golden_path_is_always_expected(tmp_path):
    assert _expected("demo") == [
        ("ml-ttk-test-setup", "goldenPath"), ("ml-ttk-test-val-gp", "goldenPath"), ("ml-ttk-test-cleanup", "goldenPath"),
    ]


def test_bulk_and_third_party_collections_are_expected_with_their_features(tmp_path):
    expected = _expected(_stack(tmp_path, {"bulk": True, "thirdParty": True}))
    assert ("ml-ttk-test-val-bulk", "bulk") in expected
    assert {("ml-ttk-test-setup-tp", "thirdParty"), ("ml-ttk-test-val-tp", "thirdParty")} <= set(expected)


def test_a_collection_the_values_file_switches_on_is_expected_and_one_it_switches_off_is_not(tmp_path):
    overrides = {"ml-ttk-test-val-sdk-r2p": {"tests": {"enabled": True}}, "ml-ttk-test-cleanup": {"tests": {"enabled": False}}}
    expected = _expected(_stack(tmp_path, overrides=overrides))
    assert ("ml-ttk-test-val-sdk-r2p", "other") in expected
    assert "ml-ttk-test-cleanup" not in dict(expected)


# --- reports -----------------------------------------------------------------------------------------------


def test_junit_report_has_one_case_per_collection_and_the_failures():
    stderr = (FIXTURES / "gp-failed-run-stopped.stderr").read_text()
    root = ET.fromstring(verdict_junit(verdict_of("gp-failed-run-stopped.txt", 1, stderr), "helm-test.demo"))
    suite = root.find("testsuite")
    names = [case.get("name") for case in suite.findall("testcase")]
    assert names == ["ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-cleanup", "helm test run"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "3", "0")
    gp = suite.findall("testcase")[1]
    assert gp.get("time") == "109" and "6/8 assertions" in gp.find("failure").text
    assert suite.findall("testcase")[2].find("failure").get("type") == "missing"


def test_junit_report_of_an_unreachable_cluster_has_errors_not_failures():
    root = ET.fromstring(verdict_junit(verdict_of("", 1, (FIXTURES / "unreachable.stderr").read_text()), "t"))
    assert (root.get("failures"), root.get("errors")) == ("0", "4")


def test_json_report_states_outcome_exit_code_and_each_suite():
    data = verdict_json(verdict_of("truncated-before-suite.txt"), stack="demo")
    assert (data["stack"], data["outcome"], data["exitCode"]) == ("demo", "failed", 3)
    assert [(s["name"], s["status"]) for s in data["suites"]][1] == ("ml-ttk-test-val-gp", "missing")
    json.dumps(data)


def test_markdown_summary_keeps_pod_text_inert():
    text = fixture("gp-failed-run-stopped.txt", BASE).replace("Send transfer - POST", "| ✅ passed | ## all good - POST")
    verdict = judge(GOLDEN_PATH, parse_helm_test_output(text), release="moja", helm_exit_code=1)
    summary = verdict_markdown(verdict, "helm test moja")
    assert summary.startswith("### helm test moja: ❌ failed")
    assert "  - `p2p_money_transfer - p2p_happy_path: | ✅ passed | ## all good (POST /transfers) 6/8 assertions`" in summary
    assert "| goldenPath | `ml-ttk-test-cleanup` | **MISSING** |" in summary


# --- running Helm ----------------------------------------------------------------------------------------


def test_progress_names_the_running_suite_from_helm_status(tmp_path):
    stand_in = helm_stand_in(tmp_path, "gp-passed.txt", status="status-gp-running.txt", sleep=1.5)
    seen = []
    run = run_helm_test(HelmTestCommand(str(stand_in.helm), "moja", "mojaloop", tmp_path / "kc"),
                        seen.append, poll_seconds=0.2, tick_seconds=0.1)
    assert run.exit_code == 0 and "TEST SUITE:     moja-ml-ttk-test-val-gp" in run.stdout
    assert any(p.running == "moja-ml-ttk-test-val-gp" for p in seen)
    assert ("moja-ml-ttk-test-setup", "Succeeded") in seen[-1].finished
    assert seen[-1].elapsed >= 1.0
    verbs = [call[0] for call in stand_in.calls()]
    assert verbs.count("test") == 1 and "status" in verbs


def test_helms_times_are_compared_in_utc(tmp_path):
    stand_in = helm_stand_in(tmp_path, "gp-passed.txt")
    run = run_helm_test(HelmTestCommand(str(stand_in.helm), "moja", "mojaloop", tmp_path / "kc"))
    output = parse_helm_test_output(run.stdout)
    assert all(suite.started >= run.started_at for suite in output.suites)


# --- the command -----------------------------------------------------------------------------------------


def _run_cli(tmp_path, capsys, monkeypatch, stdout, *, stderr=None, exit_code=0, stack="demo", extra=()):
    stand_in = helm_stand_in(tmp_path, stdout, stderr=stderr, exit_code=exit_code, status="status-gp-running.txt")
    monkeypatch.setenv("PATH", f"{stand_in.bin_dir}{os.pathsep}{os.environ['PATH']}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    code = cli.main(["test-env", stack, "--kubeconfig", str(kubeconfig), "--log", str(tmp_path / "helm.log"),
                     "--json", str(tmp_path / "report.json"), "--junit", str(tmp_path / "junit.xml"), "-q", *extra])
    return code, capsys.readouterr(), stand_in


def test_cli_passes_prints_a_markdown_summary_and_writes_the_reports(tmp_path, capsys, monkeypatch):
    code, captured, stand_in = _run_cli(tmp_path, capsys, monkeypatch, "gp-passed.txt")
    assert code == 0
    assert captured.out.startswith("### helm test moja (demo, Mojaloop 15.2.0): ✅ passed")
    assert "| goldenPath | `ml-ttk-test-val-gp` | passed | Succeeded | 27/27 |" in captured.out
    assert "3 expected collections passed" in captured.err
    assert json.loads((tmp_path / "report.json").read_text())["outcome"] == "passed"
    assert ET.parse(tmp_path / "junit.xml").getroot().get("failures") == "0"
    assert "TEST SUITE:     moja-ml-ttk-test-cleanup" in (tmp_path / "helm.log").read_text()
    assert stand_in.calls()[0][:5] == ["test", "moja", "--namespace", "mojaloop", "--logs"]


def test_cli_exits_3_when_the_golden_path_fails(tmp_path, capsys, monkeypatch):
    code, captured, _ = _run_cli(tmp_path, capsys, monkeypatch, "gp-failed-run-stopped.txt",
                                 stderr="gp-failed-run-stopped.stderr", exit_code=1)
    assert code == EXIT_FAILED == 3
    assert "Send transfer (POST /transfers) 6/8 assertions" in captured.out
    assert (tmp_path / "helm.log").read_text().endswith("* pod moja-ml-ttk-test-val-gp failed\n\n")


@pytest.mark.parametrize("stdout", ["truncated-before-suite.txt", "hostile-phase-in-log.txt"])
def test_cli_exits_3_on_the_two_false_passes_even_when_helm_exits_0(tmp_path, capsys, monkeypatch, stdout):
    code, captured, _ = _run_cli(tmp_path, capsys, monkeypatch, stdout, exit_code=0)
    assert code == 3
    assert "❌ failed" in captured.out and "**MISSING**" in captured.out


def test_cli_exits_4_when_the_cluster_is_unreachable(tmp_path, capsys, monkeypatch):
    code, captured, _ = _run_cli(tmp_path, capsys, monkeypatch, None, stderr="unreachable.stderr", exit_code=1)
    assert code == EXIT_UNREACHABLE == verdict_module.EXIT_UNREACHABLE
    assert "Kubernetes cluster unreachable" in captured.out
    assert json.loads((tmp_path / "report.json").read_text())["outcome"] == "unreachable"


def test_cli_expects_the_collections_of_the_stacks_features(tmp_path, capsys, monkeypatch):
    stack = _stack(tmp_path, {"bulk": True, "thirdParty": True})
    code, captured, _ = _run_cli(tmp_path, capsys, monkeypatch, "gp-passed.txt", stack=stack)
    assert code == 3 and "| bulk | `ml-ttk-test-val-bulk` | **MISSING** |" in captured.out
    code, captured, _ = _run_cli(tmp_path / "2", capsys, monkeypatch, "bulk-tp-passed.txt", stack=stack)
    assert code == 0


def test_cli_without_a_kubeconfig_is_invalid_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["test-env", str(REPO_ROOT / "stacks" / "Pulumi.demo.yaml")])
    assert code == 2 and "no kubeconfig" in capsys.readouterr().err


def test_a_filtered_run_names_only_its_suites_and_ignores_blocks_it_did_not_start():
    command = HelmTestCommand("helm", "moja", "mojaloop", Path("/k"), only=("ml-ttk-test-val-gp",))
    assert command.test()[-2:] == ["--filter", "name=moja-ml-ttk-test-val-gp"]
    output = parse_helm_test_output(fixture("gp-passed.txt", BASE))
    verdict = judge((ExpectedSuite("ml-ttk-test-val-gp", "gate"),), output, release="moja", helm_exit_code=0,
                    not_before=BASE + timedelta(seconds=81))
    assert verdict.outcome == Outcome.PASSED
    assert [s.name for s in verdict.suites] == ["ml-ttk-test-val-gp", "ml-ttk-test-cleanup"]
    assert "ml-ttk-test-setup: result of an earlier run, ignored" in verdict.notes


def test_cli_output_json_prints_the_verdict_on_stdout_and_the_markdown_nowhere(tmp_path, capsys, monkeypatch):
    code, captured, _ = _run_cli(tmp_path, capsys, monkeypatch, "gp-failed-run-stopped.txt",
                                 stderr="gp-failed-run-stopped.stderr", exit_code=1, extra=("-o", "json"))
    document = json.loads(captured.out)
    assert code == 3 and document["outcome"] == "failed" and document["stack"] == "demo"
    assert document == json.loads((tmp_path / "report.json").read_text())
    assert "###" not in captured.out
