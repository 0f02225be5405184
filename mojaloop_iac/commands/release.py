"""`mojactl release ...`: what changes between two releases, validate a release (or candidate) in an
ephemeral environment, promote it.

Exit codes: 0 passed / promoted / diffed; 2 invalid input or refused (unknown release, a chart that cannot
be obtained, no passing report, a missing prerequisite); 3 the validation did not pass (gate not met,
baseline failed, stopped at an operator step, environment error, or the environment not torn down), or
Helm refused to render a release with the stack's values (`diff`); 4 the environment or the report store
could not be reached; 130 interrupted (the environment was torn down).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mojaloop_iac.cli_output import OutputFormat, OutputOption, emit_json, print_markdown, progress
from mojaloop_iac.commands.common import EXIT_FAILED, EXIT_INVALID, EXIT_UNREACHABLE, err, fail, out
from mojaloop_iac.commands.rendering import (
    ChartCacheOption,
    ChartMirrorOption,
    RenderUnavailable,
    render_options,
    render_options_or_reason,
)

release_app = typer.Typer(help="Compare Mojaloop releases, validate releases and candidates, and promote them "
                          "between environments.",
                          no_args_is_help=True)


def _release_diff(template: str, chart_mirror: str | None, chart_cache: Path | None):  # type: ignore[no-untyped-def]
    """The release diff of `validate --dry-run`, rendered with the template's values (or why it cannot be)."""
    from mojaloop_iac.config.issues import ConfigError
    from mojaloop_iac.release.diff_render import diff_provider

    try:
        options = render_options_or_reason(template, chart_mirror, chart_cache)
    except RenderUnavailable as missing:
        return diff_provider(template, str(missing))
    except ConfigError as error:
        return diff_provider(template, "; ".join(issue.message for issue in error.issues))
    return diff_provider(template, options)


def _qa_environment(template: str, options):  # type: ignore[no-untyped-def]
    from mojaloop_iac.release.qa_environment import qa_validation_environment

    return qa_validation_environment(template, options)


DIFF_PROVIDER = _release_diff
"""Makes the release diff for `validate --dry-run` (a mojaloop_iac.release.validation.DiffProvider) from
the template stack, the chart mirror and the chart cache."""

ENVIRONMENT_PROVIDER = _qa_environment
"""Makes the ephemeral environment of a validation run from a template stack name and the environment
options (mojaloop_iac.release.environment.EnvironmentProvider): an ephemeral QA environment."""


@release_app.command("diff")
def diff(
    from_: Annotated[str, typer.Argument(metavar="FROM", help="The release installed now, e.g. 15.2.0.")],
    to: Annotated[str, typer.Argument(metavar="TO", help="The release (or candidate) to compare it with.")],
    stack: Annotated[str, typer.Option("--stack", "-s", help="Environment stack whose values both releases "
                                       "are rendered with.")] = "demo",
    chart_mirror: ChartMirrorOption = None,
    chart_cache: ChartCacheOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """What changes for an operator from FROM to TO, both rendered with the stack's values (images, workloads,
    Secret/ConfigMap references, configuration files, hooks and migrations, values keys)."""
    from mojaloop_iac.release.diff import diff_markdown
    from mojaloop_iac.release.diff_render import DiffRefused, DiffRenderFailed, render_release_diff

    options = render_options(stack, chart_mirror, chart_cache)
    try:
        with progress(f"Rendering Mojaloop {escape(from_)} and {escape(to)} with the values of {escape(stack)} ...",
                      quiet=output == OutputFormat.JSON):
            result = render_release_diff(stack, from_, to, options)
    except DiffRefused as refused:
        fail(f"[bold red]Cannot diff:[/] {escape(str(refused))}", EXIT_INVALID)
    except DiffRenderFailed as failed:
        fail(f"[bold red]Cannot diff:[/] {escape(str(failed))}", EXIT_FAILED)
    if output == OutputFormat.JSON:
        emit_json(result.to_json())
    else:
        print_markdown(diff_markdown(result))
    for ref in result.unmade_references:
        err.print(f"  [yellow]![/] {escape(to)} reads {ref.kind} {escape(ref.name)}, which nothing in the plan of "
                  f"{escape(result.stack)} makes", highlight=False, soft_wrap=True)


@release_app.command("validate")
def validate(
    candidate: Annotated[str, typer.Option("--candidate", help="Release or candidate to validate, e.g. 16.0.0-rc.20240129.")],
    previous: Annotated[
        str | None, typer.Option("--previous", help="Release installed first (default: the newest published "
                                 "release with a direct upgrade to the candidate).")
    ] = None,
    template: Annotated[str | None, typer.Option("--template", help="Stack the ephemeral environment is made from; "
                                                 "the report counts for this environment (default: the lowest "
                                                 "environment of config/promotion.yaml).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Validate a fresh install of the candidate instead.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the ordered steps, the gate and the release "
                                          "diff; change nothing.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Reports directory (default out/release-validation/<candidate>).")] = None,
    chart_mirror: ChartMirrorOption = None,
    chart_cache: ChartCacheOption = None,
    id_: Annotated[str | None, typer.Option("--id", help="QA ID of the ephemeral environment (default "
                                            "rv-<candidate>).")] = None,
    shared_cluster: Annotated[str | None, typer.Option("--shared-cluster", help="Run in this shared QA "
                                                       "cluster's stack.")] = None,
    host_pool: Annotated[Path | None, typer.Option("--host-pool", help="Bare-metal host pool file.")] = None,
    host_slot: Annotated[str | None, typer.Option("--host-slot", help="Use this slot of the host pool.")] = None,
    ttl: Annotated[str, typer.Option("--ttl", help="After this the reaper may destroy the environment.")] = "6h",
    secrets_provider: Annotated[
        str | None, typer.Option("--secrets-provider", envvar="MOJACTL_QA_SECRETS_PROVIDER",
                                 help="Secrets provider of the QA stack (default: passphrase).")
    ] = None,
    timeout: Annotated[str, typer.Option("--timeout", help="helm test timeout per run.")] = "30m",
) -> None:
    """Install the previous release, upgrade it to the candidate, run the gate's collections, tear down."""
    from mojaloop_iac.catalog import load_catalog
    from mojaloop_iac.release.environment import EnvironmentOptions, EnvironmentUnavailable
    from mojaloop_iac.release.validation import ValidationRefused, dry_run_text, plan_validation

    from mojaloop_iac.release.promotion import load_promotion_config

    if template is None:  # validation is what lets a release into the lowest environment
        template = load_promotion_config().environments[0]
        overrides, template_problem = _template_overrides(template)
        if template_problem:
            template_problem += (f" (--template defaults to {template}, the lowest environment of "
                                 "config/promotion.yaml); pass --template STACK, e.g. --template demo")
    else:
        overrides, template_problem = _template_overrides(template)
    try:
        plan = plan_validation(load_catalog(), candidate, previous_version=previous, fresh=fresh, template=template,
                               template_has_overrides=overrides)
    except ValidationRefused as refused:
        fail(f"[bold red]Cannot validate:[/] {escape(str(refused))}", EXIT_INVALID)
    if dry_run:
        diff = DIFF_PROVIDER(template, chart_mirror, chart_cache) if plan.previous is not None else None
        with progress(f"Rendering the release diff with the values of {escape(template)} ...", quiet=diff is None):
            text = dry_run_text(plan, diff)
        if template_problem:
            text += f"\n**Template:** {template_problem}\n"
        out.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        return
    blockers = [*plan.blockers, *([template_problem] if template_problem else [])]
    if blockers:
        fail("[bold red]Cannot validate:[/]\n" + "\n".join(f"  - {escape(str(blocker))}" for blocker in blockers),
             EXIT_INVALID)
    from mojaloop_iac.qa.derive import parse_ttl
    from mojaloop_iac.qa.names import QaInputError

    try:
        parse_ttl(ttl)
    except QaInputError as refused:
        fail(f"[bold red]{refused.key}[/]: {escape(refused.message)}", EXIT_INVALID)
    reports = out_dir or Path("out") / "release-validation" / plan.candidate.version
    options = EnvironmentOptions(id=id_, ttl=ttl, shared_cluster=shared_cluster, host_pool=host_pool,
                                 host_slot=host_slot, secrets_provider=secrets_provider, test_timeout=timeout,
                                 log=reports / "pulumi.log")
    try:
        environment = ENVIRONMENT_PROVIDER(template, options)
    except EnvironmentUnavailable as unavailable:
        fail("[bold red]A validation run needs what this machine lacks:[/]\n"
             + "\n".join(f"  - {escape(item)}" for item in unavailable.missing)
             + "\n`--dry-run` shows the steps it would take.", EXIT_INVALID)
    _run(plan, environment, reports)


def _template_overrides(template: str) -> tuple[bool, str | None]:
    """Whether the template stack has custom values files, and what is wrong with it, if anything."""
    from mojaloop_iac.config.issues import ConfigError
    from mojaloop_iac.config.load import read_stack_file

    try:
        stack = read_stack_file(template)
    except ConfigError as error:
        return False, "; ".join(issue.message for issue in error.issues)
    environment = stack.namespace().get("environment")
    if not isinstance(environment, dict):
        return False, f"stack {template} is not an environment stack"
    mojaloop = environment.get("mojaloop") or {}
    return bool(mojaloop.get("valuesFile") or mojaloop.get("backendValuesFile")), None


def _run(plan, environment, out_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from mojaloop_iac.release.orchestrator import ValidationInterrupted, run_validation
    from mojaloop_iac.release.promotion import load_promotion_config
    from mojaloop_iac.release.report import report_junit, report_markdown

    def progress(step, status: str) -> None:  # type: ignore[no-untyped-def]
        mark = {"started": "…", "done": "[green]✓[/]", "skipped": "[dim]-[/]"}.get(status, "[red]✗[/]")
        err.print(f"  {mark} {step.order}. {escape(step.title)} ({escape(status)})", highlight=False, soft_wrap=True)

    interrupted = False
    with _sigterm_as_interrupt():
        try:
            report = run_validation(plan, environment, on_step=progress)
        except ValidationInterrupted as stopped:
            report, interrupted = stopped.report, True
    out_dir.mkdir(parents=True, exist_ok=True)
    data = report.to_json()
    (out_dir / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(report_markdown(report), encoding="utf-8")
    (out_dir / "junit.xml").write_text(report_junit(report), encoding="utf-8")
    try:
        kept = load_promotion_config().store().save(data)
    except Exception as error:  # the local copy is written; say where the shared one failed
        err.print(f"[yellow]![/] the report could not be kept in the report store: {escape(str(error))}",
                  highlight=False)
    else:
        err.print(f"report kept at {escape(str(kept))}", highlight=False)
    out.print(report_markdown(report), markup=False, highlight=False, soft_wrap=True, end="")
    if interrupted:
        raise typer.Exit(130)
    if not report.passed:
        fail(f"[bold red]validation {report.outcome}[/]: {escape(str(report.reason or report.teardown_error))}",
             report.exit_code)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled) ends the run like Ctrl-C, so the environment is torn down."""
    def interrupt(signum, frame):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@release_app.command("promote")
def promote(
    release: Annotated[str, typer.Option("--release", help="Release to set on the stack.")],
    to: Annotated[str, typer.Option("--to", help="Stack (environment) to promote it to.")],
    config: Annotated[Path | None, typer.Option("--config", help="Promotion configuration (default config/promotion.yaml).")] = None,
) -> None:
    """Set a stack's release, only when a passing validation of it exists for a lower environment."""
    from mojaloop_iac.catalog import load_catalog
    from mojaloop_iac.config.issues import ConfigError
    from mojaloop_iac.config.load import read_stack_file, validate_namespace
    from mojaloop_iac.objectstore.errors import MissingCredentials
    from mojaloop_iac.release.promotion import decide_promotion, load_promotion_config, set_stack_release
    from mojaloop_iac.yamlio import load_yaml

    catalog = load_catalog()
    wanted = catalog.resolve(release)
    if wanted is None:
        fail(f"[bold red]Refused:[/] {escape(repr(release))} is not in the catalog ({', '.join(catalog.known_versions())})",
             EXIT_INVALID)
    settings = load_promotion_config(config)
    stack = read_stack_file(to)
    environment = stack.namespace().get("environment")
    if not isinstance(environment, dict):
        fail(f"[bold red]Refused:[/] stack {escape(stack.name)} is not an environment stack", EXIT_INVALID)
    current = str((environment.get("mojaloop") or {}).get("release") or "") or None
    store = settings.store()
    try:
        reports, unreadable = store.reports_for(wanted.version)
    except MissingCredentials as missing:
        fail(f"[bold red]Refused:[/] {escape(str(missing))}", EXIT_INVALID)
    except Exception as error:
        fail(f"[bold red]The report store at {escape(str(store.location))} could not be read:[/] {escape(str(error))}",
             EXIT_UNREACHABLE)
    for problem in unreadable:
        err.print(f"[yellow]![/] ignored {escape(str(problem))}", highlight=False, soft_wrap=True)
    decision = decide_promotion(settings, wanted.version, stack.name, reports, current_release=current,
                                is_candidate=wanted.is_candidate)
    if not decision.allowed:
        fail(f"[bold red]Refused:[/] {escape(decision.reason)} (reports at {escape(str(store.location))})", EXIT_INVALID)
    if current == wanted.version:
        out.print(f"{escape(stack.name)} already runs {wanted.version}; {escape(decision.reason)}.", highlight=False)
        return
    text, replaced = set_stack_release(stack.path.read_text(encoding="utf-8"), wanted.version)
    namespace = {key.split(":", 1)[1]: value for key, value in (load_yaml(text).get("config") or {}).items()
                 if key.startswith("mojaloop:")}
    try:
        # Where the stack file is (its files resolve there); its references are followed when it is planned.
        validated = validate_namespace(namespace, source=str(stack.path), location=stack.location,
                                       stack_name=stack.name, references=None)
    except ConfigError as error:
        fail("[bold red]Refused:[/] with release " + wanted.version + f", stack {escape(stack.name)} would not be "
             "valid:\n" + "\n".join(f"  - {escape(str(issue))}" for issue in error.issues), EXIT_INVALID)
    stack.path.write_text(text, encoding="utf-8")
    for warning in [*decision.warnings, *(str(w) for w in validated.warnings)]:
        err.print(f"  [yellow]![/] {escape(str(warning))}", highlight=False, soft_wrap=True)
    out.print(f"[green]✓[/] {escape(str(stack.path))}: release {escape(str(replaced))} → {wanted.version} "
              f"(installedRelease {escape(str(replaced))}); {escape(decision.reason)}. Next: `mojactl plan "
              f"{escape(stack.name)}`, then `pulumi up -s {escape(stack.name)}`.",
              highlight=False, soft_wrap=True)
