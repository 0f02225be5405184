"""`mojactl test-env`: run the golden-path `helm test` of a deployed environment and summarise it.

The umbrella chart runs the Testing Toolkit collections as Helm test hooks (`ml-ttk-test-setup`,
`ml-ttk-test-val-gp`, `ml-ttk-test-cleanup`, ...). `helm test RELEASE --logs` prints each suite's phase,
then every test pod's log, where the TTK CLI ends with a FINAL REPORT (one line per request with its
passed/total assertions) and a SUMMARY table. This module parses that text into per-collection results.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SUITE = re.compile(r"^TEST SUITE:\s+(?P<name>\S+)\s*$")
_PHASE = re.compile(r"^Phase:\s+(?P<phase>\S+)\s*$")
_POD_LOGS = re.compile(r"^POD LOGS:\s+(?P<name>\S+)\s*$")
_SUMMARY_ROW = re.compile(r"^[│|]\s*(?P<label>[A-Za-z ]+?)\s*[│|]\s*(?P<value>[^│|]*?)\s*[│|]\s*$")
_REQUEST = re.compile(r"^\t(?P<description>.*) - (?P<method>[A-Z]+) - (?P<path>\S+) - \[(?P<passed>\d+)/(?P<total>\d+)\]\s*$")
_FINAL_REPORT = "--------------------FINAL REPORT--------------------"


@dataclass(frozen=True)
class CollectionResult:
    name: str
    """The test suite without the release prefix, e.g. `ml-ttk-test-val-gp`."""
    phase: str
    """Helm's verdict on the test pod: Succeeded, Failed, Pending or Unknown."""
    total_assertions: int | None = None
    passed_assertions: int | None = None
    test_cases: int | None = None
    failed_requests: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        assertions_ok = self.total_assertions is None or self.passed_assertions == self.total_assertions
        return self.phase == "Succeeded" and assertions_ok and not self.failed_requests


@dataclass(frozen=True)
class HelmTestReport:
    collections: tuple[CollectionResult, ...]

    @property
    def passed(self) -> bool:
        return bool(self.collections) and all(c.passed for c in self.collections)


def parse_helm_test_output(output: str, release: str) -> HelmTestReport:
    lines = [_ANSI.sub("", line) for line in output.splitlines()]
    phases: dict[str, str] = {}
    suite = None
    for line in lines:
        if match := _SUITE.match(line):
            suite = match["name"]
            phases[suite] = "Unknown"
        elif suite and (match := _PHASE.match(line)):
            phases[suite] = match["phase"]
    logs = _pod_logs(lines)
    collections = []
    for suite_name, phase in phases.items():
        log = logs.get(suite_name, [])
        summary = _summary(log)
        collections.append(
            CollectionResult(
                name=suite_name.removeprefix(f"{release}-"),
                phase=phase,
                total_assertions=summary.get("Total assertions"),
                passed_assertions=summary.get("Passed assertions"),
                test_cases=summary.get("Total test cases"),
                failed_requests=_failed_requests(log),
            )
        )
    return HelmTestReport(tuple(collections))


def _pod_logs(lines: Sequence[str]) -> dict[str, list[str]]:
    logs: dict[str, list[str]] = {}
    current = None
    for line in lines:
        if match := _POD_LOGS.match(line):
            current = logs.setdefault(match["name"], [])
        elif current is not None:
            current.append(line)
    return logs


def _summary(log: Sequence[str]) -> dict[str, int]:
    values = {}
    for line in log:
        if match := _SUMMARY_ROW.match(line.strip()):
            number = re.match(r"^\d+", match["value"])
            if number:
                values[match["label"]] = int(number.group())
    return values


def _failed_requests(log: Sequence[str]) -> tuple[str, ...]:
    failed, in_report, test_case = [], False, ""
    for line in log:
        if line.strip() == _FINAL_REPORT:
            in_report = not in_report
            continue
        if not in_report:
            continue
        if match := _REQUEST.match(line):
            if match["passed"] != match["total"]:
                failed.append(
                    f"{test_case}: {match['description']} ({match['method']} {match['path']}) "
                    f"{match['passed']}/{match['total']} assertions"
                )
        elif line.strip():
            test_case = line.strip()
    return tuple(failed)


Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def helm_test_command(helm: str, release: str, namespace: str, kubeconfig: Path, timeout: str) -> list[str]:
    return [helm, "test", release, "--namespace", namespace, "--logs", "--kubeconfig", str(kubeconfig),
            "--timeout", timeout]


def run_helm_test(command: list[str], runner: Runner | None = None) -> tuple[int, str]:
    """Run `helm test`; returns its exit code and its combined output (helm reports failures on stderr)."""
    run = runner or (lambda cmd: subprocess.run(cmd, capture_output=True, text=True, check=False))
    done = run(command)
    return done.returncode, (done.stdout or "") + (done.stderr or "")


def junit_xml(report: HelmTestReport, suite: str) -> str:
    """The report as JUnit XML (one test case per collection), what CI systems show per test."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for collection in report.collections if not collection.passed)
    root = ET.Element("testsuites", name=suite, tests=str(len(report.collections)), failures=str(failures))
    suite_element = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(report.collections)), failures=str(failures), errors="0"
    )
    for collection in report.collections:
        case = ET.SubElement(suite_element, "testcase", classname=suite, name=collection.name)
        if not collection.passed:
            assertions = (
                f"{collection.passed_assertions}/{collection.total_assertions} assertions passed"
                if collection.total_assertions is not None
                else "no assertion summary"
            )
            failure = ET.SubElement(case, "failure", message=f"phase {collection.phase}, {assertions}")
            failure.text = "\n".join(collection.failed_requests)
    if not report.collections:
        case = ET.SubElement(suite_element, "testcase", classname=suite, name="helm test")
        ET.SubElement(case, "error", message="helm test reported no test suites (is the release deployed?)")
        suite_element.set("errors", "1")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
