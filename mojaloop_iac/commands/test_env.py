"""`mojactl test-env STACK`: run a deployed environment's `helm test` and report a verdict that cannot lie.

Exit codes: 0 every expected collection passed; 3 tests failed (a collection failed, is missing or stale,
or Helm's output is incomplete); 4 the release or cluster could not be reached (nothing was tested);
2 invalid input (no kubeconfig, no Helm, a control-center stack).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mojaloop_iac.cli_output import OutputFormat, OutputOption, emit_json
from mojaloop_iac.commands.common import EXIT_INVALID, err, fail, out


def test_env(
    stack: Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<name>.yaml) or path to a stack file.")],
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Kubeconfig of the deployed environment (default: the one the "
                     "bare-metal run fetched, out/<stack>/baremetal/kubeconfig)."),
    ] = None,
    timeout: Annotated[str, typer.Option("--timeout", help="helm test timeout (per test hook).")] = "30m",
    junit: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report here.")] = None,
    json_report: Annotated[Path | None, typer.Option("--json", help="Write a JSON report here.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Also write the Markdown summary here.")] = None,
    raw_log: Annotated[
        Path | None, typer.Option("--log", help="Keep Helm's raw output here (default out/<stack>/test-env/helm-test.log).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress while Helm runs.")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Run the Testing Toolkit collections (helm test --logs) of a deployed environment and judge them.

    The collections expected are the ones the stack's values switch on (golden path always; bulk and
    third party with their features); each must be reported by Helm itself as Succeeded in this run.
    Prints a Markdown summary on stdout (progress and errors go to stderr).
    """
    from mojaloop_iac.catalog import load_catalog
    from mojaloop_iac.config.load import validate_stack_file
    from mojaloop_iac.testenv import (
        HelmTestCommand,
        judge,
        parse_helm_test_output,
        run_helm_test,
        stack_expected_suites,
        verdict_json,
        verdict_junit,
        verdict_markdown,
    )

    stack_file, validated = validate_stack_file(stack, references=None)  # the deployed cluster only
    env = validated.config.environment
    if env is None:
        fail(f"stack {escape(stack_file.name)} is a control center: only environments run Mojaloop's tests", EXIT_INVALID)
    config_path = kubeconfig or Path("out") / stack_file.name / "baremetal" / "kubeconfig"
    if not config_path.is_file():
        fail(f"no kubeconfig at {escape(str(config_path))}: pass --kubeconfig (or run `mojactl baremetal "
             f"{escape(stack)} apply`)",
             EXIT_INVALID)
    helm = shutil.which("helm")
    if helm is None:
        fail("helm is not on PATH: install Helm 3 to run the environment's tests", EXIT_INVALID)
    release = load_catalog().resolve(env.mojaloop.release)
    assert release is not None, "validation guarantees a catalogued release or candidate"
    expected = stack_expected_suites(env, release)
    command = HelmTestCommand(helm, env.mojaloop.helm_release_name, env.mojaloop.namespace, config_path, timeout)
    err.print(f"helm test {command.release} -n {command.namespace} --logs (up to {escape(timeout)} per test); expecting "
              f"{', '.join(suite.name for suite in expected)}", highlight=False, soft_wrap=True)
    progress = None if quiet else _progress_printer(len(expected))
    run = run_helm_test(command, progress)
    log_path = raw_log or Path("out") / stack_file.name / "test-env" / "helm-test.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(run.stdout + run.stderr, encoding="utf-8")
    verdict = judge(expected, parse_helm_test_output(run.stdout), release=command.release,
                    helm_exit_code=run.exit_code, helm_error=run.stderr, not_before=run.started_at)
    title = f"helm test {command.release} ({stack_file.name}, Mojaloop {release.version})"
    summary = verdict_markdown(verdict, title)
    context = {"stack": stack_file.name, "mojaloopRelease": release.version, "rawLog": str(log_path),
               "startedAt": run.started_at.isoformat() + "Z", "durationSeconds": round(run.seconds, 1)}
    for path, text in (
        (junit, verdict_junit(verdict, f"helm-test.{stack_file.name}")),
        (json_report, json.dumps(verdict_json(verdict, **context), indent=2) + "\n"),
        (markdown, summary),
    ):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if output == OutputFormat.JSON:
        emit_json(verdict_json(verdict, **context))  # the --json report's document, on stdout
    else:
        out.print(summary, markup=False, highlight=False, soft_wrap=True, end="")
    if not verdict.passed:
        fail(f"[bold red]test-env {verdict.outcome.value}[/] (exit {verdict.exit_code}); Helm's output: "
             f"{escape(str(log_path))}",
             verdict.exit_code)
    err.print(f"[green]✓[/] {len(expected)} expected collections passed; Helm's output: {escape(str(log_path))}",
              highlight=False)


def _progress_printer(expected: int):  # type: ignore[no-untyped-def]
    """Progress on stderr: a line each time the running suite changes, and a heartbeat every minute."""
    from mojaloop_iac.testenv import Progress

    last: dict[str, object] = {"running": None, "finished": 0, "minute": 0}

    def report(progress: Progress) -> None:
        minute = int(progress.elapsed // 60)
        changed = progress.running != last["running"] or len(progress.finished) != last["finished"]
        if not changed and minute == last["minute"]:
            return
        last.update(running=progress.running, finished=len(progress.finished), minute=minute)
        elapsed = f"{minute}m{int(progress.elapsed % 60):02d}s"
        # The suite's name comes from Helm's output: text, not markup.
        now = f"running {escape(progress.running)}" if progress.running else "waiting for Helm"
        err.print(f"  [dim]{elapsed}[/] {now} ({len(progress.finished)}/{expected} done)", highlight=False)
        if sys.stderr.isatty():
            sys.stderr.flush()

    return report
