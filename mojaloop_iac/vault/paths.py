"""The one place that names things in Vault: KV paths, ACL policy names, auth mounts and roles.

Every name is derived from an environment, a Kubernetes namespace and a secret name, each checked to be
a DNS label, so a typo fails here with a message naming the bad part instead of creating a stray path
in Vault that no policy covers.
"""

import re
from typing import Final

DEFAULT_KV_MOUNT: Final = "mojaloop"
ENVIRONMENTS_PREFIX: Final = "environments"
# Ephemeral (QA) environments keep their secrets apart from persistent ones, so the tokens CI gets for QA
# environments can be confined to this prefix and never reach a persistent environment's secrets.
EPHEMERAL_PREFIX: Final = "ephemeral"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_LABEL_MAX = 63
# KV keys inside one secret end up as Kubernetes Secret keys, which allow these characters.
_SECRET_KEY = re.compile(r"^[A-Za-z0-9._-]+$")
# Vault object names (password/ACL policies, roles) used here: no slashes, nothing needing escaping.
_VAULT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")

# Every namespace that reads secrets logs in as this service account, through this role of its
# environment's Kubernetes auth mount; the role's templated policy confines it to its own namespace.
READER_SERVICE_ACCOUNT: Final = "vault-secrets-reader"
READER_ROLE: Final = "secrets-reader"


def require_dns_label(value: object, what: str) -> str:
    """Return `value` if it is a DNS label (RFC 1123), else raise ValueError naming `what`."""
    if not isinstance(value, str) or len(value) > _DNS_LABEL_MAX or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{what} {value!r} is not a DNS label: use lower-case letters, digits and '-', "
            f"start and end with a letter or digit, at most {_DNS_LABEL_MAX} characters"
        )
    return value


def require_secret_key(value: object, what: str = "secret key") -> str:
    """Return `value` if it can be a key inside a KV secret and a Kubernetes Secret."""
    if not isinstance(value, str) or not _SECRET_KEY.match(value) or value in {".", ".."}:
        raise ValueError(f"{what} {value!r} is invalid: use letters, digits, '.', '_' and '-' only")
    return value


def require_vault_name(value: object, what: str) -> str:
    """Return `value` if it is a plain Vault object name (policy, role): no slashes or spaces."""
    if not isinstance(value, str) or not _VAULT_NAME.match(value):
        raise ValueError(
            f"{what} {value!r} is invalid: start with a letter or digit, then letters, digits, '.', '_', '-'"
        )
    return value


def require_relative_path(value: object, what: str = "path") -> str:
    """Return `value` if it is a relative Vault path of plain segments (no '..', no empty segment)."""
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{what} {value!r} is empty: give a path such as 'environments/dev/mojaloop/mysqldb'"
        )
    for segment in value.split("/"):
        if not _PATH_SEGMENT.match(segment) or segment in {".", ".."}:
            raise ValueError(
                f"{what} {value!r} has an invalid segment {segment!r}: segments are non-empty and use "
                "letters, digits, '.', '_' and '-' (no leading/trailing '/', no '..')"
            )
    return value


def environment_prefix(environment: str, *, ephemeral: bool = False) -> str:
    """KV path (relative to the mount) under which all secrets of one environment live:
    `environments/<env>`, or `ephemeral/<cluster>` for the ephemeral environments on a cluster."""
    root = EPHEMERAL_PREFIX if ephemeral else ENVIRONMENTS_PREFIX
    return f"{root}/{require_dns_label(environment, 'environment')}"


def namespace_prefix(environment: str, namespace: str, *, ephemeral: bool = False) -> str:
    """KV path (relative to the mount) under which all secrets of one namespace live, without trailing '/'."""
    require_dns_label(namespace, "namespace")
    return f"{environment_prefix(environment, ephemeral=ephemeral)}/{namespace}"


def secret_path(environment: str, namespace: str, secret_name: str, *, ephemeral: bool = False) -> str:
    """KV path of one secret relative to the mount: `environments/<env>/<namespace>/<secret-name>`
    (`ephemeral/<cluster>/<namespace>/<secret-name>` for an ephemeral environment)."""
    require_dns_label(secret_name, "secret name")
    return f"{namespace_prefix(environment, namespace, ephemeral=ephemeral)}/{secret_name}"


def kv_data_path(mount: str, path: str) -> str:
    """ACL/API path of a KV v2 secret's data (what reads and writes hit)."""
    return f"{require_dns_label(mount, 'KV mount')}/data/{require_relative_path(path)}"


def kv_metadata_path(mount: str, path: str) -> str:
    """ACL/API path of a KV v2 secret's metadata (versions, list, delete-all)."""
    return f"{require_dns_label(mount, 'KV mount')}/metadata/{require_relative_path(path)}"


def environment_read_policy_name(environment: str) -> str:
    """The templated ACL policy letting each namespace of one environment read its own secrets."""
    return f"env-{require_dns_label(environment, 'environment')}-read"


def environment_deploy_policy_name(environment: str) -> str:
    """The ACL policy of one environment's stack: its own secrets and its auth mount's configuration."""
    return f"env-{require_dns_label(environment, 'environment')}-deploy"


def deployer_token_role_name(environment: str) -> str:
    """Token role minting tokens for one environment's stack (`vault token create -role=...`)."""
    return f"env-{require_dns_label(environment, 'environment')}-deployer"


def qa_read_policy_name(cluster: str) -> str:
    """The templated ACL policy the namespaces of QA environments on a shared cluster read their secrets with."""
    return f"env-{require_dns_label(cluster, 'environment')}-qa-read"


def qa_reader_role_name(environment: str) -> str:
    """The Kubernetes auth role of one QA environment on a shared cluster (on that cluster's auth mount)."""
    return f"qa-{require_dns_label(environment, 'environment')}"


def kubernetes_auth_mount(environment: str) -> str:
    """Kubernetes auth mount path for one environment cluster, e.g. `kubernetes-dev`."""
    return f"kubernetes-{require_dns_label(environment, 'environment')}"


def password_policy_name(consumer: str) -> str:
    """Vault password policy name for a consumer type, e.g. `mojaloop-mysql`."""
    return f"mojaloop-{require_dns_label(consumer, 'consumer type')}"
