"""config/mojaloop-values.yaml as typed, checked data: where each release line keeps the keys we set.

The file is read and checked once per process. Every problem is reported with its key path, so a
wrong entry fails at load time with a message naming it, not later as a silently ignored value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from mojaloop_iac import contract
from mojaloop_iac.datafiles import DataModel, load_data, load_default_data, parse_data
from mojaloop_iac.paths import CONFIG_DIR

DEFAULT_DATA_PATH = CONFIG_DIR / "mojaloop-values.yaml"

Feature = Literal["core", "testing", "bulk", "thirdParty", "interScheme"]
Capability = Literal[
    "db",
    "kafka",
    "objectStore",
    "ttkMongodb",
    "authServiceRedis",
    "jws",
    "onUsOff",
    "simpleRouting",
    "extendedPartyIdType",
    "ttkApiBaseUrl",
    "noPullSecret",
]
Gateway = Literal["internal", "external"]

# Features whose values are written whatever the input says; the others follow its toggles.
ALWAYS_ON_FEATURES: tuple[Feature, ...] = ("core", "testing")

# A dotted path into the values: Helm keys of the umbrella chart are DNS-label-like names.
_VALUES_PATH = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_SERVICE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HOST_TEMPLATE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.\{(internalDomain|externalDomain)\}$")


class DatabaseSpec(DataModel):
    """A MySQL schema and its user; `backend` takes both from BackendEndpoints."""

    backend: bool = False
    user: str | None = None
    database: str | None = None

    @model_validator(mode="after")
    def _either_backend_or_named(self) -> DatabaseSpec:
        if self.backend == (self.user is not None or self.database is not None):
            raise ValueError("give either `backend: true` or both `user` and `database`")
        if not self.backend and (self.user is None or self.database is None):
            raise ValueError("give both `user` and `database`")
        return self


class Endpoint(DataModel):
    host: str
    port: int = Field(ge=1, le=65535)
    user: str | None = None
    database: str | None = None


class GoldenPath(DataModel):
    requires: tuple[str, ...]
    ttk_input_values: dict[str, Any]


class HostSpec(DataModel):
    """One host of a VirtualService: a tool behind one service port, or the FSPIOP API."""

    id: str
    host: str
    gateway: Gateway = "internal"
    service: str | None = None  # None: the release line's FSPIOP routes
    port: int | None = Field(default=None, ge=1, le=65535)


class ServiceSpec(DataModel):
    path: str
    workload_class: str | None
    feature: Feature
    takes: tuple[Capability, ...] = ()
    database: str | None = None


class TestCollections(DataModel):
    golden_path: tuple[str, ...] = Field(min_length=1)
    bulk: tuple[str, ...] = ()
    third_party: tuple[str, ...] = ()
    always_off: tuple[str, ...] = ()

    def by_collection(self) -> tuple[tuple[str, str], ...]:
        """(test sub-chart, collection) pairs: goldenPath, bulk, thirdParty, or `other` (never switched on)."""
        groups = (
            ("goldenPath", self.golden_path),
            ("bulk", self.bulk),
            ("thirdParty", self.third_party),
            ("other", self.always_off),
        )
        return tuple((name, collection) for collection, names in groups for name in names)


class TtkEnvironment(DataModel):
    chart: str
    file: str


class Route(DataModel):
    name: str
    prefixes: tuple[str, ...] = Field(min_length=1)
    service: str
    port: int = Field(ge=1, le=65535)
    feature: Feature = "core"


class ReleaseLine(DataModel):
    source: str
    inferred: str | None = None
    """What of this line's values rests on inference rather than on a chart that could be read or rendered."""
    jws_signing_key: Literal["secretRef", "signingOff"]
    feature_switches: dict[Feature, tuple[str, ...]]
    services: tuple[ServiceSpec, ...] = Field(min_length=1)
    ingresses: tuple[str, ...] = Field(min_length=1)
    tests: TestCollections
    ttk_environment: TtkEnvironment
    auth_service_redis: Literal["backend"] | Endpoint
    fspiop_routes: tuple[Route, ...] = Field(min_length=1)

    def service_paths(self) -> tuple[str, ...]:
        return tuple(service.path for service in self.services)


class VersionOverride(DataModel):
    """Where one chart version (a release candidate) departs from its release line."""

    source: str
    """What showed the difference (e.g. rendering the candidate)."""
    jws_signing_key: Literal["secretRef", "signingOff"]


class MojaloopValuesData(DataModel):
    """config/mojaloop-values.yaml, checked for internal consistency."""

    databases: dict[str, DatabaseSpec]
    ttk_mongodb: Endpoint
    golden_path: GoldenPath
    fspiop_hosts: tuple[HostSpec, ...] = Field(min_length=1)
    tool_hosts: tuple[HostSpec, ...]
    release_lines: dict[str, ReleaseLine] = Field(min_length=1)
    version_overrides: dict[str, VersionOverride] = {}

    @model_validator(mode="after")
    def _consistent(self) -> MojaloopValuesData:
        # Collected, not raised one by one, so that the author sees every problem at once.
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _problems(self) -> Iterator[str]:
        if self.ttk_mongodb.user is None or self.ttk_mongodb.database is None:
            yield "ttkMongodb: give `user` and `database`"
        for index, path in enumerate(self.golden_path.requires):
            if not _VALUES_PATH.match(path):
                yield f"goldenPath.requires.{index}: {path!r} is not a dotted values path"
        yield from self._host_problems()
        for line_key, line in self.release_lines.items():
            where = f"releaseLines.{line_key}"
            if not line_key.isdigit():
                yield f'{where}: a release line is a major version such as "16"'
            yield from self._line_problems(where, line)

    def _host_problems(self) -> Iterator[str]:
        ids = [host.id for host in (*self.fspiop_hosts, *self.tool_hosts)]
        for duplicate in sorted({host_id for host_id in ids if ids.count(host_id) > 1}):
            yield f"host id {duplicate!r} is used twice"
        for group, hosts, needs_service in (
            ("fspiopHosts", self.fspiop_hosts, False),
            ("toolHosts", self.tool_hosts, True),
        ):
            for index, host in enumerate(hosts):
                where = f"{group}.{index}"
                if not _HOST_TEMPLATE.match(host.host):
                    yield (
                        f"{where}.host: {host.host!r} must look like name.{{internalDomain}} "
                        "or name.{externalDomain}"
                    )
                has_service = host.service is not None and host.port is not None
                if needs_service and not has_service:
                    yield f"{where}: a tool host needs `service` and `port`"
                if not needs_service and (host.service is not None or host.port is not None):
                    yield f"{where}: FSPIOP hosts take the release line's routes, not a `service`"
                if host.service is not None and not _SERVICE_NAME.match(host.service):
                    yield f"{where}.service: {host.service!r} is not a Kubernetes service name suffix"
        if not any(host.id == "ttk-api" for host in self.tool_hosts):
            yield "toolHosts: the `ttk-api` host is missing; the TTK UI's API_BASE_URL points at it"

    def _line_problems(self, where: str, line: ReleaseLine) -> Iterator[str]:
        paths = line.service_paths()
        for duplicate in sorted({path for path in paths if paths.count(path) > 1}):
            yield f"{where}.services: {duplicate!r} is listed twice"
        for index, service in enumerate(line.services):
            here = f"{where}.services.{index} ({service.path})"
            if not _VALUES_PATH.match(service.path):
                yield f"{here}: not a dotted values path"
            if service.workload_class is not None and service.workload_class not in contract.WORKLOAD_CLASSES:
                known = ", ".join(contract.WORKLOAD_CLASSES)
                yield f"{here}: {service.workload_class!r} is not a workload class ({known})"
            if ("db" in service.takes) != (service.database is not None):
                yield f"{here}: a service that takes `db` names its `database`, and only such a service"
            if service.database is not None and service.database not in self.databases:
                yield f"{here}: database {service.database!r} is not in databases"
            if service.feature not in ALWAYS_ON_FEATURES and service.feature not in line.feature_switches:
                yield f"{here}: feature {service.feature!r} has no featureSwitches entry"
        for feature, switches in line.feature_switches.items():
            if feature in ALWAYS_ON_FEATURES:
                yield f"{where}.featureSwitches.{feature}: {feature} is always on; it cannot be switched"
            for path in switches:
                if not _VALUES_PATH.match(path) or not path.endswith(".enabled"):
                    yield f"{where}.featureSwitches.{feature}: {path!r} must be a dotted path to an `enabled`"
        for path in line.ingresses:
            if not _VALUES_PATH.match(path):
                yield f"{where}.ingresses: {path!r} is not a dotted values path"
        if len(set(line.ingresses)) != len(line.ingresses):
            yield f"{where}.ingresses: an ingress is listed twice"
        tests = (*line.tests.golden_path, *line.tests.bulk, *line.tests.third_party, *line.tests.always_off)
        for duplicate in sorted({name for name in tests if tests.count(name) > 1}):
            yield f"{where}.tests: {duplicate!r} appears in more than one collection"
        for name in tests:
            if not name.startswith("ml-ttk-"):
                yield f"{where}.tests: {name!r} is not an ml-ttk-* test sub-chart"
        route_names = [route.name for route in line.fspiop_routes]
        for duplicate in sorted({name for name in route_names if route_names.count(name) > 1}):
            yield f"{where}.fspiopRoutes: route {duplicate!r} is listed twice"
        for route in line.fspiop_routes:
            if not _SERVICE_NAME.match(route.service):
                yield f"{where}.fspiopRoutes.{route.name}: {route.service!r} is not a service name suffix"
            for prefix in route.prefixes:
                if not prefix.startswith("/"):
                    yield f"{where}.fspiopRoutes.{route.name}: prefix {prefix!r} must start with /"
            if route.feature not in ALWAYS_ON_FEATURES and route.feature not in line.feature_switches:
                yield f"{where}.fspiopRoutes.{route.name}: no featureSwitches for {route.feature!r}"


def parse_values_data(data: Any, source: str = "Mojaloop values data") -> MojaloopValuesData:
    return parse_data(MojaloopValuesData, data, source)


def load_values_data(path: Path | None = None) -> MojaloopValuesData:
    """The umbrella chart data; the shipped file is read and checked once per process."""
    return load_data(MojaloopValuesData, path) if path is not None else load_default_data(MojaloopValuesData, DEFAULT_DATA_PATH)