"""Helm values for the example-mojaloop-backend chart (MySQL, Kafka, MongoDB, Redis), per chart version.

The backend chart wraps Bitnami sub-charts whose keys move between versions; config/backend-values.yaml
records where each version keeps them. `plan_backend_values` turns that data and the environment's
choices into values that

- enable persistence on the cluster's storage class for every stateful component,
- place every pod on the workload class config/backend-values.yaml assigns it (Kafka controllers on
  KAFKA-CONTROL-PLANE, brokers on KAFKA-DATA-PLANE, MySQL on RDBMS-CENTRAL-LEDGER-LIVE, ...),
- reference an existing Kubernetes Secret for every password (`existingSecret`), never a value,
- pull every image through a registry mirror, from Bitnami's legacy repositories, when one is given,

then merges the caller's overrides last. It also reports which keys the chart reads from each Secret,
so whatever creates the Secrets (ExternalSecrets) can produce exactly those, and the endpoints the
Mojaloop services connect to.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import model_validator

from mojaloop_iac import contract
from mojaloop_iac.datafiles import DataModel, load_data, load_default_data, parse_data
from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.planners.placement import Scheduling
from mojaloop_iac.planners.values_tree import deep_merge, plain, put, refuse_credentials_in_overrides
from mojaloop_iac.planners.values_tree import get as get_path
from mojaloop_iac.planners.values_tree import split as split_path

DEFAULT_DATA_PATH = CONFIG_DIR / "backend-values.yaml"

# Component ids: the keys of `BackendValuesInput.secrets`. Each names one backing service of the
# chart, whatever alias the chart gives it.
MYSQL = "mysql"
KAFKA = "kafka"
MONGODB_BULK = "mongodb-bulk"  # the bulk object store (`cl-mongodb`)
MONGODB_CEP = "mongodb-cep"  # central-event-processor's store (`cep-mongodb`), off by default
MONGODB_TTK = "mongodb-ttk"  # the Testing Toolkit's store (`ttk-mongodb`)
REDIS_TTKSIMS = "redis-ttksims"  # the TTK simulators' SDK scheme adapters (`ttksims-redis`)
REDIS_AUTH_SVC = "redis-auth-svc"  # the third-party auth-service (`auth-svc-redis`)
REDIS_PROXY_CACHE = "redis-proxy-cache"  # the inter-scheme proxy cache (`proxy-cache-redis`), 17.x
COMPONENT_IDS = (
    MYSQL,
    KAFKA,
    MONGODB_BULK,
    MONGODB_CEP,
    MONGODB_TTK,
    REDIS_TTKSIMS,
    REDIS_AUTH_SVC,
    REDIS_PROXY_CACHE,
)

# Value keys that hold a credential. A string under one of them in the values would end up in the
# Helm release and in Pulumi state. Keys that only *name* a Secret key (`existingSecretPasswordKey`)
# or switch a feature (`usePassword: false`) are not credentials.
_CREDENTIAL_KEY = re.compile(r"(password|passwords|replicasetkey)$", re.IGNORECASE)
# Kubernetes object names (Secrets, StorageClasses): DNS-1123 subdomains.
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# An image registry host with optional port and path prefix, as Bitnami's `imageRegistry` takes it.
_REGISTRY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*$")


# --- the data file -----------------------------------------------------------------------------


class PodGroup(DataModel):
    """Pods of a sub-chart that share one `affinity`/`tolerations` pair of values."""

    path: str  # dotted, relative to the sub-chart's alias; "" is its top level
    role: str
    affinity: bool = True  # False where the chart takes tolerations but no affinity


class ConditionalKey(DataModel):
    """A Secret key the chart reads only when the value at `path` equals `equals`."""

    key: str
    path: str
    equals: Any


class AuthLayout(DataModel):
    existing_secret_path: str
    keys: tuple[str, ...]
    enabled_path: str | None = None  # None: authentication cannot be switched off
    when_secret: dict[str, Any] = {}
    conditional_keys: tuple[ConditionalKey, ...] = ()


class Layout(DataModel):
    """Where one Bitnami sub-chart, at the versions using this layout, keeps the keys we set."""

    chart: str
    persistence: tuple[str, ...]
    placement: tuple[PodGroup, ...]
    images: dict[str, str]  # value path of an image -> its default repository
    auth: AuthLayout | None = None
    fixed: dict[str, Any] = {}


class ComponentSpec(DataModel):
    alias: str
    layout: str
    enabled: bool
    auth_enabled: bool = True  # what the backend chart sets at the layout's auth switch


class EndpointSpec(DataModel):
    host: str
    port: int
    user: str | None = None
    database: str | None = None


class EndpointsSpec(DataModel):
    mysql: EndpointSpec
    kafka: EndpointSpec
    mongodb: EndpointSpec
    redis: EndpointSpec


class ChartVersionSpec(DataModel):
    source: str
    verifies_images: bool = False
    """Its Bitnami sub-charts refuse substituted images unless `global.security.allowInsecureImages`."""
    subcharts: dict[str, str]
    components: dict[str, ComponentSpec]
    endpoints: EndpointsSpec


class BackendChartData(DataModel):
    """config/backend-values.yaml, checked for internal consistency."""

    legacy_repository_namespace: str
    roles: dict[str, str]
    layouts: dict[str, Layout]
    chart_versions: dict[str, ChartVersionSpec]

    @model_validator(mode="after")
    def _consistent(self) -> BackendChartData:
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _problems(self) -> Iterator[str]:
        for role, workload_class in self.roles.items():
            if workload_class not in contract.WORKLOAD_CLASSES:
                known = ", ".join(contract.WORKLOAD_CLASSES)
                yield f"roles.{role}: {workload_class!r} is not a workload class ({known})"
        for name, layout in self.layouts.items():
            for group in layout.placement:
                if group.role not in self.roles:
                    yield f"layouts.{name}.placement: role {group.role!r} is not in roles"
            for path, repository in layout.images.items():
                if not repository.startswith("bitnami/"):
                    yield f"layouts.{name}.images.{path}: {repository!r} is not a bitnami/ repository"
        for version, spec in self.chart_versions.items():
            for component_id, component in spec.components.items():
                where = f"chartVersions.{version}.components.{component_id}"
                if component_id not in COMPONENT_IDS:
                    yield f"{where}: unknown component id (known: {', '.join(COMPONENT_IDS)})"
                layout = self.layouts.get(component.layout)
                if layout is None:
                    yield f"{where}: layout {component.layout!r} is not in layouts"
                elif not component.auth_enabled and (layout.auth is None or layout.auth.enabled_path is None):
                    yield f"{where}: authEnabled false, but layout {component.layout} cannot switch auth off"


def parse_backend_data(data: Any, source: str = "backend values data") -> BackendChartData:
    return parse_data(BackendChartData, data, source)


def load_backend_data(path: Path | None = None) -> BackendChartData:
    """The backend chart data; the shipped file is read and checked once per process."""
    return load_data(BackendChartData, path) if path is not None else load_default_data(BackendChartData, DEFAULT_DATA_PATH)


# --- input and output ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BackendValuesInput:
    chart_version: str  # the catalog's backend chart version, e.g. "15.0.0"
    scheduling: Mapping[str, Scheduling]  # per workload class
    storage_class: str  # e.g. "local-path" (k3s) or "gp3-encrypted" (EKS)
    image_registry: str | None  # e.g. "mirror.cc.example.com"; None keeps the chart's images
    secrets: Mapping[str, str]  # component id (MYSQL, MONGODB_BULK, ...) -> Secret name
    overrides: Mapping[str, Any] = field(default_factory=dict)  # merged last
    persistence_size: str | None = None  # e.g. "2Gi" for every volume (the QA profile); None: the charts'
    pod_resources: Mapping[str, Any] | None = None  # `resources` of every pod group (the QA profile)


@dataclass(frozen=True)
class BackendEndpoints:
    """Where the Mojaloop services reach the backing services (Service names in the release namespace)."""

    mysql_host: str
    mysql_port: int
    mysql_user: str
    mysql_database: str
    kafka_host: str
    kafka_port: int
    mongodb_host: str
    mongodb_port: int
    mongodb_user: str
    mongodb_database: str
    redis_host: str
    redis_port: int


@dataclass(frozen=True)
class BackendValuesPlan:
    values: dict[str, Any]
    secret_keys: Mapping[str, tuple[str, ...]]  # Secret name -> the keys the chart reads from it
    endpoints: BackendEndpoints


class BackendValuesError(ValueError):
    """The backend values cannot be planned as asked; the message says what to change."""


# --- the planner ------------------------------------------------------------------------------------


def plan_backend_values(inp: BackendValuesInput, data: BackendChartData | None = None) -> BackendValuesPlan:
    if data is None:
        data = load_backend_data()
    spec = _chart_version(data, inp.chart_version)
    _check_input(inp, data, spec)

    values: dict[str, Any] = {}
    if inp.image_registry is not None:
        # Bitnami charts take the registry from `global.imageRegistry` for every image. Those whose
        # common library verifies images refuse substituted ones unless told otherwise; the older ones
        # have no such key (rendering them showed it unknown), so it is set only where it exists.
        put(values, ("global", "imageRegistry"), inp.image_registry)
        if spec.verifies_images:
            put(values, ("global", "security", "allowInsecureImages"), True)
    for component_id, component in sorted(spec.components.items()):
        _add_component(values, inp, data, component_id, component)

    merged = deep_merge(values, plain(inp.overrides))
    _refuse_credential_values(merged)
    refuse_credentials_in_overrides(inp.overrides, BackendValuesError)
    return BackendValuesPlan(
        values=merged,
        secret_keys=_secret_keys(merged, data, spec),
        endpoints=_endpoints(spec),
    )


def _add_component(
    values: dict[str, Any],
    inp: BackendValuesInput,
    data: BackendChartData,
    component_id: str,
    component: ComponentSpec,
) -> None:
    """Persistence, placement, Secret reference and images of one sub-chart, under its alias."""
    layout = data.layouts[component.layout]
    base = (component.alias,)
    for path in layout.persistence:
        put(values, base + split_path(path) + ("enabled",), True)
        put(values, base + split_path(path) + ("storageClass",), inp.storage_class)
        if inp.persistence_size is not None:
            put(values, base + split_path(path) + ("size",), inp.persistence_size)
    for group in layout.placement:
        if inp.pod_resources is not None:
            put(values, base + split_path(group.path) + ("resources",), plain(inp.pod_resources))
        scheduling = _scheduling_for(inp, data.roles[group.role], component.alias, group.path)
        if group.affinity:
            put(values, base + split_path(group.path) + ("affinity",), plain(scheduling.affinity))
        else:
            # The chart takes no affinity here; a node selector on the class's label places it just as firmly
            # (tolerating the dedicated nodes' taint without either, it could land on any of them).
            selector = {contract.workload_class_label(data.roles[group.role]): contract.WORKLOAD_CLASS_LABEL_VALUE}
            put(values, base + split_path(group.path) + ("nodeSelector",), selector)
        put(values, base + split_path(group.path) + ("tolerations",), plain(list(scheduling.tolerations)))
    for path, value in layout.fixed.items():
        put(values, base + split_path(path), copy.deepcopy(value))
    secret_name = inp.secrets.get(component_id)
    if layout.auth is not None and secret_name is not None:
        put(values, base + split_path(layout.auth.existing_secret_path), secret_name)
        for path, value in layout.auth.when_secret.items():
            put(values, base + split_path(path), copy.deepcopy(value))
    if inp.image_registry is not None:
        for path, repository in layout.images.items():
            legacy = f"{data.legacy_repository_namespace}/{repository.removeprefix('bitnami/')}"
            put(values, base + split_path(path) + ("repository",), legacy)


def _chart_version(data: BackendChartData, version: str) -> ChartVersionSpec:
    spec = data.chart_versions.get(version)
    if spec is None:
        known = ", ".join(data.chart_versions)
        raise BackendValuesError(
            f"example-mojaloop-backend {version} is not described in {DEFAULT_DATA_PATH.name} (known: {known}); "
            "add its keys there before installing it"
        )
    return spec


def _check_input(inp: BackendValuesInput, data: BackendChartData, spec: ChartVersionSpec) -> None:
    if not _DNS_SUBDOMAIN.match(inp.storage_class):
        raise BackendValuesError(f"storage class {inp.storage_class!r} is not a Kubernetes object name")
    if inp.image_registry is not None and not _REGISTRY.match(inp.image_registry):
        raise BackendValuesError(
            f"image registry {inp.image_registry!r} must be a host[:port][/path] such as "
            "mirror.cc.example.com, without scheme or trailing slash"
        )
    for component_id, secret_name in inp.secrets.items():
        if component_id not in COMPONENT_IDS:
            raise BackendValuesError(
                f"secrets: {component_id!r} is not a backend component (known: {', '.join(COMPONENT_IDS)})"
            )
        if not _DNS_SUBDOMAIN.match(secret_name):
            raise BackendValuesError(
                f"secrets.{component_id}: {secret_name!r} is not a Kubernetes Secret name"
            )
        component = spec.components.get(component_id)
        if component is not None and data.layouts[component.layout].auth is None:
            raise BackendValuesError(
                f"secrets.{component_id}: the chart's {component.alias} has no password to take from a Secret"
            )


def _scheduling_for(inp: BackendValuesInput, workload_class: str, alias: str, path: str) -> Scheduling:
    scheduling = inp.scheduling.get(workload_class)
    if scheduling is None:
        where = ".".join(part for part in (alias, path) if part)
        raise BackendValuesError(
            f"scheduling has no entry for workload class {workload_class}, where the {where} pods run; "
            "pass the placement planner's scheduling for every class"
        )
    return scheduling


def _refuse_credential_values(values: Any, path: tuple[str, ...] = ()) -> None:
    """Fail if any credential is a value: it would be stored in the release and in Pulumi state."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            here = path + (str(key),)
            if _CREDENTIAL_KEY.search(str(key)) and _holds_text(value):
                raise BackendValuesError(
                    f"{'.'.join(here)} holds a credential value; reference a Secret through the "
                    "component's existingSecret (BackendValuesInput.secrets) instead"
                )
            _refuse_credential_values(value, here)
    elif isinstance(values, list):
        for index, item in enumerate(values):
            _refuse_credential_values(item, path + (str(index),))


def _holds_text(value: Any) -> bool:
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        return any(_holds_text(item) for item in value)
    return False


def _secret_keys(
    values: Mapping[str, Any], data: BackendChartData, spec: ChartVersionSpec
) -> dict[str, tuple[str, ...]]:
    """Per Secret, the keys the chart will read, judged on the final values (overrides included)."""
    keys_by_secret: dict[str, set[str]] = {}
    for component_id, component in sorted(spec.components.items()):
        layout = data.layouts[component.layout]
        if layout.auth is None:
            continue
        component_values = values.get(component.alias, {})
        if not get_path(component_values, ("enabled",), component.enabled):
            continue
        auth = layout.auth
        auth_on = auth.enabled_path is None or get_path(
            component_values, split_path(auth.enabled_path), component.auth_enabled
        )
        if not auth_on:
            continue
        secret_name = get_path(component_values, split_path(auth.existing_secret_path), "")
        if not secret_name:
            raise BackendValuesError(
                f"{component.alias} runs with authentication but no Secret holds its passwords; "
                f"set secrets[{component_id!r}] to the name of a Secret with keys {', '.join(auth.keys)}"
            )
        keys = set(auth.keys)
        keys.update(
            conditional.key
            for conditional in auth.conditional_keys
            if get_path(component_values, split_path(conditional.path), None) == conditional.equals
        )
        keys_by_secret.setdefault(secret_name, set()).update(keys)
    return {name: tuple(sorted(keys)) for name, keys in sorted(keys_by_secret.items())}


def _endpoints(spec: ChartVersionSpec) -> BackendEndpoints:
    endpoints = spec.endpoints
    return BackendEndpoints(
        mysql_host=endpoints.mysql.host,
        mysql_port=endpoints.mysql.port,
        mysql_user=_required(endpoints.mysql.user, "mysql.user"),
        mysql_database=_required(endpoints.mysql.database, "mysql.database"),
        kafka_host=endpoints.kafka.host,
        kafka_port=endpoints.kafka.port,
        mongodb_host=endpoints.mongodb.host,
        mongodb_port=endpoints.mongodb.port,
        mongodb_user=_required(endpoints.mongodb.user, "mongodb.user"),
        mongodb_database=_required(endpoints.mongodb.database, "mongodb.database"),
        redis_host=endpoints.redis.host,
        redis_port=endpoints.redis.port,
    )


def _required(value: str | None, name: str) -> str:
    if value is None:
        raise BackendValuesError(f"endpoints.{name} is missing in {DEFAULT_DATA_PATH.name}")
    return value
