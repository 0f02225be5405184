"""Reading stack files and validating their `mojaloop:` configuration, once, up front.

The same `validate_namespace` serves the CLI (which reads `stacks/Pulumi.<name>.yaml` itself) and the
Pulumi program (which gets the values from the engine), so both see the same errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mojaloop_iac.catalog import ReleaseCatalog, load_catalog
from mojaloop_iac.config.issues import ConfigError, Issue, issues_from_validation_error, suggest
from mojaloop_iac.config.models import StackConfig
from mojaloop_iac.config.rules import check_stack
from mojaloop_iac.paths import STACKS_DIR
from mojaloop_iac.yamlio import load_yaml

NAMESPACE = "mojaloop"
STACK_KINDS = ("environment", "controlCenter")
# Plain (non-structured) keys of the namespace, always given as Pulumi secrets.
SECRET_KEYS = ("kubeconfig",)
_STACK_FILE_KEYS = ("config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment")


@dataclass(frozen=True)
class StackFile:
    name: str
    path: Path
    config: dict[str, Any]
    """The file's `config:` map, keys as written (`mojaloop:environment`, `aws:region`, ...)."""

    def namespace(self, namespace: str = NAMESPACE) -> dict[str, Any]:
        prefix = f"{namespace}:"
        return {key[len(prefix) :]: value for key, value in self.config.items() if key.startswith(prefix)}


@dataclass(frozen=True)
class ValidatedStack:
    config: StackConfig
    warnings: tuple[Issue, ...]


def resolve_stack_path(stack: str) -> Path:
    """A stack is a name (`demo` -> stacks/Pulumi.demo.yaml) or a path to a stack file."""
    candidate = Path(stack)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise ConfigError([Issue("", f"stack file {stack} does not exist")])
        return candidate
    named = STACKS_DIR / f"Pulumi.{stack}.yaml"
    if not named.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))
        hint = suggest(stack, known)
        extra = f"did you mean {hint!r}? " if hint else ""
        raise ConfigError([Issue("", f"no stack named {stack!r}; {extra}known stacks: {', '.join(known)}")])
    return named


def stack_name_of(path: Path) -> str:
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name[len("Pulumi.") :].rsplit(".", 1)[0]
    return path.stem


def read_stack_file(stack: str) -> StackFile:
    path = resolve_stack_path(stack)
    try:
        document = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError([Issue("", f"{path} is not valid YAML: {error}")], str(path)) from None
    issues = []
    if not isinstance(document, dict):
        raise ConfigError([Issue("", "a stack file must be a mapping with a `config:` key")], str(path))
    for key in document:
        if key not in _STACK_FILE_KEYS:
            hint = suggest(str(key), _STACK_FILE_KEYS)
            issues.append(Issue(str(key), "unknown top-level key" + (f"; did you mean {hint!r}?" if hint else "")))
    config = document.get("config") or {}
    if not isinstance(config, dict):
        issues.append(Issue("config", "must be a mapping of `namespace:key` to values"))
    if issues:
        raise ConfigError(issues, str(path))
    return StackFile(stack_name_of(path), path, config)


def validate_namespace(
    values: dict[str, Any], catalog: ReleaseCatalog | None = None, source: str = ""
) -> ValidatedStack:
    """Validate the `mojaloop:` namespace of a stack; raise ConfigError listing every problem."""
    catalog = catalog or load_catalog()
    issues: list[Issue] = []
    for key in values:
        if key not in STACK_KINDS + SECRET_KEYS:
            hint = suggest(key, STACK_KINDS + SECRET_KEYS)
            detail = f"did you mean {hint!r}?" if hint else f"allowed keys: {', '.join(STACK_KINDS + SECRET_KEYS)}"
            issues.append(Issue(f"{NAMESPACE}:{key}", f"unknown key; {detail}"))
    kinds = [kind for kind in STACK_KINDS if kind in values]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "neither"
        issues.append(
            Issue(NAMESPACE, f"a stack configures exactly one of {NAMESPACE}:environment or "
                  f"{NAMESPACE}:controlCenter; found {found}")
        )
        raise ConfigError(issues, source)
    structured = {kind: values[kind] for kind in kinds}
    try:
        config = StackConfig.model_validate(structured)
    except ValidationError as error:
        raise ConfigError(issues + issues_from_validation_error(error, StackConfig), source) from None
    found_issues = check_stack(config, catalog)
    errors = issues + [issue for issue in found_issues if issue.severity == "error"]
    if errors:
        raise ConfigError(errors, source)
    warnings = tuple(sorted(issue for issue in found_issues if issue.severity == "warning"))
    return ValidatedStack(config, warnings)


def validate_stack_file(stack: str, catalog: ReleaseCatalog | None = None) -> tuple[StackFile, ValidatedStack]:
    stack_file = read_stack_file(stack)
    return stack_file, validate_namespace(stack_file.namespace(), catalog, str(stack_file.path))
