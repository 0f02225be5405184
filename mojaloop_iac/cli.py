"""mojactl: validate and plan stacks offline, browse the release catalog, plan upgrades.

Exit codes: 0 success, 2 invalid input (configuration, unknown stack or release, refused upgrade),
3 an operation on hosts failed (a playbook reported failed or unreachable hosts), 1 internal error.
No traceback reaches the user unless MOJACTL_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from mojaloop_iac.catalog import CatalogError, UpgradeRefused, load_catalog, plan_upgrade
from mojaloop_iac.config.issues import ConfigError

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_FAILED = 0, 1, 2, 3

app = typer.Typer(
    name="mojactl",
    help="Plan and run Mojaloop hubs as code.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

StackArg = Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<name>.yaml) or path to a stack file.")]
StackOutputsOption = Annotated[
    Path | None,
    typer.Option("--stack-outputs", help="YAML/JSON mapping of referenced stack name to its outputs "
                 "(default: plan the referenced stack from its local stack file)."),
]


def _fail(message: str, code: int) -> NoReturn:
    err.print(message, highlight=False)
    raise typer.Exit(code)


# Every text that comes from a user (stack files, keys, values, paths, messages quoting them) is escaped
# before printing: rich would read `[/x]` in it as markup, and fail or restyle the output.


def _report_config_error(error: ConfigError) -> NoReturn:
    where = f" in {escape(error.source)}" if error.source else ""
    err.print(f"[bold red]Invalid configuration{where}[/] ({len(error.issues)} problem(s)):", highlight=False)
    for issue in error.issues:
        path = f"[bold]{escape(issue.path)}[/]: " if issue.path else ""
        err.print(f"  [red]✗[/] {path}{escape(issue.message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_INVALID)


def _print_warnings(warnings: tuple[str, ...] | list[str]) -> None:
    for warning in warnings:
        err.print(f"  [yellow]![/] {escape(warning)}", highlight=False, soft_wrap=True)


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


@app.command()
def validate(stack: StackArg, stack_outputs: StackOutputsOption = None) -> None:
    """Validate a stack's configuration and report every problem with its key path."""
    from mojaloop_iac.config.load import validate_stack_file

    stack_file, validated = validate_stack_file(stack, references=tuple(_stack_outputs(stack_outputs) or ()))
    _print_warnings([str(w) for w in validated.warnings])
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
) -> None:
    """Plan a stack offline (no Pulumi CLI, cloud or cluster) and write the plan bundle."""
    from mojaloop_iac.config.load import read_stack_file
    from mojaloop_iac.plan.run import plan_stack

    given = _stack_outputs(stack_outputs)
    target = out_dir or Path("out") / read_stack_file(stack).name
    result = plan_stack(stack, target, given)
    if not quiet:
        out.print(Markdown(result.summary))
    _print_warnings(result.warnings)
    out.print(f"[green]✓[/] plan bundle for [bold]{escape(result.stack)}[/]: {len(result.files)} files in "
              f"{escape(str(target))}")


@app.command()
def releases() -> None:
    """List the Mojaloop releases in the catalog."""
    table = Table(title="Mojaloop release catalog")
    for column in ("Release", "Umbrella chart", "Backend chart", "Kubernetes (validated / minimum)", "TTK tests",
                   "Direct upgrade from"):
        table.add_column(column)
    for release in load_catalog().releases.values():
        table.add_row(
            release.version,
            f"{release.umbrella.name} {release.umbrella.version}",
            f"{release.backend.name} {release.backend.version}",
            f"{release.kubernetes.validated} / {release.kubernetes.minimum}",
            release.ttk_test_cases_tag,
            release.upgrade_from or "-",
        )
    out.print(table)


@app.command("upgrade-plan")
def upgrade_plan(
    from_version: Annotated[str, typer.Option("--from", help="Installed Mojaloop release.")],
    to_version: Annotated[str, typer.Option("--to", help="Target Mojaloop release.")],
) -> None:
    """Show the ordered steps from one Mojaloop release to another, or why the jump is refused."""
    try:
        upgrade = plan_upgrade(load_catalog(), from_version, to_version)
    except UpgradeRefused as refused:
        _fail(f"[bold red]Upgrade refused:[/] {escape(str(refused))}", EXIT_INVALID)
    if not upgrade.steps:
        out.print(f"{escape(from_version)} is already {escape(to_version)}: nothing to do.")
        return
    out.print(f"[bold]Upgrade {upgrade.from_version} → {upgrade.to_version}[/] (via {' → '.join(upgrade.path)})")
    for step in upgrade.steps:
        versions = f" {step.from_version} → {step.to_version}" if step.to_version else ""
        chart = f" {step.chart}" if step.chart else ""
        out.print(f"  {step.order}. [bold]{step.part}[/]{chart}{versions}: {step.description}", highlight=False)


@app.command()
def baremetal(
    stack: StackArg,
    action: Annotated[str, typer.Argument(help="check | apply | upgrade | reset")],
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Artifacts, results and kubeconfig (default out/<stack>/baremetal).")
    ] = None,
    skip_tags: Annotated[
        list[str] | None, typer.Option("--skip-tag", help="Skip playbook steps with this tag (repeatable).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm `reset`, which removes Kubernetes from the hosts.")] = False,
) -> None:
    """Run the bare-metal playbooks on the stack's hosts with ansible-runner (inventory from the stack)."""
    import json

    try:
        from mojaloop_iac.baremetal import actions
        from mojaloop_iac.baremetal.runner import BaremetalRunError, ProgressEvent
    except ImportError as missing:
        _fail(f"the bare-metal tools are not installed ({missing.name}): run ./scripts/setup baremetal", EXIT_INVALID)
    from mojaloop_iac.config.load import validate_stack_file
    from mojaloop_iac.planners.inventory import plan_inventory

    try:
        chosen = actions.BaremetalAction(action)
    except ValueError:
        _fail(f"unknown action {escape(repr(action))}; use one of "
              f"{', '.join(a.value for a in actions.BaremetalAction)}", EXIT_INVALID)
    stack_file, validated = validate_stack_file(stack, references=None)  # hosts only: no reference followed
    cluster = validated.config.cluster
    if cluster.baremetal is None:
        _fail(f"stack {escape(stack_file.name)} has substrate {cluster.substrate.value}; it has no bare-metal hosts",
              EXIT_INVALID)
    if chosen == actions.BaremetalAction.RESET and not yes:
        _fail("reset removes k3s and the toolkit's changes from every host: pass --yes to confirm", EXIT_INVALID)
    target = (run_dir or Path("out") / stack_file.name / "baremetal").resolve()

    def progress(event: ProgressEvent) -> None:
        if event.kind == "task":
            out.print(f"[dim]{escape(event.play)} ·[/] {escape(event.task)}", highlight=False)
        elif event.kind in ("failed", "unreachable"):
            out.print(f"  [red]✗[/] {escape(event.host)}: {escape(event.message)}", highlight=False, soft_wrap=True)

    inventory = plan_inventory(cluster)
    options: dict = {"event_handler": progress}
    if skip_tags:
        if chosen not in (actions.BaremetalAction.APPLY, actions.BaremetalAction.UPGRADE):
            _fail("--skip-tag applies to apply and upgrade only", EXIT_INVALID)
        options["skip_tags"] = tuple(skip_tags)
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


@app.command("test-env")
def test_env(
    stack: StackArg,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Kubeconfig of the deployed environment (default: the one the "
                     "bare-metal run fetched, out/<stack>/baremetal/kubeconfig)."),
    ] = None,
    timeout: Annotated[str, typer.Option("--timeout", help="helm test timeout.")] = "30m",
) -> None:
    """Run the golden-path tests (helm test --logs) of a deployed environment; summarise per collection."""
    import shutil

    from mojaloop_iac.config.load import validate_stack_file
    from mojaloop_iac.testenv import helm_test_command, parse_helm_test_output, run_helm_test

    stack_file, validated = validate_stack_file(stack, references=None)  # the deployed cluster only
    env = validated.config.environment
    if env is None:
        _fail(f"stack {escape(stack_file.name)} is a control center: only environments run Mojaloop's tests",
              EXIT_INVALID)
    config_path = kubeconfig or Path("out") / stack_file.name / "baremetal" / "kubeconfig"
    if not config_path.is_file():
        _fail(f"no kubeconfig at {escape(str(config_path))}: pass --kubeconfig (or run `mojactl baremetal "
              f"{escape(stack)} apply`)", EXIT_INVALID)
    helm = shutil.which("helm")
    if helm is None:
        _fail("helm is not on PATH: install Helm 3 to run the environment's tests", EXIT_INVALID)
    release, namespace = env.mojaloop.helm_release_name, env.mojaloop.namespace
    out.print(f"helm test {release} -n {namespace} --logs (up to {escape(timeout)}) ...", highlight=False)
    code, output = run_helm_test(helm_test_command(helm, release, namespace, config_path, timeout))
    report = parse_helm_test_output(output, release)
    table = Table(title=escape(f"Golden-path tests of {stack_file.name}"))
    for column in ("Collection", "Phase", "Assertions passed", "Test cases", "Result"):
        table.add_column(column)
    for collection in report.collections:
        assertions = (f"{collection.passed_assertions}/{collection.total_assertions}"
                      if collection.total_assertions is not None else "-")
        verdict = "[green]passed[/]" if collection.passed else "[red]FAILED[/]"
        table.add_row(escape(collection.name), escape(collection.phase), assertions,
                      str(collection.test_cases or "-"), verdict)
    out.print(table)
    for collection in report.collections:
        for request in collection.failed_requests:
            err.print(f"  [red]✗[/] {escape(collection.name)}: {escape(str(request))}", highlight=False,
                      soft_wrap=True)
    if not report.collections:
        err.print(output[-2000:], highlight=False, markup=False)
        _fail("helm test reported no test suites (is the release deployed?)", EXIT_FAILED)
    if code != 0 or not report.passed:
        _fail("[bold red]golden-path tests failed[/]", EXIT_FAILED)
    out.print(f"[green]✓[/] {len(report.collections)} collections passed")


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
        err.print(f"[bold red]The program refused the stack:[/] {escape(str(error))}", highlight=False)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the last line of defence: no traceback for users
        if os.environ.get("MOJACTL_DEBUG"):
            raise
        err.print(
            f"[bold red]Internal error:[/] {type(error).__name__}: {escape(str(error))}\n"
            "Set MOJACTL_DEBUG=1 to see the traceback, and please report it.",
            highlight=False,
        )
        return EXIT_INTERNAL
    # In non-standalone mode click returns a command's exit code instead of exiting.
    return result if isinstance(result, int) else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return _guarded(lambda: app(args=args, standalone_mode=False, prog_name="mojactl"))


if __name__ == "__main__":
    sys.exit(main())
