"""The tests of a QA run: the golden-path `helm test` of the QA environment, with its own kubeconfig."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mojaloop_iac.qa.orchestrate import TestOutcome, TestRunner
from mojaloop_iac.testenv import helm_test_command, junit_xml, parse_helm_test_output, run_helm_test


class QaTestError(RuntimeError):
    """The QA stack's outputs do not say how to reach its tests."""


def helm_test_runner(helm: str, timeout: str, suite: str, junit: Path | None = None) -> TestRunner:
    """A TestRunner running `helm test` against the stack's `qa` and `kubeconfig` outputs; writes JUnit."""

    def run(outputs: Mapping[str, Any]) -> TestOutcome:
        qa, kubeconfig = outputs.get("qa"), outputs.get("kubeconfig")
        if not isinstance(qa, Mapping) or not kubeconfig:
            raise QaTestError(f"stack {suite} exports no `qa` and `kubeconfig` outputs: is it a QA stack, deployed?")
        with tempfile.TemporaryDirectory(prefix="mojactl-qa-") as scratch:
            path = Path(scratch) / "kubeconfig"
            # Cluster-admin credentials: readable by this user only, gone with the directory.
            path.touch(mode=0o600)
            os.chmod(path, 0o600)
            path.write_text(str(kubeconfig), encoding="utf-8")
            release, namespace = str(qa["helmReleaseName"]), str(qa["namespace"])
            code, text = run_helm_test(helm_test_command(helm, release, namespace, path, timeout))
        report = parse_helm_test_output(text, release)
        if junit is not None:
            junit.parent.mkdir(parents=True, exist_ok=True)
            junit.write_text(junit_xml(report, suite), encoding="utf-8")
        lines = [
            f"{c.name}: {'passed' if c.passed else 'FAILED'} ({c.phase}"
            + (f", {c.passed_assertions}/{c.total_assertions} assertions" if c.total_assertions is not None else "")
            + ")"
            for c in report.collections
        ] or [text[-2000:]]
        return TestOutcome(code == 0 and report.passed, "\n".join(lines))

    return run
