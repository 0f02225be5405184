"""Release gates (config/release-gates.yaml): the collections a release must pass, and how strictly.

The file is checked against config/mojaloop-values.yaml: every suite a gate names must be a test sub-chart
the toolkit can switch on for that release line (golden path, bulk, third party), the golden path is
always required, and only required suites can be listed as flaky. A gate names the features its suites
need, which the validation environment then switches on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from mojaloop_iac.catalog import Release
from mojaloop_iac.datafiles import DataModel, load_data, load_default_data
from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.planners.mojaloop_values import load_values_data
from mojaloop_iac.planners.mojaloop_values.data import MojaloopValuesData, ReleaseLine
from mojaloop_iac.testenv.verdict import SuiteVerdict

DEFAULT_GATES_PATH = CONFIG_DIR / "release-gates.yaml"


class GateSuite(DataModel):
    suite: str
    pass_rate: float = Field(default=100.0, gt=0, le=100)
    """Percent of the suite's assertions that must pass."""


class FlakyTest(DataModel):
    suite: str
    retries: int = Field(ge=0, le=3, strict=True)
    issue: str
    reason: str


class Gate(DataModel):
    required: tuple[GateSuite, ...] = Field(min_length=1)
    flaky: tuple[FlakyTest, ...] = ()

    @model_validator(mode="after")
    def _flaky_are_required(self) -> Gate:
        names = [suite.suite for suite in self.required]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"required lists {', '.join(duplicates)} more than once")
        strays = [test.suite for test in self.flaky if test.suite not in names]
        if strays:
            raise ValueError(f"flaky names {', '.join(strays)}, which is not required")
        return self

    def suites(self) -> tuple[str, ...]:
        return tuple(suite.suite for suite in self.required)

    def rule(self, suite: str) -> GateSuite:
        return next(rule for rule in self.required if rule.suite == suite)

    def retries(self, suite: str) -> int:
        return next((test.retries for test in self.flaky if test.suite == suite), 0)

    def flaky_note(self, suite: str) -> FlakyTest | None:
        return next((test for test in self.flaky if test.suite == suite), None)


class GatesFile(DataModel):
    lines: dict[str, Gate] = Field(min_length=1)


@dataclass(frozen=True)
class ReleaseGate:
    """The gate of one release, with what it needs from the environment."""

    line: str
    gate: Gate
    features: frozenset[str]
    """Features (`bulk`, `thirdParty`) the required suites need switched on."""
    golden_path: tuple[str, ...]
    """The line's golden-path suites: the baseline run on the previous release."""


def check_gates(gates: GatesFile, values: MojaloopValuesData) -> list[str]:
    """Problems of the gates file against the release lines' test sub-charts (empty when consistent)."""
    return [problem for line, gate in gates.lines.items() for problem in _line_problems(line, gate, values)]


def _line_problems(line: str, gate: Gate, values: MojaloopValuesData) -> Iterator[str]:
    data = values.release_lines.get(line)
    if data is None:
        yield f"lines.{line}: config/mojaloop-values.yaml has no release line {line!r}"
        return
    groups = dict(data.tests.by_collection())
    for suite in gate.suites():
        if suite not in groups:
            yield f"lines.{line}.required: {suite!r} is not a test sub-chart of line {line} ({', '.join(groups)})"
        elif groups[suite] == "other":
            yield (f"lines.{line}.required: {suite!r} cannot be switched on by the toolkit (it needs components "
                   "the toolkit does not deploy)")
    missing = [suite for suite in data.tests.golden_path if suite not in gate.suites()]
    if missing:
        yield f"lines.{line}.required: the golden path is always required; add {', '.join(missing)}"


def load_gates(path: Path | None = None) -> GatesFile:
    gates = load_data(GatesFile, path) if path is not None else load_default_data(GatesFile, DEFAULT_GATES_PATH)
    problems = check_gates(gates, load_values_data())
    if problems:
        raise ValueError(f"{path or DEFAULT_GATES_PATH} is inconsistent: " + "; ".join(problems))
    return gates


def release_gate(release: Release, gates: GatesFile | None = None) -> ReleaseGate:
    """The gate of a release's line; ValueError naming the lines that have one if its line has none."""
    gates = gates or load_gates()
    line = str(release.semver.major)
    gate = gates.lines.get(line)
    if gate is None:
        raise ValueError(f"config/release-gates.yaml has no gate for release line {line} (Mojaloop "
                         f"{release.version}); lines with a gate: {', '.join(gates.lines)}")
    data: ReleaseLine = load_values_data().release_lines[line]
    groups = dict(data.tests.by_collection())
    features = frozenset(groups[suite] for suite in gate.suites()) - {"goldenPath"}
    return ReleaseGate(line=line, gate=gate, features=features, golden_path=data.tests.golden_path)


def meets(rule: GateSuite, verdict: SuiteVerdict) -> bool:
    """Whether one attempt of a suite meets its gate rule.

    A pass is a pass. Below a 100% rate a suite Helm reports Failed is accepted only on an unambiguous
    account from its own log (exactly one summary) at or above the rate; a missing or stale suite never is.
    """
    if verdict.passed:
        return True
    if rule.pass_rate >= 100 or verdict.status != "failed" or verdict.log is None:
        return False
    rate = verdict.log.pass_rate
    return rate is not None and rate * 100 >= rule.pass_rate


def gate_json(release_gate_: ReleaseGate) -> dict[str, Any]:
    gate = release_gate_.gate
    return {
        "line": release_gate_.line,
        "required": [{"suite": rule.suite, "passRate": rule.pass_rate} for rule in gate.required],
        "flaky": [{"suite": test.suite, "retries": test.retries, "issue": test.issue, "reason": test.reason}
                  for test in gate.flaky],
        "features": sorted(release_gate_.features),
    }
