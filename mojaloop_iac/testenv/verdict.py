"""The verdict on one `helm test` run: passed only when every expected collection is proven to have passed.

A collection passes when, and only when:

- Helm's own suite block for it is present (a missing block fails: the output was cut off, or the hook
  never ran because an earlier one failed),
- that block says `Phase: Succeeded` and was started by this run (a block older than the run is left
  over from an earlier `helm test`),
- and the pod's own log, if it has one, does not report failed assertions (a log can only take a pass
  away, never grant one).

The run passes when every expected collection passes, no other suite Helm ran failed, Helm printed its
whole suite section and exited 0. When Helm could not even read the release (cluster unreachable, release
missing, credentials refused) the outcome is UNREACHABLE, which has its own exit code: nothing was tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

from mojaloop_iac.testenv.expected import ExpectedSuite
from mojaloop_iac.testenv.helm_output import HelmTestOutput, SuiteBlock, span_seconds
from mojaloop_iac.testenv.ttk_log import TtkLogSummary, summarise_ttk_log


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


EXIT_TESTS_FAILED = 3
EXIT_UNREACHABLE = 4
EXIT_CODES = {Outcome.PASSED: 0, Outcome.FAILED: EXIT_TESTS_FAILED, Outcome.UNREACHABLE: EXIT_UNREACHABLE}

SuiteStatus = Literal["passed", "failed", "missing", "stale"]


@dataclass(frozen=True)
class SuiteVerdict:
    name: str
    """The test sub-chart, e.g. `ml-ttk-test-val-gp`."""
    collection: str | None
    """Its collection (goldenPath, bulk, thirdParty, other); None for a suite the stack did not expect."""
    status: SuiteStatus
    reason: str
    phase: str | None = None
    started: datetime | None = None
    completed: datetime | None = None
    log: TtkLogSummary | None = None

    @property
    def expected(self) -> bool:
        return self.collection is not None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def seconds(self) -> float | None:
        return span_seconds(self.started, self.completed)


@dataclass(frozen=True)
class Verdict:
    release: str
    outcome: Outcome
    suites: tuple[SuiteVerdict, ...]
    problems: tuple[str, ...]
    """Why the run as a whole failed or could not run, beyond the suites' own reasons."""
    notes: tuple[str, ...] = ()
    helm_exit_code: int | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.PASSED

    def suite(self, name: str) -> SuiteVerdict | None:
        return next((suite for suite in self.suites if suite.name == name), None)


def judge(
    expected: Sequence[ExpectedSuite],
    output: HelmTestOutput,
    *,
    release: str,
    helm_exit_code: int | None,
    helm_error: str = "",
    not_before: datetime | None = None,
) -> Verdict:
    """Judge Helm's output of one run against the suites the stack expects.

    `helm_exit_code` None means the exit code is unknown (a saved log): the run can then pass only on
    the output alone. `not_before` is when this run started, in the clock Helm printed its times in.
    """
    error = _last_error_line(helm_error)
    if not output.has_status and helm_exit_code not in (None, 0):
        return Verdict(
            release=release,
            outcome=Outcome.UNREACHABLE,
            suites=tuple(SuiteVerdict(s.name, s.collection, "missing", "not run: the release could not be read")
                         for s in expected),
            problems=(f"Helm could not read release {release}: {error or f'exit code {helm_exit_code}'}",),
            helm_exit_code=helm_exit_code,
        )
    problems: list[str] = []
    notes: list[str] = []
    if not output.has_status:
        problems.append("Helm printed no release status: this is not the output of `helm test`")
    elif not output.suites_section_complete:
        problems.append("Helm's output ends inside its test-suite section: it was cut off")
    if not expected:
        problems.append("no collection is expected: the stack's values switch on no Helm test")
    if helm_exit_code not in (None, 0):
        problems.append(f"helm test exited {helm_exit_code}" + (f": {error}" if error else ""))
    if output.lookalike_blocks:
        notes.append(
            f"{output.lookalike_blocks} line(s) after Helm's suite section looked like its suite blocks "
            "(in notes or pod logs); they were ignored"
        )
    verdicts = [_judge_expected(suite, output, release, not_before) for suite in expected]
    expected_names = {f"{release}-{suite.name}" for suite in expected}
    for block in output.suites:
        if block.name in expected_names:
            continue
        if not_before is not None and (block.started is None or block.started < not_before.replace(microsecond=0)):
            # A hook this run did not start (filtered out, or not expected) keeps its last result in
            # Helm's status: it says nothing about this run.
            notes.append(f"{block.name.removeprefix(release + '-')}: result of an earlier run, ignored")
            continue
        verdicts.append(_judge_unexpected(block, output, release))
    failed = [verdict for verdict in verdicts if not verdict.passed and verdict.expected]
    failed_extra = [verdict for verdict in verdicts if not verdict.expected and verdict.status != "passed"]
    if failed_extra:
        problems.append(
            "suites the stack does not expect failed: " + ", ".join(verdict.name for verdict in failed_extra)
        )
    outcome = Outcome.PASSED if not (failed or problems) else Outcome.FAILED
    return Verdict(
        release=release,
        outcome=outcome,
        suites=tuple(verdicts),
        problems=tuple(problems),
        notes=tuple(notes),
        helm_exit_code=helm_exit_code,
    )


def _judge_expected(
    suite: ExpectedSuite, output: HelmTestOutput, release: str, not_before: datetime | None
) -> SuiteVerdict:
    pod = f"{release}-{suite.name}"
    blocks = [block for block in output.suites if block.name == pod]
    if not blocks:
        reason = "Helm reported no result for it: the output was cut off, or the test never ran"
        return SuiteVerdict(suite.name, suite.collection, "missing", reason)
    if len(blocks) > 1:
        return SuiteVerdict(suite.name, suite.collection, "failed",
                            f"Helm's status lists it {len(blocks)} times; its result is ambiguous")
    return _judge_block(blocks[0], suite.name, suite.collection, output, not_before)


def _judge_unexpected(block: SuiteBlock, output: HelmTestOutput, release: str) -> SuiteVerdict:
    name = block.name.removeprefix(f"{release}-")
    return _judge_block(block, name, None, output, None)


def _judge_block(
    block: SuiteBlock, name: str, collection: str | None, output: HelmTestOutput, not_before: datetime | None
) -> SuiteVerdict:
    sections = output.pod_logs.get(block.name, ())
    log = summarise_ttk_log(sections) if sections else None
    common = {"phase": block.phase, "started": block.started, "completed": block.completed, "log": log}
    if not_before is not None and (block.started is None or block.started < not_before.replace(microsecond=0)):
        when = block.started.isoformat(sep=" ") if block.started else "an unknown time"
        return SuiteVerdict(name, collection, "stale",
                            f"its result is from an earlier run (started {when}), not this one", **common)
    if block.phase != "Succeeded":
        return SuiteVerdict(name, collection, "failed", f"Helm reports phase {block.phase}", **common)
    if log is not None and log.reports_failures:
        counts = (f" ({log.passed_assertions}/{log.total_assertions} assertions)"
                  if log.total_assertions is not None else "")
        return SuiteVerdict(name, collection, "failed",
                            f"the pod succeeded but its log reports failed assertions{counts}", **common)
    return SuiteVerdict(name, collection, "passed", "Helm reports phase Succeeded", **common)


def _last_error_line(stderr: str) -> str:
    """Helm's final `Error:` message with its continuation lines (`* pod ... failed`), on one line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    starts = [index for index, line in enumerate(lines) if line.startswith("Error:")]
    chosen = lines[starts[-1]:] if starts else lines[-1:]
    return " ".join(chosen).removeprefix("Error:").strip()
