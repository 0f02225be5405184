"""The Mojaloop umbrella chart values planner: per release line, secrets by reference, scheduling by
workload class, ingresses off in favour of Istio VirtualServices, golden-path tests on, toggles, and
the user's overrides merged last.

Expected keys below are written from the charts (mojaloop/helm at v15.2.0, the 16.0.0 candidate and
17.0.0), not read back from config/mojaloop-values.yaml, so a wrong data entry fails here.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mojaloop_iac import contract
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.planners.mojaloop_values import (
    BULK_MONGODB,
    DEFAULT_DATA_PATH,
    JWS_SIGNING_KEY,
    MYSQL,
    TTK_MONGODB,
    BackendEndpoints,
    MojaloopValuesError,
    MojaloopValuesInput,
    MojaloopValuesPlan,
    Scheduling,
    SecretRef,
    parse_values_data,
    plan_mojaloop_values,
)

ISTIO_CRDS = REPO_ROOT.parent / "shared" / "crds" / "istio.yaml"
RELEASES = ("15.2.0", "16.0.0", "17.0.0")

MYSQL_REF = SecretRef("mysqldb", "mysql-password")
BULK_REF = SecretRef("cl-mongodb", "mongodb-passwords")
TTK_REF = SecretRef("ttk-mongodb", "mongodb-passwords")
JWS_REF = SecretRef("switch-jws", "private.key")
SECRETS = {MYSQL: MYSQL_REF, BULK_MONGODB: BULK_REF, TTK_MONGODB: TTK_REF, JWS_SIGNING_KEY: JWS_REF}

# As the backend values planner reports them for example-mojaloop-backend (config/backend-values.yaml).
BACKEND = BackendEndpoints(
    mysql_host="mysqldb",
    mysql_port=3306,
    mysql_user="central_ledger",
    mysql_database="central_ledger",
    kafka_host="kafka",
    kafka_port=9092,
    mongodb_host="cl-mongodb",
    mongodb_port=27017,
    mongodb_user="mojaloop",
    mongodb_database="mlos",
    redis_host="auth-svc-redis-master",
    redis_port=6379,
)
DEDICATED_TOLERATION = {"key": "moja-enabled", "operator": "Equal", "value": "true", "effect": "NoSchedule"}


def class_affinity(workload_class: str) -> dict[str, Any]:
    """The placement planner's affinity: required, on the class's node label."""
    expression = {
        "key": contract.workload_class_label(workload_class),
        "operator": "In",
        "values": ["enabled"],
    }
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [expression]}]
            }
        }
    }


SCHEDULING = {
    cls: Scheduling(affinity=class_affinity(cls), tolerations=(DEDICATED_TOLERATION,))
    for cls in contract.WORKLOAD_CLASSES
}


BASE_INPUT = MojaloopValuesInput(
    release_version="17.0.0",
    scheduling=SCHEDULING,
    backend=BACKEND,
    secrets=SECRETS,
    bulk_enabled=False,
    third_party_enabled=False,
    internal_domain="int.qa1.example.com",
    external_domain="qa1.example.com",
    internal_gateway="istio-ingress-int/istio-internal-ingress-gw",
    external_gateway="istio-ingress-ext/istio-external-ingress-gw",
    namespace="mojaloop",
    release_name="moja",
    overrides={},
)


def make_input(release: str, **changes: Any) -> MojaloopValuesInput:
    return dataclasses.replace(BASE_INPUT, release_version=release, **changes)


@cache
def plan(release: str, bulk: bool = False, third_party: bool = False) -> MojaloopValuesPlan:
    return plan_mojaloop_values(make_input(release, bulk_enabled=bulk, third_party_enabled=third_party))


def at(values: Mapping[str, Any], dotted: str, default: Any = KeyError) -> Any:
    node: Any = values
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            if default is KeyError:
                raise KeyError(f"{dotted}: no {key!r}")
            return default
        node = node[key]
    return node


def walk(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) pair, mappings included."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            yield (*path, key), value
            yield from walk(value, (*path, key))
    elif isinstance(values, list):
        for index, item in enumerate(values):
            yield from walk(item, (*path, str(index)))


# --- what each release line holds, from the charts ---------------------------------------------------

CORE_CLASSES_15 = {
    "account-lookup-service.account-lookup-service": "ACCOUNT-LOOKUP-SERVICE",
    "account-lookup-service.account-lookup-service-admin": "ACCOUNT-LOOKUP-SERVICE",
    "quoting-service": "QUOTING-SERVICE",
    "ml-api-adapter.ml-api-adapter-service": "CORE-API-ADAPTERS",
    "ml-api-adapter.ml-api-adapter-handler-notification": "CORE-API-ADAPTERS",
    "centralledger.centralledger-service": "CENTRAL-LEDGER-SVC",
    "centralledger.centralledger-handler-transfer-prepare": "CENTRAL-LEDGER-SVC",
    "centralledger.centralledger-handler-transfer-position": "CENTRAL-LEDGER-SVC",
    "centralledger.centralledger-handler-transfer-get": "CENTRAL-LEDGER-SVC",
    "centralledger.centralledger-handler-transfer-fulfil": "CENTRAL-LEDGER-SVC",
    "centralledger.centralledger-handler-timeout": "CENTRAL-LEDGER-SVC",
    "centralledger.centralledger-handler-admin-transfer": "CENTRAL-LEDGER-SVC",
    "centralsettlement.centralsettlement-service": "CENTRAL-SETTLEMENT",
    "centralsettlement.centralsettlement-handler-deferredsettlement": "CENTRAL-SETTLEMENT",
    "centralsettlement.centralsettlement-handler-grosssettlement": "CENTRAL-SETTLEMENT",
    "centralsettlement.centralsettlement-handler-rules": "CENTRAL-SETTLEMENT",
    "transaction-requests-service": "CORE-API-ADAPTERS",
}
# 16.0.0: the quoting service is split into an API and a handler; central-ledger gains a batch handler.
CORE_CLASSES_16 = {key: value for key, value in CORE_CLASSES_15.items() if key != "quoting-service"} | {
    "quoting-service.quoting-service": "QUOTING-SERVICE",
    "quoting-service.quoting-service-handler": "QUOTING-SERVICE",
    "centralledger.centralledger-handler-transfer-position-batch": "CENTRAL-LEDGER-SVC",
}
# 17.0.0: the MSISDN oracle joins the umbrella chart.
CORE_CLASSES_17 = CORE_CLASSES_16 | {"als-msisdn-oracle": "ALS-ORACLES"}
CORE_CLASSES = {"15.2.0": CORE_CLASSES_15, "16.0.0": CORE_CLASSES_16, "17.0.0": CORE_CLASSES_17}

QUOTING_PATHS = {
    "15.2.0": ("quoting-service",),
    "16.0.0": ("quoting-service.quoting-service", "quoting-service.quoting-service-handler"),
    "17.0.0": ("quoting-service.quoting-service", "quoting-service.quoting-service-handler"),
}
BULK_SERVICES = (
    "mojaloop-bulk.bulk-api-adapter.bulk-api-adapter-service",
    "mojaloop-bulk.bulk-api-adapter.bulk-api-adapter-handler-notification",
    "mojaloop-bulk.bulk-centralledger.cl-handler-bulk-transfer-prepare",
    "mojaloop-bulk.bulk-centralledger.cl-handler-bulk-transfer-fulfil",
    "mojaloop-bulk.bulk-centralledger.cl-handler-bulk-transfer-processing",
    "mojaloop-bulk.bulk-centralledger.cl-handler-bulk-transfer-get",
)
THIRD_PARTY_SERVICES = ("thirdparty.auth-svc", "thirdparty.consent-oracle", "thirdparty.tp-api-svc")


def database_readers(release: str, bulk: bool, third_party: bool) -> dict[str, tuple[str, str]]:
    """Service path -> (MySQL user, database) for every service that reads MySQL."""
    readers = {
        path: ("central_ledger", "central_ledger")
        for path in CORE_CLASSES[release]
        if path.startswith(("centralledger.", "centralsettlement.", "quoting-service"))
    }
    readers["account-lookup-service.account-lookup-service"] = ("account_lookup", "account_lookup")
    readers["account-lookup-service.account-lookup-service-admin"] = ("account_lookup", "account_lookup")
    if release == "17.0.0":
        readers["als-msisdn-oracle"] = ("oracle_msisdn", "oracle_msisdn")
    if bulk:
        readers.update(
            {
                path: ("central_ledger", "central_ledger")
                for path in BULK_SERVICES
                if ".bulk-centralledger." in path
            }
        )
    if third_party:
        readers["thirdparty.auth-svc"] = ("auth_svc", "auth_svc")
        readers["thirdparty.consent-oracle"] = ("consent_oracle", "consent_oracle")
    return readers


TOGGLES = [(release, bulk, tp) for release in RELEASES for bulk in (False, True) for tp in (False, True)]


# --- scheduling and release-specific keys -------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_every_service_of_the_release_gets_the_scheduling_of_its_workload_class(release: str) -> None:
    values = plan(release).values
    for path, workload_class in CORE_CLASSES[release].items():
        assert at(values, f"{path}.affinity") == class_affinity(workload_class), path
        assert at(values, f"{path}.tolerations") == [DEDICATED_TOLERATION], path


@pytest.mark.parametrize("release", RELEASES)
def test_toggled_services_are_scheduled_only_when_their_feature_is_on(release: str) -> None:
    on = plan(release, bulk=True, third_party=True).values
    off = plan(release).values
    assert at(
        on, "mojaloop-bulk.bulk-centralledger.cl-handler-bulk-transfer-prepare.affinity"
    ) == class_affinity("CORE-HANDLERS")
    assert at(on, "thirdparty.consent-oracle.affinity") == class_affinity("ALS-ORACLES")
    for path in (*BULK_SERVICES, *THIRD_PARTY_SERVICES):
        assert at(off, f"{path}.affinity", None) is None, path
        assert at(off, f"{path}.config", None) is None, path


@pytest.mark.parametrize("release", RELEASES)
def test_test_tooling_tolerating_dedicated_nodes_is_pinned_to_the_api_adapters_class(release: str) -> None:
    # Tolerating the Kafka and database nodes' taint without a class, it could land on them.
    values = plan(release).values
    for path in ("ml-testing-toolkit.ml-testing-toolkit-backend", "simulator", "mojaloop-simulator.defaults"):
        assert at(values, f"{path}.tolerations") == [DEDICATED_TOLERATION], path
        assert "workload-class.mojaloop.io/CORE-API-ADAPTERS" in json.dumps(at(values, f"{path}.affinity")), path
    # The simulators' pull Secret (nothing creates it; the images are public) is no longer named.
    assert at(values, "mojaloop-simulator.defaults.config.imagePullSecretName") == ""


def test_keys_differ_between_release_lines_as_the_charts_do() -> None:
    v15, v16, v17 = (plan(release).values for release in RELEASES)
    # 15.x: one quoting chart, configured at its top level; no batch position handler.
    assert at(v15, "quoting-service.config.simple_routing_mode_enabled") is True
    assert at(v15, "quoting-service.quoting-service-handler", None) is None
    assert at(v15, "centralledger.centralledger-handler-transfer-position-batch", None) is None
    # 16.x: API and handler sub-charts; the batch handler exists.
    assert at(v16, "quoting-service.affinity", None) is None
    assert at(v16, "quoting-service.quoting-service-handler.config.simple_routing_mode_enabled") is True
    assert at(v16, "centralledger.centralledger-handler-transfer-position-batch.config.db_secret") == {
        "name": "mysqldb",
        "key": "mysql-password",
    }
    assert at(v16, "als-msisdn-oracle", None) is None
    # 17.x: MSISDN oracle on its own schema; inter-scheme parts present but held off.
    assert at(v17, "als-msisdn-oracle.config.db_user") == "oracle_msisdn"
    assert at(v17, "account-lookup-service.account-lookup-service-handler-timeout.enabled") is False
    assert at(v17, "inter-scheme-proxy-adapter.enabled") is False
    assert at(v17, "ml-ttk-test-val-interscheme.tests.enabled") is False


def test_unknown_release_line_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(MojaloopValuesError, match=r"14\.1\.0.*15\.x, 16\.x, 17\.x"):
        plan_mojaloop_values(make_input("14.1.0"))
    with pytest.raises(MojaloopValuesError, match="not a release such as"):
        plan_mojaloop_values(make_input("16"))


def test_missing_scheduling_for_a_used_class_names_class_and_service() -> None:
    scheduling = {cls: value for cls, value in SCHEDULING.items() if cls != "QUOTING-SERVICE"}
    with pytest.raises(MojaloopValuesError, match="QUOTING-SERVICE.*quoting-service"):
        plan_mojaloop_values(make_input("16.0.0", scheduling=scheduling))


# --- secrets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("release", "bulk", "third_party"), TOGGLES)
def test_values_hold_secret_references_never_secrets(release: str, bulk: bool, third_party: bool) -> None:
    result = plan(release, bulk, third_party)
    refs = {(ref.name, ref.key) for ref in SECRETS.values()}
    for path, value in walk(result.values):
        key = path[-1]
        assert "password" not in key.lower(), path
        if re.search(r"(_secret|Secret|^secret)$", key):
            assert isinstance(value, dict) and set(value) == {"name", "key"}, path
            assert (value["name"], value["key"]) in refs, path
        if isinstance(value, str):
            assert "PRIVATE KEY" not in value, path
    dumped = json.dumps(result.values)
    assert "BEGIN" not in dumped


@pytest.mark.parametrize(("release", "bulk", "third_party"), TOGGLES)
def test_every_database_reader_gets_its_host_and_the_mysql_secret_explicitly(
    release: str, bulk: bool, third_party: bool
) -> None:
    values = plan(release, bulk, third_party).values
    for path, (user, database) in database_readers(release, bulk, third_party).items():
        config = at(values, f"{path}.config")
        assert config["db_secret"] == {"name": "mysqldb", "key": "mysql-password"}, path
        assert (config["db_host"], config["db_port"]) == ("mysqldb", 3306), path
        assert (config["db_user"], config["db_database"]) == (user, database), path


@pytest.mark.parametrize("release", RELEASES)
def test_kafka_and_mongodb_readers_get_the_backend_and_their_secrets(release: str) -> None:
    values = plan(release, bulk=True).values
    for path in (
        "ml-api-adapter.ml-api-adapter-service",
        "centralledger.centralledger-handler-transfer-fulfil",
    ):
        assert (at(values, f"{path}.config.kafka_host"), at(values, f"{path}.config.kafka_port")) == (
            "kafka",
            9092,
        )
    bulk_config = at(values, "mojaloop-bulk.bulk-api-adapter.bulk-api-adapter-service.config")
    assert bulk_config["mongo_host"] == "cl-mongodb"
    assert bulk_config["mongo_secret"] == {"name": "cl-mongodb", "key": "mongodb-passwords"}
    assert at(values, "ml-testing-toolkit.ml-testing-toolkit-backend.config.mongodb") == {
        "host": "ttk-mongodb",
        "port": 27017,
        "user": "ttk",
        "database": "ttk",
        "secret": {"name": "ttk-mongodb", "key": "mongodb-passwords"},
    }


@pytest.mark.parametrize("release", ["16.0.0", "17.0.0"])
def test_jws_signing_key_comes_from_a_secret_where_the_charts_read_one(release: str) -> None:
    values = plan(release, bulk=True).values
    signers = (
        "account-lookup-service.account-lookup-service",
        "quoting-service.quoting-service-handler",
        "ml-api-adapter.ml-api-adapter-handler-notification",
        "mojaloop-bulk.bulk-api-adapter.bulk-api-adapter-handler-notification",
    )
    for path in signers:
        security = at(values, f"{path}.config.endpointSecurity")
        assert security["jwsSigningKeySecret"] == {"name": "switch-jws", "key": "private.key"}, path
        # null removes the chart's example key from the release values.
        assert "jwsSigningKey" in security and security["jwsSigningKey"] is None, path
    assert JWS_REF in plan(release).secret_refs


def test_jws_signing_is_off_on_15_because_its_charts_take_the_key_only_inline() -> None:
    result = plan("15.2.0")
    for path in (
        "account-lookup-service.account-lookup-service",
        "quoting-service",
        "ml-api-adapter.ml-api-adapter-handler-notification",
    ):
        security = at(result.values, f"{path}.config.endpointSecurity")
        assert security == {"jwsSigningKey": None, "jwsSign": False}, path
    assert JWS_REF not in result.secret_refs
    without_jws = {consumer: ref for consumer, ref in SECRETS.items() if consumer != JWS_SIGNING_KEY}
    plan_mojaloop_values(make_input("15.2.0", secrets=without_jws))  # nothing needs it on 15.x
    with pytest.raises(MojaloopValuesError, match="jws-signing-key"):
        plan_mojaloop_values(make_input("16.0.0", secrets=without_jws))


@pytest.mark.parametrize(("release", "bulk", "third_party"), TOGGLES)
def test_secret_refs_lists_exactly_the_secrets_the_values_reference(
    release: str, bulk: bool, third_party: bool
) -> None:
    result = plan(release, bulk, third_party)
    found = {
        SecretRef(value["name"], value["key"])
        for path, value in walk(result.values)
        if re.search(r"(_secret|Secret|^secret)$", path[-1])
    }
    assert result.secret_refs == found
    expected = (
        {MYSQL_REF, TTK_REF} | ({BULK_REF} if bulk else set()) | ({JWS_REF} if release != "15.2.0" else set())
    )
    assert result.secret_refs == expected


def test_missing_secret_reference_is_refused_naming_the_consumer() -> None:
    without_bulk = {consumer: ref for consumer, ref in SECRETS.items() if consumer != BULK_MONGODB}
    plan_mojaloop_values(make_input("17.0.0", secrets=without_bulk))  # bulk off: not needed
    with pytest.raises(MojaloopValuesError, match="bulk-mongodb"):
        plan_mojaloop_values(make_input("17.0.0", secrets=without_bulk, bulk_enabled=True))
    with pytest.raises(MojaloopValuesError, match="not a Kubernetes|DNS subdomain"):
        plan_mojaloop_values(make_input("17.0.0", secrets=SECRETS | {MYSQL: SecretRef("My_Secret", "k")}))


@pytest.mark.parametrize(
    "overrides",
    [
        {"centralledger": {"centralledger-service": {"config": {"db_password": "hunter2-not-allowed"}}}},
        {
            "ml-testing-toolkit": {
                "ml-testing-toolkit-backend": {"config": {"mongodb": {"password": "hunter2-not-allowed"}}}
            }
        },
        {"quoting-service": {"config": {"endpointSecurity": {"jwsSigningKey": "hunter2-not-allowed"}}}},
        {"extra": ["-----BEGIN PRIVATE KEY-----hunter2-not-allowed"]},
    ],
)
def test_credentials_in_overrides_are_refused_without_echoing_them(overrides: dict[str, Any]) -> None:
    with pytest.raises(MojaloopValuesError) as raised:
        plan_mojaloop_values(make_input("15.2.0", overrides=overrides))
    assert "hunter2" not in str(raised.value)
    assert "Secret" in str(raised.value)


def test_overriding_a_secret_reference_with_a_value_is_refused() -> None:
    overrides = {"centralledger": {"centralledger-service": {"config": {"db_secret": "mysqldb"}}}}
    with pytest.raises(
        MojaloopValuesError, match=r"centralledger-service\.config\.db_secret must be a Secret reference"
    ):
        plan_mojaloop_values(make_input("16.0.0", overrides=overrides))


# --- ingress and routing ------------------------------------------------------------------------------

INGRESSES_EVERYWHERE = (
    "account-lookup-service.account-lookup-service.ingress",
    "account-lookup-service.account-lookup-service-admin.ingress",
    "ml-api-adapter.ml-api-adapter-service.ingress",
    "ml-api-adapter.ml-api-adapter-handler-notification.ingress",
    "centralledger.centralledger-service.ingress",
    "centralledger.centralledger-handler-admin-transfer.ingress",
    "centralsettlement.centralsettlement-service.ingress",
    "transaction-requests-service.ingress",
    "thirdparty.tp-api-svc.ingress",
    "simulator.ingress",
    "mojaloop-simulator.simulators.payerfsp.ingress",
    "mojaloop-simulator.simulators.testfsp4.ingress",
    "mojaloop-bulk.bulk-api-adapter.bulk-api-adapter-service.ingress",
    "ml-testing-toolkit.ml-testing-toolkit-backend.ingress",
    "ml-testing-toolkit.ml-testing-toolkit-frontend.ingress",
)
INGRESSES_BY_RELEASE = {
    "15.2.0": ("quoting-service.ingress",),
    "16.0.0": (
        "quoting-service.quoting-service.ingress",
        "centralledger.centralledger-handler-transfer-position-batch.ingress",
    ),
    "17.0.0": (
        "quoting-service.quoting-service.ingress",
        "account-lookup-service.account-lookup-service-handler-timeout.ingress",
    ),
}


@pytest.mark.parametrize(("release", "bulk", "third_party"), TOGGLES)
def test_every_chart_ingress_is_disabled(release: str, bulk: bool, third_party: bool) -> None:
    values = plan(release, bulk, third_party).values
    ingresses = {".".join(path): value for path, value in walk(values) if path[-1] == "ingress"}
    for path in (*INGRESSES_EVERYWHERE, *INGRESSES_BY_RELEASE[release]):
        assert path in ingresses, path
    for path, ingress in ingresses.items():
        assert ingress == {"enabled": False}, path


@cache
def virtual_service_schema() -> dict[str, Any]:
    """The VirtualService v1 schema of the Istio CRD, made strict: unknown fields are errors.

    The API server would prune unknown fields silently; a typo in a route must fail the test instead.
    """
    with ISTIO_CRDS.open(encoding="utf-8") as handle:
        crds = [doc for doc in yaml.safe_load_all(handle) if doc]
    (crd,) = [crd for crd in crds if crd["spec"]["names"]["kind"] == "VirtualService"]
    assert crd["spec"]["group"] == "networking.istio.io"
    (version,) = [version for version in crd["spec"]["versions"] if version["name"] == "v1"]
    assert version["served"]
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])

    def strict(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                strict(value)
        elif isinstance(node, list):
            for item in node:
                strict(item)

    strict(schema)
    return schema


def validate_virtual_service(manifest: dict[str, Any]) -> None:
    assert manifest["apiVersion"] == "networking.istio.io/v1"
    assert manifest["kind"] == "VirtualService"
    metadata = manifest["metadata"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", metadata["name"]) and len(metadata["name"]) <= 63
    assert metadata["namespace"] == "mojaloop"
    body = {key: value for key, value in manifest.items() if key not in ("apiVersion", "kind", "metadata")}
    jsonschema.Draft7Validator(virtual_service_schema()).validate(body)


def test_strict_virtual_service_schema_rejects_a_misspelt_field() -> None:
    manifest = copy.deepcopy(plan("17.0.0").virtual_services[0])
    manifest["spec"]["http"][0]["match"][0]["uri"] = {"prefx": "/parties"}
    with pytest.raises(jsonschema.ValidationError):
        validate_virtual_service(manifest)


@pytest.mark.parametrize(("release", "bulk", "third_party"), TOGGLES)
def test_virtual_services_validate_against_the_istio_crd(release: str, bulk: bool, third_party: bool) -> None:
    result = plan(release, bulk, third_party)
    assert result.virtual_services
    names = [manifest["metadata"]["name"] for manifest in result.virtual_services]
    assert len(names) == len(set(names))
    for manifest in result.virtual_services:
        validate_virtual_service(manifest)


def routes_of(result: MojaloopValuesPlan, name: str) -> dict[str, tuple[str, int]]:
    """Path prefix -> (destination host, port) of one VirtualService."""
    (manifest,) = [vs for vs in result.virtual_services if vs["metadata"]["name"] == name]
    routes = {}
    for http in manifest["spec"]["http"]:
        (route,) = http["route"]
        destination = route["destination"]
        for match in http["match"]:
            routes[match["uri"]["prefix"]] = (destination["host"], destination["port"]["number"])
    return routes


def service(name: str) -> str:
    return f"moja-{name}.mojaloop.svc.cluster.local"


@pytest.mark.parametrize("release", RELEASES)
def test_fspiop_api_is_routed_on_the_external_gateway_and_tools_only_on_the_internal(release: str) -> None:
    result = plan(release)
    by_name = {vs["metadata"]["name"]: vs for vs in result.virtual_services}
    external = by_name["moja-fspiop-external"]["spec"]
    assert external["gateways"] == ["istio-ingress-ext/istio-external-ingress-gw"]
    assert external["hosts"] == ["fspiop.qa1.example.com"]
    routes = routes_of(result, "moja-fspiop-external")
    assert routes["/parties"] == (service("account-lookup-service"), 80)
    assert routes["/participants"] == (service("account-lookup-service"), 80)
    assert routes["/quotes"] == (service("quoting-service"), 80)
    assert routes["/transfers"] == (service("ml-api-adapter-service"), 80)
    assert routes["/transactionRequests"] == (service("transaction-requests-service"), 80)
    assert routes_of(result, "moja-fspiop-internal") == routes
    tools = {name: vs["spec"] for name, vs in by_name.items() if not name.startswith("moja-fspiop-")}
    assert set(tools) == {
        "moja-central-ledger-admin",
        "moja-account-lookup-admin",
        "moja-central-settlement",
        "moja-ttk-ui",
        "moja-ttk-api",
    }
    for spec in tools.values():
        assert spec["gateways"] == ["istio-ingress-int/istio-internal-ingress-gw"]
        assert spec["hosts"][0].endswith(".int.qa1.example.com")
    assert routes_of(result, "moja-ttk-ui") == {"/": (service("ml-testing-toolkit-frontend"), 6060)}
    assert routes_of(result, "moja-ttk-api") == {"/": (service("ml-testing-toolkit-backend"), 5050)}
    assert routes_of(result, "moja-central-ledger-admin") == {"/": (service("centralledger-service"), 80)}
    # The TTK UI is told where the browser finds the API.
    assert at(result.values, "ml-testing-toolkit.ml-testing-toolkit-frontend.config.API_BASE_URL") == (
        "https://ttk-api.int.qa1.example.com"
    )


def test_fx_resources_are_routed_from_17_only() -> None:
    assert "/fxTransfers" not in routes_of(plan("16.0.0"), "moja-fspiop-external")
    routes = routes_of(plan("17.0.0"), "moja-fspiop-external")
    assert routes["/fxQuotes"] == (service("quoting-service"), 80)
    assert routes["/fxTransfers"] == (service("ml-api-adapter-service"), 80)


def test_gateway_must_name_namespace_and_gateway() -> None:
    with pytest.raises(MojaloopValuesError, match="<namespace>/<gateway name>"):
        plan_mojaloop_values(make_input("17.0.0", external_gateway="istio-external-ingress-gw"))


# --- golden path and toggles --------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_golden_path_tests_run_with_their_prerequisites(release: str) -> None:
    values = plan(release).values
    for name in ("ml-ttk-test-setup", "ml-ttk-test-val-gp", "ml-ttk-test-cleanup"):
        assert at(values, f"{name}.tests.enabled") is True, name
        inputs = at(values, f"{name}.testCaseEnvironmentFile.inputValues")
        assert inputs == {"SIMPLE_ROUTING_MODE_ENABLED": True, "ON_US_TRANSFERS_ENABLED": False}, name
    for path in QUOTING_PATHS[release]:
        assert at(values, f"{path}.config.simple_routing_mode_enabled") is True, path
    assert (
        at(values, "centralledger.centralledger-handler-transfer-prepare.config.enable_on_us_transfers")
        is False
    )
    environment = at(values, "ml-testing-toolkit.ml-testing-toolkit-backend.extraEnvironments")
    assert environment["hub-k8s-default-environment.json"]["inputValues"] == {
        "SIMPLE_ROUTING_MODE_ENABLED": True,
        "ON_US_TRANSFERS_ENABLED": False,
    }
    for chart in ("ml-testing-toolkit", "simulator", "mojaloop-simulator"):
        assert at(values, f"{chart}.enabled") is True, chart
    for name in ("ml-ttk-test-setup-sdk-bulk", "ml-ttk-test-val-sdk-bulk", "ml-ttk-test-val-sdk-r2p"):
        assert at(values, f"{name}.tests.enabled") is False, name


@pytest.mark.parametrize(("release", "bulk", "third_party"), TOGGLES)
def test_bulk_and_third_party_switch_their_services_and_test_collections(
    release: str, bulk: bool, third_party: bool
) -> None:
    result = plan(release, bulk, third_party)
    values = result.values
    assert at(values, "mojaloop-bulk.enabled") is bulk
    assert at(values, "ml-ttk-test-val-bulk.tests.enabled") is bulk
    assert (at(values, "ml-ttk-test-val-bulk.testCaseEnvironmentFile", None) is not None) is bulk
    prepare = "mojaloop-bulk.bulk-centralledger.cl-handler-bulk-transfer-prepare"
    assert (at(values, f"{prepare}.config", None) is not None) is bulk
    if bulk:
        assert at(values, f"{prepare}.config.enable_on_us_transfers") is False
    assert at(values, "thirdparty.enabled") is third_party
    assert at(values, "ml-ttk-test-setup-tp.tests.enabled") is third_party
    assert at(values, "ml-ttk-test-val-tp.tests.enabled") is third_party
    # The third-party collections need the ALS to accept their party id types.
    for path in (
        "account-lookup-service.account-lookup-service",
        "account-lookup-service.account-lookup-service-admin",
    ):
        assert at(values, f"{path}.config.featureEnableExtendedPartyIdType") is third_party
    if third_party:
        assert at(values, "thirdparty.auth-svc.config.redis_host") == "auth-svc-redis-master"
    routes = routes_of(result, "moja-fspiop-external")
    assert ("/bulkTransfers" in routes) is bulk
    assert ("/thirdpartyRequests" in routes) is third_party
    if bulk:
        assert routes["/bulkTransfers"] == (service("bulk-api-adapter-service"), 80)


# --- overrides ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_user_overrides_are_merged_last(release: str) -> None:
    quoting = QUOTING_PATHS[release][-1]
    overrides: dict[str, Any] = {}
    node = overrides
    for key in quoting.split("."):
        node = node.setdefault(key, {})
    node["config"] = {"simple_routing_mode_enabled": False, "log_level": "debug"}
    node["tolerations"] = [{"operator": "Exists"}]
    overrides["centralledger"] = {"centralledger-service": {"config": {"db_port": 3307}, "affinity": None}}
    frozen = copy.deepcopy(overrides)

    values = plan_mojaloop_values(make_input(release, overrides=overrides)).values

    assert at(values, f"{quoting}.config.simple_routing_mode_enabled") is False  # the override wins
    assert at(values, f"{quoting}.config.log_level") == "debug"  # new keys are added
    assert at(values, f"{quoting}.config.db_secret") == {
        "name": "mysqldb",
        "key": "mysql-password",
    }  # siblings stay
    assert at(values, f"{quoting}.tolerations") == [{"operator": "Exists"}]  # lists replace, not append
    assert at(values, "centralledger.centralledger-service.config.db_port") == 3307
    assert at(values, "centralledger.centralledger-service.config.db_host") == "mysqldb"
    assert at(values, "centralledger.centralledger-service.affinity") is None  # null passes to Helm
    assert overrides == frozen  # the caller's mapping is not modified


def leaves(tree: Mapping[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            yield from leaves(value, (*path, key))
        else:
            yield (*path, key), value


def lookup(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _override_paths() -> list[tuple[str, ...]]:
    """Paths of the planned values an override may hit, except Secret references and credentials, which
    the planner refuses to have replaced by arbitrary values (tested above)."""
    base = plan("17.0.0", bulk=True).values
    protected = re.compile(r"(secret|Secret|password|jwsSigningKey)")
    return sorted(
        path
        for path, _ in walk(base)
        if not any(protected.search(part) for part in path) and not any(part.isdigit() for part in path)
    )


KEY = st.text(alphabet="abcdefgxyz-", min_size=1, max_size=6)
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(alphabet="abc xyz", max_size=6),
    st.lists(st.integers(0, 3), max_size=3),
)


@st.composite
def override_trees(draw: st.DrawFn) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 6))):
        path = draw(st.one_of(st.sampled_from(_override_paths()), st.tuples(KEY)))
        path = (*path, *draw(st.lists(KEY, max_size=2)))
        value = draw(st.one_of(LEAF, st.dictionaries(KEY, LEAF, min_size=1, max_size=3)))
        node = tree
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value
    return tree


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides=override_trees())
def test_overrides_win_and_leave_unrelated_keys_alone(overrides: dict[str, Any]) -> None:
    base = plan("17.0.0", bulk=True).values
    merged = plan_mojaloop_values(make_input("17.0.0", bulk_enabled=True, overrides=overrides)).values

    override_leaves = dict(leaves(overrides))
    for path, value in override_leaves.items():
        assert lookup(merged, path) == value, path  # last wins
    for path, value in leaves(base):
        touched = any(path[: len(other)] == other or other[: len(path)] == path for other in override_leaves)
        if not touched:
            assert lookup(merged, path) == value, path  # unrelated keys are left alone


# --- determinism and data -----------------------------------------------------------------------------


def test_same_input_gives_the_same_plan_and_no_shared_state() -> None:
    inp = make_input(
        "17.0.0",
        bulk_enabled=True,
        scheduling=MappingProxyType(dict(SCHEDULING)),
        secrets=MappingProxyType(dict(SECRETS)),
        overrides=MappingProxyType({"simulator": {"replicaCount": 2}}),
    )
    first = plan_mojaloop_values(inp)
    dumped = json.dumps(first.values), json.dumps(first.virtual_services)
    first.values["centralledger"]["centralledger-service"]["affinity"]["nodeAffinity"] = "mutated"
    first.virtual_services[0]["spec"]["hosts"].append("mutated")
    second = plan_mojaloop_values(inp)
    assert (json.dumps(second.values), json.dumps(second.virtual_services)) == dumped
    assert second.secret_refs == plan_mojaloop_values(inp).secret_refs
    assert SCHEDULING["CENTRAL-LEDGER-SVC"].affinity == class_affinity("CENTRAL-LEDGER-SVC")


def raw_data() -> dict[str, Any]:
    with DEFAULT_DATA_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_data_file_errors_name_the_entry_to_fix() -> None:
    data = raw_data()
    data["releaseLines"]["16"]["services"][0]["workloadClass"] = "CORE-APIS"
    data["releaseLines"]["17"]["services"][0]["database"] = None
    data["releaseLines"]["15"]["tests"]["alwaysOff"].append("ml-ttk-test-val-gp")
    with pytest.raises(ValueError) as raised:
        parse_values_data(data, source="edited data")
    message = str(raised.value)
    where = "releaseLines.16.services.0 (account-lookup-service.account-lookup-service)"
    assert f"{where}: 'CORE-APIS' is not a workload class" in message
    assert "releaseLines.17.services.0" in message and "names its `database`" in message
    assert "releaseLines.15.tests: 'ml-ttk-test-val-gp' appears in more than one collection" in message


def test_data_file_refuses_unknown_keys() -> None:
    data = raw_data()
    data["releaseLines"]["17"]["fspiopRoutes"][0]["prefix"] = "/parties"
    with pytest.raises(ValueError, match=r"releaseLines\.17\.fspiopRoutes\.0\.prefix"):
        parse_values_data(data)
