"""Reading stack files and validating their `mojaloop:` configuration, once, up front.

The same `validate_namespace` serves the CLI (which reads `stacks/Pulumi.<name>.yaml` itself) and the
Pulumi program (which gets the values from the engine), so both see the same errors.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mojaloop_iac.catalog import ReleaseCatalog, load_catalog
from mojaloop_iac.config.files import DEFAULT_LOCATION, StackLocation
from mojaloop_iac.config.issues import (
    ConfigError,
    Issue,
    format_path,
    issues_from_validation_error,
    key_text,
    suggest,
)
from mojaloop_iac.config.models import StackConfig
from mojaloop_iac.config.rules import check_stack, following
from mojaloop_iac.credentials import credential_in_text, find_credentials, names_a_credential
from mojaloop_iac.paths import STACKS_DIR
from mojaloop_iac.yamlio import AmbiguousScalars, UserYamlError, load_user_yaml

NAMESPACE = "mojaloop"
STACK_KINDS = ("environment", "controlCenter")
# Plain (non-structured) keys of the namespace, always given as Pulumi secrets.
SECRET_KEYS = ("kubeconfig",)
SECRET_VALUE = {"secure": "[secret]"}
"""How a secret config value the engine has decrypted is handed to validation: what, not the value."""
_STACK_FILE_KEYS = ("config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment")
# Stack files are a few kilobytes; this keeps a wrong path (a log, an image) from being parsed at length.
MAX_STACK_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class StackFile:
    name: str
    path: Path
    config: dict[str, Any]
    """The file's `config:` map, keys as written (`mojaloop:environment`, `aws:region`, ...)."""

    @property
    def location(self) -> StackLocation:
        return StackLocation.of_stack_file(self.path)

    def namespace(self, namespace: str = NAMESPACE) -> dict[str, Any]:
        prefix = f"{namespace}:"
        return {key[len(prefix) :]: value for key, value in self.config.items() if key.startswith(prefix)}


@dataclass(frozen=True)
class ValidatedStack:
    config: StackConfig
    warnings: tuple[Issue, ...]


def resolve_stack_path(stack: str) -> Path:
    """A stack is a name (`demo` -> stacks/Pulumi.demo.yaml) or a path to a stack file."""
    try:
        candidate = Path(stack)
        if candidate.suffix in (".yaml", ".yml") or candidate.exists():
            if not candidate.is_file():
                raise ConfigError([Issue("", f"stack file {stack} does not exist")])
            return candidate
        named = STACKS_DIR / f"Pulumi.{stack}.yaml"
        found = named.is_file()
    except (OSError, ValueError):  # a NUL byte, a name longer than the file system allows
        raise ConfigError([Issue("", f"{stack!r} is neither a stack name nor a path to a stack file")]) from None
    if not found:
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
    document = _parse_stack_file(path)
    issues = []
    if not isinstance(document, dict):
        raise ConfigError([Issue("", "a stack file must be a mapping with a `config:` key")], str(path))
    for key in document:
        if key not in _STACK_FILE_KEYS:
            hint = suggest(str(key), _STACK_FILE_KEYS)
            issues.append(Issue(key_text(key), "unknown top-level key" + (f"; did you mean {hint!r}?" if hint else "")))
    config = document.get("config") or {}
    if not isinstance(config, dict):
        issues.append(Issue("config", "must be a mapping of `namespace:key` to values"))
    else:
        issues += _plain_config_values(config)
        issues += _clear_credentials_in_other_namespaces(config)
    issues += _credentials_in_top_level_settings(document)
    name = stack_name_of(path)
    if not _STACK_NAME.fullmatch(name) or name in (".", ".."):
        issues.append(Issue("", f"the stack name {name!r} (from the file name {path.name!r}) is not a Pulumi stack "
                            "name: name the file Pulumi.<stack>.yaml, the stack letters, digits, '_', '.' and '-'"))
    if issues:
        raise ConfigError(issues, str(path))
    return StackFile(name, path, config)


def _parse_stack_file(path: Path) -> Any:
    def refuse(message: str, where: str = "") -> ConfigError:
        return ConfigError([Issue(where, message)], str(path))

    try:
        if path.stat().st_size > MAX_STACK_FILE_BYTES:
            raise refuse(f"{path} has more than {MAX_STACK_FILE_BYTES} bytes: it is not a stack file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise refuse(f"{path} is not UTF-8 text: a stack file is YAML") from None
    except OSError as error:
        raise refuse(f"{path} cannot be read: {error.strerror or error}") from None
    try:
        return load_user_yaml(text, refuse_yaml11_surprises=True) or {}
    except AmbiguousScalars as ambiguous:
        raise ConfigError([Issue(_user_path(where), what) for where, what in ambiguous.found],
                          str(path)) from None
    except UserYamlError as error:
        raise refuse(f"the stack file {error}", _user_path(error.path)) from None
    except yaml.YAMLError as error:
        raise refuse(f"{path} is not valid YAML: {error}") from None


def _user_path(location: tuple[str | int, ...]) -> str:
    """A location in the stack file as the key path users see: `config.mojaloop:environment.x` -> `environment.x`."""
    parts = list(location)
    if parts[:1] == ["config"] and len(parts) > 1 and str(parts[1]).startswith(f"{NAMESPACE}:"):
        parts = [str(parts[1])[len(NAMESPACE) + 1 :], *parts[2:]]
    return format_path(parts)


_PLAIN = (str, int, float, bool, type(None))
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}", re.ASCII)


def _plain_config_values(config: dict[Any, Any]) -> list[Issue]:
    """Pulumi hands config to programs as strings and JSON: dates, binary or sets cannot travel."""
    issues = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    issues.append(Issue(_user_path(path), f"key {key!r} must be text; quote it"))
                    return
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif not isinstance(value, _PLAIN):
            issues.append(Issue(_user_path(path), f"a {type(value).__name__} is not a configuration value: write "
                                "text, numbers, true/false, lists and mappings (quote dates and times)"))

    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            issues.append(Issue(f"config.{key_text(key)}", "config keys are `namespace:key`, e.g. mojaloop:environment"))
            continue
        walk(value, ("config", key))
    return issues


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def _clear_credentials_in_other_namespaces(config: dict[Any, Any]) -> list[Issue]:
    """Other namespaces (`aws:`, `gcp:`...) of a committed stack file hold no credential in clear either: a key
    named like one (`aws:secretKey`) must be a secret config value, and no text may hold a token or a URL's
    password. (The `mojaloop:` namespace has its own, stricter rules.)"""
    issues = []
    for key, value in config.items():
        if not isinstance(key, str) or key.startswith(f"{NAMESPACE}:") or _is_secure(value):
            continue
        setting = key.split(":", 1)[-1]
        if names_a_credential(setting) and value not in (None, "", False, True):
            issues.append(Issue(f"config.{key_text(key)}", "is a credential in clear in a committed stack file: "
                                f"set it as a secret, e.g. `pulumi config set --secret {key} ...`, which writes "
                                "`secure: ...`"))
            continue
        issues += [Issue(format_path(("config", key, *_parts(finding.location))), f"holds {finding.reason}: set "
                         f"credentials as secrets, e.g. `pulumi config set --secret {key} ...`")
                   for finding in find_credentials(value, by_key=False)]
    return issues


def _parts(location: str) -> tuple[str, ...]:
    return (location,) if location else ()


def _credentials_in_top_level_settings(document: dict[Any, Any]) -> list[Issue]:
    """`secretsprovider: hashivault://user:pass@...` puts a password in a committed file."""
    return [
        Issue(key_text(key), f"holds {reason}: a committed stack file names where secrets are, never a password; "
              "give it through the provider's environment (e.g. VAULT_TOKEN for hashivault://)")
        for key, value in document.items()
        if key != "config" and isinstance(value, str) and (reason := credential_in_text(value))
    ]


def validate_namespace(
    values: dict[str, Any],
    catalog: ReleaseCatalog | None = None,
    source: str = "",
    location: StackLocation = DEFAULT_LOCATION,
    stack_name: str | None = None,
    references: Collection[str] | None = (),
) -> ValidatedStack:
    """Validate the `mojaloop:` namespace of a stack; raise ConfigError listing every problem.

    `location` is where the stack file is (its files are resolved there); `stack_name` the stack's own name
    (a stack cannot reference itself); `references` the stack references answered offline by name
    (`--stack-outputs`), the others being answered by a local stack file, which must then exist; None when
    something else answers them (the Pulumi engine, or a command that never follows them)."""
    catalog = catalog or load_catalog()
    issues: list[Issue] = []
    for key in values:
        if key not in STACK_KINDS + SECRET_KEYS:
            hint = suggest(str(key), STACK_KINDS + SECRET_KEYS)
            detail = f"did you mean {hint!r}?" if hint else f"allowed keys: {', '.join(STACK_KINDS + SECRET_KEYS)}"
            issues.append(Issue(f"{NAMESPACE}:{key_text(key)}", f"unknown key; {detail}"))
    if "kubeconfig" in values:
        issues += kubeconfig_is_secret(values["kubeconfig"])
    kinds = [kind for kind in STACK_KINDS if kind in values]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "neither"
        issues.append(
            Issue(NAMESPACE, f"a stack configures exactly one of {NAMESPACE}:environment or "
                  f"{NAMESPACE}:controlCenter; found {found}")
        )
        raise ConfigError(issues, source)
    (kind,) = kinds
    if not isinstance(values[kind], dict):
        issues.append(Issue(f"{NAMESPACE}:{kind}", "must be a mapping of settings (name, substrate, ...), not "
                            f"{'empty' if values[kind] is None else type(values[kind]).__name__}"))
        raise ConfigError(issues, source)
    issues += credentials_in_the_stack(kind, values[kind])
    document = {kind: values[kind]}
    # Twice: first everything but the files the stack names, then with them. A missing or wrong file then
    # does not hide the other problems (the rules run on the first pass's model), and only a model whose
    # files were all checked (and resolved) is planned or handed on.
    try:
        config = StackConfig.model_validate(document, context={"location": location, "files": False})
    except ValidationError:
        try:  # the second pass reports the same problems, and the files' with them
            StackConfig.model_validate(document, context={"location": location})
        except ValidationError as error:
            raise ConfigError(issues + issues_from_validation_error(error, StackConfig), source) from None
        raise AssertionError("a model valid with its files is valid without them") from None
    file_issues: list[Issue] = []
    try:
        config = StackConfig.model_validate(document, context={"location": location})
    except ValidationError as error:
        file_issues = issues_from_validation_error(error, StackConfig)
    issues += file_issues
    found_issues = check_stack(config, catalog, location, stack_name, references, files_checked=not file_issues)
    errors = issues + [issue for issue in found_issues if issue.severity == "error"]
    if errors:
        raise ConfigError(errors, source)
    warnings = tuple(sorted(issue for issue in found_issues if issue.severity == "warning"))
    return ValidatedStack(config, warnings)


def credentials_in_the_stack(kind: str, settings: dict[str, Any]) -> list[Issue]:
    """Stack files are committed, and their values reach the plan: no credential-like text in them. (Keys are
    the toolkit's settings, refused when unknown, or names the user chose: judged by text only.)"""
    return [
        Issue(f"{kind}.{finding.location}", f"holds {finding.reason}: stack files are committed and their values "
              "reach the plan and state; use a Secret reference, or a secret config value (pulumi config set "
              "--secret)")
        for finding in find_credentials(settings, by_key=False)
        # The DNS-01 solver's own rule says how its credentials are given (...SecretRef).
        if not finding.location.startswith("tls.acmeDns01Solver")
    ] + list(_labels_named_like_credentials(settings, (kind,)))


_LABEL_MAPS = ("labels", "annotations")


def _labels_named_like_credentials(value: Any, path: tuple[str | int, ...]) -> Iterator[Issue]:
    """A label `example.com/db-password: ...` is readable by whoever can list the nodes: not secret storage."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = (*path, str(key))
            if key in _LABEL_MAPS and isinstance(item, dict):
                for label, label_value in item.items():
                    name = str(label).rsplit("/", 1)[-1]
                    if names_a_credential(name) and label_value not in (None, "", False, True):
                        yield Issue(format_path((*here, str(label))), f"is a label named like a credential ({name}) "
                                    "with a value: labels are readable by anyone who can list the nodes, so no "
                                    "credential belongs in one; keep it in Vault, e.g. label tier: kafka instead")
            yield from _labels_named_like_credentials(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _labels_named_like_credentials(item, (*path, index))


def kubeconfig_is_secret(value: Any) -> list[Issue]:
    """A kubeconfig holds cluster-admin credentials: only as a secret config value (`{secure: ...}`)."""
    if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
        return []
    if isinstance(value, str):
        return [Issue(f"{NAMESPACE}:kubeconfig", "is in clear in the stack file, but a kubeconfig holds the "
                      "cluster's admin credentials: remove it and set it as a secret with `pulumi config set "
                      "--secret mojaloop:kubeconfig \"$(cat kubeconfig)\"`")]
    return [Issue(f"{NAMESPACE}:kubeconfig", "must be a secret text value (`pulumi config set --secret "
                  "mojaloop:kubeconfig ...` writes it as `secure: ...`)")]


def validate_stack_file(
    stack: str | StackFile, catalog: ReleaseCatalog | None = None, references: Collection[str] | None = ()
) -> tuple[StackFile, ValidatedStack]:
    """A stack by name or path, or a stack file already read (perhaps with its config edited in memory: its
    files are still resolved where the file is)."""
    stack_file = stack if isinstance(stack, StackFile) else read_stack_file(stack)
    with following(stack_file.path):
        validated = validate_namespace(
            stack_file.namespace(), catalog, str(stack_file.path), stack_file.location, stack_file.name, references
        )
    return stack_file, validated
