"""Running `helm test` and watching it: Helm prints nothing until every hook is done, so progress comes
from polling `helm status` (whose suite blocks show the hook that is Running) while the test runs.

Helm runs with TZ=UTC so the times it prints compare with the moment this run started: a suite block
started before it is a leftover from an earlier run.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mojaloop_iac.testenv.helm_output import parse_helm_test_output


@dataclass(frozen=True)
class HelmRun:
    exit_code: int
    stdout: str
    stderr: str
    started_at: datetime
    """When the run started (UTC, naive, whole seconds: the resolution of Helm's printed times)."""
    seconds: float


@dataclass(frozen=True)
class Progress:
    elapsed: float
    running: str | None = None
    """The test pod Helm is waiting on, when `helm status` says so."""
    finished: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """(test pod, phase) of the hooks this run has finished so far."""


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class HelmTestCommand:
    helm: str
    release: str
    namespace: str
    kubeconfig: Path
    timeout: str = "30m"
    only: tuple[str, ...] = ()
    """Run only these test sub-charts (e.g. `ml-ttk-test-val-gp`): `helm test --filter name=<release>-<suite>`."""

    def test(self) -> list[str]:
        command = [self.helm, "test", self.release, "--namespace", self.namespace, "--logs",
                   "--kubeconfig", str(self.kubeconfig), "--timeout", self.timeout]
        if self.only:
            command += ["--filter", ",".join(f"name={self.release}-{suite}" for suite in self.only)]
        return command

    def status(self) -> list[str]:
        return [self.helm, "status", self.release, "--namespace", self.namespace,
                "--kubeconfig", str(self.kubeconfig)]


def helm_environment() -> dict[str, str]:
    return {**os.environ, "TZ": "UTC"}


def run_helm_test(
    command: HelmTestCommand,
    on_progress: ProgressCallback | None = None,
    *,
    poll_seconds: float = 10.0,
    tick_seconds: float = 1.0,
) -> HelmRun:
    """Run `helm test --logs` to the end, reporting progress every `tick_seconds`; Ctrl-C stops Helm too."""
    started_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    clock = time.monotonic()
    process = subprocess.Popen(command.test(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=helm_environment())
    stdout: list[str] = []
    stderr: list[str] = []
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, stdout), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    state = Progress(elapsed=0.0)
    next_poll = clock + poll_seconds
    try:
        while True:
            try:
                process.wait(timeout=max(0.01, min(tick_seconds, next_poll - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if on_progress is None:
                continue
            if now >= next_poll:
                state = _poll_status(command, started_at, state)
                next_poll = now + poll_seconds
            state = Progress(elapsed=now - clock, running=state.running, finished=state.finished)
            on_progress(state)
    except BaseException:
        # Ctrl-C or SIGTERM: Helm is our child, stop it rather than leave it testing on its own.
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    for reader in readers:
        reader.join()
    return HelmRun(process.returncode, "".join(stdout), "".join(stderr), started_at, time.monotonic() - clock)


def _drain(stream, sink: list[str]) -> None:  # type: ignore[no-untyped-def]
    for chunk in iter(stream.readline, ""):
        sink.append(chunk)
    stream.close()


def _poll_status(command: HelmTestCommand, started_at: datetime, previous: Progress) -> Progress:
    """What `helm status` says about this run's hooks; the previous state if it cannot say (progress only)."""
    try:
        done = subprocess.run(command.status(), capture_output=True, text=True, timeout=30, check=False,
                              env=helm_environment())
    except (OSError, subprocess.TimeoutExpired):
        return previous
    if done.returncode != 0:
        return previous
    output = parse_helm_test_output(done.stdout)
    ours = [suite for suite in output.suites if suite.started is not None and suite.started >= started_at]
    running = next((suite.name for suite in ours if suite.phase == "Running"), None)
    finished = tuple((suite.name, suite.phase) for suite in ours if suite.phase != "Running")
    return Progress(elapsed=previous.elapsed, running=running, finished=finished)
