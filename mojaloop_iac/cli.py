"""mojactl: validate and plan stacks offline, browse the release catalog, plan upgrades.

Exit codes (mojaloop_iac/commands/common.py): 0 success, 2 invalid input (configuration, unknown stack or
release, refused upgrade, a tool missing), 3 an operation failed (failed or unreachable hosts, failed tests,
a rendered plan failing its checks: the bundle is still written), 4 the environment could not be reached
(test-env: cluster or release unreachable), 1 internal error.
No traceback reaches the user unless MOJACTL_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from mojaloop_iac.catalog import CatalogError, Release, ReleaseCatalog, UpgradeRefused, load_catalog, plan_upgrade
from mojaloop_iac.cli_output import OutputFormat, OutputOption, emit_json, print_markdown, print_warnings, progress
from mojaloop_iac.commands import release, test_env
from mojaloop_iac.commands.common import EXIT_FAILED, EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, err, out
from mojaloop_iac.commands.rendering import render_options
from mojaloop_iac.config.issues import ConfigError

app = typer.Typer(
    name="mojactl",
    help="Plan and run Mojaloop hubs as code.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def toolkit_version() -> str:
    try:
        return version("mojaloop-iac")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        print(f"mojactl {toolkit_version()}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    _version: Annotated[
        bool, typer.Option("--version", help="Print mojactl's version and exit.", callback=_show_version, is_eager=True)
    ] = False,
) -> None:
    """Plan and run Mojaloop hubs as code."""

StackArg = Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<name>.yaml) or path to a stack file.")]
StackOutputsOption = Annotated[
    Path | None,
    typer.Option("--stack-outputs", help="YAML/JSON mapping of referenced stack name to its outputs "
                 "(default: plan the referenced stack from its local stack file)."),
]

# Every text that comes from a user (stack files, keys, values, paths, messages quoting them) is escaped
# before printing: rich would read `[/x]` in it as markup, and fail or restyle the output.


def _fail(message: str, code: int) -> NoReturn:
    err.print(message, highlight=False)
    raise typer.Exit(code)


def _report_config_error(error: ConfigError) -> NoReturn:
    where = f" in {escape(error.source)}" if error.source else ""
    err.print(f"[bold red]Invalid configuration{where}[/] ({len(error.issues)} problem(s)):", highlight=False)
    for issue in error.issues:
        path = f"[bold]{escape(issue.path)}[/]: " if issue.path else ""
        err.print(f"  [red]✗[/] {path}{escape(issue.message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_INVALID)


def _stack_outputs(path: Path | None) -> dict[str, dict] | None:
    """The --stack-outputs file: referenced stack name -> its outputs."""
    import yaml

    from mojaloop_iac.yamlio import load_user_yaml

    if path is None:
        return None
    try:
        given = load_user_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as unreadable:
        _fail(f"--stack-outputs {escape(str(path))} cannot be read: {escape(str(unreadable))}", EXIT_INVALID)
    if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
        _fail(f"{escape(str(path))} must map stack names to their outputs", EXIT_INVALID)
    return given


def _issue(issue) -> dict[str, str]:
    return {"path": issue.path, "message": issue.message, "severity": issue.severity}


@app.command()
def validate(
    stack: StackArg, output: OutputOption = OutputFormat.TABLE, stack_outputs: StackOutputsOption = None
) -> None:
    """Validate a stack's configuration and report every problem with its key path."""
    from mojaloop_iac.config.load import validate_stack_file

    references = tuple(_stack_outputs(stack_outputs) or ())
    try:
        stack_file, validated = validate_stack_file(stack, references=references)
    except ConfigError as error:
        if output == OutputFormat.JSON:
            emit_json({"stack": stack, "valid": False, "problems": [_issue(issue) for issue in error.issues]})
        raise
    if output == OutputFormat.JSON:
        emit_json({"stack": stack_file.name, "path": str(stack_file.path), "kind": validated.config.kind,
                   "valid": True, "warnings": [_issue(w) for w in validated.warnings]})
        return
    print_warnings([str(w) for w in validated.warnings])
    out.print(f"[green]✓[/] {escape(str(stack_file.path))}: valid {validated.config.kind} stack "
              f"[bold]{escape(stack_file.name)}[/]")


@app.command()
def plan(
    stack: StackArg,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Bundle directory (default: out/<stack>).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the summary.")] = False,
    stack_outputs: StackOutputsOption = None,
    output: OutputOption = OutputFormat.TABLE,
    render: Annotated[
        bool, typer.Option("--render", help="Render every Helm release from the real charts (helm template) into "
                           "rendered/ and check what would run.")
    ] = False,
    chart_mirror: Annotated[
        str | None, typer.Option("--chart-mirror", help="With --render: fetch every chart from this Helm "
                                 "repository (default: the stack's chartMirror, else each chart's repository).")
    ] = None,
    chart_cache: Annotated[
        Path | None, typer.Option("--chart-cache", help="With --render: the chart cache (default "
                                  "$MOJACTL_CHART_CACHE or ~/.cache/mojaloop-iac/charts).")
    ] = None,
) -> None:
    """Plan a stack offline (no Pulumi CLI, cloud or cluster) and write the plan bundle."""
    from mojaloop_iac.config.load import read_stack_file
    from mojaloop_iac.plan.run import plan_stack

    options = render_options(stack, chart_mirror, chart_cache) if render else None
    if not render and (chart_mirror or chart_cache):
        _fail("--chart-mirror and --chart-cache apply to --render only", EXIT_INVALID)

    given = _stack_outputs(stack_outputs)
    target = out_dir or Path("out") / read_stack_file(stack).name
    with progress(f"Planning {escape(stack)} ...", quiet or output == OutputFormat.JSON):
        result = plan_stack(stack, target, given, options)
    done = f"[green]✓[/] plan bundle for [bold]{escape(result.stack)}[/]: {len(result.files)} files in {escape(str(target))}"
    if output == OutputFormat.JSON:
        emit_json(plan_document(result, target))
        err.print(done, highlight=False)
    else:
        if quiet:
            print_warnings(result.warnings)
        else:
            # The summary lists the warnings: they are not printed a second time.
            print_markdown(result.summary)
        out.print(done, highlight=False)
    if result.render is not None:
        report_render_checks(result.render, target)


def report_render_checks(report, target: Path) -> None:  # type: ignore[no-untyped-def]
    """What rendering left out and what its checks found, on stderr; exit 3 on any error."""
    for name, reason in sorted(report.result.not_rendered.items()):
        err.print(f"  [yellow]not rendered[/] {escape(name)}: {escape(reason)}", highlight=False, soft_wrap=True)
    for finding in report.findings:
        err.print(f"  [red]✗[/] {escape(str(finding))}", highlight=False, soft_wrap=True)
    rendered = len(report.result.rendered)
    if report.findings:
        _fail(f"[bold red]{len(report.findings)} error(s)[/] in the {rendered} rendered release(s) "
              f"(summary.md, rendered/ in {escape(str(target))})", EXIT_FAILED)
    err.print(f"[green]✓[/] {rendered} release(s) rendered, no errors", highlight=False)

def plan_document(result, target: Path) -> dict:  # type: ignore[no-untyped-def]
    """`mojactl plan -o json`: what was planned, where the bundle is, what to look at."""
    from mojaloop_iac.plan.bundle import helm_releases

    document = {
        "stack": result.stack,
        "kind": result.validated.config.kind,
        "bundle": str(target),
        "files": len(result.files),
        "resources": sum(1 for resource in result.record.resources if resource.custom),
        "helmReleases": [
            {key: release.release[key] for key in ("name", "chart", "version", "namespace", "repo")}
            for release in helm_releases(result.record)
        ],
        "warnings": list(result.warnings),
    }
    if result.render is not None:
        document["render"] = {
            "rendered": sorted(result.render.result.rendered),
            "notRendered": dict(sorted(result.render.result.not_rendered.items())),
            "errors": [str(finding) for finding in result.render.findings],
        }
    return document


@app.command()
def releases(output: OutputOption = OutputFormat.TABLE) -> None:
    """List the Mojaloop releases in the catalog with their support windows, then the candidates."""
    from mojaloop_iac.clock import today

    catalog, day = load_catalog(), today()
    if output == OutputFormat.JSON:
        emit_json([release_document(catalog, release, day) for release in [*catalog.releases.values(),
                                                                            *catalog.candidates.values()]])
        return
    table = Table(title=f"Mojaloop release catalog (support on {day})")
    for column in ("Release", "Support", "Released", "Umbrella chart", "Backend chart",
                   "Kubernetes (validated / minimum)", "TTK tests", "Direct upgrade from"):
        table.add_column(column)
    for release in [*catalog.releases.values(), *catalog.candidates.values()]:
        table.add_row(
            release.version,
            _support_cell(catalog, release, day),
            str(release.released or "-"),
            f"{release.umbrella.name} {release.umbrella.version}",
            f"{release.backend.name} {release.backend.version}",
            f"{release.kubernetes.validated} / {release.kubernetes.minimum}",
            release.ttk_test_cases_tag,
            release.upgrade_from or "-",
        )
    out.print(table)
    newest = catalog.newest_supported(day)
    if newest is not None:
        out.print(f"Newest supported release: [bold]{newest.version}[/] (until {catalog.support_window(newest).end}).",  # type: ignore[union-attr]
                  highlight=False)


def _support_cell(catalog: ReleaseCatalog, release: Release, day: date) -> str:
    status = catalog.support_status(release, day)
    window = catalog.support_window(release)
    if status == "candidate":
        assert release.candidate is not None
        published = "" if release.candidate.published else ", chart not published"
        return f"[magenta]CANDIDATE[/] {release.candidate.status}{published}"
    if status == "supported" and window is not None:
        return f"[green]supported[/] to {window.end}"
    if status == "ended" and window is not None:
        return f"[red]ended[/] {window.end}"
    return "not yet released" if status == "not-yet-released" else "no support policy"


def release_document(catalog: ReleaseCatalog, release: Release, day: date) -> dict:
    """`mojactl releases -o json`: one release or candidate."""
    window = catalog.support_window(release)
    return {
        "version": release.version,
        "support": catalog.support_status(release, day),
        "supportEnds": str(window.end) if window is not None else None,
        "released": str(release.released) if release.released else None,
        "umbrellaChart": {"name": release.umbrella.name, "version": release.umbrella.version},
        "backendChart": {"name": release.backend.name, "version": release.backend.version},
        "kubernetes": {"validated": release.kubernetes.validated, "minimum": release.kubernetes.minimum},
        "ttkTestCases": release.ttk_test_cases_tag,
        "upgradeFrom": release.upgrade_from,
    }


@app.command("upgrade-plan")
def upgrade_plan(
    from_version: Annotated[str, typer.Option("--from", help="Installed Mojaloop release.")],
    to_version: Annotated[
        str | None, typer.Option("--to", help="Target Mojaloop release (default: the newest supported one).")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show the ordered steps from one Mojaloop release to another, or why the jump is refused."""
    from mojaloop_iac.clock import today

    catalog, day = load_catalog(), today()
    newest = catalog.newest_supported(day)
    if to_version is None:
        if newest is None:
            _fail("no catalogued release is supported today: name a target with --to", EXIT_INVALID)
        to_version = newest.version
        (err if output == OutputFormat.JSON else out).print(
            f"Target: {to_version}, the newest supported release.", highlight=False
        )
    try:
        upgrade = plan_upgrade(catalog, from_version, to_version)
    except UpgradeRefused as refused:
        if output == OutputFormat.JSON:
            emit_json({"from": from_version, "to": to_version, "refused": str(refused)})
        err.print(f"[bold red]Upgrade refused:[/] {escape(str(refused))}", highlight=False)
        _suggest_supported(catalog, to_version, newest, day)
        raise typer.Exit(EXIT_INVALID) from None
    if output == OutputFormat.JSON:
        emit_json({
            "from": upgrade.from_version, "to": upgrade.to_version, "path": list(upgrade.path),
            "steps": [
                {"order": step.order, "part": step.part, "chart": step.chart, "from": step.from_version,
                 "to": step.to_version, "description": step.description}
                for step in upgrade.steps
            ],
        })
        return
    if not upgrade.steps:
        out.print(f"{escape(from_version)} is already {escape(to_version)}: nothing to do.")
    else:
        out.print(f"[bold]Upgrade {upgrade.from_version} → {upgrade.to_version}[/] (via {' → '.join(upgrade.path)})")
        for step in upgrade.steps:
            versions = f" {step.from_version} → {step.to_version}" if step.to_version else ""
            chart = f" {step.chart}" if step.chart else ""
            out.print(f"  {step.order}. [bold]{step.part}[/]{chart}{versions}: {step.description}", highlight=False)
    _suggest_supported(catalog, to_version, newest, day)


def _suggest_supported(catalog: ReleaseCatalog, target: str, newest: Release | None, day: date) -> None:
    """Say when the target is not supported today (a candidate, or outside its window) and what is."""
    release = catalog.resolve(target)
    if newest is None or release is None or catalog.support_status(release, day) == "supported":
        return
    window = catalog.support_window(release)
    if release.is_candidate:
        why = f"{target} is a candidate, not a published release"
    elif window is None:
        why = f"{target} predates the support policy"
    else:
        why = f"{target}'s support ended on {window.end}"
    err.print(f"[yellow]![/] {why}; the newest supported release is {newest.version} "
              f"(until {catalog.support_window(newest).end}).", highlight=False)  # type: ignore[union-attr]


@app.command()
def baremetal(
    stack: StackArg,
    action: Annotated[str, typer.Argument(help="check | apply | upgrade | reset")],
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Artifacts, results and kubeconfig (default out/<stack>/baremetal).")
    ] = None,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Only these hosts or groups (an Ansible pattern, e.g. demo-core-1).")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tags", "-t", help="Only playbook steps with this tag (repeatable; apply, upgrade).")
    ] = None,
    skip_tags: Annotated[
        list[str] | None, typer.Option("--skip-tag", help="Skip playbook steps with this tag (repeatable).")
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Each host's result per task; -vv and more: Ansible's own detail.")
    ] = 0,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm `reset`, which removes Kubernetes from the hosts.")] = False,
) -> None:
    """Run the bare-metal playbooks on the stack's hosts with ansible-runner (inventory from the stack)."""
    import json

    from mojaloop_iac.baremetal import actions
    from mojaloop_iac.baremetal.runner import BaremetalRunError, require_ansible
    from mojaloop_iac.config.load import validate_stack_file
    from mojaloop_iac.planners.inventory import plan_inventory

    try:
        require_ansible()
    except BaremetalRunError as missing:
        _fail(f"[bold red]The bare-metal tools are missing:[/] {escape(str(missing))}", EXIT_INVALID)
    try:
        chosen = actions.BaremetalAction(action)
    except ValueError:
        _fail(f"unknown action {escape(repr(action))}; use one of {', '.join(a.value for a in actions.BaremetalAction)}",
              EXIT_INVALID)
    stack_file, validated = validate_stack_file(stack, references=None)  # hosts only: no reference followed
    cluster = validated.config.cluster
    if cluster.baremetal is None:
        _fail(f"stack {escape(stack_file.name)} has substrate {cluster.substrate.value}; it has no bare-metal hosts",
              EXIT_INVALID)
    if chosen == actions.BaremetalAction.RESET and not yes:
        _fail("reset removes k3s and the toolkit's changes from every host: pass --yes to confirm", EXIT_INVALID)
    target = (run_dir or Path("out") / stack_file.name / "baremetal").resolve()
    progress_line = baremetal_progress(verbose)

    inventory = plan_inventory(cluster)
    options: dict = {"event_handler": progress_line}
    if limit:
        options["limit"] = limit
    if verbose > 1:
        options["verbosity"] = verbose - 1
    for name, values in (("tags", tags), ("skip_tags", skip_tags)):
        if values:
            if chosen not in (actions.BaremetalAction.APPLY, actions.BaremetalAction.UPGRADE):
                _fail(f"--{name.replace('_', '-').rstrip('s')} applies to apply and upgrade only", EXIT_INVALID)
            options[name] = tuple(values)
    try:
        result = actions.ACTIONS[chosen](inventory, target, **options)
    except BaremetalRunError as refused:
        _fail(f"[bold red]Could not start the playbook:[/] {escape(str(refused))}", EXIT_INVALID)
    summary = {
        "stack": stack_file.name, "action": chosen.value, "playbook": result.playbook, "status": result.status,
        "succeeded": result.succeeded,
        "hosts": {name: vars(host) for name, host in sorted(result.hosts.items())},
        "failures": list(result.failed_messages), "artifacts": str(result.artifact_dir),
    }
    (target / "result.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for line in result.recap():
        out.print(f"  {escape(line)}", highlight=False)
    if not result.succeeded:
        for message in result.failed_messages:
            err.print(f"  [red]✗[/] {escape(message)}", highlight=False, soft_wrap=True)
        _fail(f"[bold red]{chosen.value} failed[/] (results in {escape(str(target / 'result.json'))})", EXIT_FAILED)
    out.print(f"[green]✓[/] {chosen.value} on {len(result.hosts)} host(s); results in "
              f"{escape(str(target / 'result.json'))}")


def baremetal_progress(verbose: int) -> Callable:
    """Progress on stderr while the playbook runs: each task as it starts, failures at once, and with -v each
    host's result."""

    def show(event) -> None:
        if event.kind == "task":
            err.print(f"[dim]{escape(event.play)} ·[/] {escape(event.task)}", highlight=False)
        elif event.kind in ("failed", "unreachable"):
            err.print(f"  [red]✗[/] {escape(event.host)}: {escape(event.message)}", highlight=False, soft_wrap=True)
        elif verbose and event.kind in ("ok", "changed", "skipped"):
            err.print(f"  [dim]{escape(event.host)}: {escape(event.kind)}[/]", highlight=False)

    return show


app.command("test-env")(test_env.test_env)
app.add_typer(release.release_app, name="release")


@app.command(hidden=True)
def docs(
    check: Annotated[bool, typer.Option("--check", help="Fail if README.md is out of date.")] = False,
) -> None:
    """Regenerate README.md's config reference and release table from the schema and the catalog."""
    from mojaloop_iac.config.reference import readme_sections, render_readme
    from mojaloop_iac.paths import REPO_ROOT

    readme = REPO_ROOT / "README.md"
    current = readme.read_text(encoding="utf-8")
    updated = render_readme(current, readme_sections(load_catalog()))
    if check:
        if updated != current:
            _fail("README.md is out of date: run `mojactl docs`", EXIT_INVALID)
        out.print("README.md is up to date")
    elif updated != current:
        readme.write_text(updated, encoding="utf-8")
        out.print("README.md refreshed")


# One module per verb group: the QA commands live in mojaloop_iac/qa/cli.py.
from mojaloop_iac.qa.cli import qa_app  # noqa: E402 (it uses this module's consoles and codes)

app.add_typer(qa_app, name="qa")


def _guarded(command: Callable[[], object]) -> int:
    from mojaloop_iac.plan.engine import ProgramError

    try:
        result = command()
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.TyperException as usage:  # bad arguments or options
        show = getattr(usage, "show", None)
        if show is not None:
            show()
        return EXIT_INVALID
    except typer.Abort:
        return 130
    except ConfigError as error:
        try:
            _report_config_error(error)
        except typer.Exit as exit_:
            return exit_.exit_code
    except CatalogError as error:
        err.print(f"[bold red]The release catalog is invalid:[/] {escape(str(error))}", highlight=False)
        return EXIT_INVALID
    except ProgramError as error:
        err.print(f"[bold red]The program refused the stack:[/] {escape(_program_error_text(error))}", highlight=False)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the last line of defence: no traceback for users
        if os.environ.get("MOJACTL_DEBUG"):
            raise
        err.print(
            f"[bold red]Internal error:[/] {type(error).__name__}: {escape(_internal_error_text(error))}\n"
            "Set MOJACTL_DEBUG=1 to see the traceback, and please report it.",
            highlight=False,
        )
        return EXIT_INTERNAL
    # In non-standalone mode click returns a command's exit code instead of exiting.
    return result if isinstance(result, int) else EXIT_OK


_MAX_INTERNAL_ERROR_TEXT = 160
_MAX_PROGRAM_ERROR_LINE = 400


def _program_error_text(error: Exception) -> str:
    """What the program said, each line cut short and without credentials: a resource's error may carry
    its inputs."""
    from mojaloop_iac.credentials import redact_credentials

    lines = redact_credentials(str(error)).splitlines()
    return "\n".join(line if len(line) <= _MAX_PROGRAM_ERROR_LINE else line[:_MAX_PROGRAM_ERROR_LINE] + " … (cut)"
                     for line in lines)


def _internal_error_text(error: Exception) -> str:
    """What an unexpected error says, without the data it may carry: Pulumi's serialisation errors print the
    whole input (Helm values, perhaps a password YAML read as a date), so only the first line, up to the
    first mapping or list, no credential, cut short; MOJACTL_DEBUG=1 shows the rest."""
    from mojaloop_iac.credentials import redact_credentials

    text = str(error)
    first_line, _, rest = text.partition("\n")
    data_at = min((i for i in (first_line.find("{"), first_line.find("[")) if i != -1), default=-1)
    shown = redact_credentials(first_line if data_at == -1 else first_line[:data_at])
    if rest or data_at != -1 or len(shown) > _MAX_INTERNAL_ERROR_TEXT:
        shown = shown[:_MAX_INTERNAL_ERROR_TEXT].rstrip() + " … (cut: the rest may hold data)"
    return shown


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return _guarded(lambda: app(args=args, standalone_mode=False, prog_name="mojactl"))


if __name__ == "__main__":
    sys.exit(main())
