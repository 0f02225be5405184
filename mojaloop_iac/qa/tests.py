"""The tests of a QA run: the QA environment's `helm test`, judged by the verdict that cannot lie.

What is expected comes from the QA stack itself (its `qa.expectedTestSuites` output, written from the
stack's values when it was deployed), never from what Helm happens to report; see mojaloop_iac.testenv.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mojaloop_iac.qa.orchestrate import TestOutcome, TestRunner
from mojaloop_iac.testenv import (
    ExpectedSuite,
    HelmTestCommand,
    judge,
    parse_helm_test_output,
    run_helm_test,
    verdict_junit,
    verdict_markdown,
)


class QaTestError(RuntimeError):
    """The QA stack's outputs do not say how to reach its tests, or what they must be."""


def expected_from_outputs(qa: Mapping[str, Any], stack: str) -> tuple[ExpectedSuite, ...]:
    listed = qa.get("expectedTestSuites")
    if not isinstance(listed, list) or not listed:
        raise QaTestError(f"stack {stack} exports no `qa.expectedTestSuites`: redeploy it with this mojactl")
    return tuple(ExpectedSuite(name=str(suite["name"]), collection=str(suite["collection"])) for suite in listed)


@contextmanager
def private_kubeconfig(kubeconfig: str) -> Iterator[Path]:
    """The stack's kubeconfig in a file only this user can read, removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix="mojactl-qa-") as scratch:
        path = Path(scratch) / "kubeconfig"
        # Cluster-admin credentials: readable by this user only, gone with the directory.
        path.touch(mode=0o600)
        os.chmod(path, 0o600)
        path.write_text(kubeconfig, encoding="utf-8")
        yield path


def helm_test_runner(helm: str, timeout: str, suite: str, junit: Path | None = None) -> TestRunner:
    """A TestRunner running `helm test` against the stack's `qa` and `kubeconfig` outputs; writes JUnit."""

    def run(outputs: Mapping[str, Any]) -> TestOutcome:
        qa, kubeconfig = outputs.get("qa"), outputs.get("kubeconfig")
        if not isinstance(qa, Mapping) or not kubeconfig:
            raise QaTestError(f"stack {suite} exports no `qa` and `kubeconfig` outputs: is it a QA stack, deployed?")
        expected = expected_from_outputs(qa, suite)
        with private_kubeconfig(str(kubeconfig)) as path:
            command = HelmTestCommand(helm, str(qa["helmReleaseName"]), str(qa["namespace"]), path, timeout)
            helm_run = run_helm_test(command)
        verdict = judge(expected, parse_helm_test_output(helm_run.stdout), release=command.release,
                        helm_exit_code=helm_run.exit_code, helm_error=helm_run.stderr, not_before=helm_run.started_at)
        if junit is not None:
            junit.parent.mkdir(parents=True, exist_ok=True)
            junit.write_text(verdict_junit(verdict, f"helm-test.{suite}"), encoding="utf-8")
        return TestOutcome(verdict.passed, verdict_markdown(verdict, f"helm test {command.release} ({suite})"))

    return run
