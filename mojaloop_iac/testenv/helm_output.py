"""What `helm test RELEASE --logs` printed, read the way Helm 3 writes it and no other way.

Helm 3 (cmd/helm/release_testing.go, status.go, pkg/action/release_testing.go) prints on stdout:

    NAME: moja
    LAST DEPLOYED: Sat Nov 21 05:40:02 2026
    NAMESPACE: mojaloop
    STATUS: deployed
    REVISION: 1
    TEST SUITE:     moja-ml-ttk-test-setup          <- one 4-line block per test hook that has run,
    Last Started:   Sat Nov 21 06:01:05 2026           right after the status header
    Last Completed: Sat Nov 21 06:02:25 2026
    Phase:          Succeeded
    NOTES:
    ...

    POD LOGS: moja-ml-ttk-test-setup               <- then each test pod's log, verbatim
    ...

and its error (a failed hook, an unreachable cluster, a missing release) on stderr. Pod logs are text
that the tests themselves wrote, so nothing in them may decide a verdict: a suite's phase is read only
from the contiguous run of suite blocks that follows the status header. Lines after it that look like a
suite block (a log quoting Helm, or a hostile one) are ignored and counted as `lookalike_blocks`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HEADER_FIELD = re.compile(r"^(?P<key>NAME|LAST DEPLOYED|NAMESPACE|STATUS|REVISION|CHART|VERSION|APP_VERSION|"
                           r"DESCRIPTION): ?(?P<value>.*)$")
_SUITE = re.compile(r"^TEST SUITE:\s+(?P<name>\S+)$")
_NO_SUITES = "TEST SUITE: None"
_STARTED = re.compile(r"^Last Started:\s+(?P<time>.+)$")
_COMPLETED = re.compile(r"^Last Completed:\s+(?P<time>.+)$")
_PHASE = re.compile(r"^Phase:\s+(?P<phase>\S*)$")
_POD_LOGS = re.compile(r"^POD LOGS: (?P<name>\S+)$")
# Go's time.ANSIC layout, "Mon Jan _2 15:04:05 2006", in which Helm prints hook times.
_ANSIC = "%a %b %d %H:%M:%S %Y"

PHASES = ("Succeeded", "Failed", "Running", "Unknown")
"""Hook phases Helm records (pkg/release/hook.go); a hook that never ran has no block at all."""


@dataclass(frozen=True)
class SuiteBlock:
    """One `TEST SUITE:` block of Helm's status: the authority on a test hook's outcome."""

    name: str
    """The hook (test pod) name, e.g. `moja-ml-ttk-test-val-gp`."""
    phase: str
    started: datetime | None
    completed: datetime | None

    @property
    def seconds(self) -> float | None:
        return span_seconds(self.started, self.completed)


def span_seconds(started: datetime | None, completed: datetime | None) -> float | None:
    """Seconds from start to completion, None unless both are known and in order."""
    if started is None or completed is None or completed < started:
        return None
    return (completed - started).total_seconds()


@dataclass(frozen=True)
class HelmTestOutput:
    """Helm's stdout of one `helm test --logs`, split into what Helm vouches for and what the pods wrote."""

    header: dict[str, str]
    """The status header (NAME, NAMESPACE, STATUS, REVISION...); empty if Helm printed no status."""
    suites: tuple[SuiteBlock, ...]
    """Suite blocks in the order Helm printed them (hook weight order)."""
    suites_section_complete: bool
    """False when the output ends inside the suite blocks or a block is malformed: suites may be missing."""
    pod_logs: dict[str, tuple[tuple[str, ...], ...]]
    """Log sections by pod name; a name that heads several sections has several entries."""
    lookalike_blocks: int
    """`TEST SUITE:`/`Phase:` lines found outside Helm's own section, ignored."""

    @property
    def has_status(self) -> bool:
        return "NAME" in self.header and "REVISION" in self.header

    def suite(self, name: str) -> SuiteBlock | None:
        """The block for hook `name`; None if Helm printed none or printed it more than once (ambiguous)."""
        found = [suite for suite in self.suites if suite.name == name]
        return found[0] if len(found) == 1 else None


def parse_helm_test_output(stdout: str) -> HelmTestOutput:
    lines = [_ANSI.sub("", line).rstrip("\r") for line in stdout.splitlines()]
    header: dict[str, str] = {}
    index = 0
    while index < len(lines) and (match := _HEADER_FIELD.match(lines[index])):
        header[match["key"]] = match["value"].strip()
        index += 1
    suites: list[SuiteBlock] = []
    complete = bool(header)
    if index < len(lines) and lines[index] == _NO_SUITES:
        index += 1
    else:
        while index < len(lines) and (match := _SUITE.match(lines[index])):
            block = _suite_block(match["name"], lines[index + 1:index + 4])
            if block is None:
                complete = False
                break
            suites.append(block)
            index += 4
        else:
            # Helm always prints something after the blocks (NOTES, the blank line before the pod logs);
            # output ending right here was cut off.
            if index >= len(lines):
                complete = False
    rest = lines[index:]
    return HelmTestOutput(
        header=header,
        suites=tuple(suites),
        suites_section_complete=complete,
        pod_logs=_pod_logs(rest),
        lookalike_blocks=sum(1 for line in rest if _SUITE.match(line.strip()) or _PHASE.match(line.strip())),
    )


def _suite_block(name: str, following: Sequence[str]) -> SuiteBlock | None:
    if len(following) < 3:
        return None
    started, completed, phase = (
        _STARTED.match(following[0]), _COMPLETED.match(following[1]), _PHASE.match(following[2])
    )
    if not (started and completed and phase):
        return None
    return SuiteBlock(
        name=name,
        phase=phase["phase"] or "Unknown",
        started=_ansic(started["time"]),
        completed=_ansic(completed["time"]),
    )


def _ansic(text: str) -> datetime | None:
    try:
        moment = datetime.strptime(" ".join(text.split()), _ANSIC)
    except ValueError:
        return None
    # Go prints the zero time for a hook that started but never completed.
    return None if moment.year <= 1 else moment


def _pod_logs(lines: Sequence[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    sections: dict[str, list[tuple[str, ...]]] = {}
    name, current = None, []
    for line in [*lines, None]:
        match = _POD_LOGS.match(line) if line is not None else None
        if line is None or match:
            if name is not None:
                sections.setdefault(name, []).append(tuple(current))
            if match:
                name, current = match["name"], []
        elif name is not None:
            current.append(line)
    return {key: tuple(value) for key, value in sections.items()}
