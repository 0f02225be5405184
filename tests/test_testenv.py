"""`mojactl test-env`: parsing of `helm test --logs` output into per-collection results."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from mojaloop_iac import cli
from mojaloop_iac.testenv import helm_test_command, parse_helm_test_output, run_helm_test

FIXTURES = Path(__file__).parent / "fixtures" / "helm-test"


def report(name: str):
    return parse_helm_test_output((FIXTURES / name).read_text(), "moja")


def test_a_passing_run_gives_every_collection_with_its_assertions():
    parsed = report("golden-path-passed.txt")
    assert [c.name for c in parsed.collections] == ["ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-cleanup"]
    golden = parsed.collections[1]
    assert (golden.phase, golden.total_assertions, golden.passed_assertions, golden.test_cases) == ("Succeeded", 27, 27, 2)
    assert golden.failed_requests == () and parsed.passed


def test_a_failing_run_names_the_collection_and_the_failing_request():
    parsed = report("golden-path-failed.txt")
    golden = next(c for c in parsed.collections if c.name == "ml-ttk-test-val-gp")
    assert golden.phase == "Failed" and not golden.passed
    assert (golden.passed_assertions, golden.total_assertions) == (25, 27)
    assert golden.failed_requests == (
        "p2p_money_transfer - p2p_happy_path: Send transfer (POST /transfers) 6/8 assertions",
    )
    assert [c.passed for c in parsed.collections] == [True, False, True] and not parsed.passed


def test_a_pod_that_succeeded_but_failed_assertions_is_not_a_pass():
    text = (FIXTURES / "golden-path-failed.txt").read_text().replace("Phase:          Failed", "Phase:          Succeeded")
    golden = parse_helm_test_output(text, "moja").collections[1]
    assert golden.phase == "Succeeded" and not golden.passed


def test_no_suites_is_not_a_pass():
    assert not parse_helm_test_output("Error: release: not found\n", "moja").passed


def test_the_helm_command_targets_the_release_namespace_and_kubeconfig():
    command = helm_test_command("helm", "moja", "mojaloop", Path("/k/config"), "30m")
    assert command == ["helm", "test", "moja", "--namespace", "mojaloop", "--logs", "--kubeconfig", "/k/config",
                       "--timeout", "30m"]


def _helm_stand_in(tmp_path: Path, fixture: str, exit_code: int) -> Path:
    """A `helm` on PATH that prints a fixture: no cluster runs here to run real tests against."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    helm.write_text(f"#!/bin/sh\necho \"$@\" > {shlex.quote(str(tmp_path / 'args'))}\n"
                    f"cat {shlex.quote(str(FIXTURES / fixture))}\nexit {exit_code}\n")
    helm.chmod(0o755)
    return bin_dir


def test_run_helm_test_returns_exit_code_and_output(tmp_path):
    bin_dir = _helm_stand_in(tmp_path, "golden-path-failed.txt", 1)
    code, output = run_helm_test([str(bin_dir / "helm"), "test", "moja"])
    assert code == 1 and "POD LOGS: moja-ml-ttk-test-val-gp" in output


def test_cli_summarises_and_exits_3_when_the_golden_path_fails(tmp_path, capsys, monkeypatch):
    bin_dir = _helm_stand_in(tmp_path, "golden-path-failed.txt", 1)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    code = cli.main(["test-env", "demo", "--kubeconfig", str(kubeconfig)])
    captured = capsys.readouterr()
    assert code == 3
    assert "ml-ttk-test-val-gp" in captured.out and "25/27" in captured.out
    assert "Send transfer (POST /transfers) 6/8 assertions" in captured.err
    assert (tmp_path / "args").read_text().split()[:5] == ["test", "moja", "--namespace", "mojaloop", "--logs"]


def test_cli_passes_when_every_collection_passes(tmp_path, capsys, monkeypatch):
    bin_dir = _helm_stand_in(tmp_path, "golden-path-passed.txt", 0)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    assert cli.main(["test-env", "demo", "--kubeconfig", str(kubeconfig)]) == 0
    assert "3 collections passed" in capsys.readouterr().out


def test_cli_without_a_kubeconfig_is_invalid_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["test-env", str(Path(__file__).parent.parent / "stacks" / "Pulumi.demo.yaml")])
    assert code == 2 and "no kubeconfig" in capsys.readouterr().err


def test_cli_json_gives_each_collection_and_the_verdict(tmp_path, capsys, monkeypatch):
    import json

    bin_dir = _helm_stand_in(tmp_path, "golden-path-failed.txt", 1)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    code = cli.main(["test-env", "demo", "--kubeconfig", str(kubeconfig), "-o", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 3 and document["passed"] is False
    golden = next(c for c in document["collections"] if c["name"] == "ml-ttk-test-val-gp")
    assert (golden["passedAssertions"], golden["totalAssertions"]) == (25, 27) and golden["failedRequests"]
