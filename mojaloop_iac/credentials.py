"""The one judgement of "this looks like a credential", for everything a user hands the toolkit as data.

Values files (merged into Helm releases, so into Pulumi state and the plan bundle) and free-form settings
such as a DNS-01 solver must reference Kubernetes Secrets, never hold a secret. This module finds what
would leak and says where, never what: findings carry a location and a reason, not the value.

A value counts as a credential when
- its key names one (`password`, `MYSQL_ROOT_PASSWORD`, `clientSecret`, `apiKey`, `oauthToken`, ...),
  whatever its type (an integer password is still a password), unless it is empty, a boolean switch or a
  mapping (`db_secret: {name, key}` is a reference);
- it is an environment variable entry `{name: SOMETHING_PASSWORD, value: ...}`;
- it is text holding a URL or DSN with a password (`mysql://user:pass@host/db`), a private key block, or
  a token in a well-known format (GitLab, GitHub, Slack, AWS secret keys as JWTs).

Keys that only *refer* to a credential are not credentials: `existingSecret`, `passwordSecretRef`,
`secretName`, `tokenEnv`, `passwordFile`, `existingSecretPasswordKey`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.config.issues import format_path

# Key names (lower-cased, without '-', '_', '.') that end like these hold a credential.
_CREDENTIAL_ENDINGS = (
    "password", "passwords", "passwd", "passphrase", "pwd", "secret", "secrets", "token", "tokens", "apikey",
    "apikeys", "accesskey", "secretkey", "secretaccesskey", "privatekey", "clientsecret", "credential",
    "credentials", "authkey", "jwssigningkey", "replicasetkey", "signingkey", "encryptionkey", "masterkey",
    "connectionstring", "dsn", "cookie", "sessionkey", "sharedkey", "psk",
)
# ... unless they end like these: they name where a credential lives, or switch one on.
_REFERENCE_ENDINGS = (
    "secretname", "secretref", "keyref", "secretkeyref", "existingsecret", "passwordkey", "userkey",
    "usernamekey", "tokenkey", "secretkeyname", "env", "envvar", "file", "path", "policy", "length", "ttl",
    "expiry", "expiration", "lifetime", "lifespan", "url", "endpoint", "enabled", "type", "mount",
)
_REFERENCE_STARTS = ("existingsecret", "use", "enable", "disable", "automount", "secretref")
_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")
_PRIVATE_KEY_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_WELL_KNOWN_TOKENS = re.compile(
    r"(glpat-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)


@dataclass(frozen=True, order=True)
class Finding:
    location: str
    """Dotted path inside the document, `[n]` for list items, e.g. `centralledger.config.db_password`."""
    reason: str
    """Why it counts as a credential, without the value."""

    def __str__(self) -> str:
        return f"{self.location or '(top level)'} ({self.reason})"


def normalized(key: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(key).lower())


def names_a_credential(key: object) -> bool:
    """True for a key (or environment variable name) that holds a credential, not one that refers to it."""
    flat = normalized(key)
    if not flat or flat.startswith(_REFERENCE_STARTS) or flat.endswith(_REFERENCE_ENDINGS):
        return False
    return flat.endswith(_CREDENTIAL_ENDINGS)


def find_credentials(document: Any, *, by_key: bool = True) -> tuple[Finding, ...]:
    """Every place in a YAML document (plain data) where a credential is written out. `by_key=False` judges
    text only: for documents whose keys are the toolkit's own settings or names a user chose (a peer named
    `api-token` holds no token)."""
    return tuple(sorted(set(_walk(document, (), by_key))))


def _walk(value: Any, path: tuple[str | int, ...], by_key: bool) -> Iterator[Finding]:
    if isinstance(value, Mapping):
        env_name = value.get("name")
        if by_key and isinstance(env_name, str) and names_a_credential(env_name) and _holds_value(value.get("value")):
            yield Finding(format_path((*path, "value")), f"the value of variable {env_name}")
        for key, item in value.items():
            here = (*path, str(key))
            if by_key and names_a_credential(key) and _holds_value(item):
                yield Finding(format_path(here), "a key named like a credential")
            yield from _walk(item, here, by_key)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index), by_key)
    elif isinstance(value, str):
        reason = credential_in_text(value)
        if reason:
            yield Finding(format_path(path), reason)


def credential_in_text(text: str) -> str | None:
    """Why a piece of text holds a credential (a URL's password, a private key, a token), or None."""
    if _URL_WITH_PASSWORD.search(text):
        return "a URL or DSN with a password"
    if _PRIVATE_KEY_BLOCK.search(text):
        return "a private key"
    if _WELL_KNOWN_TOKENS.search(text):
        return "an access token"
    return None


def _holds_value(value: Any) -> bool:
    """A credential written out: text or a number; not empty, not a switch, not a reference mapping."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (int, float, bytes)):
        return True
    if isinstance(value, Sequence):
        return any(_holds_value(item) for item in value)
    return False
