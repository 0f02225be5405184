"""The one definition of which Kubernetes Secrets an environment's workloads read, and their keys.

Helm values reference these names (never values); the Vault-secrets work generates each key in Vault
from the named password policy and delivers the Secret with an ExternalSecret. Defining them once
keeps the chart references, the Vault paths and the delivered Secrets from drifting apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mojaloop_iac.planners import backend_values, mojaloop_values
from mojaloop_iac.planners.mojaloop_values import SecretRef


@dataclass(frozen=True)
class SecretNeed:
    name: str
    """Kubernetes Secret name, in the Mojaloop namespace."""
    keys: Mapping[str, str]
    """Key -> what generates it: a Vault password policy (consumer type), or `rsa-2048` for a key pair."""
    purpose: str
    written_by: str = ""
    """The toolkit resource that writes the keys no password policy generates (say, a token GitLab issues);
    empty when the operator must write them."""


# The umbrella chart's own defaults reference `mysqldb`/`mysql-password`, `cl-mongodb` and
# `ttk-mongodb`/`mongodb-passwords`; the backend chart's existingSecrets use the same Secrets.
MYSQL = SecretNeed(
    "mysqldb",
    {"mysql-root-password": "mysql", "mysql-replication-password": "mysql", "mysql-password": "mysql"},
    "Mojaloop services' database user and the backend MySQL's root and replication users",
)
BULK_MONGODB = SecretNeed(
    "cl-mongodb",
    {"mongodb-passwords": "mongodb", "mongodb-root-password": "mongodb"},
    "Bulk object store (MongoDB)",
)
TTK_MONGODB = SecretNeed(
    "ttk-mongodb",
    {"mongodb-passwords": "mongodb", "mongodb-root-password": "mongodb"},
    "Testing Toolkit backend (MongoDB)",
)

JWS_SIGNING_KEY = SecretNeed(
    "switch-jws-signing-key",
    {"private.pem": "rsa-2048"},
    "The switch's JWS signing key, replacing the chart's example keys (16.x and later read it from a Secret)",
)

BACKEND_SECRETS: Mapping[str, SecretNeed] = {
    backend_values.MYSQL: MYSQL,
    backend_values.MONGODB_BULK: BULK_MONGODB,
    backend_values.MONGODB_TTK: TTK_MONGODB,
}


def backend_secret_names() -> dict[str, str]:
    return {component: need.name for component, need in BACKEND_SECRETS.items()}


def mojaloop_secret_refs() -> dict[str, SecretRef]:
    """Where the umbrella chart's services read each credential."""
    return {
        mojaloop_values.MYSQL: SecretRef(MYSQL.name, "mysql-password"),
        mojaloop_values.BULK_MONGODB: SecretRef(BULK_MONGODB.name, "mongodb-passwords"),
        mojaloop_values.TTK_MONGODB: SecretRef(TTK_MONGODB.name, "mongodb-passwords"),
        mojaloop_values.JWS_SIGNING_KEY: SecretRef(JWS_SIGNING_KEY.name, "private.pem"),
    }


ALL_SECRETS: tuple[SecretNeed, ...] = (MYSQL, BULK_MONGODB, TTK_MONGODB, JWS_SIGNING_KEY)


def secrets_needed(referenced_by_values: Iterable[SecretRef]) -> tuple[SecretNeed, ...]:
    """The backend's Secrets, plus every other defined Secret the umbrella chart's values reference."""
    names = {ref.name for ref in referenced_by_values}
    unknown = names - {need.name for need in ALL_SECRETS}
    if unknown:
        raise ValueError(f"values reference Secrets nobody delivers: {', '.join(sorted(unknown))}")
    backend = {need.name for need in BACKEND_SECRETS.values()}
    return tuple(need for need in ALL_SECRETS if need.name in names | backend)
