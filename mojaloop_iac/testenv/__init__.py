"""`mojactl test-env`: run a deployed environment's `helm test` and give a verdict that cannot lie.

- expected.py: the collections the stack's own values switch on (the expectation, fixed before Helm runs);
- helm_output.py: Helm's output read strictly as Helm writes it (suite phases from Helm's status only);
- ttk_log.py: a Testing Toolkit pod's own account (FINAL REPORT, SUMMARY), which can only add failures;
- verdict.py: expected vs reported, with the outcome and its exit code (0 passed, 3 failed, 4 unreachable);
- reports.py: JUnit XML, JSON and Markdown;
- runner.py: running `helm test` with progress from `helm status`.
"""

from mojaloop_iac.testenv.expected import ExpectedSuite, expected_suites, stack_expected_suites
from mojaloop_iac.testenv.helm_output import HelmTestOutput, SuiteBlock, parse_helm_test_output
from mojaloop_iac.testenv.reports import verdict_json, verdict_junit, verdict_markdown
from mojaloop_iac.testenv.runner import HelmRun, HelmTestCommand, Progress, run_helm_test
from mojaloop_iac.testenv.verdict import (
    EXIT_TESTS_FAILED,
    EXIT_UNREACHABLE,
    Outcome,
    SuiteVerdict,
    Verdict,
    judge,
)

__all__ = [
    "EXIT_TESTS_FAILED",
    "EXIT_UNREACHABLE",
    "ExpectedSuite",
    "HelmRun",
    "HelmTestCommand",
    "HelmTestOutput",
    "Outcome",
    "Progress",
    "SuiteBlock",
    "SuiteVerdict",
    "Verdict",
    "expected_suites",
    "judge",
    "parse_helm_test_output",
    "run_helm_test",
    "stack_expected_suites",
    "verdict_json",
    "verdict_junit",
    "verdict_markdown",
]
