"""What the Mojaloop values planner takes and gives back.

`Scheduling` is the placement planner's and `BackendEndpoints` the backend values planner's: the caller
passes their results through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mojaloop_iac.planners.backend_values import BackendEndpoints
from mojaloop_iac.planners.placement import Scheduling

__all__ = [
    "BULK_MONGODB",
    "JWS_SIGNING_KEY",
    "MYSQL",
    "SECRET_CONSUMERS",
    "TTK_MONGODB",
    "BackendEndpoints",
    "MojaloopValuesError",
    "MojaloopValuesInput",
    "MojaloopValuesPlan",
    "Scheduling",
    "SecretRef",
]

# Consumer ids: the keys of `MojaloopValuesInput.secrets`. Each names what a Secret is for, whatever
# the Secret is called in the cluster.
MYSQL: Final = "mysql"  # the MySQL password of every service's database user (`db_secret`)
BULK_MONGODB: Final = "bulk-mongodb"  # the bulk object store's MongoDB password (`mongo_secret`)
TTK_MONGODB: Final = "ttk-mongodb"  # the Testing Toolkit's MongoDB password (`mongodb.secret`)
JWS_SIGNING_KEY: Final = "jws-signing-key"  # the switch's JWS private key (`jwsSigningKeySecret`)
SECRET_CONSUMERS: Final = (MYSQL, BULK_MONGODB, TTK_MONGODB, JWS_SIGNING_KEY)


@dataclass(frozen=True)
class SecretRef:
    """A key of a Kubernetes Secret in the release namespace: where a chart reads one credential."""

    name: str
    key: str


@dataclass(frozen=True)
class MojaloopValuesInput:
    release_version: str  # e.g. "15.2.0"; its major version selects the release line's data
    scheduling: Mapping[str, Scheduling]  # per workload class, from the placement planner
    backend: BackendEndpoints  # the example-mojaloop-backend release in the same namespace
    secrets: Mapping[str, SecretRef]  # per consumer id (MYSQL, BULK_MONGODB, TTK_MONGODB, JWS_SIGNING_KEY)
    bulk_enabled: bool
    third_party_enabled: bool
    internal_domain: str  # e.g. "int.qa1.example.com"
    external_domain: str  # e.g. "qa1.example.com"
    internal_gateway: str  # "<namespace>/<name>", e.g. "istio-ingress-int/istio-internal-ingress-gw"
    external_gateway: str  # "<namespace>/<name>", e.g. "istio-ingress-ext/istio-external-ingress-gw"
    namespace: str  # "mojaloop"
    release_name: str  # "moja"
    # Deep-merged last: mappings merge key by key; lists, scalars and null replace (null makes Helm
    # drop the chart's default for that key).
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # Values every active Mojaloop service gets at its own key, before the overrides (the QA profile's
    # replicas and requests).
    service_values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MojaloopValuesPlan:
    values: dict[str, Any]  # the umbrella chart's values, overrides included
    virtual_services: tuple[dict[str, Any], ...]  # networking.istio.io/v1 VirtualService manifests
    secret_refs: frozenset[SecretRef]  # every Secret key the values reference


class MojaloopValuesError(ValueError):
    """The values cannot be planned as asked; the message says what to change."""
