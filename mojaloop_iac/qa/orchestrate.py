"""Up, test, down: the order of a QA run, and the guarantee that down always runs.

The Pulumi side is behind `QaWorkspace` (the real one, `pulumi_workspace.PulumiWorkspace`, drives
Pulumi's Automation API; the tests use a fake), the tests behind `TestRunner`. `run_qa`:

1. deploys the QA stack (`up`, with its QA tags set first, so even a stack whose first deployment is
   killed can be found by the reaper);
2. runs the tests against it;
3. always destroys it and removes the stack: after a failed deployment, failed tests, an exception,
   Ctrl-C (SIGINT) and SIGTERM (a cancelled CI job). A signal during up or the tests asks the running
   Pulumi operation to stop (`interrupt`), then teardown starts; signals during teardown are noted, not
   obeyed, so teardown is never cut short by a second Ctrl-C or the CI runner's repeated SIGTERM.

The exit code is the verdict (`Verdict.exit_code`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from mojaloop_iac.qa.stacks import StackInfo

Output = Callable[[str], None]


class QaWorkspace(Protocol):
    """What `mojactl qa` needs from Pulumi: a thin adapter over the Automation API."""

    def up(
        self, stack: str, config: Path, tags: Mapping[str, str], on_output: Output, targets: Sequence[str] = ()
    ) -> Mapping[str, Any]:
        """Create or select `stack`, set its tags, deploy it from the stack file `config`; its outputs.
        `targets`: update only these resources (URNs), as `pulumi up --target` (a release validation's
        backend step); every resource when empty."""
        ...

    def destroy(self, stack: str, config: Path | None, on_output: Output) -> None:
        """Destroy every resource of `stack`, then remove the stack."""
        ...

    def stacks(self) -> list[StackInfo]:
        """Every stack of the project in the backend, with its tags."""
        ...

    def outputs(self, stack: str) -> Mapping[str, Any]:
        ...

    def interrupt(self) -> None:
        """Ask a running Pulumi operation to stop (it stops gracefully and releases its lock)."""
        ...


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest test class, whatever its name
    passed: bool
    summary: str


TestRunner = Callable[[Mapping[str, Any]], TestOutcome]


class Verdict(Enum):
    PASSED = ("passed", 0)
    TESTS_FAILED = ("tests failed", 3)
    DEPLOY_FAILED = ("the environment could not be deployed", 4)
    TEARDOWN_FAILED = ("teardown failed: resources may be left; the reaper retries after expiry", 5)
    INTERRUPTED = ("interrupted (SIGINT)", 130)
    TERMINATED = ("terminated (SIGTERM, e.g. a cancelled CI job)", 143)

    @property
    def text(self) -> str:
        return self.value[0]

    @property
    def exit_code(self) -> int:
        return self.value[1]


class Cancelled(BaseException):
    """Raised in the main thread by a signal; BaseException so no `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class RunReport:
    verdict: Verdict
    steps: list[str] = field(default_factory=list)
    """What happened, in order: "up: ok", "tests: failed", "down: ok", "signal SIGTERM during tests" ..."""
    test_summary: str = ""


SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _handling(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """`handler` for SIGINT and SIGTERM within the block (signals reach only the main thread's handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def signals_cancel(on_signal: Callable[[int], None]) -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM calls `on_signal` and raises Cancelled in the main
    thread; later ones only call `on_signal`."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        for each in SIGNALS:
            signal.signal(each, lambda later, _f: on_signal(later))
        on_signal(signum)
        raise Cancelled(signum)

    with _handling(handler):
        yield


@contextmanager
def signals_noted(on_signal: Callable[[int], None]) -> Iterator[None]:
    """Within the block SIGINT and SIGTERM only call `on_signal` (teardown must finish)."""
    with _handling(lambda signum, _frame: on_signal(signum)):
        yield


def run_qa(
    workspace: QaWorkspace,
    stack: str,
    config: Path,
    tags: Mapping[str, str],
    tests: TestRunner,
    on_output: Output = lambda _line: None,
) -> RunReport:
    """Up, tests, down (always); see the module docstring."""
    report = RunReport(Verdict.PASSED)

    def note(signum: int) -> None:
        report.steps.append(f"signal {signal.Signals(signum).name}")
        workspace.interrupt()

    phase = "up"
    # Outside the cancellable part signals are only noted, so none can fall between it and teardown.
    with signals_noted(lambda signum: report.steps.append(f"signal {signal.Signals(signum).name} noted")):
        try:
            with signals_cancel(note):
                try:
                    outputs = workspace.up(stack, config, tags, on_output)
                except Exception as error:  # noqa: BLE001 (any failure of up is a failed deployment)
                    report.steps.append(f"up: failed ({error})")
                    report.verdict = Verdict.DEPLOY_FAILED
                else:
                    report.steps.append("up: ok")
                    phase = "tests"
                    outcome = tests(outputs)
                    report.test_summary = outcome.summary
                    report.steps.append(f"tests: {'passed' if outcome.passed else 'failed'}")
                    if not outcome.passed:
                        report.verdict = Verdict.TESTS_FAILED
        except Cancelled as cancelled:
            report.steps.append(f"{phase}: cancelled")
            report.verdict = Verdict.INTERRUPTED if cancelled.signum == signal.SIGINT else Verdict.TERMINATED
        except Exception as error:  # noqa: BLE001 (the tests' own failure: still a verdict, still torn down)
            report.steps.append(f"{phase}: error ({type(error).__name__}: {error})")
            report.verdict = Verdict.TESTS_FAILED if phase == "tests" else Verdict.DEPLOY_FAILED
        finally:
            teardown(workspace, stack, config, report, on_output)
    return report


def teardown(workspace: QaWorkspace, stack: str, config: Path | None, report: RunReport, on_output: Output) -> None:
    """Destroy and remove the stack with signals held off; a failure makes the verdict TEARDOWN_FAILED
    unless a cancellation already decided it."""

    def note(signum: int) -> None:
        report.steps.append(f"signal {signal.Signals(signum).name} during down: down continues")

    with signals_noted(note):
        try:
            workspace.destroy(stack, config, on_output)
        except Exception as error:  # noqa: BLE001 (reported; the reaper retries)
            report.steps.append(f"down: failed ({error})")
            if report.verdict not in (Verdict.INTERRUPTED, Verdict.TERMINATED):
                report.verdict = Verdict.TEARDOWN_FAILED
        else:
            report.steps.append("down: ok")
