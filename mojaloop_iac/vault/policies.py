"""Vault policy text: the per-namespace read-only ACL policy and the password policies per consumer type.

Both are pure: they render or load text and check it, so a too-short password policy or a policy that
grants more than one namespace's path is caught before anything talks to Vault.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    namespace_prefix,
    password_policy_name,
    require_dns_label,
)
from mojaloop_iac.yamlio import load_yaml

PASSWORD_POLICIES_FILE: Final = CONFIG_DIR / "password-policies.yaml"
REQUIRED_CONSUMERS: Final = ("mysql", "mongodb", "kafka", "redis", "generic")
MIN_PASSWORD_LENGTH: Final = 24
# "Mixed" means at least this many character classes, each with a guaranteed minimum.
MIN_CHARSET_RULES: Final = 3
# Characters no generated password may contain: they break quoting in YAML, JSON, shells and env files.
ALWAYS_FORBIDDEN: Final = frozenset(" \t\r\n'\"`\\")


class PasswordPolicyFileError(ValueError):
    """The password policies file is malformed; the message names the file and the consumer type."""


_LENGTH = re.compile(r"^\s*length\s*=\s*(\d+)\s*$", re.MULTILINE)
_RULE = re.compile(r'rule\s+"charset"\s*\{(?P<body>[^{}]*)\}', re.DOTALL)
_CHARSET = re.compile(r'\bcharset\s*=\s*"(?P<chars>(?:[^"\\]|\\.)*)"')
_MIN_CHARS = re.compile(r"\bmin-chars\s*=\s*(\d+)")


def namespace_read_policy(environment: str, namespace: str, mount: str = DEFAULT_KV_MOUNT) -> str:
    """ACL policy HCL letting one namespace read its own secrets and nothing else.

    Data is read-only; metadata gets read+list so External Secrets can find keys and versions. The
    trailing '/*' keeps `ns-a` from matching `ns-ab`.
    """
    require_dns_label(mount, "KV mount")
    prefix = namespace_prefix(environment, namespace)
    return (
        f"# Managed by mojaloop-iac: namespace '{namespace}' of environment '{environment}' may read its\n"
        "# own secrets and nothing else.\n"
        f'path "{mount}/data/{prefix}/*" {{\n'
        '  capabilities = ["read"]\n'
        "}\n"
        "\n"
        f'path "{mount}/metadata/{prefix}/*" {{\n'
        '  capabilities = ["read", "list"]\n'
        "}\n"
    )


@dataclass(frozen=True)
class CharsetRule:
    charset: str
    min_chars: int


@dataclass(frozen=True)
class PasswordPolicySpec:
    """One consumer type's password policy: its Vault name, HCL, and what that HCL promises."""

    consumer: str
    name: str
    description: str
    hcl: str
    length: int
    rules: tuple[CharsetRule, ...]
    forbidden_characters: str

    @property
    def allowed_characters(self) -> frozenset[str]:
        return frozenset("".join(rule.charset for rule in self.rules))


def _unescape_hcl(text: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if escaped not in {'"', "\\"}:
            raise PasswordPolicyFileError(f"{where}: unsupported escape '\\{escaped}' in a charset")
        return escaped

    return re.sub(r"\\(.)", replace, text)


def parse_password_policy(consumer: str, entry: Mapping[str, Any], source: Path) -> PasswordPolicySpec:
    """Check one YAML entry and extract the length and charset rules from its HCL."""
    where = f"{source}: password policy '{consumer}'"
    require_dns_label(consumer, f"{source}: consumer type")
    if not isinstance(entry, Mapping):
        raise PasswordPolicyFileError(
            f"{where} must be a mapping with 'policy' (HCL) and optional 'description'"
        )
    unknown = sorted(set(entry) - {"policy", "description", "forbidden_characters"})
    if unknown:
        raise PasswordPolicyFileError(
            f"{where} has unknown keys {unknown}: allowed are policy, description, forbidden_characters"
        )
    hcl = entry.get("policy")
    if not isinstance(hcl, str) or not hcl.strip():
        raise PasswordPolicyFileError(f"{where} has no 'policy' HCL text")
    lengths = _LENGTH.findall(hcl)
    if len(lengths) != 1:
        raise PasswordPolicyFileError(f"{where} must set 'length = N' exactly once")
    length = int(lengths[0])
    if length < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyFileError(f"{where} has length {length}: use at least {MIN_PASSWORD_LENGTH}")
    rules = []
    for match in _RULE.finditer(hcl):
        body = match.group("body")
        charset_match = _CHARSET.search(body)
        min_chars_match = _MIN_CHARS.search(body)
        if charset_match is None or min_chars_match is None:
            raise PasswordPolicyFileError(f"{where}: every charset rule needs 'charset' and 'min-chars'")
        charset = _unescape_hcl(charset_match.group("chars"), where)
        min_chars = int(min_chars_match.group(1))
        if not charset or min_chars < 1:
            raise PasswordPolicyFileError(
                f"{where}: every charset rule needs a non-empty charset and min-chars >= 1"
            )
        rules.append(CharsetRule(charset, min_chars))
    if len(rules) < MIN_CHARSET_RULES:
        raise PasswordPolicyFileError(
            f"{where} has {len(rules)} charset rules: use at least {MIN_CHARSET_RULES} "
            "(for example lower case, upper case, digits) so passwords mix character classes"
        )
    if sum(rule.min_chars for rule in rules) > length:
        raise PasswordPolicyFileError(f"{where}: the rules' min-chars add up to more than length {length}")
    forbidden = entry.get("forbidden_characters", "")
    if not isinstance(forbidden, str):
        raise PasswordPolicyFileError(f"{where}: forbidden_characters must be a string of characters")
    allowed = set("".join(rule.charset for rule in rules))
    clashes = sorted(allowed & (set(forbidden) | ALWAYS_FORBIDDEN))
    if clashes:
        raise PasswordPolicyFileError(f"{where}: charsets contain forbidden characters {''.join(clashes)!r}")
    description = entry.get("description", "")
    return PasswordPolicySpec(
        consumer=consumer,
        name=password_policy_name(consumer),
        description=str(description),
        hcl=hcl,
        length=length,
        rules=tuple(rules),
        forbidden_characters=forbidden,
    )


def load_password_policies(path: Path = PASSWORD_POLICIES_FILE) -> dict[str, PasswordPolicySpec]:
    """All password policies by consumer type; every type in REQUIRED_CONSUMERS must be there."""
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PasswordPolicyFileError(
            f"cannot read password policies from {path}: {error.strerror}"
        ) from error
    if not isinstance(document, Mapping) or not isinstance(document.get("policies"), Mapping):
        raise PasswordPolicyFileError(
            f"{path} must hold a mapping 'policies: {{<consumer type>: {{policy: <HCL>}}}}'"
        )
    entries = document["policies"]
    missing = [consumer for consumer in REQUIRED_CONSUMERS if consumer not in entries]
    if missing:
        raise PasswordPolicyFileError(f"{path} lacks password policies for {missing}")
    return {
        str(consumer): parse_password_policy(str(consumer), entry, path)
        for consumer, entry in entries.items()
    }
