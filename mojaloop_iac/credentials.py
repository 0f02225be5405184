"""The one judgement of "this looks like a credential", for everything a user hands the toolkit as data.

Values files (merged into Helm releases, so into Pulumi state and the plan bundle) and free-form settings
such as a DNS-01 solver must reference Kubernetes Secrets, never hold a secret. This module finds what
would leak and says where, never what: findings carry a location and a reason, not the value.

A value counts as a credential when
- its key names one (`password`, `MYSQL_ROOT_PASSWORD`, `clientSecret`, `apiKey`, `oauthToken`, ...),
  whatever its type (an integer password is still a password), unless it is empty, a boolean switch or a
  mapping (`db_secret: {name, key}` is a reference);
- it is an environment variable entry `{name: SOMETHING_PASSWORD, value: ...}`;
- it is text holding a URL or DSN with a password (`mysql://user:pass@host/db`, the password perhaps with a
  '/'), a private key block, a token in its issuer's format (`ACCESS_TOKEN_FORMATS`: Vault, GitHub, GitLab,
  Slack, AWS access keys, JWTs), a command-line option naming a credential with its value
  (`--db-password=...`), or YAML/dotenv lines inside the text setting one (a templated `extraEnvVars: |`).

Every scan is linear in the text: what users hand over may be megabytes, and a backtracking pattern made a
1 MB description take minutes. Messages use `redact_credentials`/`looks_like_a_credential` so that no rule,
whatever it refuses, echoes a credential.

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
    "expiry", "expiration", "lifetime", "lifespan", "url", "endpoint", "enabled", "type", "mount", "authentication",
)
_REFERENCE_STARTS = ("existingsecret", "use", "enable", "disable", "automount", "secretref")
# Key names holding one of these anywhere hold a credential (`SECRET_KEY_BASE`, `dbPasswordHash`), unless
# they end or start like a reference.
_CREDENTIAL_INFIXES = ("password", "passwd", "secretkey")

# Every pattern below does a bounded amount of work per place it starts from, and starts only where a token
# can start (not inside a run of letters): a scan is linear in the text, whatever the text (a 1 MB
# description of one letter repeated must be judged in milliseconds, not minutes).
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9_.-])"
_USERINFO_WITH_PASSWORD = re.compile(r"([^\s/@:]{0,256}):([^\s@]{1,256})@")
"""What follows `scheme://` in a URL carrying a password (`mysql://user:pass@db`); the password may hold '/'."""
_PORT_AND_PATH = re.compile(r"\d{1,5}(/[^\s]*)?")
"""`host:8200/path@x` is a host, a port and a path with an '@' in it, not a user and a password."""
_PRIVATE_KEY_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----")
_PRIVATE_KEY_WITH_BODY = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----"
                                    r"\s+(?:[A-Za-z0-9+/=]{20}|Proc-Type:)"
                                    r"(?:(?!-----END)[\s\S])*(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----)?")
"""A key block as text holds it (a message naming the header, `-----BEGIN ... PRIVATE KEY----- block`, is no key)."""
# Tokens in the formats their issuers document, each recognised by its prefix and a minimum length.
ACCESS_TOKEN_FORMATS = {
    "a GitLab token": r"gl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_-]{20}",
    "a GitHub token": r"(?:gh[pousr]_[A-Za-z0-9]{30}|github_pat_[A-Za-z0-9_]{22})",
    "a Slack token": r"xox[abeprs]-[A-Za-z0-9-]{10}",
    "a Vault token": r"(?:hv[sbr]\.[A-Za-z0-9_-]{20}|s\.[A-Za-z0-9]{24}(?![A-Za-z0-9]))",
    "an AWS access key": r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])",
    "a JSON Web Token": r"eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8}",
}
_ACCESS_TOKEN = re.compile(_NOT_AFTER_WORD + "(?:" + "|".join(ACCESS_TOKEN_FORMATS.values()) + ")")
_WHOLE_ACCESS_TOKEN = re.compile(_ACCESS_TOKEN.pattern + "[A-Za-z0-9_.-]*")
_COMMAND_LINE_OPTION = re.compile(r"(?<![A-Za-z0-9_-])--?([A-Za-z][A-Za-z0-9_.-]{0,63})=(?=\S)")
"""`--db-password=...` in a container's args; `-Dpassword=...` in JAVA_OPTS."""
_ASSIGNMENT_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)?[\"']?([A-Za-z_][A-Za-z0-9_.-]{0,127})[\"']?[ \t]*[:=][ \t]*(.*)$",
                              re.MULTILINE)
"""`KEY: value` or `KEY=value` lines of text that is itself YAML or a dotenv file (a templated `extraEnvVars: |`)."""
_CREDENTIAL_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "dsn", "cookie", "psk", "connection")
# Values such a line may give a credential's key without holding one: a template, a variable, nothing.
_NOT_A_VALUE = re.compile(r"^(?:|[\"']{2}|null|~|\||>|[\"']?(?:\{\{|\$|<|valueFrom|secretKeyRef).*)$")

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
    return flat.endswith(_CREDENTIAL_ENDINGS) or any(infix in flat for infix in _CREDENTIAL_INFIXES)


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
    """Why a piece of text holds a credential (a URL's password, a private key, a token, a command-line option
    or a line of YAML or dotenv text naming a credential with its value), or None. Linear in the text."""
    if _url_with_password(text):
        return "a URL or DSN with a password"
    if _PRIVATE_KEY_BLOCK.search(text):
        return "a private key"
    token = _ACCESS_TOKEN.search(text)
    if token:
        return next((what for what, pattern in ACCESS_TOKEN_FORMATS.items() if re.match(pattern, token.group())),
                    "an access token")
    for option in _COMMAND_LINE_OPTION.finditer(text):
        if names_a_credential(option.group(1)):
            return f"a command-line option {option.group(1).lstrip('-')} with its value"
    lowered = text.lower()
    if any(word in lowered for word in _CREDENTIAL_WORDS):  # most text names none: skip the line by line look
        return _assignment_of_a_credential(text)
    return None


def looks_like_a_credential(value: object) -> bool:
    """True for text a message must not echo: it holds a credential, whatever rule refuses it."""
    return isinstance(value, str) and credential_in_text(value) is not None


def redact_credentials(text: str) -> str:
    """The text with the tokens, private keys and URL passwords in it replaced by words (for messages, not
    for data)."""
    text = _WHOLE_ACCESS_TOKEN.sub("[an access token]", text)
    text = _PRIVATE_KEY_WITH_BODY.sub("[a private key]", text)
    kept, end = [], 0
    for userinfo in _url_userinfos_with_password(text):
        kept += [text[end : userinfo.start()], "[user:password]@"]
        end = userinfo.end()
    return "".join(kept) + text[end:]


def _url_with_password(text: str) -> bool:
    return next(_url_userinfos_with_password(text), None) is not None


def _url_userinfos_with_password(text: str) -> Iterator[re.Match[str]]:
    """The `user:password@` after each `://` that has one (a password may hold '/'; `host:8200/a@b` is none)."""
    start = text.find("://")
    while start != -1:
        # Most `://` have no '@' after them: the bounded match only where one is near.
        found = text.find("@", start + 3, start + 520) != -1 and _USERINFO_WITH_PASSWORD.match(text, start + 3)
        if found and not _PORT_AND_PATH.fullmatch(found.group(2)):
            yield found
            start = text.find("://", found.end())
        else:
            start = text.find("://", start + 3)


def _assignment_of_a_credential(text: str) -> str | None:
    variable = None  # the `name:` of an environment variable entry, whose `value:` follows
    for line in _ASSIGNMENT_LINE.finditer(text):
        key, value = line.group(1), line.group(2).strip()
        if key == "name":
            variable = value.strip("\"'")
            continue
        if key == "value" and variable and names_a_credential(variable) and not _NOT_A_VALUE.match(value):
            return f"the value of variable {variable}"
        if names_a_credential(key) and not _NOT_A_VALUE.match(value):
            return f"a line setting {key}"
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
