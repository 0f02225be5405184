"""`mojactl qa`: ephemeral QA environments from CI (derive, plan, up, test, down, run, list, reap).

Exit codes (besides mojactl's 0 / 1 internal / 2 invalid input): `qa test` and `qa run` exit 3 when the
tests fail, 4 when the environment could not be deployed, 5 when teardown failed, 130 on SIGINT and 143
on SIGTERM (teardown still ran); `qa up` exits 4 and `qa down`/`qa reap` 5 when Pulumi fails.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from mojaloop_iac.cli_output import err, out, print_markdown, print_warnings
from mojaloop_iac.paths import REPO_ROOT, STACKS_DIR
from mojaloop_iac.qa.derive import (
    ENVIRONMENT_KEY,
    DerivedStack,
    QaRequest,
    SharedClusterStack,
    parse_host_pool,
    parse_set,
    parse_ttl,
)
from mojaloop_iac.qa.names import QaInputError, qa_id
from mojaloop_iac.qa.orchestrate import QaWorkspace, RunReport, Verdict, run_qa, teardown
from mojaloop_iac.qa.stacks import (
    HOST_SLOT_TAG,
    parse_expiry,
    qa_tags,
    reap_selection,
    slot_taken_by,
    stacks_with_id,
)
from mojaloop_iac.yamlio import load_yaml

EXIT_INVALID, EXIT_DEPLOY, EXIT_TEARDOWN = 2, 4, 5
QA_DIR = Path("out") / "qa"
DEFAULT_HOST_POOL = STACKS_DIR / "qa-host-pool.yaml"

qa_app = typer.Typer(
    help="Ephemeral QA environments: derive from an environment stack, plan, deploy, test, tear down, reap.",
    no_args_is_help=True,
)

TemplateArg = Annotated[str, typer.Argument(help="The environment stack to derive from (name or stack file).")]
IdOption = Annotated[str, typer.Option("--id", help="The QA ID, e.g. pr-123 or mr-45 (made DNS-safe).")]
IdArg = Annotated[str, typer.Argument(help="The QA ID the environment was derived with.")]
StackOption = Annotated[
    str | None, typer.Option("--stack", "-s", help="The QA stack, when several share the ID.")
]
ReleaseOption = Annotated[str | None, typer.Option("--release", help="Mojaloop release (default: the template's).")]
TtlOption = Annotated[str, typer.Option("--ttl", help="Time to live: the reaper destroys it after, e.g. 4h.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE under environment (repeatable).")]
SourceOption = Annotated[str | None, typer.Option("--source", help="The MR/PR URL under test.")]
CommitOption = Annotated[str | None, typer.Option("--commit", help="The commit under test.")]
OwnerOption = Annotated[str | None, typer.Option("--owner", help="Who asked for it.")]
SharedClusterOption = Annotated[
    str | None, typer.Option("--shared-cluster", help="Deploy into this shared QA cluster's stack.")
]
HostPoolOption = Annotated[Path | None, typer.Option("--host-pool", help="Bare-metal host pool file.")]
HostSlotOption = Annotated[str | None, typer.Option("--host-slot", help="Use this slot of the host pool.")]
NowOption = Annotated[str | None, typer.Option("--now", help="Start time (expiry = now + TTL); default: now.")]
JunitOption = Annotated[Path | None, typer.Option("--junit", help="Write the test results as JUnit XML here.")]
TimeoutOption = Annotated[str, typer.Option("--timeout", help="helm test timeout.")]
SecretsProviderOption = Annotated[
    str | None,
    typer.Option("--secrets-provider", envvar="MOJACTL_QA_SECRETS_PROVIDER",
                 help="Secrets provider of new QA stacks (default: passphrase, from PULUMI_CONFIG_PASSPHRASE)."),
]


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    err.print(message, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def make_workspace(secrets_provider: str | None = None) -> QaWorkspace:
    """The Pulumi side (Automation API); tests replace this function with a fake workspace's."""
    from mojaloop_iac.qa.pulumi_workspace import PulumiWorkspace

    if shutil.which("pulumi") is None:
        _fail("the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) to deploy QA "
              "environments; `mojactl qa plan` needs none", EXIT_INVALID)
    return PulumiWorkspace(secrets_provider=secrets_provider)


# --- deriving ---------------------------------------------------------------------------------------------


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(second=0, microsecond=0)
    moment = parse_expiry(text)
    if moment is None:
        raise QaInputError("--now", f"{text!r} is not a time with a zone, e.g. 2025-06-01T12:00:00Z")
    return moment


def derive(
    template: str, id_: str, *, release: str | None, ttl: str, sets: list[str] | None, source: str | None,
    commit: str | None, owner: str | None, shared_cluster: str | None, host_pool: Path | None,
    host_slot: str | None, now: str | None,
) -> tuple[DerivedStack, Path]:
    from mojaloop_iac.config.load import read_stack_file

    template_file = read_stack_file(template)
    request = QaRequest(
        id=id_, now=_now(now), ttl=parse_ttl(ttl), release=release,
        sets=tuple(parse_set(item) for item in sets or ()), source=source, commit=commit, owner=owner,
        host_slot=host_slot,
    )
    shared = None
    if shared_cluster is not None:
        cluster_file = read_stack_file(shared_cluster)
        # The QA stack references the cluster's stack by its name (or the org/project/stack given).
        reference = shared_cluster if "/" in shared_cluster and not shared_cluster.endswith(".yaml") else cluster_file.name
        shared = SharedClusterStack(reference, cluster_file.config)
    pool_file = host_pool or (DEFAULT_HOST_POOL if DEFAULT_HOST_POOL.is_file() else None)
    slots = ()
    if pool_file is not None and shared is None:
        if not pool_file.is_file():
            raise QaInputError("--host-pool", f"{pool_file} does not exist")
        slots = parse_host_pool(load_yaml(pool_file.read_text(encoding="utf-8")), str(pool_file))
    from mojaloop_iac.qa.derive import derive_qa_stack

    derived = derive_qa_stack(template_file.name, template_file.config, request, shared_cluster=shared,
                              host_pool=slots)
    return derived, template_file.path


def write_derived(derived: DerivedStack, template_path: Path, target: Path | None, host_pool: Path | None = None) -> Path:
    """Write the QA stack file and validate it like any stack (every problem named by its key). A slot taken from
    another pool than stacks/' is checked against that pool, which goes next to the stack file."""
    from mojaloop_iac.config.load import validate_stack_file

    from mojaloop_iac.config.files import rebase_file_paths

    path = target or QA_DIR / f"Pulumi.{derived.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if derived.host_slot is not None and host_pool is not None:
        _place_host_pool(host_pool, path.parent)
    # Paths in a stack are relative to its file: the template's files, named from where this file is.
    key = "mojaloop:environment"
    if isinstance(derived.document.get("config", {}).get(key), dict):
        derived.document["config"][key] = rebase_file_paths(
            "environment", derived.document["config"][key], template_path.parent, path.parent
        )
    # The template as the repository names it, so the file is the same on every machine.
    shown = template_path.resolve()
    shown_text = str(shown.relative_to(REPO_ROOT)) if shown.is_relative_to(REPO_ROOT) else str(template_path)
    path.write_text(derived.text(shown_text), encoding="utf-8")
    # The stacks it references are answered when it is planned or deployed (--stack-outputs or the backend).
    validate_stack_file(str(path), references=None)
    return path


def _place_host_pool(host_pool: Path, directory: Path) -> None:
    from mojaloop_iac.config.rules import HOST_POOL_FILE

    placed = directory / HOST_POOL_FILE
    if host_pool.resolve() in (placed.resolve(), DEFAULT_HOST_POOL.resolve()):
        return
    text = host_pool.read_text(encoding="utf-8")
    if placed.is_file() and placed.read_text(encoding="utf-8") != text:
        raise QaInputError("--host-pool", f"{placed} holds another host pool, against which the QA stacks there were "
                           "checked; write this QA stack elsewhere (--out) or use that pool")
    placed.write_text(text, encoding="utf-8")


def _derive_and_write(out_file: Path | None = None, **options: Any) -> tuple[DerivedStack, Path]:
    try:
        derived, template_path = derive(**options)
        path = write_derived(derived, template_path, out_file, options.get("host_pool"))
    except QaInputError as refused:
        _fail(f"[bold red]{escape(str(refused.key))}[/]: {escape(str(refused.message))}")
    for note in derived.notes:
        err.print(f"  {escape(str(note))}", highlight=False)
    return derived, path


@qa_app.command("stack")
def stack_command(
    template: TemplateArg, id_: IdOption, release: ReleaseOption = None, ttl: TtlOption = "4h",
    set_: SetOption = None, source: SourceOption = None, commit: CommitOption = None, owner: OwnerOption = None,
    shared_cluster: SharedClusterOption = None, host_pool: HostPoolOption = None, host_slot: HostSlotOption = None,
    now: NowOption = None,
    out_file: Annotated[Path | None, typer.Option("--out", help=f"Stack file (default {QA_DIR}/Pulumi.<name>.yaml).")] = None,
) -> None:
    """Derive a QA stack from an environment stack; prints the stack file's path."""
    derived, path = _derive_and_write(
        out_file, template=template, id_=id_, release=release, ttl=ttl, sets=set_, source=source, commit=commit,
        owner=owner, shared_cluster=shared_cluster, host_pool=host_pool, host_slot=host_slot, now=now,
    )
    err.print(f"[green]✓[/] QA stack [bold]{escape(str(derived.name))}[/] (ID {escape(str(derived.id))})", highlight=False)
    out.print(str(path), highlight=False, soft_wrap=True)


@qa_app.command("plan")
def plan_command(
    template: TemplateArg, id_: IdOption, release: ReleaseOption = None, ttl: TtlOption = "4h",
    set_: SetOption = None, source: SourceOption = None, commit: CommitOption = None, owner: OwnerOption = None,
    shared_cluster: SharedClusterOption = None, host_pool: HostPoolOption = None, host_slot: HostSlotOption = None,
    now: NowOption = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Bundle directory (default out/<qa stack>).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the summary.")] = False,
) -> None:
    """Derive the QA stack (as `qa stack`), then plan it offline and write its bundle."""
    from mojaloop_iac.plan.run import plan_stack

    derived, path = _derive_and_write(
        template=template, id_=id_, release=release, ttl=ttl, sets=set_, source=source, commit=commit,
        owner=owner, shared_cluster=shared_cluster, host_pool=host_pool, host_slot=host_slot, now=now,
    )
    target = out_dir or Path("out") / derived.name
    result = plan_stack(str(path), target)
    if quiet:
        print_warnings(result.warnings)
    else:
        # The summary lists the warnings: they are not printed a second time.
        print_markdown(result.summary)
    timing = result.timing
    err.print(
        f"[green]✓[/] plan bundle for QA stack [bold]{escape(derived.name)}[/]: {len(result.files)} files in "
        f"{escape(str(target))}; "
        f"modelled time to verdict {timing.verdict_seconds // 60} min {timing.verdict_seconds % 60:02d} s",
        highlight=False,
    )


# --- running --------------------------------------------------------------------------------------------


def _derived_file(id_: str, stack: str | None) -> tuple[str, Path]:
    """The QA stack file written by `qa stack` for this ID (or stack)."""
    wanted = qa_id(id_)
    found = []
    for path in sorted(QA_DIR.glob("Pulumi.*.yaml")):
        environment = ((load_yaml(path.read_text(encoding="utf-8")) or {}).get("config") or {}).get(ENVIRONMENT_KEY) or {}
        name = environment.get("name")
        if (environment.get("qa") or {}).get("id") == wanted and (stack is None or name == stack):
            found.append((str(name), path))
    if not found:
        _fail(f"no QA stack file for ID {escape(repr(wanted))} in {escape(str(QA_DIR))}: derive it first (`mojactl qa stack TEMPLATE --id {escape(str(id_))}`)")
    if len(found) > 1:
        _fail(f"several QA stacks have ID {escape(repr(wanted))} ({escape(str(', '.join(n for n, _ in found)))}): pass --stack")
    return found[0]


def qa_stack_tags(path: Path) -> dict[str, str]:
    """The QA stack's tags, from its stack file (written and validated by `qa stack`)."""
    environment = (load_yaml(path.read_text(encoding="utf-8")) or {})["config"][ENVIRONMENT_KEY]
    origin = environment["qa"]
    expires = parse_expiry(str(environment["expiresAt"]))
    assert expires is not None, "the derived stack was validated"
    return qa_tags(origin["id"], origin["template"], expires, origin.get("source"), origin.get("hostSlot"))


def _check_slot(workspace: QaWorkspace, stack: str, slot: str | None) -> None:
    if slot is None:
        return
    other = slot_taken_by(workspace.stacks(), slot, stack)
    if other is not None:
        _fail(f"host-pool slot {escape(repr(slot))} is in use by QA stack {escape(str(other))}: derive with another --host-slot, or wait "
              f"for `mojactl qa down` of {escape(str(other))}")


def _print_line(line: str) -> None:
    err.print(line, highlight=False, markup=False, soft_wrap=True)


@qa_app.command("up")
def up_command(id_: IdArg, stack: StackOption = None, secrets_provider: SecretsProviderOption = None) -> None:
    """Deploy the QA stack derived for ID (tagged as QA, with its expiry) through Pulumi."""
    name, path = _derived_file(id_, stack)
    workspace = make_workspace(secrets_provider)
    tags = qa_stack_tags(path)
    _check_slot(workspace, name, tags.get(HOST_SLOT_TAG))
    try:
        workspace.up(name, path, tags, _print_line)
    except Exception as error:  # noqa: BLE001 (Pulumi's own message says what failed)
        _fail(f"[bold red]qa up {escape(str(name))} failed:[/] {escape(str(error))}", EXIT_DEPLOY)
    err.print(f"[green]✓[/] QA environment [bold]{escape(str(name))}[/] is up; `mojactl qa down {escape(str(id_))}` removes it", highlight=False)


def _resolve_stack(workspace: QaWorkspace, id_: str, stack: str | None) -> str:
    if stack is not None:
        return stack
    matches = stacks_with_id(workspace.stacks(), qa_id(id_))
    if not matches:
        _fail(f"no QA stack with ID {escape(repr(qa_id(id_)))} in the backend (`mojactl qa list` shows them)")
    if len(matches) > 1:
        _fail(f"several QA stacks have ID {escape(repr(qa_id(id_)))} ({escape(str(', '.join(s.name for s in matches)))}): pass --stack")
    return matches[0].name


@qa_app.command("test")
def test_command(
    id_: IdArg,
    stack: StackOption = None,
    junit: JunitOption = None,
    timeout: TimeoutOption = "30m",
) -> None:
    """Run the golden-path tests of a deployed QA environment (helm test with its own kubeconfig)."""
    from mojaloop_iac.qa.tests import helm_test_runner

    helm = _helm()
    workspace = make_workspace()
    name = _resolve_stack(workspace, id_, stack)
    outcome = helm_test_runner(helm, timeout, name, junit)(workspace.outputs(name))
    err.print(outcome.summary, highlight=False, markup=False)
    if not outcome.passed:
        _fail(f"[bold red]golden-path tests of {escape(str(name))} failed[/]", Verdict.TESTS_FAILED.exit_code)
    err.print(f"[green]✓[/] tests of {escape(str(name))} passed", highlight=False)


def _helm() -> str:
    helm = shutil.which("helm")
    if helm is None:
        _fail("helm is not on PATH: install Helm 3 to run the QA environment's tests")
    return helm


@qa_app.command("down")
def down_command(id_: IdArg, stack: StackOption = None) -> None:
    """Destroy the QA environment with this ID and remove its stack (safe to repeat)."""
    workspace = make_workspace()
    name = _resolve_stack(workspace, id_, stack)
    _destroy(workspace, name)


def _destroy(workspace: QaWorkspace, name: str) -> None:
    config = QA_DIR / f"Pulumi.{name}.yaml"
    report = RunReport(Verdict.PASSED)
    teardown(workspace, name, config if config.is_file() else None, report, _print_line)
    if report.verdict == Verdict.TEARDOWN_FAILED:
        _fail(f"[bold red]qa down {escape(str(name))}:[/] {escape(str(report.steps[-1]))}", EXIT_TEARDOWN)
    err.print(f"[green]✓[/] {escape(str(name))} destroyed and removed", highlight=False)


@qa_app.command("run")
def run_command(
    template: TemplateArg, id_: IdOption, release: ReleaseOption = None, ttl: TtlOption = "4h",
    set_: SetOption = None, source: SourceOption = None, commit: CommitOption = None, owner: OwnerOption = None,
    shared_cluster: SharedClusterOption = None, host_pool: HostPoolOption = None, host_slot: HostSlotOption = None,
    now: NowOption = None, junit: JunitOption = None, timeout: TimeoutOption = "30m",
    secrets_provider: SecretsProviderOption = None,
) -> int:
    """Derive, deploy, test and always tear down a QA environment; the exit code is the verdict."""
    from mojaloop_iac.qa.tests import helm_test_runner

    derived, path = _derive_and_write(
        template=template, id_=id_, release=release, ttl=ttl, sets=set_, source=source, commit=commit,
        owner=owner, shared_cluster=shared_cluster, host_pool=host_pool, host_slot=host_slot, now=now,
    )
    helm = _helm()
    workspace = make_workspace(secrets_provider)
    tags = qa_stack_tags(path)
    _check_slot(workspace, derived.name, tags.get(HOST_SLOT_TAG))
    report = run_qa(workspace, derived.name, path, tags, helm_test_runner(helm, timeout, derived.name, junit),
                    _print_line)
    for step in report.steps:
        err.print(f"  {step}", highlight=False, markup=False)
    if report.test_summary:
        err.print(report.test_summary, highlight=False, markup=False)
    colour = "green" if report.verdict == Verdict.PASSED else "red"
    err.print(f"[bold {colour}]QA {escape(str(derived.name))}: {escape(str(report.verdict.text))}[/]", highlight=False)
    return report.verdict.exit_code


# --- housekeeping -----------------------------------------------------------------------------------------


@qa_app.command("list")
def list_command(
    output: Annotated[str, typer.Option("--output", "-o", help="table or json")] = "table",
) -> None:
    """The QA stacks in the backend (only stacks tagged mojaloop:qa), with ID, source and expiry."""
    stacks = [s for s in make_workspace().stacks() if s.is_qa]
    if output == "json":
        out.print_json(json.dumps([{"stack": s.name, "tags": dict(sorted(s.tags.items()))} for s in stacks]))
        return
    if output != "table":
        _fail(f"--output {escape(repr(output))}: use table or json")
    table = Table(title="QA environments")
    for column in ("Stack", "ID", "Template", "Expires", "Source"):
        table.add_column(column)
    for s in stacks:
        table.add_row(*(escape(cell) for cell in (
            s.name, s.qa_id or "", s.tags.get("mojaloop:template", ""), s.tags.get("mojaloop:expires-at", ""),
            s.tags.get("mojaloop:source", ""))))
    out.print(table)


@qa_app.command("reap")
def reap_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be destroyed.")] = False,
    now: Annotated[str | None, typer.Option("--now", help="Judge expiry at this time (default: now).")] = None,
) -> int:
    """Destroy the QA stacks past their expiry (jobs killed before teardown). Never touches a stack without
    the mojaloop:qa tag; safe to run twice."""
    try:
        moment = _now(now)
    except QaInputError as refused:
        _fail(f"[bold red]{escape(str(refused.key))}[/]: {escape(str(refused.message))}")
    workspace = make_workspace()
    decision = reap_selection(workspace.stacks(), moment)
    for name, why in decision.kept:
        err.print(f"  kept {escape(str(name))}: {escape(str(why))}", highlight=False)
    failed = 0
    for stack in decision.destroy:
        expires = stack.tags.get("mojaloop:expires-at")
        if dry_run:
            out.print(f"would destroy {escape(str(stack.name))} (expired {escape(str(expires))})", highlight=False)
            continue
        err.print(f"destroying {escape(str(stack.name))} (expired {escape(str(expires))})", highlight=False)
        report = RunReport(Verdict.PASSED)
        config = QA_DIR / f"Pulumi.{stack.name}.yaml"
        teardown(workspace, stack.name, config if config.is_file() else None, report, _print_line)
        if report.verdict == Verdict.TEARDOWN_FAILED:
            failed += 1
            err.print(f"  [red]✗[/] {escape(str(report.steps[-1]))}", highlight=False, soft_wrap=True)
    if not decision.destroy:
        err.print("no QA stack has expired", highlight=False)
    return EXIT_TEARDOWN if failed else 0



@qa_app.command("vault-login")
def vault_login_command(
    jwt_env: Annotated[str, typer.Option("--jwt-env", help="Variable holding the CI job's token "
                                         "(GitLab id_tokens entry, or GitHub's OIDC token).")],
    mount: Annotated[str, typer.Option("--mount", help="JWT auth mount: gitlab-ci or github-actions.")] = "gitlab-ci",
    role: Annotated[str, typer.Option("--role", help="The role issuing QA deployer tokens.")] = "qa-deployer",
    address: Annotated[str | None, typer.Option("--address", envvar="VAULT_ADDR", help="Vault's address.")] = None,
    ca_cert: Annotated[str | None, typer.Option("--ca-cert", envvar="VAULT_CACERT", help="Vault's CA (PEM file).")] = None,
    state_secret: Annotated[
        str | None,
        typer.Option("--state-secret", help="KV path of the state backend's credential (the `pulumi` consumer), "
                     "e.g. environments/cc/minio/minio-consumer-pulumi; also exports AWS_* for the S3 backend."),
    ] = None,
) -> None:
    """Log a CI job in to Vault with its own token; prints `export` lines for `eval` (nothing is stored)."""
    import os

    from mojaloop_iac.qa.vault_login import VaultLoginError, ci_login

    jwt = os.environ.get(jwt_env, "").strip()
    if not jwt:
        _fail(f"--jwt-env: {escape(str(jwt_env))} holds no token (GitLab: an id_tokens entry; GitHub: permissions id-token: write)")
    if not address:
        _fail("--address: give Vault's address (or VAULT_ADDR)")
    try:
        credentials = ci_login(address, jwt, mount=mount, role=role, state_secret=state_secret,
                               ca_cert=ca_cert or True)
    except VaultLoginError as refused:
        _fail(f"[bold red]vault-login:[/] {escape(str(refused))}", EXIT_INVALID)
    sys.stdout.write(credentials.shell_exports())
