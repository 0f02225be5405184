"""What a Testing Toolkit CLI pod says about its own run: the FINAL REPORT and the SUMMARY table.

The TTK CLI ends its log with a FINAL REPORT (one line per request with its passed/total assertions,
under the test case it belongs to) and a SUMMARY table. This is the pod's own account: it can explain a
failure Helm reports, or reveal failed assertions behind a pod that exited 0, but it never turns a
failure into a pass (see verdict.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SUMMARY_ROW = re.compile(r"^[│|]\s*(?P<label>[A-Za-z ]+?)\s*[│|]\s*(?P<value>[^│|]*?)\s*[│|]\s*$")
_REQUEST = re.compile(
    r"^\t(?P<description>.*) - (?P<method>[A-Z]+) - (?P<path>\S+) - \[(?P<passed>\d+)/(?P<total>\d+)\]\s*$"
)
_FINAL_REPORT = "--------------------FINAL REPORT--------------------"
_SUMMARY_TITLE = "SUMMARY"


@dataclass(frozen=True)
class TtkLogSummary:
    summaries: int
    """How many SUMMARY tables the log holds; exactly one is an unambiguous account."""
    total_assertions: int | None = None
    passed_assertions: int | None = None
    test_cases: int | None = None
    failed_requests: tuple[str, ...] = ()

    @property
    def reports_failures(self) -> bool:
        counted = (
            self.total_assertions is not None
            and self.passed_assertions is not None
            and self.passed_assertions < self.total_assertions
        )
        return counted or bool(self.failed_requests)

    @property
    def pass_rate(self) -> float | None:
        """Passed share of assertions (0..1), only when exactly one summary table gives both counts."""
        if self.summaries != 1 or not self.total_assertions or self.passed_assertions is None:
            return None
        return self.passed_assertions / self.total_assertions


def summarise_ttk_log(sections: Sequence[Sequence[str]]) -> TtkLogSummary:
    """Summarise every log section Helm printed under one pod's name (normally exactly one)."""
    values: dict[str, int] = {}
    summaries = 0
    failed: list[str] = []
    for log in sections:
        summaries += sum(1 for line in log if line.strip(" │|") == _SUMMARY_TITLE)
        for line in log:
            if match := _SUMMARY_ROW.match(line.strip()):
                number = re.match(r"^\d+", match["value"])
                if number:
                    values[match["label"]] = int(number.group())
        failed += _failed_requests(log)
    return TtkLogSummary(
        summaries=summaries,
        total_assertions=values.get("Total assertions"),
        passed_assertions=values.get("Passed assertions"),
        test_cases=values.get("Total test cases"),
        failed_requests=tuple(failed),
    )


def _failed_requests(log: Sequence[str]) -> list[str]:
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
    return failed
