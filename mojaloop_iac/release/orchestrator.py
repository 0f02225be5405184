"""Running a validation plan against an environment, and always tearing it down.

Each step is timed; the first one that fails, or an operator step a person must do, ends the run (the
remaining steps are `not-run`), and the environment is torn down whatever happened, also on Ctrl-C or
SIGTERM (raised here as KeyboardInterrupt). Test suites are judged against the gate: a failed suite that
the gate lists as known-flaky is retried, with the suites after it that did not pass, as often as the
gate allows; every attempt is kept for the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from mojaloop_iac.release.environment import ValidationEnvironment
from mojaloop_iac.release.footprint import Footprint
from mojaloop_iac.release.gates import Gate, GateSuite, meets
from mojaloop_iac.release.report import StepRecord, SuiteAttempt, SuiteResult, ValidationOutcome, ValidationReport
from mojaloop_iac.release.validation import ValidationPlan, ValidationStep
from mojaloop_iac.testenv.verdict import Outcome, SuiteVerdict

StepCallback = Callable[[ValidationStep, str], None]
"""Told each step as it starts ("started") and ends (its status), for progress output."""


class ValidationInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a validation: the environment was torn down; `report` says how far it got."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__("validation interrupted")
        self.report = report


class _Stop(Exception):
    """Ends the run at the current step with an outcome (not an error of the code)."""

    def __init__(self, outcome: ValidationOutcome, reason: str, status: str = "failed") -> None:
        super().__init__(reason)
        self.outcome, self.reason, self.status = outcome, reason, status


def run_validation(
    plan: ValidationPlan,
    environment: ValidationEnvironment,
    *,
    on_step: StepCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
) -> ValidationReport:
    started_at = now()
    records: list[StepRecord] = []
    baseline: tuple[SuiteResult, ...] = ()
    gate: tuple[SuiteResult, ...] = ()
    footprint: Footprint | None = None
    notes: list[str] = []
    outcome: ValidationOutcome = "passed"
    reason = ""
    interrupted = False
    work = [step for step in plan.steps if step.phase != "teardown"]
    teardown = next(step for step in plan.steps if step.phase == "teardown")
    index = 0
    try:
        for index, step in enumerate(work):
            _tell(on_step, step, "started")
            begun = clock()
            status, detail = "done", step.detail
            try:
                if step.phase == "provision":
                    environment.provision(plan.candidate, plan.gate.features)
                elif step.phase == "install":
                    environment.install(plan.previous or plan.candidate)
                elif step.phase == "baseline":
                    # The previous release's golden path at 100%, with the gate's retries for its flaky suites.
                    rules = tuple(GateSuite(suite=suite) for suite in step.suites)
                    flaky = tuple(test for test in plan.gate.gate.flaky if test.suite in step.suites)
                    baseline = _run_suites(environment, Gate(required=rules, flaky=flaky))
                    _judge_suites(baseline, "baseline: the previous release failed its golden path in this "
                                  "environment, so the environment, not the candidate, is at fault", "baseline-failed")
                elif step.phase == "upgrade":
                    status, detail = _upgrade(environment, plan, step)
                elif step.phase == "test":
                    gate = _run_suites(environment, plan.gate.gate)
                    _judge_suites(gate, "the gate is not met", "failed")
                elif step.phase == "footprint":
                    try:
                        footprint = environment.footprint()
                    except Exception as error:  # the footprint informs; it never decides the verdict
                        status, detail = "failed", f"not captured: {error}"
                        notes.append(f"The footprint could not be captured: {error}")
            except _Stop as stop:
                records.append(StepRecord(step.order, step.phase, step.title, stop.status, clock() - begun, stop.reason))  # type: ignore[arg-type]
                _tell(on_step, step, stop.status)
                outcome, reason = stop.outcome, stop.reason
                break
            except Exception as error:
                records.append(StepRecord(step.order, step.phase, step.title, "failed", clock() - begun, str(error)))
                _tell(on_step, step, "failed")
                outcome, reason = "error", f"step {step.order} ({step.title}) failed: {error}"
                break
            records.append(StepRecord(step.order, step.phase, step.title, status, clock() - begun, detail))  # type: ignore[arg-type]
            _tell(on_step, step, status)
        else:
            index = len(work)
    except KeyboardInterrupt:
        interrupted = True
        current = work[min(index, len(work) - 1)]
        outcome, reason = "interrupted", f"interrupted during step {current.order} ({current.title})"
        if current.order not in {record.order for record in records}:
            records.append(StepRecord(current.order, current.phase, current.title, "failed", 0.0, reason))
    finally:
        done = {record.order for record in records}
        records += [StepRecord(step.order, step.phase, step.title, "not-run") for step in work if step.order not in done]
        teardown_error, teardown_interrupted = _tear_down(environment, teardown, records, on_step, clock)
        interrupted = interrupted or teardown_interrupted
        report = ValidationReport(
            candidate=plan.candidate.version,
            candidate_status=plan.candidate.candidate.status if plan.candidate.candidate else None,
            previous=plan.previous.version if plan.previous else None,
            mode=plan.mode,
            template=plan.template,
            environment=_name(environment),
            outcome=outcome,
            reason=reason,
            started_at=started_at,
            finished_at=now(),
            steps=tuple(sorted(records, key=lambda record: record.order)),
            gate_line=plan.gate.line,
            baseline=baseline,
            gate=gate,
            footprint=footprint.to_json() if footprint is not None else None,
            teardown_error=teardown_error,
            notes=tuple(notes),
        )
    if interrupted:
        raise ValidationInterrupted(report)
    return report


def _tell(callback: StepCallback | None, step: ValidationStep, status: str) -> None:
    if callback is not None:
        callback(step, status)


def _name(environment: ValidationEnvironment) -> str:
    try:
        return environment.name
    except Exception:  # a name is for the report; an environment that never came up may not have one
        return "(unnamed)"


def _upgrade(environment: ValidationEnvironment, plan: ValidationPlan, step: ValidationStep) -> tuple[str, str]:
    assert step.upgrade is not None
    if step.kind == "operator-skipped":
        return "skipped", "nothing to do: the environment has no custom values files"
    if step.kind == "operator-automated":
        assert step.upgrade.kafka_topic is not None
        environment.create_kafka_topic(step.upgrade.kafka_topic)
        return "done", f"created Kafka topic {step.upgrade.kafka_topic}"
    if step.kind == "operator-stop":
        raise _Stop("stopped", f"step {step.order} needs a person: {step.upgrade.description}", status="stopped")
    # On a route with intermediate stops each chart step goes to its own stop's release.
    environment.upgrade(step.upgrade, plan.releases[step.upgrade.release])
    return "done", step.detail


def _run_suites(environment: ValidationEnvironment, gate: Gate) -> tuple[SuiteResult, ...]:
    """Run the gate's suites; retry a failed known-flaky suite (and those after it not yet passed)."""
    attempts: dict[str, list[SuiteAttempt]] = {suite: [] for suite in gate.suites()}
    retries_left = {suite: gate.retries(suite) for suite in gate.suites()}
    pending = list(gate.suites())
    round_ = 0
    while pending:
        round_ += 1
        verdict = environment.run_tests(pending)
        if verdict.outcome == Outcome.UNREACHABLE:
            raise _Stop("unreachable", "the environment could not be reached: " + "; ".join(verdict.problems))
        for suite in pending:
            attempts[suite].append(_attempt(round_, gate.rule(suite), verdict.suite(suite)))
        first_failed = next((suite for suite in pending if not attempts[suite][-1].met), None)
        if first_failed is None or retries_left[first_failed] == 0:
            break
        retries_left[first_failed] -= 1
        pending = [suite for suite in pending[pending.index(first_failed):] if not attempts[suite][-1].met]
    return tuple(
        SuiteResult(suite=rule.suite, required_rate=rule.pass_rate, retries_allowed=gate.retries(rule.suite),
                    attempts=tuple(attempts[rule.suite]),
                    flaky_issue=flaky.issue if (flaky := gate.flaky_note(rule.suite)) else None)
        for rule in gate.required
    )


def _attempt(round_: int, rule: GateSuite, verdict: SuiteVerdict | None) -> SuiteAttempt:
    if verdict is None:
        return SuiteAttempt(round_, "missing", "Helm reported no result for it")
    rate = verdict.log.pass_rate if verdict.log is not None else None
    return SuiteAttempt(round_, verdict.status, verdict.reason, verdict.phase, rate, verdict.seconds,
                        met=meets(rule, verdict))


def _judge_suites(results: Sequence[SuiteResult], why: str, outcome: ValidationOutcome) -> None:
    failed = [result.suite for result in results if not result.passed]
    if failed:
        raise _Stop(outcome, f"{why}: {', '.join(failed)}")


def _tear_down(
    environment: ValidationEnvironment, step: ValidationStep, records: list[StepRecord],
    on_step: StepCallback | None, clock: Callable[[], float],
) -> tuple[str | None, bool]:
    """Tear down; (what went wrong, whether it was interrupted). The run's own outcome stays as it was."""
    _tell(on_step, step, "started")
    begun = clock()
    try:
        environment.teardown()
    except KeyboardInterrupt:
        message = "interrupted: the environment may still be running; tear it down by hand"
        records.append(StepRecord(step.order, step.phase, step.title, "failed", clock() - begun, message))
        _tell(on_step, step, "failed")
        return message, True
    except Exception as error:
        records.append(StepRecord(step.order, step.phase, step.title, "failed", clock() - begun, str(error)))
        _tell(on_step, step, "failed")
        return f"{type(error).__name__}: {error}", False
    records.append(StepRecord(step.order, step.phase, step.title, "done", clock() - begun, step.detail))
    _tell(on_step, step, "done")
    return None, False
