"""`mojactl plan`: validate a stack, run its program offline, write the bundle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from mojaloop_iac.config.load import NAMESPACE, ValidatedStack, validate_stack_file
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.plan.bundle import helm_releases, manifests, write_bundle
from mojaloop_iac.plan.engine import PlanRecord, config_for_engine, run_program
from mojaloop_iac.plan.fakes import fake_kubeconfig
from mojaloop_iac.plan.summary import render_summary


@dataclass(frozen=True)
class PlanResult:
    stack: str
    record: PlanRecord
    validated: ValidatedStack
    warnings: tuple[str, ...]
    summary: str
    files: tuple[Path, ...]


def project_name() -> str:
    return yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]


def engine_config(file_config: dict, kind_needs_kubeconfig: bool, cluster_name: str) -> tuple[dict, list, list]:
    """The config the engine would pass, with what only `pulumi up` can supply stood in for.

    Encrypted values need the stack's secrets provider, which the plan never has; they become
    placeholders and stay secret. A missing kubeconfig (it comes from the Ansible run) becomes a fake
    one. Both are said in the plan's warnings.
    """
    config = dict(file_config)
    secret_keys, notes = [], []
    for key, value in file_config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = f"[encrypted {key}]"
            secret_keys.append(key)
            notes.append(f"{key} is encrypted; the plan uses a placeholder (pulumi up decrypts it)")
    kubeconfig_key = f"{NAMESPACE}:kubeconfig"
    if kind_needs_kubeconfig and kubeconfig_key not in file_config:
        config[kubeconfig_key] = fake_kubeconfig(cluster_name)
        notes.append(f"{kubeconfig_key} is not set; the plan uses a placeholder kubeconfig")
    if kubeconfig_key in config and kubeconfig_key not in secret_keys:
        secret_keys.append(kubeconfig_key)
    return config_for_engine(config), sorted(secret_keys), notes


def plan_stack(stack: str, out_dir: Path | None) -> PlanResult:
    stack_file, validated = validate_stack_file(stack)
    cluster = validated.config.cluster
    config, secret_keys, notes = engine_config(stack_file.config, True, cluster.name)
    record = run_program(project_name(), stack_file.name, config, secret_keys)
    warnings = tuple(dict.fromkeys(notes + record.warnings))
    releases = helm_releases(record)
    facts = [f"kind {validated.config.kind}", f"substrate {cluster.substrate.value}",
             f"Kubernetes {cluster.kubernetes.version}"]
    if validated.config.environment is not None:
        facts.insert(1, f"Mojaloop {validated.config.environment.mojaloop.release}")
    summary = render_summary(record, stack_file.name, facts, releases, warnings)
    manifests(record)  # fails early on two resources writing the same object
    files: tuple[Path, ...] = ()
    if out_dir is not None:
        extra = {"kind": validated.config.kind}
        files = tuple(write_bundle(out_dir, record, summary, extra))
    return PlanResult(stack_file.name, record, validated, warnings, summary, files)
