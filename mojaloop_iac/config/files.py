"""Files a stack's configuration names: where they are, whether they may be there, and what they hold.

A relative path is resolved against the directory of the stack file that names it (so a stack and the
files next to it travel together), and must stay inside the stack's project: the nearest directory above
the stack file holding a `Pulumi.yaml`, or the stack file's own directory when none does. Symbolic links
are followed before that check. Keys whose files naturally live elsewhere (the SSH key in ~/.ssh, the k3s
mirror of an air-gapped site) say so in their description and may point outside; `~` is expanded.

Each file must exist, be a regular file (not a directory, device or pipe), and be of the kind the key
expects; the checks read only as much as they need and never echo what they read.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mojaloop_iac.config.issues import format_path
from mojaloop_iac.credentials import find_credentials
from mojaloop_iac.paths import REPO_ROOT, STACKS_DIR
from mojaloop_iac.yamlio import UserYamlError, load_user_yaml

PROJECT_FILE = "Pulumi.yaml"
# The environment variable naming the stack file the Pulumi program's configuration came from, when it is
# not `<stackConfigDir>/Pulumi.<stack>.yaml` (`mojactl plan` of a stack file elsewhere sets it).
STACK_FILE_ENV = "MOJALOOP_STACK_FILE"


@dataclass(frozen=True)
class StackLocation:
    directory: Path
    """The stack file's directory: relative paths in its configuration start here."""
    project: Path
    """Files the configuration names must stay inside this directory (unless the key allows otherwise)."""

    @classmethod
    def of_stack_file(cls, stack_file: Path) -> StackLocation:
        directory = stack_file.resolve().parent
        project = next((p for p in (directory, *directory.parents) if (p / PROJECT_FILE).is_file()), directory)
        return cls(directory, project)


DEFAULT_LOCATION = StackLocation(STACKS_DIR, REPO_ROOT)
"""Where `pulumi up` finds stack files: stacks/ (the project's stackConfigDir), in this project."""


def location_of(context: Any) -> StackLocation:
    """The location a validation runs with (pydantic's validation context), by default this project's."""
    location = context.get("location") if isinstance(context, dict) else None
    return location if isinstance(location, StackLocation) else DEFAULT_LOCATION


def checks_files(context: Any) -> bool:
    """False in the first pass of validation, which checks everything but the files (see load.py)."""
    return not (isinstance(context, dict) and context.get("files") is False)


@dataclass(frozen=True)
class FileKind:
    what: str
    """What the file must be, in words, e.g. "a PEM certificate"."""
    max_bytes: int | None
    """The most the check reads; a longer file is refused (None: read only the head)."""
    check: Callable[[Path], None]
    """Raises ValueError saying what is wrong with the file's content."""
    outside_allowed: str | None = None
    """Why this kind of file may live outside the project (None: it must stay inside)."""


def resolve_file(value: str, location: StackLocation, kind: FileKind) -> str:
    """The absolute path of the file `value` names, after every check; ValueError in words otherwise."""
    if not value.strip():
        raise ValueError(f"must name {kind.what}, e.g. a path relative to the stack file's directory")
    if "\x00" in value or len(value) > 4096:
        raise ValueError(f"is not a file path (must name {kind.what})")
    try:
        path = (location.directory / Path(value).expanduser()).resolve()
    except (OSError, RuntimeError) as error:
        raise ValueError(f"{value!r} cannot be resolved: {error}") from None
    if kind.outside_allowed is None and not path.is_relative_to(location.project):
        raise ValueError(
            f"{value!r} resolves to {path}, outside the project {location.project}; keep {kind.what} inside "
            "the project (paths are relative to the stack file's directory)"
        )
    try:
        if not path.exists():
            raise ValueError(f"{value!r} does not exist ({path}; paths are relative to the stack file's directory)")
        if not path.is_file():
            raise ValueError(f"{value!r} is not a regular file ({path}); it must be {kind.what}")
        size = path.stat().st_size
        if kind.max_bytes is not None and size > kind.max_bytes:
            raise ValueError(f"{value!r} has {size} bytes, more than {kind.what} ever needs ({kind.max_bytes})")
        try:
            kind.check(path)
        except UnicodeDecodeError:  # a ValueError too, in the codec's words
            raise ValueError(f"{value!r} is not UTF-8 text; it must be {kind.what}") from None
        except ValueError as wrong:
            raise ValueError(f"{value!r} {wrong}") from None
    except OSError as error:
        raise ValueError(f"{value!r} cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{value!r} is not text; it must be {kind.what}") from None
    return str(path)


def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def check_values_file(path: Path) -> None:
    """A YAML mapping of Helm values, free of credentials."""
    load_values(path)


def load_values(path: Path) -> dict[str, Any]:
    try:
        document = load_user_yaml(_text(path))
    except UserYamlError as error:
        where = f"at {format_path(error.path)} " if error.path else ""
        raise ValueError(f"{where}{error}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"is not valid YAML: {_yaml_problem(error)}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ValueError(f"must hold a mapping of Helm values (key: value), not {_kind_of(document)}")
    not_json = list(_not_json(document, ()))
    if not_json:
        shown = "; ".join(not_json[:5]) + (f"; and {len(not_json) - 5} more" if len(not_json) > 5 else "")
        raise ValueError(
            f"holds what Helm values cannot carry: {shown}. Values are text, numbers, true/false, null, lists and "
            'mappings with text keys (JSON\'s types); quote the others, e.g. startedAt: "2026-01-01T00:00:00Z"'
        )
    findings = find_credentials(document)
    if findings:
        shown = ", ".join(str(finding) for finding in findings[:5])
        more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
        raise ValueError(
            f"holds credentials at {shown}{more}; values end up in the Helm release, Pulumi state "
            "and the plan bundle: reference a Kubernetes Secret instead (e.g. existingSecret, db_secret: "
            "{name, key}, valueFrom.secretKeyRef), which Vault fills"
        )
    return document


_YAML_TYPE_NAMES = {"date": "a date", "datetime": "a timestamp", "bytes": "binary data (!!binary)",
                    "set": "a set (!!set)", "tuple": "a pair list", "int": "a number", "float": "a number",
                    "bool": "true/false", "NoneType": "null"}


def _not_json(value: Any, path: tuple[str | int, ...]) -> Iterator[str]:
    """Where a values document holds what JSON (so Pulumi state and Helm's values) cannot: said by place and
    type, never by value (a date may be a password YAML read as a date)."""
    where = format_path(path) or "the top level"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                kind = _YAML_TYPE_NAMES.get(type(key).__name__, "a " + type(key).__name__)
                yield f"a key at {where} is {kind}, not text (quote it)"
                continue
            yield from _not_json(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _not_json(item, (*path, index))
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"{where} is not a finite number (.nan/.inf)"
    elif not isinstance(value, (str, int, float, bool, type(None))):
        yield f"{where} is {_YAML_TYPE_NAMES.get(type(value).__name__, 'a ' + type(value).__name__)}"


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "cannot be parsed"
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else str(problem)


def _kind_of(document: object) -> str:
    return {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}.get(
        type(document), type(document).__name__
    )


def check_pgp_public_key(path: Path) -> None:
    # Imported here: the Vault package is only needed when a control center names operator keys.
    from mojaloop_iac.vault.bootstrap_pgp import PgpKeyError, parse_public_key

    try:
        parse_public_key(_text(path), path.name)
    except PgpKeyError as error:
        raise ValueError(f"is not an OpenPGP public key: {error}") from None


def check_pem_certificate(path: Path) -> None:
    from cryptography import x509

    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        raise ValueError("holds a private key: give the CA's certificate only (-----BEGIN CERTIFICATE-----)")
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError("is not a PEM certificate (a -----BEGIN CERTIFICATE----- block)") from None
    if not certificates:
        raise ValueError("is not a PEM certificate (a -----BEGIN CERTIFICATE----- block)")


_PRIVATE_KEY_HEADERS = tuple(
    f"-----BEGIN {kind}PRIVATE KEY-----".encode() for kind in ("OPENSSH ", "RSA ", "EC ", "DSA ", "ENCRYPTED ", "")
)


# SSH reads its option values itself (`%` and `${` are expanded, spaces split): keep paths plain.
_SSH_SAFE_PATH = re.compile(r"[A-Za-z0-9._/@+~-]+")


def _ssh_safe(path: Path) -> None:
    if not _SSH_SAFE_PATH.fullmatch(str(path)):
        raise ValueError(
            f"{path} holds characters SSH options cannot carry (spaces, quotes, '%', '$'...); move the file to a "
            "path of letters, digits, '.', '_', '-' and '/'"
        )


def check_ssh_private_key(path: Path) -> None:
    _ssh_safe(path)
    head = _head(path).lstrip()
    if head.startswith(_PRIVATE_KEY_HEADERS):
        return
    if head.startswith((b"ssh-", b"ecdsa-", b"sk-")):
        raise ValueError("is a public key: give the private key file (the one without .pub)")
    raise ValueError("is not an SSH private key (a -----BEGIN OPENSSH PRIVATE KEY----- block, as ssh-keygen writes)")


def check_known_hosts(path: Path) -> None:
    _ssh_safe(path)
    entries = 0
    for number, line in enumerate(_text(path).splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0].startswith("@"):
            fields = fields[1:]
        if len(fields) < 3 or not fields[1].startswith(("ssh-", "ecdsa-", "sk-")):
            raise ValueError(
                f"line {number} is not a known_hosts entry ('HOST KEYTYPE KEY', as ssh-keyscan prints), "
                "so it is not a known_hosts file"
            )
        entries += 1
    if not entries:
        raise ValueError("holds no host keys: every connection would be refused (host keys are always checked)")


def check_shell_script(path: Path) -> None:
    if not _head(path).startswith(b"#!"):
        raise ValueError("is not a script (its first line must be #!/bin/sh, as the k3s install script's is)")


_ELF_MACHINE_X86_64 = 62


def check_x86_64_executable(path: Path) -> None:
    head = _head(path, 64)
    if head.startswith(b"#!"):
        return  # a wrapper script
    if not head.startswith(b"\x7fELF") or len(head) < 20:
        raise ValueError("is not an executable (an x86-64 ELF binary such as k3s)")
    byte_order = "little" if head[5] == 1 else "big"
    machine = int.from_bytes(head[18:20], byte_order)
    if machine != _ELF_MACHINE_X86_64:
        raise ValueError("is a binary for another architecture; Mojaloop runs on x86-64 (amd64) only")


VALUES_FILE = FileKind("a YAML file of Helm values", 4 * 1024 * 1024, check_values_file)
PGP_PUBLIC_KEY = FileKind("an OpenPGP public key", 256 * 1024, check_pgp_public_key)
CA_CERTIFICATE = FileKind("a PEM certificate", 1024 * 1024, check_pem_certificate)
SSH_PRIVATE_KEY = FileKind(
    "an SSH private key", 64 * 1024, check_ssh_private_key,
    outside_allowed="an SSH key belongs to the operator's account (~/.ssh), not to the project",
)
KNOWN_HOSTS = FileKind(
    "a known_hosts file", 16 * 1024 * 1024, check_known_hosts,
    outside_allowed="known_hosts belongs to the operator's account (~/.ssh), not to the project",
)
K3S_INSTALL_SCRIPT = FileKind(
    "the k3s install script", 4 * 1024 * 1024, check_shell_script,
    outside_allowed="an air-gapped site's mirror (e.g. /srv/mirror/k3s) serves every stack",
)
K3S_BINARY = FileKind(
    "the k3s binary", None, check_x86_64_executable,
    outside_allowed="an air-gapped site's mirror (e.g. /srv/mirror/k3s) serves every stack",
)


def referenced_stack_file(reference: str, location: StackLocation) -> Path | None:
    """The local stack file `mojactl plan` answers a stack reference with: named like the reference's last
    part (`org/mojaloop/control-center` -> Pulumi.control-center.yaml), next to the referring stack file, else
    in this project's stacks/; None when there is none."""
    name = f"Pulumi.{reference.rsplit('/', 1)[-1]}.yaml"
    return next((path for path in (location.directory / name, STACKS_DIR / name) if path.is_file()), None)


def load_values_file(name: str) -> dict[str, Any]:
    """A values overrides file, as validation resolved it (an absolute path)."""
    return load_values(Path(name))


def read_ca_certificate(name: str) -> str:
    """The PEM text of a CA file validation resolved: the Vault connections trust it as text."""
    return Path(name).read_text(encoding="utf-8")


def load_operator_keys(key_files: Iterable[str]) -> dict[str, str]:
    """Operator name (the key file's name without its extension) -> armored PGP public key, for the unseal
    shares; the files as validation resolved them."""
    return {Path(name).stem: Path(name).read_text(encoding="utf-8") for name in key_files}


# The keys that name files, per stack kind (a list for operatorPgpKeyFiles): what moves with a stack file.
STACK_FILE_KEYS = {
    "environment": (
        "mojaloop.valuesFile", "mojaloop.backendValuesFile", "vault.caCertFile", "baremetal.sshPrivateKeyFile",
        "baremetal.sshKnownHostsFile", "baremetal.k3sInstallScriptPath", "baremetal.k3sBinaryPath",
    ),
    "controlCenter": (
        "secretsStore.unseal.operatorPgpKeyFiles", "baremetal.sshPrivateKeyFile", "baremetal.sshKnownHostsFile",
        "baremetal.k3sInstallScriptPath", "baremetal.k3sBinaryPath",
    ),
}


def rebase_file_paths(kind: str, settings: dict[str, Any], source: Path, target: Path) -> dict[str, Any]:
    """`settings` (a stack kind's mapping) with its relative file paths rewritten from a stack file in `source`
    to one in `target`, so a stack written elsewhere (a derived QA stack) names the same files."""
    rebased = copy.deepcopy(settings)

    def moved(value: Any) -> Any:
        if not isinstance(value, str) or not value or value.startswith(("/", "~")):
            return value
        return os.path.relpath(os.path.normpath(source.resolve() / value), target.resolve())

    for key in STACK_FILE_KEYS.get(kind, ()):
        *parents, last = key.split(".")
        node: Any = rebased
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and last in node:
            value = node[last]
            node[last] = [moved(item) for item in value] if isinstance(value, list) else moved(value)
    return rebased


def stack_file_of_program(stack: str) -> Path:
    """The stack file the running Pulumi program's configuration comes from."""
    given = os.environ.get(STACK_FILE_ENV)
    return Path(given) if given else STACKS_DIR / f"Pulumi.{stack}.yaml"
