"""Vault policy text: an environment's templated read policy and deploy policy, and the password policies.

Both are pure: they render or load text and check it, so a too-short password policy or a policy that
grants more than its environment's path is caught before anything talks to Vault.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.vault.paths import (
    DEFAULT_KV_MOUNT,
    EPHEMERAL_PREFIX,
    READER_SERVICE_ACCOUNT,
    environment_prefix,
    kubernetes_auth_mount,
    password_policy_name,
    qa_read_policy_name,
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


# Stands for the accessor of an environment's Kubernetes auth mount in a policy's text: Vault assigns the
# accessor when the mount is enabled, so the policy resource fills it in (see render_auth_accessor).
AUTH_ACCESSOR_PLACEHOLDER: Final = "@auth-mount-accessor@"
_LOGIN_NAMESPACE: Final = (
    "{{identity.entity.aliases." + AUTH_ACCESSOR_PLACEHOLDER + ".metadata.service_account_namespace}}"
)


def environment_read_policy(environment: str, mount: str = DEFAULT_KV_MOUNT, *, ephemeral: bool = False) -> str:
    """The templated ACL policy letting each namespace of an environment read its own secrets only.

    Vault fills in the namespace of the service account that logged in through the environment's
    Kubernetes auth mount, so one policy serves every namespace and none reads another's path; the
    control center can therefore write it without knowing the environment's namespaces. Data is
    read-only; metadata gets read+list so External Secrets can find versions. The trailing '/*' keeps
    `ns-a` from matching `ns-ab`.
    """
    require_dns_label(mount, "KV mount")
    prefix = f"{environment_prefix(environment, ephemeral=ephemeral)}/{_LOGIN_NAMESPACE}"
    whose = f"an ephemeral environment on cluster '{environment}'" if ephemeral else f"environment '{environment}'"
    return (
        f"# Managed by mojaloop-iac: a workload of {whose} reads the secrets of its own\n"
        "# namespace and nothing else (Vault fills in the namespace of the service account that logged in).\n"
        f'path "{mount}/data/{prefix}/*" {{\n'
        '  capabilities = ["read"]\n'
        "}\n"
        "\n"
        f'path "{mount}/metadata/{prefix}/*" {{\n'
        '  capabilities = ["read", "list"]\n'
        "}\n"
    )


def environment_deploy_policy(
    environment: str, auth_mount: str, mount: str = DEFAULT_KV_MOUNT, *, ephemeral: bool = False
) -> str:
    """The ACL policy of one environment's stack when the control center administers Vault.

    It generates, reads and (for ephemeral environments) deletes the environment's own secrets and points
    the environment's Kubernetes auth mount at its cluster. It writes no policy and no role: whoever can
    write those can grant themselves anything, so they stay with the control center's administrators.
    """
    require_dns_label(mount, "KV mount")
    require_dns_label(auth_mount, "auth mount")
    prefix = environment_prefix(environment, ephemeral=ephemeral)
    return (
        f"# Managed by mojaloop-iac: the stack of environment '{environment}' generates its own secrets and\n"
        "# configures its own Kubernetes auth mount; policies and roles stay with the administrators.\n"
        f'path "{mount}/data/{prefix}/*" {{\n'
        '  capabilities = ["create", "read", "update", "delete"]\n'
        "}\n"
        "\n"
        f'path "{mount}/metadata/{prefix}/*" {{\n'
        '  capabilities = ["read", "list", "delete"]\n'
        "}\n"
        "\n"
        'path "sys/policies/password/+/generate" {\n'
        '  capabilities = ["read"]\n'
        "}\n"
        "\n"
        f'path "auth/{auth_mount}/config" {{\n'
        '  capabilities = ["create", "read", "update"]\n'
        "}\n"
    )


def qa_deployer_policy(
    shared_clusters: tuple[str, ...],
    mount: str = DEFAULT_KV_MOUNT,
    *,
    state_backend_secret: str | None = None,
    transit_mount: str = "transit",
    transit_key: str = "qa-stacks",
) -> str:
    """The ACL policy of the tokens CI gets (through its JWT login) to deploy ephemeral QA environments.

    It generates, reads and deletes the secrets of ephemeral environments only (`ephemeral/`), never a
    persistent environment's. On each shared QA cluster's auth mount it manages roles named `qa-*` whose
    only policy can be that cluster's QA read policy and whose only service account is the secrets reader:
    Vault checks the parameters of every write (`allowed_parameters`), so a token cannot mint a role with
    more. It writes no policy and enables no mount: whoever can do that can grant themselves anything.

    For Pulumi itself it may read the state backend's credentials (`state_backend_secret`, the `pulumi`
    object-store consumer's key) and encrypt and decrypt with the transit key the QA stacks' secrets
    provider uses (`hashivault://<transit_key>`), so no long-lived secret sits in a CI variable.
    """
    require_dns_label(mount, "KV mount")
    blocks = [
        "# Managed by mojaloop-iac: CI deploys, tests and tears down ephemeral QA environments with these tokens.\n"
        f'path "{mount}/data/{EPHEMERAL_PREFIX}/*" {{\n'
        '  capabilities = ["create", "read", "update", "delete"]\n'
        "}\n",
        f'path "{mount}/metadata/{EPHEMERAL_PREFIX}/*" {{\n'
        '  capabilities = ["read", "list", "delete"]\n'
        "}\n",
        'path "sys/policies/password/+/generate" {\n'
        '  capabilities = ["read"]\n'
        "}\n",
        f'path "{transit_mount}/encrypt/{transit_key}" {{\n'
        '  capabilities = ["update"]\n'
        "}\n",
        f'path "{transit_mount}/decrypt/{transit_key}" {{\n'
        '  capabilities = ["update"]\n'
        "}\n",
    ]
    if state_backend_secret is not None:
        blocks.append(
            f'path "{mount}/data/{state_backend_secret}" {{\n'
            '  capabilities = ["read"]\n'
            "}\n"
        )
    for cluster in shared_clusters:
        read_policy = qa_read_policy_name(cluster)
        blocks.append(
            f'path "auth/{kubernetes_auth_mount(cluster)}/role/qa-*" {{\n'
            '  capabilities = ["create", "read", "update", "delete"]\n'
            # Vault compares a parameter's whole value with each allowed value: a list inside the list is
            # the only list accepted (a role may carry this policy and nothing else); parameters not named
            # here (token_policies, ...) are refused.
            "  allowed_parameters = {\n"
            f'    "policies" = [["{read_policy}"]]\n'
            f'    "bound_service_account_names" = [["{READER_SERVICE_ACCOUNT}"]]\n'
            '    "bound_service_account_namespaces" = []\n'
            '    "ttl" = []\n'
            '    "max_ttl" = []\n'
            '    "audience" = []\n'
            "  }\n"
            "}\n"
        )
    return "\n".join(blocks)


def render_auth_accessor(policy: str, accessor: str) -> str:
    """The policy text as Vault stores it: the placeholder replaced by the auth mount's accessor."""
    if not re.fullmatch(r"auth_[a-z0-9_]+_[0-9a-f]+", accessor):
        raise ValueError(f"{accessor!r} is not an auth mount accessor")
    return policy.replace(AUTH_ACCESSOR_PLACEHOLDER, accessor)


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
