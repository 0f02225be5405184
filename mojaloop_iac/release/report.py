"""The record of one release validation: JSON (the record promotion reads), Markdown (release notes), JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from mojaloop_iac.testenv.reports import format_duration

REPORT_SCHEMA = "mojaloop-iac/release-validation/v1"

ValidationOutcome = Literal["passed", "failed", "baseline-failed", "stopped", "unreachable", "error", "interrupted"]
StepStatus = Literal["done", "skipped", "failed", "stopped", "not-run"]

EXIT_CODES: dict[str, int] = {"passed": 0, "failed": 3, "baseline-failed": 3, "stopped": 3, "error": 3,
                              "unreachable": 4, "interrupted": 130}
_HEADLINE = {"passed": "✅ passed", "failed": "❌ gate not met", "baseline-failed": "❌ baseline failed",
             "stopped": "⏸ stopped at an operator step", "unreachable": "⚠️ environment unreachable",
             "error": "❌ environment error", "interrupted": "⚠️ interrupted"}


@dataclass(frozen=True)
class StepRecord:
    order: int
    phase: str
    title: str
    status: StepStatus
    seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class SuiteAttempt:
    round: int
    status: str
    reason: str
    phase: str | None = None
    pass_rate: float | None = None
    """Share of assertions passed (0..1), when the suite's log gives it unambiguously."""
    seconds: float | None = None
    met: bool = False
    """Whether this attempt met the gate's rule."""


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    required_rate: float
    retries_allowed: int
    attempts: tuple[SuiteAttempt, ...]
    flaky_issue: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].met

    @property
    def retried(self) -> int:
        return max(0, len(self.attempts) - 1)


@dataclass(frozen=True)
class ValidationReport:
    candidate: str
    previous: str | None
    mode: str
    template: str
    environment: str
    outcome: ValidationOutcome
    reason: str
    started_at: datetime
    finished_at: datetime
    steps: tuple[StepRecord, ...]
    gate_line: str
    baseline: tuple[SuiteResult, ...] = ()
    gate: tuple[SuiteResult, ...] = ()
    footprint: dict[str, Any] | None = None
    candidate_status: str | None = None
    teardown_error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return self.outcome == "passed" and self.teardown_error is None

    @property
    def exit_code(self) -> int:
        code = EXIT_CODES[self.outcome]
        return 3 if code == 0 and self.teardown_error else code

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "candidate": self.candidate,
            "candidateStatus": self.candidate_status,
            "previous": self.previous,
            "mode": self.mode,
            "template": self.template,
            "environment": self.environment,
            "outcome": self.outcome,
            "passed": self.passed,
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat(),
            "durationSeconds": round((self.finished_at - self.started_at).total_seconds(), 1),
            "steps": [
                {"order": s.order, "phase": s.phase, "title": s.title, "status": s.status,
                 "seconds": round(s.seconds, 1), "detail": s.detail}
                for s in self.steps
            ],
            "gateLine": self.gate_line,
            "baseline": [_suite_json(result) for result in self.baseline],
            "gate": [_suite_json(result) for result in self.gate],
            "footprint": self.footprint,
            "teardownError": self.teardown_error,
            "notes": list(self.notes),
        }


def _suite_json(result: SuiteResult) -> dict[str, Any]:
    return {
        "suite": result.suite,
        "requiredPassRate": result.required_rate,
        "retriesAllowed": result.retries_allowed,
        "flakyIssue": result.flaky_issue,
        "passed": result.passed,
        "attempts": [
            {"round": a.round, "status": a.status, "met": a.met, "reason": a.reason, "phase": a.phase,
             "passRate": a.pass_rate, "seconds": a.seconds}
            for a in result.attempts
        ],
    }


def report_markdown(report: ValidationReport) -> str:
    """Release-notes Markdown: verdict, gate with every retry, durations per phase, footprint."""
    what = f"{report.previous} → {report.candidate}" if report.previous else f"{report.candidate} (fresh install)"
    kind = f" ({report.candidate_status})" if report.candidate_status else ""
    lines = [f"## Validation of Mojaloop {report.candidate}{kind}: {_HEADLINE[report.outcome]}", "",
             f"- Upgrade rehearsed: {what}" if report.previous else f"- Fresh install of {report.candidate}",
             f"- Environment: `{report.environment}` (ephemeral, from stack `{report.template}`), torn down: "
             + ("yes" if report.teardown_error is None else f"**NO** ({report.teardown_error})"),
             f"- Ran {report.started_at:%Y-%m-%d %H:%M} to {report.finished_at:%H:%M} UTC "
             f"({format_duration((report.finished_at - report.started_at).total_seconds())})"]
    if report.reason:
        lines.append(f"- Why: {report.reason}")
    for title, results in (("Baseline (previous release's golden path)", report.baseline),
                           (f"Gate of release line {report.gate_line}", report.gate)):
        if not results:
            continue
        lines += ["", f"### {title}", "", "| Collection | Required | Result | Attempts |", "|---|---|---|---|"]
        for result in results:
            attempts = "; ".join(
                f"{a.round}: {a.status}" + (f" ({a.pass_rate * 100:.1f}%)" if a.pass_rate is not None else "")
                for a in result.attempts
            ) or "not run"
            retried = f", retried {result.retried}x ({result.flaky_issue})" if result.retried else ""
            lines.append(f"| `{result.suite}` | {result.required_rate:g}% | "
                         f"{'passed' if result.passed else '**FAILED**'}{retried} | {attempts} |")
    lines += ["", "### Steps", "", "| # | Phase | Step | Status | Duration |", "|---|---|---|---|---|"]
    for step in report.steps:
        lines.append(f"| {step.order} | {step.phase} | {step.title} | {step.status} | {format_duration(step.seconds)} |")
    if report.footprint:
        fp = report.footprint
        lines += ["", "### Footprint", "",
                  f"{fp['pods']} pods; CPU requests {fp['cpuRequests']} cores (limits {fp['cpuLimits']}); memory "
                  f"requests {fp['memoryRequestsMiB']} MiB (limits {fp['memoryLimitsMiB']}); persistent storage "
                  f"requested {fp['storageRequestedGiB']} GiB; {len(fp['images'])} images.", ""]
        lines += [f"- `{image}`" for image in fp["images"]]
    if report.notes:
        lines += [""] + [f"_{note}_" for note in report.notes]
    return "\n".join(lines) + "\n"


def report_junit(report: ValidationReport) -> str:
    """One test case per step and per suite attempt; a failed attempt that was retried is `skipped`."""
    name = f"release-validation.{report.candidate}"
    suite = ET.Element("testsuite", name=name)
    failures = skipped = 0
    for step in report.steps:
        case = ET.SubElement(suite, "testcase", classname=f"{name}.steps", name=f"{step.order} {step.title}",
                             time=f"{step.seconds:.0f}")
        if step.status in ("failed", "stopped"):
            failures += 1
            ET.SubElement(case, "failure", message=step.detail or step.status, type=step.status)
        elif step.status in ("skipped", "not-run"):
            skipped += 1
            ET.SubElement(case, "skipped", message=step.detail or step.status)
    for group, results in (("baseline", report.baseline), ("gate", report.gate)):
        for result in results:
            for index, attempt in enumerate(result.attempts):
                label = result.suite if index == 0 else f"{result.suite} (retry {index})"
                case = ET.SubElement(suite, "testcase", classname=f"{name}.{group}", name=label)
                if attempt.seconds is not None:
                    case.set("time", f"{attempt.seconds:.0f}")
                if attempt.met:
                    continue
                if index < len(result.attempts) - 1:
                    skipped += 1
                    ET.SubElement(case, "skipped", message=f"{attempt.status}, retried: {attempt.reason}")
                else:
                    failures += 1
                    ET.SubElement(case, "failure", message=attempt.reason, type=attempt.status)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites", name=name, tests=str(len(suite)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

