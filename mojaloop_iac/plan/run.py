"""`mojactl plan`: validate a stack, run its program offline, write the bundle."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mojaloop_iac.catalog import load_catalog, plan_upgrade
from mojaloop_iac.config.files import STACK_FILE_ENV, referenced_stack_file
from mojaloop_iac.config.issues import ConfigError, Issue
from mojaloop_iac.config.load import NAMESPACE, SECRET_KEYS, StackFile, ValidatedStack, validate_stack_file
from mojaloop_iac.config.rules import stack_references
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.plan.bundle import helm_releases, manifests, write_bundle
from mojaloop_iac.plan.engine import PlanRecord, config_for_engine, run_program
from mojaloop_iac.plan.summary import render_summary
from mojaloop_iac.plan.timing import TimeToReady, as_json, time_to_ready, time_to_ready_section
from mojaloop_iac.yamlio import load_yaml

if TYPE_CHECKING:  # rendering needs Helm and the render extra; a plain plan never imports it
    from mojaloop_iac.render.run import RenderOptions, RenderReport


@dataclass(frozen=True)
class PlanResult:
    stack: str
    record: PlanRecord
    validated: ValidatedStack
    warnings: tuple[str, ...]
    summary: str
    files: tuple[Path, ...]
    timing: TimeToReady
    render: RenderReport | None = None


def project_name() -> str:
    return load_yaml((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]


def engine_config(file_config: dict) -> tuple[dict, list, list]:
    """The config the engine would pass, with what only `pulumi up` can supply stood in for.

    Encrypted values need the stack's secrets provider, which the plan never has; they become
    placeholders, stay secret, and the plan's warnings say so.
    """
    config = dict(file_config)
    secret_keys, notes = [f"{NAMESPACE}:{key}" for key in SECRET_KEYS if f"{NAMESPACE}:{key}" in file_config], []
    for key, value in file_config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = f"[encrypted {key}]"
            secret_keys.append(key)
            notes.append(f"{key} is encrypted; the plan uses a placeholder (pulumi up decrypts it)")
    return config_for_engine(config), sorted(set(secret_keys)), notes


@contextmanager
def program_reads(path: Path) -> Iterator[None]:
    """Tell the program which stack file its configuration came from (it resolves the file's paths there)."""
    before = os.environ.get(STACK_FILE_ENV)
    os.environ[STACK_FILE_ENV] = str(path.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(STACK_FILE_ENV, None)
        else:
            os.environ[STACK_FILE_ENV] = before


def upgrade_sections(validated: ValidatedStack) -> list[tuple[str, str]]:
    env = validated.config.environment
    if env is None or env.mojaloop.installed_release in (None, env.mojaloop.release):
        return []
    upgrade = plan_upgrade(load_catalog(), env.mojaloop.installed_release, env.mojaloop.release)
    lines = [f"From {upgrade.from_version} to {upgrade.to_version} (via {' → '.join(upgrade.path)}):", ""]
    for step in upgrade.steps:
        versions = f" {step.from_version} → {step.to_version}" if step.to_version else ""
        lines.append(f"{step.order}. **{step.part}**{' ' + step.chart if step.chart else ''}{versions}: {step.description}")
    return [("Upgrade steps", "\n".join(lines))]


def referenced_outputs(
    stack_file: StackFile, validated: ValidatedStack, given: dict[str, dict] | None
) -> dict[str, dict]:
    """Outputs for the stacks this one references (its control center; a QA environment's shared QA
    cluster): given (a fixture), or planned from the local stack file named like the reference's last segment
    (see `referenced_stack_file`)."""
    env = validated.config.environment
    if env is None:
        return {}
    answered: dict[str, dict] = {}
    for key, reference in stack_references(env):
        if given and reference in given:
            answered[reference] = given[reference]
            continue
        local = reference.rsplit("/", 1)[-1]
        found = referenced_stack_file(reference, stack_file.location)
        try:
            planned = plan_stack(str(found) if found is not None else local, None)
        except ConfigError as error:
            raise ConfigError(
                [Issue(key, f"cannot answer the stack reference {reference!r} offline: plan a local stack "
                       f"{local!r} or pass --stack-outputs ({issue})") for issue in error.issues]
            ) from None
        answered[reference] = planned.record.outputs
    return answered


def plan_stack(
    stack: str | StackFile,
    out_dir: Path | None,
    stack_outputs: dict[str, dict] | None = None,
    render: RenderOptions | None = None,
) -> PlanResult:
    stack_file, validated = validate_stack_file(stack, references=tuple(stack_outputs or ()))
    cluster = validated.config.cluster
    config, secret_keys, notes = engine_config(stack_file.config)
    references = referenced_outputs(stack_file, validated, stack_outputs)
    with program_reads(stack_file.path):
        record = run_program(project_name(), stack_file.name, config, secret_keys, stack_references=references)
    warnings = tuple(dict.fromkeys(notes + record.warnings))
    releases = helm_releases(record)
    facts = [f"kind {validated.config.kind}", f"substrate {cluster.substrate.value}",
             f"Kubernetes {cluster.kubernetes.version}"]
    if validated.config.environment is not None:
        facts.insert(1, f"Mojaloop {validated.config.environment.mojaloop.release}")
    timing = time_to_ready(record, with_tests=validated.config.environment is not None)
    sections = [*upgrade_sections(validated), ("Time to ready", time_to_ready_section(timing))]
    report = None
    if render is not None:
        from mojaloop_iac.render.run import render_and_check, summary_section

        report = render_and_check(record, validated.config, render)
        sections.append(summary_section(report))
    summary = render_summary(record, stack_file.name, facts, releases, warnings, sections)
    manifests(record)  # fails early on two resources writing the same object
    files: tuple[Path, ...] = ()
    if out_dir is not None:
        extra = {"kind": validated.config.kind, "timeToReady": as_json(timing)}
        written = write_bundle(out_dir, record, summary, extra)
        if report is not None:
            from mojaloop_iac.render.run import write_rendered

            written += write_rendered(out_dir, report)
        files = tuple(written)
    return PlanResult(stack_file.name, record, validated, warnings, summary, files, timing, report)
