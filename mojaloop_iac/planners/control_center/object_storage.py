"""Object storage of the control center: MinIO (community chart, distributed mode) and its buckets.

- The chart runs MinIO in distributed (erasure-coded) mode on the storage class, with TLS from a
  cert-manager Secret and its root credentials from an existing Secret: Vault generates the root password,
  the root user is a fixed, auditable name; External Secrets assembles the two into the Secret the chart
  reads. The chart's own user/bucket/policy jobs stay off (its default user ships a well-known password).
- Buckets are not the chart's business: `objectstore.plan_buckets` plans `pulumi-state` (versioned, object
  lock), `backups` (lifecycle expiry) and one bucket per environment, wired as the `Bucket`/`ConsumerAccess`
  dynamic resources of `mojaloop_iac.objectstore` (objectstore.control_center), which read the root
  password from Vault (`root_password`) while they run.
- Each consumer of those buckets (pulumi, control-center, env-<name>) is a MinIO user with an identity
  policy limited to its grants; Vault generates its secret key (a `SecretNeed` in the MinIO namespace) and
  the `ConsumerAccess` resource reads it from Vault at apply time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mojaloop_iac.objectstore.client import S3Connection
from mojaloop_iac.objectstore.plan import PULUMI_CONSUMER, BucketSpec, DefaultRetention, plan_buckets
from mojaloop_iac.objectstore.policies import consumers, render_consumer_policy
from mojaloop_iac.planners.control_center.common import (
    ControlCenterPlanError,
    ServicePlan,
    TemplatedSecret,
    TlsSettings,
    certificate,
    https_url,
    needs_by_namespace,
    pinned_chart,
    release,
    require_hostname,
    restricted_container_security,
    restricted_pod_security,
    service_dns_names,
)
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.vault.paths import require_dns_label, secret_path

CHART = "minio"
RELEASE_NAME = "minio"
# The chart names its objects after the release ("minio" contains the chart name, so no suffix).
SERVICE = "minio"
HEADLESS_SERVICE = "minio-svc"
API_PORT = 9000
# MinIO erasure coding needs at least four drives across the pool.
MIN_DRIVES = 4
# MinIO's image runs as this user; the chart's securityContext default.
MINIO_UID = 1000

ROOT_SECRET = "minio-root"
ROOT_PASSWORD_NEED = SecretNeed(
    "minio-root-password",
    {"rootPassword": "generic"},
    "MinIO root password (the chart reads it via minio-root)",
)
CONSUMER_SECRET_KEY = "secretKey"


def consumer_need(consumer: str) -> SecretNeed:
    return SecretNeed(
        require_dns_label(f"minio-consumer-{consumer}", "consumer Secret name"),
        {CONSUMER_SECRET_KEY: "generic"},
        f"Secret key of the object store consumer {consumer!r} (MinIO user {consumer!r})",
    )


def state_backend_secret_path(control_center: str) -> str:
    """KV path (relative to the mount) of the `pulumi` consumer's secret key: the state backend's credential
    environment and QA stacks run Pulumi with (docs/state-backend.md)."""
    return secret_path(control_center, pinned_chart(CHART).namespace, consumer_need(PULUMI_CONSUMER).name)


@dataclass(frozen=True)
class VaultValue:
    """Where a generated value lives in Vault: `<kv mount>/<path>`, property `key`."""

    path: str
    key: str


@dataclass(frozen=True)
class ObjectStoreConsumer:
    """A MinIO user and its identity policy, for `objectstore.admin.ConsumerAccess`.

    The resource reads the Vault value `secret_key` while it runs; the value never enters Pulumi inputs
    or state.
    """

    user: str
    policy_name: str
    policy: dict[str, Any]
    secret_key: VaultValue


@dataclass(frozen=True)
class ObjectStorageInput:
    control_center: str
    """The control center's name: Vault path segment, bucket tags."""
    hostname: str
    """Internal host name clients use, e.g. `minio.int.cc.example.com`; route it to the `minio` Service,
    port 9000 (TLS passthrough: MinIO terminates TLS itself)."""
    tls: TlsSettings
    storage_class: str
    environments: tuple[str, ...] = ()
    backups_expiry_days: int = 30
    replicas: int = 4
    drives_per_node: int = 1
    volume_size: str = "100Gi"
    memory_request: str = "2Gi"
    port: int = 443
    """Port of `hostname` as clients see it."""
    root_user: str = "mojaloop-root"
    object_lock: bool = True
    state_retention: DefaultRetention | None = None


@dataclass(frozen=True)
class ObjectStoragePlan:
    service: ServicePlan
    buckets: tuple[BucketSpec, ...]
    consumers: tuple[ObjectStoreConsumer, ...]
    endpoint_url: str
    """What clients outside the cluster use (export it)."""
    in_cluster_endpoint_url: str
    connection: S3Connection
    """Where the S3 API is, for the Bucket/BucketPolicy/ConsumerAccess dynamic resources (the root password
    is read from Vault at `root_password`, see objectstore.control_center)."""
    root_user: str
    root_password: VaultValue
    tls_dns_names: tuple[str, ...]
    """Names the TLS certificate must cover (the Certificate in `service.manifests` covers them when an
    issuer is given)."""


def _validate(spec: ObjectStorageInput) -> None:
    require_dns_label(spec.control_center, "control center name")
    require_hostname(spec.hostname, "object storage hostname")
    require_dns_label(spec.storage_class, "storage class")
    if spec.replicas < 1 or spec.drives_per_node < 1:
        raise ControlCenterPlanError("object storage replicas and drives_per_node must be at least 1")
    if spec.replicas * spec.drives_per_node < MIN_DRIVES:
        raise ControlCenterPlanError(
            f"MinIO distributed mode needs at least {MIN_DRIVES} drives, got replicas={spec.replicas} × "
            f"drives_per_node={spec.drives_per_node}: raise one of them"
        )
    if not 3 <= len(spec.root_user) <= 20 or any(char in spec.root_user for char in "=,"):
        raise ControlCenterPlanError(
            f"MinIO root user {spec.root_user!r} must be 3-20 characters without '=' or ','"
        )
    if not 0 < spec.port < 65536:
        raise ControlCenterPlanError(f"object storage port {spec.port} is not a TCP port")


def tls_dns_names(hostname: str, namespace: str) -> tuple[str, ...]:
    # Distributed MinIO nodes reach each other as <pod>.minio-svc.<ns>.svc over TLS.
    headless = (
        f"*.{HEADLESS_SERVICE}.{namespace}.svc",
        f"*.{HEADLESS_SERVICE}.{namespace}.svc.cluster.local",
    )
    return tuple(sorted({hostname, *service_dns_names(SERVICE, namespace), *headless}))


def minio_values(spec: ObjectStorageInput) -> dict[str, Any]:
    pin = pinned_chart(CHART)
    minio_image, mc_image = pin.image("minio"), pin.image("mc")
    return {
        "mode": "distributed",
        "replicas": spec.replicas,
        "drivesPerNode": spec.drives_per_node,
        "pools": 1,
        "image": {"repository": minio_image.repository, "tag": minio_image.tag, "pullPolicy": "IfNotPresent"},
        "mcImage": {"repository": mc_image.repository, "tag": mc_image.tag, "pullPolicy": "IfNotPresent"},
        "existingSecret": ROOT_SECRET,
        # The chart's default user list creates `console` with a published password: never.
        "users": [],
        "policies": [],
        "buckets": [],
        "svcaccts": [],
        "customCommands": [],
        "tls": {
            "enabled": True,
            "certSecret": spec.tls.secret_name,
            "publicCrt": "tls.crt",
            "privateKey": "tls.key",
        },
        "persistence": {
            "enabled": True,
            "storageClass": spec.storage_class,
            "size": spec.volume_size,
            "accessMode": "ReadWriteOnce",
        },
        "resources": {"requests": {"memory": spec.memory_request}},
        "securityContext": {"enabled": True, **restricted_pod_security(MINIO_UID)},
        "containerSecurityContext": restricted_container_security(),
        "service": {"type": "ClusterIP", "port": str(API_PORT)},
        "consoleService": {"type": "ClusterIP"},
        "ingress": {"enabled": False},
        "consoleIngress": {"enabled": False},
        # Metrics only for authenticated scrapers (the chart defaults to public).
        "metrics": {"serviceMonitor": {"public": False}},
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app": "minio", "release": RELEASE_NAME}},
            }
        ],
    }


def plan_object_storage(spec: ObjectStorageInput) -> ObjectStoragePlan:
    _validate(spec)
    namespace = pinned_chart(CHART).namespace
    try:
        buckets = plan_buckets(
            spec.control_center,
            spec.environments,
            spec.backups_expiry_days,
            object_lock=spec.object_lock,
            state_retention=spec.state_retention,
        )
    except ValueError as error:
        raise ControlCenterPlanError(f"object storage buckets: {error}") from error
    consumer_needs = {name: consumer_need(name) for name in consumers(buckets)}
    planned_consumers = tuple(
        ObjectStoreConsumer(
            user=name,
            policy_name=f"consumer-{name}",
            policy=render_consumer_policy(name, buckets),
            secret_key=VaultValue(
                secret_path(spec.control_center, namespace, need.name), CONSUMER_SECRET_KEY
            ),
        )
        for name, need in sorted(consumer_needs.items())
    )
    root = TemplatedSecret(
        namespace,
        ROOT_SECRET,
        (ROOT_PASSWORD_NEED,),
        {"rootUser": spec.root_user, "rootPassword": "{{ .rootPassword }}"},
        "MinIO root credentials: a fixed user name and the Vault-generated password",
    )
    names = tls_dns_names(spec.hostname, namespace)
    cert = certificate(namespace, spec.tls, names)
    manifests = ([cert] if cert else []) + [root.external_secret(spec.control_center)]
    warnings = []
    if spec.tls.issuer is None:
        warnings.append(
            f"object storage: provide TLS Secret {namespace}/{spec.tls.secret_name} "
            f"covering {', '.join(names)}"
        )
    service = ServicePlan(
        releases=(release(pinned_chart(CHART), RELEASE_NAME, minio_values(spec)),),
        namespaces=(NamespaceSpec(namespace, "restricted", "Object storage (MinIO)"),),
        manifests=tuple(manifests),
        secret_needs=needs_by_namespace(
            (namespace, need) for need in (ROOT_PASSWORD_NEED, *consumer_needs.values())
        ),
        templated_secrets=(root,),
        warnings=tuple(warnings),
    )
    return ObjectStoragePlan(
        service=service,
        buckets=buckets,
        consumers=planned_consumers,
        endpoint_url=https_url(spec.hostname, spec.port),
        in_cluster_endpoint_url=f"https://{SERVICE}.{namespace}.svc.cluster.local:{API_PORT}",
        connection=S3Connection(endpoint=f"{spec.hostname}:{spec.port}", secure=True),
        root_user=spec.root_user,
        root_password=VaultValue(
            secret_path(spec.control_center, namespace, ROOT_PASSWORD_NEED.name), "rootPassword"
        ),
        tls_dns_names=names,
    )
