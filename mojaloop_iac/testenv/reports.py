"""A test-env verdict as JUnit XML (CI test reports), JSON (machines) and Markdown (CI step summaries)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from mojaloop_iac.testenv.verdict import Outcome, SuiteVerdict, Verdict

_HEADLINE = {Outcome.PASSED: "✅ passed", Outcome.FAILED: "❌ failed", Outcome.UNREACHABLE: "⚠️ not run: unreachable"}


def verdict_json(verdict: Verdict, **context: Any) -> dict[str, Any]:
    """Plain data for `--json`; `context` adds keys such as stack, rawLog, durationSeconds."""
    return {
        **context,
        "release": verdict.release,
        "outcome": verdict.outcome.value,
        "exitCode": verdict.exit_code,
        "helmExitCode": verdict.helm_exit_code,
        "problems": list(verdict.problems),
        "notes": list(verdict.notes),
        "suites": [_suite_json(suite) for suite in verdict.suites],
    }


def _suite_json(suite: SuiteVerdict) -> dict[str, Any]:
    log = suite.log
    return {
        "name": suite.name,
        "collection": suite.collection,
        "expected": suite.expected,
        "status": suite.status,
        "reason": suite.reason,
        "phase": suite.phase,
        "started": suite.started.isoformat() if suite.started else None,
        "completed": suite.completed.isoformat() if suite.completed else None,
        "seconds": suite.seconds,
        "totalAssertions": log.total_assertions if log else None,
        "passedAssertions": log.passed_assertions if log else None,
        "testCases": log.test_cases if log else None,
        "failedRequests": list(log.failed_requests) if log else [],
    }


def verdict_junit(verdict: Verdict, suite_name: str) -> str:
    """JUnit XML: one test case per collection, plus one for the run itself when it has problems."""
    cases = ET.Element("testsuite", name=suite_name)
    failures = errors = 0
    total_seconds = 0.0
    for suite in verdict.suites:
        case = ET.SubElement(cases, "testcase", classname=suite_name, name=suite.name)
        if suite.seconds is not None:
            case.set("time", f"{suite.seconds:.0f}")
            total_seconds += suite.seconds
        if verdict.outcome == Outcome.UNREACHABLE:
            errors += 1
            ET.SubElement(case, "error", message=suite.reason, type="unreachable")
        elif not suite.passed:
            failures += 1
            failure = ET.SubElement(case, "failure", message=suite.reason, type=suite.status)
            details = list(suite.log.failed_requests) if suite.log else []
            failure.text = "\n".join(details) or suite.reason
    if verdict.problems:
        case = ET.SubElement(cases, "testcase", classname=suite_name, name="helm test run")
        kind = "error" if verdict.outcome == Outcome.UNREACHABLE else "failure"
        errors += kind == "error"
        failures += kind == "failure"
        element = ET.SubElement(case, kind, message=verdict.problems[0], type="run")
        element.text = "\n".join(verdict.problems)
    cases.set("tests", str(len(cases)))
    cases.set("failures", str(failures))
    cases.set("errors", str(errors))
    cases.set("time", f"{total_seconds:.0f}")
    root = ET.Element("testsuites", name=suite_name, tests=cases.get("tests", "0"),
                      failures=str(failures), errors=str(errors))
    root.append(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def verdict_markdown(verdict: Verdict, title: str) -> str:
    """A Markdown summary for a CI step summary (e.g. `>> $GITHUB_STEP_SUMMARY`)."""
    lines = [f"### {title}: {_HEADLINE[verdict.outcome]}", ""]
    lines += [
        "| Collection | Test suite | Result | Helm phase | Assertions | Duration |",
        "|---|---|---|---|---|---|",
    ]
    for suite in verdict.suites:
        log = suite.log
        assertions = (f"{log.passed_assertions}/{log.total_assertions}"
                      if log and log.total_assertions is not None else "-")
        duration = format_duration(suite.seconds) if suite.seconds is not None else "-"
        result = "passed" if suite.passed else f"**{suite.status.upper()}**"
        lines.append(
            f"| {suite.collection or 'not expected'} | `{suite.name}` | {result} | {suite.phase or '-'} | "
            f"{assertions} | {duration} |"
        )
    failing = [suite for suite in verdict.suites if not suite.passed]
    if failing or verdict.problems:
        lines += ["", "**Why:**", ""]
        lines += [f"- {problem}" for problem in verdict.problems]
        for suite in failing:
            lines.append(f"- `{suite.name}`: {suite.reason}")
            for request in suite.log.failed_requests if suite.log else ():
                lines.append(f"  - {_inert(request)}")
    if verdict.notes:
        lines += [""] + [f"_{note}_" for note in verdict.notes]
    return "\n".join(lines) + "\n"


def _inert(text: str) -> str:
    """Text a test pod wrote, as inline code: it cannot add headings, tables or a verdict of its own."""
    return "`" + " ".join(text.replace("`", "'").split()) + "`"


def format_duration(seconds: float) -> str:
    """1h05m, 3m07s or 42s."""
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
