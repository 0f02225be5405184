"""Values for the example-mojaloop-backend chart: persistence, placement, Secrets, images, per chart version.

Expected key paths are written out here from the charts' own files (see config/backend-values.yaml for
the sources), not read back from the data file, so a wrong entry there fails a test.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mojaloop_iac import contract
from mojaloop_iac.catalog import load_catalog
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.planners.backend_values import (
    DEFAULT_DATA_PATH,
    KAFKA,
    MONGODB_BULK,
    MONGODB_CEP,
    MONGODB_TTK,
    MYSQL,
    REDIS_AUTH_SVC,
    REDIS_PROXY_CACHE,
    BackendEndpoints,
    BackendValuesError,
    BackendValuesInput,
    BackendValuesPlan,
    load_backend_data,
    parse_backend_data,
    plan_backend_values,
)
from mojaloop_iac.planners.placement import Scheduling

REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "mojaloop.md"
VERSIONS = ["15.0.0", "16.0.0", "17.0.0"]
STORAGE_CLASS = "gp3-encrypted"
MIRROR = "mirror.cc.example.com"
# The Secret names Mojaloop's umbrella chart references by default (shared/reference/mojaloop.md).
SECRETS = {MYSQL: "mysqldb", MONGODB_BULK: "cl-mongodb", MONGODB_TTK: "ttk-mongodb"}
TOLERATIONS = ({"key": "moja-enabled", "operator": "Equal", "value": "true", "effect": "NoSchedule"},)

# Every PersistentVolumeClaim setting of the stateful pods each chart version runs by default.
PERSISTENCE = {
    "15.0.0": [
        "kafka.persistence",
        "kafka.zookeeper.persistence",
        "mysql.primary.persistence",
        "cl-mongodb.persistence",
        "ttk-mongodb.persistence",
        "ttksims-redis.master.persistence",
        "auth-svc-redis.master.persistence",
    ],
    "16.0.0": [
        "kafka.controller.persistence",
        "kafka.broker.persistence",
        "mysql.primary.persistence",
        "cl-mongodb.persistence",
        "ttk-mongodb.persistence",
        "ttksims-redis.master.persistence",
        "auth-svc-redis.master.persistence",
    ],
    "17.0.0": [
        "kafka.controller.persistence",
        "kafka.broker.persistence",
        "mysql.primary.persistence",
        "cl-mongodb.persistence",
        "ttk-mongodb.persistence",
        "ttksims-redis.master.persistence",
        "auth-svc-redis.master.persistence",
        "proxy-cache-redis.persistence",
    ],
}

# Pod group (value path holding affinity/tolerations) -> the workload class it must run on.
PLACEMENT = {
    "15.0.0": {
        "kafka": "KAFKA-DATA-PLANE",  # kafka 19: the top-level pods are the brokers
        "kafka.zookeeper": "KAFKA-CONTROL-PLANE",
        "mysql.primary": "RDBMS-CENTRAL-LEDGER-LIVE",
        "cl-mongodb": "RDBMS-ALS-LIVE",
        "ttk-mongodb": "RDBMS-ALS-LIVE",
        "ttksims-redis.master": "RDBMS-ALS-LIVE",
        "auth-svc-redis.master": "RDBMS-ALS-LIVE",
    },
    "16.0.0": {
        "kafka.controller": "KAFKA-CONTROL-PLANE",
        "kafka.broker": "KAFKA-DATA-PLANE",
        "mysql.primary": "RDBMS-CENTRAL-LEDGER-LIVE",
        "cl-mongodb": "RDBMS-ALS-LIVE",
        "ttk-mongodb": "RDBMS-ALS-LIVE",
        "ttksims-redis.master": "RDBMS-ALS-LIVE",
        "auth-svc-redis.master": "RDBMS-ALS-LIVE",
    },
    "17.0.0": {
        "kafka.controller": "KAFKA-CONTROL-PLANE",
        "kafka.broker": "KAFKA-DATA-PLANE",
        "mysql.primary": "RDBMS-CENTRAL-LEDGER-LIVE",
        "cl-mongodb": "RDBMS-ALS-LIVE",
        "ttk-mongodb": "RDBMS-ALS-LIVE",
        "ttksims-redis.master": "RDBMS-ALS-LIVE",
        "auth-svc-redis.master": "RDBMS-ALS-LIVE",
        "proxy-cache-redis.redis": "RDBMS-ALS-LIVE",
    },
}

# Every image the enabled components run, value path -> the repository it must come from via a mirror.
RUNNING_IMAGES = {
    "15.0.0": {
        "kafka.image": "bitnamilegacy/kafka",
        "kafka.zookeeper.image": "bitnamilegacy/zookeeper",
        "mysql.image": "bitnamilegacy/mysql",
        "cl-mongodb.image": "bitnamilegacy/mongodb",
        "ttk-mongodb.image": "bitnamilegacy/mongodb",
        "ttksims-redis.image": "bitnamilegacy/redis",
        "auth-svc-redis.image": "bitnamilegacy/redis",
    },
    "16.0.0": {
        "kafka.image": "bitnamilegacy/kafka",
        "mysql.image": "bitnamilegacy/mysql",
        "cl-mongodb.image": "bitnamilegacy/mongodb",
        "ttk-mongodb.image": "bitnamilegacy/mongodb",
        "ttksims-redis.image": "bitnamilegacy/redis",
        "auth-svc-redis.image": "bitnamilegacy/redis",
    },
    "17.0.0": {
        "kafka.image": "bitnamilegacy/kafka",
        "mysql.image": "bitnamilegacy/mysql",
        "cl-mongodb.image": "bitnamilegacy/mongodb",
        "ttk-mongodb.image": "bitnamilegacy/mongodb",
        "ttksims-redis.image": "bitnamilegacy/redis",
        "auth-svc-redis.image": "bitnamilegacy/redis",
        "proxy-cache-redis.image": "bitnamilegacy/redis-cluster",
    },
}
# Images of optional features (metrics, volume permissions, external access, ...) that must also come
# through the mirror once someone switches the feature on; they moved between sub-chart versions.
OPTIONAL_IMAGES = {
    "15.0.0": {
        "kafka.volumePermissions.image": "bitnamilegacy/bitnami-shell",
        "kafka.externalAccess.autoDiscovery.image": "bitnamilegacy/kubectl",
        "kafka.metrics.kafka.image": "bitnamilegacy/kafka-exporter",
        "kafka.metrics.jmx.image": "bitnamilegacy/jmx-exporter",
        "mysql.metrics.image": "bitnamilegacy/mysqld-exporter",
        "mysql.volumePermissions.image": "bitnamilegacy/bitnami-shell",
        "cl-mongodb.metrics.image": "bitnamilegacy/mongodb-exporter",
        "cl-mongodb.tls.image": "bitnamilegacy/nginx",
        "auth-svc-redis.sentinel.image": "bitnamilegacy/redis-sentinel",
        "auth-svc-redis.sysctl.image": "bitnamilegacy/bitnami-shell",
    },
    "16.0.0": {
        "kafka.volumePermissions.image": "bitnamilegacy/os-shell",
        "kafka.externalAccess.autoDiscovery.image": "bitnamilegacy/kubectl",
        "kafka.metrics.jmx.image": "bitnamilegacy/jmx-exporter",
        "mysql.volumePermissions.image": "bitnamilegacy/os-shell",
        "cl-mongodb.volumePermissions.image": "bitnamilegacy/os-shell",
        "auth-svc-redis.volumePermissions.image": "bitnamilegacy/os-shell",
        "auth-svc-redis.kubectl.image": "bitnamilegacy/kubectl",
    },
    "17.0.0": {
        "kafka.defaultInitContainers.volumePermissions.image": "bitnamilegacy/os-shell",
        "kafka.defaultInitContainers.autoDiscovery.image": "bitnamilegacy/kubectl",
        "kafka.metrics.jmx.image": "bitnamilegacy/jmx-exporter",
        "proxy-cache-redis.metrics.image": "bitnamilegacy/redis-exporter",
        "proxy-cache-redis.sysctlImage": "bitnamilegacy/os-shell",
    },
}

ENDPOINTS = {
    "15.0.0": BackendEndpoints(
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
    ),
}
ENDPOINTS["16.0.0"] = ENDPOINTS["15.0.0"]
ENDPOINTS["17.0.0"] = BackendEndpoints(
    **{**ENDPOINTS["15.0.0"].__dict__, "redis_host": "proxy-cache-redis", "redis_port": 6379}
)

CREDENTIAL_KEY = re.compile(r"(password|passwords|replicasetkey)$", re.IGNORECASE)


def class_affinity(workload_class: str) -> dict[str, Any]:
    """A required node affinity on the class label, distinct per class so placement can be told apart."""
    term = {"key": contract.workload_class_label(workload_class), "operator": "In", "values": ["enabled"]}
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [term]}]
            }
        }
    }


SCHEDULING = {
    cls: Scheduling(affinity=class_affinity(cls), tolerations=TOLERATIONS)
    for cls in contract.WORKLOAD_CLASSES
}


def plan(
    version: str,
    *,
    registry: str | None = MIRROR,
    secrets: Mapping[str, str] = SECRETS,
    overrides: Mapping[str, Any] | None = None,
    scheduling: Mapping[str, Scheduling] = SCHEDULING,
    storage_class: str = STORAGE_CLASS,
) -> BackendValuesPlan:
    return plan_backend_values(
        BackendValuesInput(
            chart_version=version,
            scheduling=scheduling,
            storage_class=storage_class,
            image_registry=registry,
            secrets=secrets,
            overrides=overrides or {},
        )
    )


def at(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for key in dotted.split("."):
        assert isinstance(node, Mapping) and key in node, f"{dotted}: no {key!r} in the values"
        node = node[key]
    return node


def walk(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, values
    if isinstance(values, Mapping):
        for key, value in values.items():
            yield from walk(value, path + (str(key),))
    elif isinstance(values, list):
        for index, item in enumerate(values):
            yield from walk(item, path + (str(index),))


def credential_values(values: Any) -> list[str]:
    return [
        ".".join(path)
        for path, value in walk(values)
        if path
        and CREDENTIAL_KEY.search(path[-1])
        and (
            (isinstance(value, str) and value)
            or (isinstance(value, list) and any(isinstance(item, str) and item for item in value))
        )
    ]


# --- the data file against the catalog and the reference ----------------------------------------


# Backend charts the catalog names whose keys could not be read here: example-mojaloop-backend 17.2.0 moves
# every Bitnami dependency to a new major version and its values file was not obtainable. Stacks on those
# releases are refused by validation, naming the missing data (tests/test_release_catalog_support.py).
NOT_YET_DESCRIBED = {"17.2.0"}


def test_every_backend_chart_version_of_the_catalog_is_described() -> None:
    described = set(load_backend_data().chart_versions)
    needed = {release.backend.version for release in load_catalog().releases.values()}
    assert needed - NOT_YET_DESCRIBED <= described, f"backend chart versions without values data: {sorted(needed - described)}"
    assert not NOT_YET_DESCRIBED & described, "described now: remove it from NOT_YET_DESCRIBED"
    assert set(VERSIONS) <= described


def test_subchart_versions_agree_with_the_catalogs_backend_dependencies() -> None:
    data = load_backend_data()
    for release in load_catalog().releases.values():
        if release.backend.version in NOT_YET_DESCRIBED:
            continue
        subcharts = data.chart_versions[release.backend.version].subcharts
        for chart, constraint in release.backend_dependencies.items():
            pattern = re.escape(constraint).replace(r"\.x", r"\.\d+") + "$"
            assert re.match(pattern, subcharts[chart]), (
                f"release {release.version}: catalog says {chart} {constraint}, data says {subcharts[chart]}"
            )


def test_secret_keys_are_the_ones_the_reference_requires() -> None:
    text = " ".join(REFERENCE.read_text(encoding="utf-8").split())
    mysql = re.search(r"existingSecret` for MySQL must hold (.+?); for MongoDB (.+?) \(", text)
    assert mysql, "the reference no longer states the backend chart's existingSecret keys"
    mysql_keys = set(re.findall(r"`([a-z-]+)`", mysql.group(1)))
    mongodb_keys = set(re.findall(r"`([a-z-]+)`", mysql.group(2)))
    assert mysql_keys == {"mysql-root-password", "mysql-replication-password", "mysql-password"}
    for version in VERSIONS:
        secret_keys = plan(version).secret_keys
        assert set(secret_keys["mysqldb"]) == mysql_keys
        assert (
            set(secret_keys["cl-mongodb"]) == mongodb_keys == {"mongodb-passwords", "mongodb-root-password"}
        )
        assert set(secret_keys["ttk-mongodb"]) == mongodb_keys


def test_data_file_is_loaded_once() -> None:
    assert load_backend_data() is load_backend_data()


def test_data_file_with_an_unknown_layout_or_workload_class_is_refused_naming_the_entry() -> None:
    raw = yaml.safe_load(DEFAULT_DATA_PATH.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    broken["chartVersions"]["16.0.0"]["components"]["mysql"]["layout"] = "mysql-99"
    broken["roles"]["redis"] = "REDIS-POOL"
    with pytest.raises(ValueError) as caught:
        parse_backend_data(broken, source="backend-values.yaml")
    message = str(caught.value)
    assert "chartVersions.16.0.0.components.mysql: layout 'mysql-99' is not in layouts" in message
    assert "roles.redis: 'REDIS-POOL' is not a workload class" in message
    typo = copy.deepcopy(raw)
    typo["layouts"]["redis-cluster"]["persistance"] = ["persistence"]
    with pytest.raises(ValueError, match=r"layouts\.redis-cluster\.persistance"):
        parse_backend_data(typo)


# --- what each chart version gets ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_every_stateful_component_persists_on_the_clusters_storage_class(version: str) -> None:
    values = plan(version).values
    for dotted in PERSISTENCE[version]:
        assert at(values, dotted) == {"enabled": True, "storageClass": STORAGE_CLASS}, dotted


@pytest.mark.parametrize("version", VERSIONS)
def test_every_pod_group_is_scheduled_on_its_workload_class(version: str) -> None:
    values = plan(version).values
    for dotted, workload_class in PLACEMENT[version].items():
        group = values if dotted == "" else at(values, dotted)
        assert group["affinity"] == class_affinity(workload_class), dotted
        assert group["tolerations"] == list(TOLERATIONS), dotted
    # The topic-provisioning Job tolerates the dedicated nodes so it can run at all.
    assert at(values, "kafka.provisioning.tolerations") == list(TOLERATIONS)


def test_kafka_19_runs_zookeeper_on_the_control_plane_and_brokers_on_the_data_plane() -> None:
    kafka = plan("15.0.0").values["kafka"]
    assert kafka["affinity"] == class_affinity("KAFKA-DATA-PLANE")
    assert kafka["zookeeper"]["affinity"] == class_affinity("KAFKA-CONTROL-PLANE")
    assert "controller" not in kafka and "broker" not in kafka


@pytest.mark.parametrize("version", ["16.0.0", "17.0.0"])
def test_kraft_kafka_runs_dedicated_controllers_so_brokers_can_sit_on_the_data_plane(version: str) -> None:
    kafka = plan(version).values["kafka"]
    assert kafka["controller"]["controllerOnly"] is True
    assert kafka["broker"]["replicaCount"] >= 1
    assert kafka["controller"]["affinity"] != kafka["broker"]["affinity"]
    assert "affinity" not in kafka, "kafka 29+ has no top-level pods to place"


def test_only_17_0_0_has_the_proxy_cache_redis_cluster() -> None:
    assert "proxy-cache-redis" not in plan("15.0.0").values
    assert "proxy-cache-redis" not in plan("16.0.0").values
    assert at(plan("17.0.0").values, "proxy-cache-redis.redis.affinity") == class_affinity("RDBMS-ALS-LIVE")


@pytest.mark.parametrize("version", VERSIONS)
def test_endpoints_are_the_services_the_chart_creates(version: str) -> None:
    assert plan(version).endpoints == ENDPOINTS[version]


# --- credentials -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_no_credential_value_anywhere_in_the_values(version: str) -> None:
    everything = {**SECRETS, MONGODB_CEP: "cep-mongodb", REDIS_AUTH_SVC: "auth-svc-redis"}
    if version == "17.0.0":
        everything[REDIS_PROXY_CACHE] = "proxy-cache-redis"
    for result in (plan(version), plan(version, secrets=everything), plan(version, registry=None)):
        assert credential_values(result.values) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_passwords_come_from_the_named_secrets(version: str) -> None:
    result = plan(version)
    assert at(result.values, "mysql.auth.existingSecret") == "mysqldb"
    assert at(result.values, "cl-mongodb.auth.existingSecret") == "cl-mongodb"
    assert at(result.values, "ttk-mongodb.auth.existingSecret") == "ttk-mongodb"
    assert result.secret_keys == {
        "cl-mongodb": ("mongodb-passwords", "mongodb-root-password"),
        "mysqldb": ("mysql-password", "mysql-replication-password", "mysql-root-password"),
        "ttk-mongodb": ("mongodb-passwords", "mongodb-root-password"),
    }


def test_mongodb_replica_set_and_metrics_add_the_keys_they_read() -> None:
    overrides = {"cl-mongodb": {"architecture": "replicaset", "metrics": {"enabled": True}}}
    keys = plan("16.0.0", overrides=overrides).secret_keys
    assert keys["cl-mongodb"] == (
        "mongodb-metrics-password",
        "mongodb-passwords",
        "mongodb-replica-set-key",
        "mongodb-root-password",
    )
    assert keys["ttk-mongodb"] == ("mongodb-passwords", "mongodb-root-password")


def test_components_sharing_a_secret_get_the_union_of_their_keys() -> None:
    shared = {MYSQL: "mysqldb", MONGODB_BULK: "mongo", MONGODB_TTK: "mongo"}
    overrides = {"ttk-mongodb": {"architecture": "replicaset"}}
    keys = plan("17.0.0", secrets=shared, overrides=overrides).secret_keys
    assert keys["mongo"] == ("mongodb-passwords", "mongodb-replica-set-key", "mongodb-root-password")
    assert set(keys) == {"mysqldb", "mongo"}


@pytest.mark.parametrize("missing", [MYSQL, MONGODB_BULK, MONGODB_TTK])
def test_a_database_without_a_secret_is_refused_with_the_keys_it_needs(missing: str) -> None:
    secrets = {key: name for key, name in SECRETS.items() if key != missing}
    with pytest.raises(BackendValuesError, match=rf"secrets\['{missing}'\].*with keys") as caught:
        plan("15.0.0", secrets=secrets)
    assert "password" in str(caught.value)


def test_disabled_components_need_no_secret_until_an_override_enables_them() -> None:
    assert "cep-mongodb" not in plan("17.0.0").secret_keys
    with pytest.raises(BackendValuesError, match=r"cep-mongodb runs with authentication but no Secret"):
        plan("17.0.0", overrides={"cep-mongodb": {"enabled": True}})
    enabled = plan(
        "17.0.0",
        secrets={**SECRETS, MONGODB_CEP: "cep-mongodb"},
        overrides={"cep-mongodb": {"enabled": True}},
    )
    assert enabled.secret_keys["cep-mongodb"] == ("mongodb-passwords", "mongodb-root-password")


@pytest.mark.parametrize("version", VERSIONS)
def test_redis_stays_without_auth_like_the_chart_unless_given_a_secret(version: str) -> None:
    plain = plan(version)
    assert "auth" not in plain.values["auth-svc-redis"]
    assert not any("redis" in name for name in plain.secret_keys)
    protected = plan(version, secrets={**SECRETS, REDIS_AUTH_SVC: "auth-svc-redis"})
    assert protected.values["auth-svc-redis"]["auth"] == {
        "enabled": True,
        "existingSecret": "auth-svc-redis",
        "existingSecretPasswordKey": "redis-password",
    }
    assert protected.secret_keys["auth-svc-redis"] == ("redis-password",)


def test_redis_cluster_takes_its_password_from_a_secret_at_its_own_keys() -> None:
    result = plan("17.0.0", secrets={**SECRETS, REDIS_PROXY_CACHE: "proxy-cache"})
    cluster = result.values["proxy-cache-redis"]
    assert (cluster["usePassword"], cluster["existingSecret"], cluster["existingSecretPasswordKey"]) == (
        True,
        "proxy-cache",
        "redis-password",
    )
    assert result.secret_keys["proxy-cache"] == ("redis-password",)


def test_a_secret_for_a_component_this_chart_version_lacks_is_ignored() -> None:
    # One secrets mapping can serve every chart version; 15.0.0 has no proxy cache to protect.
    result = plan("15.0.0", secrets={**SECRETS, REDIS_PROXY_CACHE: "proxy-cache"})
    assert result.values == plan("15.0.0").values
    assert "proxy-cache" not in result.secret_keys


def test_redis_auth_switched_on_by_override_without_a_secret_is_refused() -> None:
    with pytest.raises(BackendValuesError, match=r"auth-svc-redis runs with authentication but no Secret"):
        plan("16.0.0", overrides={"auth-svc-redis": {"auth": {"enabled": True}}})


@settings(max_examples=60, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    where=st.lists(
        st.sampled_from(["mysql", "auth", "kafka", "sasl", "cl-mongodb", "tls"]), min_size=1, max_size=3
    ),
    key=st.sampled_from(["password", "rootPassword", "replicationPassword", "passwords", "replicaSetKey"]),
    # Digits make sure the secret cannot be a word of the error message by chance.
    secret=st.from_regex(r"[A-Za-z]{4,12}[0-9]{2,6}", fullmatch=True),
)
def test_a_credential_value_in_overrides_is_refused_without_echoing_it(
    version: str, where: list[str], key: str, secret: str
) -> None:
    overrides: dict[str, Any] = {}
    node = overrides
    for part in where:
        node = node.setdefault(part, {})
    node[key] = [secret] if key == "passwords" else secret
    with pytest.raises(BackendValuesError) as caught:
        plan(version, overrides=overrides)
    message = str(caught.value)
    assert ".".join([*where, key]) in message
    assert secret not in message


# --- images ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_registry_mirror_serves_every_image_from_bitnamis_legacy_repositories(version: str) -> None:
    values = plan(version).values
    assert values["global"]["imageRegistry"] == MIRROR
    # Sub-charts that verify their images refuse substituted ones without this; older ones have no such key.
    verifying = version == "17.0.0"
    assert values["global"].get("security") == ({"allowInsecureImages": True} if verifying else None)
    for dotted, repository in {**RUNNING_IMAGES[version], **OPTIONAL_IMAGES[version]}.items():
        assert at(values, dotted) == {"repository": repository}, dotted
    repositories = [value for path, value in walk(values) if path and path[-1] == "repository"]
    assert repositories and all(repository.startswith("bitnamilegacy/") for repository in repositories)


@pytest.mark.parametrize("version", VERSIONS)
def test_without_a_mirror_the_charts_images_are_left_alone(version: str) -> None:
    values = plan(version, registry=None).values
    assert "global" not in values
    assert not [
        path for path, _ in walk(values) if path and path[-1] in {"image", "repository", "sysctlImage"}
    ]


# --- overrides, purity, input errors -------------------------------------------------------------


def test_overrides_merge_last_key_by_key_and_replace_lists() -> None:
    toleration = {"key": "dedicated", "operator": "Exists"}
    overrides = {
        "mysql": {"primary": {"persistence": {"size": "200Gi"}, "tolerations": [toleration]}},
        "kafka": {"broker": {"replicaCount": 3}},
        "global": {"imageRegistry": "other.example.com"},
    }
    values = plan("17.0.0", overrides=overrides).values
    assert at(values, "mysql.primary.persistence") == {
        "enabled": True,
        "storageClass": STORAGE_CLASS,
        "size": "200Gi",
    }
    assert at(values, "mysql.primary.tolerations") == [toleration]
    assert at(values, "mysql.primary.affinity") == class_affinity("RDBMS-CENTRAL-LEDGER-LIVE")
    assert at(values, "kafka.broker.replicaCount") == 3
    assert values["global"] == {
        "imageRegistry": "other.example.com",
        "security": {"allowInsecureImages": True},
    }


def test_planning_is_deterministic_and_shares_nothing_with_inputs() -> None:
    overrides = {"mysql": {"primary": {"resources": {"limits": {"memory": "4Gi"}}}}}
    first = plan("16.0.0", overrides=overrides)
    first.values["mysql"]["primary"]["resources"]["limits"]["memory"] = "1Gi"
    first.values["kafka"]["broker"]["affinity"]["nodeAffinity"] = {}
    second = plan("16.0.0", overrides=overrides)
    assert overrides["mysql"]["primary"]["resources"]["limits"]["memory"] == "4Gi"
    assert SCHEDULING["KAFKA-DATA-PLANE"].affinity == class_affinity("KAFKA-DATA-PLANE")
    assert second.values["kafka"]["broker"]["affinity"] == class_affinity("KAFKA-DATA-PLANE")
    assert json.dumps(second.values) == json.dumps(plan("16.0.0", overrides=overrides).values)


@pytest.mark.parametrize("version", VERSIONS)
def test_values_are_plain_data_that_helm_and_pulumi_can_take(version: str) -> None:
    values = plan(version).values
    assert json.loads(json.dumps(values)) == values
    assert yaml.safe_load(yaml.safe_dump(values)) == values


def test_an_undescribed_chart_version_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(
        BackendValuesError, match=r"example-mojaloop-backend 17\.2\.0 .*known: 15\.0\.0, 16\.0\.0"
    ):
        plan("17.2.0")


def test_a_missing_workload_class_is_refused_naming_it_and_the_pods() -> None:
    partial = {cls: s for cls, s in SCHEDULING.items() if cls != "KAFKA-CONTROL-PLANE"}
    with pytest.raises(BackendValuesError, match=r"KAFKA-CONTROL-PLANE, where the kafka\.zookeeper pods run"):
        plan("15.0.0", scheduling=partial)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"storage_class": "Fast SSD"}, r"storage class 'Fast SSD' is not a Kubernetes object name"),
        ({"registry": "https://mirror.example.com/"}, r"without scheme or trailing slash"),
        ({"secrets": {**SECRETS, "postgres": "pg"}}, r"'postgres' is not a backend component"),
        (
            {"secrets": {**SECRETS, MYSQL: "MySQL_DB"}},
            r"secrets\.mysql: 'MySQL_DB' is not a Kubernetes Secret",
        ),
        ({"secrets": {**SECRETS, KAFKA: "kafka"}}, r"kafka has no password to take from a Secret"),
    ],
)
def test_bad_input_is_refused_with_an_actionable_message(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BackendValuesError, match=message):
        plan("16.0.0", **changes)


def test_a_registry_with_port_and_path_prefix_is_accepted() -> None:
    values = plan("15.0.0", registry="mirror.cc.example.com:5000/dockerhub").values
    assert values["global"]["imageRegistry"] == "mirror.cc.example.com:5000/dockerhub"
