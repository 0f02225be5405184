"""The umbrella chart's values for one release line, before the user's overrides.

Each service gets its settings explicitly, at its own keys. The chart wires its defaults through YAML
anchors under `CONFIG:` that are resolved when the chart reads its own values file, so setting
`CONFIG.*` in another values file changes nothing downstream (shared/reference/mojaloop.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.planners.mojaloop_values.data import (
    ALWAYS_ON_FEATURES,
    Capability,
    Feature,
    MojaloopValuesData,
    ReleaseLine,
    ServiceSpec,
)
from mojaloop_iac.planners.mojaloop_values.inputs import (
    BULK_MONGODB,
    JWS_SIGNING_KEY,
    MYSQL,
    TTK_MONGODB,
    MojaloopValuesError,
    MojaloopValuesInput,
    SecretRef,
)
from mojaloop_iac.planners.values_tree import plain, put, split

# Values to set, keyed by their path (relative to a service, or absolute).
Settings = dict[tuple[str, ...], Any]


def enabled_features(inp: MojaloopValuesInput) -> frozenset[Feature]:
    features: set[Feature] = set(ALWAYS_ON_FEATURES)
    if inp.bulk_enabled:
        features.add("bulk")
    if inp.third_party_enabled:
        features.add("thirdParty")
    # interScheme is never on: the toolkit does not set up the proxy, its cache or a second scheme.
    return frozenset(features)


def required_secret_consumers(line: ReleaseLine, features: frozenset[Feature]) -> tuple[str, ...]:
    """The consumer ids whose Secrets the values will reference."""
    takes = {capability for service in _active_services(line, features) for capability in service.takes}
    needed = []
    if "db" in takes:
        needed.append(MYSQL)
    if "objectStore" in takes:
        needed.append(BULK_MONGODB)
    if "ttkMongodb" in takes:
        needed.append(TTK_MONGODB)
    if "jws" in takes and line.jws_signing_key == "secretRef":
        needed.append(JWS_SIGNING_KEY)
    return tuple(needed)


def build_values(
    inp: MojaloopValuesInput,
    data: MojaloopValuesData,
    line: ReleaseLine,
    ttk_api_url: str,
) -> dict[str, Any]:
    features = enabled_features(inp)
    values: dict[str, Any] = {}
    for feature, switches in line.feature_switches.items():
        for path in switches:
            put(values, split(path), feature in features)
    for path in data.golden_path.requires:
        put(values, split(path), True)
    # Every chart ingress off: traffic enters through the Istio gateways' VirtualServices only.
    for owner in line.ingresses:
        put(values, (*split(owner), "ingress", "enabled"), False)
    for service in _active_services(line, features):
        base = split(service.path)
        context = _Context(inp, data, line, service, ttk_api_url)
        settings = _scheduling(inp, service)
        for capability in service.takes:
            settings.update(_CAPABILITIES[capability](context))
        for key, value in inp.service_values.items():
            settings[(key,)] = plain(value)
        for relative, value in settings.items():
            put(values, (*base, *relative), value)
    for path, value in _tests(line, data.golden_path.ttk_input_values, features).items():
        put(values, path, value)
    return values


def _active_services(line: ReleaseLine, features: frozenset[Feature]) -> Iterator[ServiceSpec]:
    return (service for service in line.services if service.feature in features)


def _scheduling(inp: MojaloopValuesInput, service: ServiceSpec) -> Settings:
    if service.workload_class is None:
        # Test tooling is pinned to no class but must still start on nodes dedicated to Mojaloop, as
        # every Mojaloop workload tolerates their taint.
        return {("tolerations",): _all_tolerations(inp)}
    scheduling = inp.scheduling.get(service.workload_class)
    if scheduling is None:
        raise MojaloopValuesError(
            f"scheduling has no entry for workload class {service.workload_class}, where {service.path} "
            "runs; pass the placement planner's scheduling for every class"
        )
    return {("affinity",): plain(scheduling.affinity), ("tolerations",): plain(list(scheduling.tolerations))}


def _all_tolerations(inp: MojaloopValuesInput) -> list[Any]:
    tolerations: list[Any] = []
    for workload_class in sorted(inp.scheduling):
        for toleration in plain(list(inp.scheduling[workload_class].tolerations)):
            if toleration not in tolerations:
                tolerations.append(toleration)
    return tolerations


def _tests(line: ReleaseLine, golden_inputs: Mapping[str, Any], features: frozenset[Feature]) -> Settings:
    """Which Helm-test sub-charts run, and the TTK environment inputs they and the TTK share."""
    switched = (
        (line.tests.golden_path, True),
        (line.tests.bulk, "bulk" in features),
        (line.tests.third_party, "thirdParty" in features),
        (line.tests.always_off, False),
    )
    settings: Settings = {}
    environment = (*split(line.ttk_environment.chart), "extraEnvironments", line.ttk_environment.file)
    # The test cases read these inputs to know how the hub is set up; they must agree with the settings
    # the planner fixes (simple routing on, on-us transfers off).
    for key, value in golden_inputs.items():
        settings[(*environment, "inputValues", key)] = plain(value)
    for names, enabled in switched:
        for name in names:
            settings[(name, "tests", "enabled")] = enabled
            if enabled:
                # Each test sub-chart holds its own copy of the environment (an alias in the chart's
                # file); set the inputs that must agree with the services in every running copy.
                for key, value in golden_inputs.items():
                    settings[(name, "testCaseEnvironmentFile", "inputValues", key)] = plain(value)
    return settings


# --- capabilities: one function per `takes` entry --------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What a capability needs to write one service's settings."""

    inp: MojaloopValuesInput
    data: MojaloopValuesData
    line: ReleaseLine
    service: ServiceSpec
    ttk_api_url: str

    def secret(self, consumer: str) -> dict[str, str]:
        # Presence was checked before planning (required_secret_consumers).
        return secret_ref_value(self.inp.secrets[consumer])


def secret_ref_value(ref: SecretRef) -> dict[str, str]:
    """How the charts take a Secret reference: `{name, key}`."""
    return {"name": ref.name, "key": ref.key}


def _db(ctx: _Context) -> Settings:
    backend = ctx.inp.backend
    database = ctx.data.databases[ctx.service.database or ""]
    user, name = (
        (backend.mysql_user, backend.mysql_database)
        if database.backend
        else (database.user, database.database)
    )
    return {
        ("config", "db_host"): backend.mysql_host,
        ("config", "db_port"): backend.mysql_port,
        ("config", "db_user"): user,
        ("config", "db_database"): name,
        ("config", "db_secret"): ctx.secret(MYSQL),
    }


def _kafka(ctx: _Context) -> Settings:
    return {
        ("config", "kafka_host"): ctx.inp.backend.kafka_host,
        ("config", "kafka_port"): ctx.inp.backend.kafka_port,
    }


def _object_store(ctx: _Context) -> Settings:
    backend = ctx.inp.backend
    return {
        ("config", "mongo_host"): backend.mongodb_host,
        ("config", "mongo_port"): backend.mongodb_port,
        ("config", "mongo_user"): backend.mongodb_user,
        ("config", "mongo_database"): backend.mongodb_database,
        ("config", "mongo_secret"): ctx.secret(BULK_MONGODB),
    }


def _ttk_mongodb(ctx: _Context) -> Settings:
    endpoint = ctx.data.ttk_mongodb
    return {
        ("config", "mongodb", "host"): endpoint.host,
        ("config", "mongodb", "port"): endpoint.port,
        ("config", "mongodb", "user"): endpoint.user,
        ("config", "mongodb", "database"): endpoint.database,
        ("config", "mongodb", "secret"): ctx.secret(TTK_MONGODB),
    }


def _auth_service_redis(ctx: _Context) -> Settings:
    redis = ctx.line.auth_service_redis
    host, port = (
        (ctx.inp.backend.redis_host, ctx.inp.backend.redis_port)
        if redis == "backend"
        else (redis.host, redis.port)
    )
    return {("config", "redis_host"): host, ("config", "redis_port"): port}


def _jws(ctx: _Context) -> Settings:
    # null drops the chart's example private key from the release values: Helm deletes a key that a
    # later values file sets to null.
    settings: Settings = {("config", "endpointSecurity", "jwsSigningKey"): None}
    if ctx.line.jws_signing_key == "secretRef":
        settings[("config", "endpointSecurity", "jwsSigningKeySecret")] = ctx.secret(JWS_SIGNING_KEY)
    else:
        # These charts read the key only inline, which would put it into the release and Pulumi state.
        settings[("config", "endpointSecurity", "jwsSign")] = False
    return settings


def _on_us_off(ctx: _Context) -> Settings:
    # The golden path expects on-us transfers (payer and payee at the same DFSP) to be refused.
    return {("config", "enable_on_us_transfers"): False}


def _simple_routing(ctx: _Context) -> Settings:
    # The golden path's quoting tests assume simple routing (7 failures otherwise, per the release notes).
    return {("config", "simple_routing_mode_enabled"): True}


def _extended_party_id_type(ctx: _Context) -> Settings:
    # The helm README's test table requires it, on the ALS and its admin, for the third-party collections.
    return {("config", "featureEnableExtendedPartyIdType"): ctx.inp.third_party_enabled}


def _ttk_api_base_url(ctx: _Context) -> Settings:
    # The UI runs in the browser: it needs the backend's address as the browser reaches it.
    return {("config", "API_BASE_URL"): ctx.ttk_api_url}


def _no_pull_secret(ctx: _Context) -> Settings:
    # The simulators' default names a pull Secret (`dock-casa-secret`) nothing creates; their images are
    # public. An empty name is no reference (the kubelet skips it).
    return {("config", "imagePullSecretName"): ""}


_CAPABILITIES: Mapping[Capability, Callable[[_Context], Settings]] = {
    "db": _db,
    "kafka": _kafka,
    "objectStore": _object_store,
    "ttkMongodb": _ttk_mongodb,
    "authServiceRedis": _auth_service_redis,
    "jws": _jws,
    "onUsOff": _on_us_off,
    "simpleRouting": _simple_routing,
    "extendedPartyIdType": _extended_party_id_type,
    "ttkApiBaseUrl": _ttk_api_base_url,
    "noPullSecret": _no_pull_secret,
}
