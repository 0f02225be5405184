"""The identity stack's Secrets, defined once: Vault generates them, External Secrets delivers them, and
the chart values and manifests are built from these definitions, so the three cannot drift apart.

Some keys cannot come from a password policy: a DSN holds the password inside a URL, and Keycloak reads
even a user name from a Secret. Those keys are *assembled* by the ExternalSecret's template from the
generated ones (External Secrets' `target.template` with `mergePolicy: Merge`), so no password ever
passes through Pulumi, the plan or the Helm values.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mojaloop_iac.planners.identity.inputs import IdentityError, SecretKeyRef
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.vault.policies import PasswordPolicySpec

# Password policy consumer types (config/password-policies.yaml). Each key below names the one whose
# properties it needs; `check_password_policies` verifies those properties at plan time.
MYSQL_POLICY: Final = "mysql"
# RFC 3986 unreserved characters only and 32 long: safe inside a DSN's user-info without escaping, and
# the exact length Kratos demands of its cipher secret.
URL_SAFE_POLICY: Final = "mongodb"
GENERIC_POLICY: Final = "generic"

# Keys the Bitnami MySQL chart reads from `auth.existingSecret` (standalone architecture).
ROOT_PASSWORD: Final = "mysql-root-password"
USER_PASSWORD: Final = "mysql-password"

_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")


@dataclass(frozen=True)
class KeyRequirement:
    """What a generated key's consumer demands of the password policy it comes from."""

    url_safe: bool = False  # goes into a URL unescaped
    exact_length: int | None = None
    why: str = ""


@dataclass(frozen=True)
class IdentitySecret:
    namespace: str
    need: SecretNeed
    assembled: Mapping[str, str] = field(default_factory=dict)
    """Key -> External Secrets template text, rendered from the generated keys (or a fixed value)."""
    requirements: Mapping[str, KeyRequirement] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.need.name

    def keys(self) -> frozenset[str]:
        return frozenset(self.need.keys) | frozenset(self.assembled)

    def ref(self, key: str) -> SecretKeyRef:
        if key not in self.keys():
            raise IdentityError(
                f"Secret {self.namespace}/{self.name} has no key {key!r} (keys: {sorted(self.keys())})"
            )
        return SecretKeyRef(self.namespace, self.name, key)

    def selector(self, key: str) -> dict[str, str]:
        """A `secretKeyRef`-style {name, key} pointing at one of this Secret's keys."""
        ref = self.ref(key)
        return {"name": ref.name, "key": ref.key}

    def template(self) -> dict[str, Any] | None:
        if not self.assembled:
            return None
        # Merge keeps the generated keys next to the assembled ones (the charts read both kinds).
        return {"engineVersion": "v2", "mergePolicy": "Merge", "data": dict(sorted(self.assembled.items()))}


def generated(key: str) -> str:
    """Template text that renders one generated key (keys like `mysql-password` need `index`)."""
    return '{{ index . "' + key + '" }}'


@dataclass(frozen=True)
class DatabaseAccount:
    """Where one identity service keeps its data, and as whom it connects."""

    host: str
    port: int
    user: str
    database: str
    dedicated: bool  # a MySQL of its own in the service's namespace (its root password is generated too)

    def mysql_dsn(self, password_key: str) -> str:
        """Ory's DSN form; the password is rendered by the ExternalSecret, never written here."""
        return (
            f"mysql://{self.user}:{generated(password_key)}@tcp({self.host}:{self.port})/{self.database}"
            "?max_conns=20&max_idle_conns=4"
        )


def database_keys(account: DatabaseAccount, password_policy: str) -> dict[str, str]:
    keys = {USER_PASSWORD: password_policy}
    if account.dedicated:
        keys[ROOT_PASSWORD] = MYSQL_POLICY
    return keys


def check_password_policies(
    secrets: Iterable[IdentitySecret], policies: Mapping[str, PasswordPolicySpec]
) -> None:
    """Every generated key's policy exists and has what the key's consumer demands."""
    problems = []
    for secret in secrets:
        for key, consumer in sorted(secret.need.keys.items()):
            where = f"Secret {secret.namespace}/{secret.name} key {key!r}"
            policy = policies.get(consumer)
            if policy is None:
                problems.append(f"{where}: no password policy {consumer!r} in config/password-policies.yaml")
                continue
            requirement = secret.requirements.get(key, KeyRequirement())
            if requirement.url_safe and not policy.allowed_characters <= _UNRESERVED:
                extra = "".join(sorted(policy.allowed_characters - _UNRESERVED))
                problems.append(
                    f"{where}: policy {consumer!r} may generate {extra!r}, which a DSN cannot hold unescaped "
                    f"({requirement.why}); keep that policy to letters, digits and '-._~'"
                )
            if requirement.exact_length is not None and policy.length != requirement.exact_length:
                problems.append(
                    f"{where}: policy {consumer!r} generates {policy.length} characters, but "
                    f"{requirement.why} needs exactly {requirement.exact_length}"
                )
    if problems:
        raise IdentityError("; ".join(problems))


def with_templates(
    manifests: Iterable[Mapping[str, Any]], templates: Mapping[tuple[str, str], Mapping[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """The secret-delivery manifests with each identity ExternalSecret's template set.

    Call it on `plan_secret_delivery(...).manifests` with `IdentityPlan.external_secret_templates`; a
    template whose ExternalSecret is missing means the needs were not passed to the delivery: an error.
    """
    pending = dict(templates)
    result = []
    for manifest in manifests:
        key = (manifest["metadata"].get("namespace"), manifest["spec"]["target"]["name"]) if (
            manifest.get("kind") == "ExternalSecret"
        ) else None
        if key in pending:
            # Only the documents that change are copied: others may hold deployment-time values (a Vault
            # address from another stack) that cannot be copied.
            document = copy.deepcopy(dict(manifest))
            document["spec"]["target"]["template"] = copy.deepcopy(dict(pending.pop(key)))
            result.append(document)
        else:
            result.append(dict(manifest))
    if pending:
        missing = ", ".join(f"{namespace}/{name}" for namespace, name in sorted(pending))
        raise IdentityError(
            f"no ExternalSecret delivers {missing}: pass IdentityPlan.secret_needs to plan_secret_delivery"
        )
    return tuple(result)
