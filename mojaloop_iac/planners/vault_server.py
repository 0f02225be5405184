"""The control center's Vault-API secrets store as a Helm release, as plain data (pure).

HashiCorp Vault's chart by default, OpenBao's selectable; both run the same server layout:

- HA with integrated raft storage: every pod lists its peers in `retry_join`, so a new or restarted pod
  joins the cluster on its own once the first one is initialised;
- TLS on the listener from a Secret cert-manager issues (`tls.crt`, `tls.key`, `ca.crt`); the plan lists
  the DNS names that certificate must cover and can produce the Certificate itself;
- a file audit device writing to its own persistent volume. OpenBao refuses to enable audit devices through
  its API, so for OpenBao the device is declared in the server configuration; for Vault the bootstrap
  enables it through the API (see mojaloop_iac.vault.bootstrap);
- unsealing: on AWS an `awskms` seal (credentials from the service account's IAM role, IRSA), elsewhere
  Shamir key shares held by the operators (see mojaloop_iac.vault.bootstrap_init);
- no agent injector and no CSI provider: External Secrets Operator delivers secrets to the workloads;
- pods that pass the `restricted` Pod Security level (non-root, no capabilities, RuntimeDefault seccomp):
  raft storage needs no mlock, so no IPC_LOCK capability.

The server configuration is rendered by `render_server_config`, which the tests also use to start a real
OpenBao raft server, so the HCL syntax the chart receives is the one proven to start a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.namespaces import NamespaceSpec

Implementation = Literal["vault", "openbao"]
Substrate = Literal["baremetal", "aws"]
UnsealMethod = Literal["shamir", "awskms"]

IMPLEMENTATIONS: Final = ("vault", "openbao")
SUBSTRATES: Final = ("baremetal", "aws")
# One name for both implementations, so the Services (vault, vault-active, vault-internal) and therefore the
# addresses environments use do not change when the implementation does.
FULLNAME: Final = "vault"
API_PORT: Final = 8200
CLUSTER_PORT: Final = 8201
# Integrated storage's recommended production timing (the default, 5, is tuned for minimal servers).
RAFT_PERFORMANCE_MULTIPLIER: Final = 1
DEFAULT_AUDIT_DEVICE_PATH: Final = "file"
DEFAULT_AUDIT_FILE_NAME: Final = "audit.log"
IRSA_ROLE_ANNOTATION: Final = "eks.amazonaws.com/role-arn"
# A pod counts as ready while uninitialised or sealed, so Helm's wait (and `pulumi up`) completes before the
# operators can initialise and unseal it; only the unsealed leader carries the `vault-active` Service.
READINESS_PATH: Final = "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204"
# The charts' defaults for the server image's user; kept explicit because the security context is ours.
SERVER_UID: Final = 100
SERVER_GID: Final = 1000


@dataclass(frozen=True)
class _Layout:
    """Where each implementation's image and chart put things."""

    chart: str
    cli: str
    home: str  # /vault or /openbao: config, data, audit and userconfig live under it
    ca_cert_env: str  # the CLI's variable naming the CA file (used by `operator` commands run in the pod)
    # OpenBao removed mlock (and warns on the field); Vault wants it disabled explicitly for raft storage.
    disable_mlock: bool
    # OpenBao refuses enabling audit devices through the API: they must be declared in the configuration.
    audit_declared_in_config: bool


_LAYOUTS: Final[dict[str, _Layout]] = {
    "vault": _Layout("vault", "vault", "/vault", "VAULT_CACERT", True, False),
    "openbao": _Layout("openbao", "bao", "/openbao", "BAO_CACERT", False, True),
}

_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[1-9][0-9]*(Mi|Gi|Ti)$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_KMS_KEY = re.compile(
    r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/-]+|alias/[\w/-]+|[0-9a-f-]{36}|mrk-[0-9a-f]{32})$"
)
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HCL_SAFE = re.compile(r'^[^"\\\n{}$]*$')


class VaultServerInputError(ValueError):
    """The secrets store's settings are inconsistent; the message names the setting and the fix."""


# --------------------------------------------------------------------------------------------------
# Server configuration (HCL)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListenerTls:
    cert_file: str
    key_file: str


@dataclass(frozen=True)
class RaftPeer:
    """One `retry_join` entry: a peer's API address and the CA that signed its certificate."""

    leader_api_addr: str
    leader_ca_cert_file: str | None = None


@dataclass(frozen=True)
class AuditFileDevice:
    """A file audit device: its mount path in Vault (`file` means `sys/audit/file`) and the log file."""

    path: str
    file_path: str
    description: str = "Every request and response, sensitive values HMAC'd"


@dataclass(frozen=True)
class AwsKmsSeal:
    region: str
    kms_key_id: str


@dataclass(frozen=True)
class ServerConfig:
    """What `render_server_config` turns into a server configuration file."""

    listener_address: str
    cluster_listener_address: str
    raft_path: str
    tls: ListenerTls | None
    retry_join: tuple[RaftPeer, ...] = ()
    # Declared in the file only where the server requires it (OpenBao); empty otherwise.
    audit_devices: tuple[AuditFileDevice, ...] = ()
    seal: AwsKmsSeal | None = None
    node_id: str | None = None
    api_addr: str | None = None
    cluster_addr: str | None = None
    kubernetes_service_registration: bool = False
    disable_mlock: bool = False
    performance_multiplier: int = RAFT_PERFORMANCE_MULTIPLIER
    ui: bool = True


def _quoted(value: str, what: str) -> str:
    """A double-quoted HCL string; values here are paths, addresses and ids, never needing escapes."""
    if not _HCL_SAFE.match(value):
        raise VaultServerInputError(
            f"{what} {value!r} contains a quote, backslash, brace, '$' or newline, which the server "
            "configuration cannot hold"
        )
    return f'"{value}"'


def render_server_config(config: ServerConfig) -> str:
    """The server's HCL configuration file."""
    lines: list[str] = []
    if config.ui:
        lines.append("ui = true")
    if config.disable_mlock:
        lines.append("disable_mlock = true")
    if config.api_addr:
        lines.append(f"api_addr = {_quoted(config.api_addr, 'api_addr')}")
    if config.cluster_addr:
        lines.append(f"cluster_addr = {_quoted(config.cluster_addr, 'cluster_addr')}")
    lines += [
        "",
        'listener "tcp" {',
        f"  address = {_quoted(config.listener_address, 'listener address')}",
        f"  cluster_address = {_quoted(config.cluster_listener_address, 'cluster listener address')}",
    ]
    if config.tls is None:
        lines.append("  tls_disable = true")
    else:
        lines += [
            f"  tls_cert_file = {_quoted(config.tls.cert_file, 'TLS certificate file')}",
            f"  tls_key_file = {_quoted(config.tls.key_file, 'TLS key file')}",
            '  tls_min_version = "tls12"',
        ]
    lines += ["}", "", 'storage "raft" {', f"  path = {_quoted(config.raft_path, 'raft path')}"]
    if config.node_id:
        lines.append(f"  node_id = {_quoted(config.node_id, 'raft node id')}")
    lines.append(f"  performance_multiplier = {int(config.performance_multiplier)}")
    for peer in config.retry_join:
        lines += ["", "  retry_join {", f"    leader_api_addr = {_quoted(peer.leader_api_addr, 'raft peer')}"]
        if peer.leader_ca_cert_file:
            lines.append(
                f"    leader_ca_cert_file = {_quoted(peer.leader_ca_cert_file, 'raft peer CA file')}"
            )
        lines.append("  }")
    lines.append("}")
    if config.kubernetes_service_registration:
        # Labels the active pod, so the `vault-active` Service always reaches the leader.
        lines += ["", 'service_registration "kubernetes" {}']
    if config.seal is not None:
        lines += [
            "",
            'seal "awskms" {',
            f"  region = {_quoted(config.seal.region, 'AWS region')}",
            f"  kms_key_id = {_quoted(config.seal.kms_key_id, 'KMS key id')}",
            "}",
        ]
    for device in config.audit_devices:
        lines += [
            "",
            f'audit "file" {_quoted(device.path, "audit device path")} {{',
            f"  description = {_quoted(device.description, 'audit device description')}",
            "  options {",
            f"    file_path = {_quoted(device.file_path, 'audit file path')}",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VaultServerInput:
    domain: str
    """Internal domain of the control center; the API is served as `vault.<domain>`."""
    tls_secret_name: str
    """Kubernetes Secret (type kubernetes.io/tls, from cert-manager) with tls.crt, tls.key and ca.crt."""
    implementation: Implementation = "vault"
    substrate: Substrate = "baremetal"
    replicas: int = 3
    storage_class: str | None = None
    """StorageClass of the data and audit volumes; None uses the cluster's default class."""
    data_storage_size: str = "10Gi"
    audit_storage_size: str = "10Gi"
    audit_device_path: str = DEFAULT_AUDIT_DEVICE_PATH
    audit_file_name: str = DEFAULT_AUDIT_FILE_NAME
    kms_key_id: str | None = None
    """AWS only: KMS key (id, ARN or alias) that auto-unseals the servers."""
    aws_region: str | None = None
    """AWS only: region of the KMS key."""
    service_account_role_arn: str | None = None
    """AWS only: IAM role (IRSA) the server pods assume to use the KMS key."""
    kubernetes_version: str | None = None
    """The cluster's Kubernetes minor version, e.g. "1.30"; checked against the chart's minimum."""


@dataclass(frozen=True)
class VaultServerPlan:
    release: HelmReleaseSpec
    namespace: NamespaceSpec
    server_config: ServerConfig
    server_config_hcl: str
    unseal: UnsealMethod
    cli: str
    """`vault` or `bao`: the command named in operator instructions."""
    audit_device: AuditFileDevice
    audit_declared_in_server_config: bool
    """True: the server creates the audit device from its configuration (the bootstrap only checks it)."""
    api_hostname: str
    internal_address: str
    """Address of the active server inside the cluster."""
    tls_secret_name: str
    tls_dns_names: tuple[str, ...]
    """Names the TLS certificate must cover: the API host name, the Services and every pod's peer name."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise VaultServerInputError(message)


def _minor(version: str, what: str) -> tuple[int, int]:
    match = re.match(r"^v?(\d+)\.(\d+)", str(version))
    _require(match is not None, f"{what} {version!r} is not a Kubernetes version such as '1.30'")
    assert match is not None
    return int(match.group(1)), int(match.group(2))


def _check(server: VaultServerInput) -> None:
    _require(
        server.implementation in IMPLEMENTATIONS,
        f"implementation {server.implementation!r} is not one of {', '.join(IMPLEMENTATIONS)}",
    )
    _require(
        server.substrate in SUBSTRATES,
        f"substrate {server.substrate!r} is not one of {', '.join(SUBSTRATES)}",
    )
    _require(
        isinstance(server.replicas, int) and server.replicas >= 1 and server.replicas % 2 == 1,
        f"replicas {server.replicas!r} must be an odd number (3 or 5 for HA): raft needs a majority of "
        "servers to elect a leader, and an even number adds no failure tolerance",
    )
    _require(bool(_DNS_NAME.match(server.domain or "")), f"domain {server.domain!r} is not a DNS name")
    _require(
        bool(_DNS_NAME.match(server.tls_secret_name or "")),
        f"tls_secret_name {server.tls_secret_name!r} is not a Kubernetes Secret name",
    )
    _require(
        server.storage_class is None or bool(_DNS_NAME.match(server.storage_class)),
        f"storage_class {server.storage_class!r} is not a StorageClass name",
    )
    for name in ("data_storage_size", "audit_storage_size"):
        value = getattr(server, name)
        _require(bool(_QUANTITY.match(str(value))), f"{name} {value!r} must be a size such as '10Gi'")
    _require(
        bool(_DNS_LABEL.match(server.audit_device_path or "")),
        f"audit_device_path {server.audit_device_path!r} must be a single lower-case path segment such as 'file'",
    )
    _require(
        bool(_FILE_NAME.match(server.audit_file_name or "")),
        f"audit_file_name {server.audit_file_name!r} must be a plain file name such as 'audit.log'",
    )
    aws_settings = {
        "kms_key_id": server.kms_key_id,
        "aws_region": server.aws_region,
        "service_account_role_arn": server.service_account_role_arn,
    }
    if server.substrate == "aws":
        missing = [name for name, value in aws_settings.items() if not value]
        _require(
            not missing,
            f"substrate 'aws' auto-unseals with a KMS key: set {', '.join(missing)} "
            "(the key, its region, and the IAM role the Vault pods assume through IRSA)",
        )
        _require(
            bool(_KMS_KEY.match(server.kms_key_id or "")),
            f"kms_key_id {server.kms_key_id!r} is not a KMS key id, key ARN or alias",
        )
        _require(
            bool(_AWS_REGION.match(server.aws_region or "")),
            f"aws_region {server.aws_region!r} is not an AWS region",
        )
        _require(
            bool(_ROLE_ARN.match(server.service_account_role_arn or "")),
            f"service_account_role_arn {server.service_account_role_arn!r} is not an IAM role ARN "
            "(arn:aws:iam::<account>:role/<name>)",
        )
    else:
        given = [name for name, value in aws_settings.items() if value]
        _require(
            not given,
            f"{', '.join(given)} apply to substrate 'aws' only: on '{server.substrate}' the servers are "
            "unsealed with Shamir key shares held by the operators; remove them or set substrate 'aws'",
        )


def _pin(implementation: str) -> dict[str, Any]:
    pins = chart_pins()
    chart = _LAYOUTS[implementation].chart
    if chart not in pins:
        raise VaultServerInputError(
            f"no pin for chart {chart!r} in config/charts/: add repo, version, namespace"
        )
    return pins[chart]


def _service_dns_names(namespace: str) -> list[str]:
    names = []
    for service in (FULLNAME, f"{FULLNAME}-active", f"{FULLNAME}-standby", f"{FULLNAME}-internal"):
        names += [service, f"{service}.{namespace}", f"{service}.{namespace}.svc"]
    # Each pod's stable name through the headless Service: what retry_join and the cluster port use.
    names += [
        f"*.{FULLNAME}-internal",
        f"*.{FULLNAME}-internal.{namespace}",
        f"*.{FULLNAME}-internal.{namespace}.svc",
    ]
    return names


def plan_vault_server(server: VaultServerInput) -> VaultServerPlan:
    """The Helm release (chart pinned in config/charts/vault.yaml) and what the bootstrap needs to know."""
    _check(server)
    layout = _LAYOUTS[server.implementation]
    pin = _pin(server.implementation)
    minimum = (pin.get("kubernetes") or {}).get("minimum")
    if server.kubernetes_version is not None and minimum is not None:
        _require(
            _minor(server.kubernetes_version, "kubernetes_version")
            >= _minor(str(minimum), "kubernetes.minimum"),
            f"the {layout.chart} chart {pin['version']} requires Kubernetes {minimum} or later, the cluster "
            f"runs {server.kubernetes_version}: upgrade the cluster or choose the other implementation",
        )
    namespace = str(pin["namespace"])
    tls_dir = f"{layout.home}/userconfig/{server.tls_secret_name}"
    audit_device = AuditFileDevice(server.audit_device_path, f"{layout.home}/audit/{server.audit_file_name}")
    peers = tuple(
        RaftPeer(f"https://{FULLNAME}-{index}.{FULLNAME}-internal:{API_PORT}", f"{tls_dir}/ca.crt")
        for index in range(server.replicas)
    )
    seal = (
        AwsKmsSeal(region=str(server.aws_region), kms_key_id=str(server.kms_key_id))
        if server.substrate == "aws"
        else None
    )
    config = ServerConfig(
        listener_address=f"[::]:{API_PORT}",
        cluster_listener_address=f"[::]:{CLUSTER_PORT}",
        raft_path=f"{layout.home}/data",
        tls=ListenerTls(f"{tls_dir}/tls.crt", f"{tls_dir}/tls.key"),
        retry_join=peers,
        audit_devices=(audit_device,) if layout.audit_declared_in_config else (),
        seal=seal,
        kubernetes_service_registration=True,
        disable_mlock=layout.disable_mlock,
    )
    hcl = render_server_config(config)
    server_values: dict[str, Any] = {
        "ha": {
            "enabled": True,
            "replicas": server.replicas,
            # Node ids are the pod names, so `operator raft list-peers` says which pod is which.
            "raft": {"enabled": True, "setNodeId": True, "config": hcl},
        },
        "dataStorage": _volume(server.data_storage_size, server.storage_class),
        "auditStorage": _volume(server.audit_storage_size, server.storage_class),
        # Mounted read-only at <home>/userconfig/<secret>/.
        "extraVolumes": [{"type": "secret", "name": server.tls_secret_name}],
        # `operator` commands run inside a pod verify the listener's certificate against the issuing CA.
        "extraEnvironmentVars": {layout.ca_cert_env: f"{tls_dir}/ca.crt"},
        "statefulSet": {"securityContext": _restricted_security_context()},
        # The charts' default probe (`status` exits 2 while sealed) would keep every fresh install unready.
        "readinessProbe": {"enabled": True, "path": READINESS_PATH},
    }
    if server.substrate == "aws":
        # The KMS seal finds its credentials through IRSA: no access keys in values, files or state.
        server_values["serviceAccount"] = {
            "annotations": {IRSA_ROLE_ANNOTATION: server.service_account_role_arn}
        }
    values = {
        "fullnameOverride": FULLNAME,
        "global": {"tlsDisable": False},
        # Workloads get their secrets from External Secrets Operator; the injector's webhook and the CSI
        # provider would only widen what can reach Vault.
        "injector": {"enabled": False},
        "csi": {"enabled": False},
        "server": server_values,
    }
    release = HelmReleaseSpec(
        name=FULLNAME,
        chart=str(pin.get("chart", layout.chart)),
        repo=str(pin["repo"]),
        version=str(pin["version"]),
        namespace=namespace,
        values=values,
    )
    api_hostname = f"vault.{server.domain}"
    return VaultServerPlan(
        release=release,
        namespace=NamespaceSpec(namespace, "restricted", "Vault-API secrets store (control center)"),
        server_config=config,
        server_config_hcl=hcl,
        unseal="awskms" if server.substrate == "aws" else "shamir",
        cli=layout.cli,
        audit_device=audit_device,
        audit_declared_in_server_config=layout.audit_declared_in_config,
        api_hostname=api_hostname,
        internal_address=f"https://{FULLNAME}-active.{namespace}.svc:{API_PORT}",
        tls_secret_name=server.tls_secret_name,
        tls_dns_names=(api_hostname, *_service_dns_names(namespace)),
    )


def _volume(size: str, storage_class: str | None) -> dict[str, Any]:
    volume: dict[str, Any] = {"enabled": True, "size": size, "accessMode": "ReadWriteOnce"}
    if storage_class is not None:
        volume["storageClass"] = storage_class
    return volume


def _restricted_security_context() -> dict[str, Any]:
    """What the `restricted` Pod Security level demands; the charts' own defaults fall short of it."""
    return {
        "pod": {
            "runAsNonRoot": True,
            "runAsUser": SERVER_UID,
            "runAsGroup": SERVER_GID,
            "fsGroup": SERVER_GID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "container": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def vault_certificate(
    plan: VaultServerPlan, issuer_name: str, issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
) -> dict[str, Any]:
    """The cert-manager Certificate that fills the plan's TLS Secret.

    The issuer must be a CA (or Vault/Venafi) issuer: ACME cannot certify the in-cluster names, and the
    Secret's ca.crt is what peers use to verify each other in retry_join.
    """
    _require(
        bool(_DNS_NAME.match(issuer_name or "")),
        f"issuer_name {issuer_name!r} is not a cert-manager issuer name",
    )
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": plan.tls_secret_name, "namespace": plan.namespace.name},
        "spec": {
            "secretName": plan.tls_secret_name,
            "commonName": plan.api_hostname,
            "dnsNames": list(plan.tls_dns_names),
            # `operator` commands in the pod talk to 127.0.0.1.
            "ipAddresses": ["127.0.0.1"],
            "duration": "2160h",
            "renewBefore": "720h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "usages": ["server auth", "client auth", "digital signature", "key encipherment"],
            "issuerRef": {"name": issuer_name, "kind": issuer_kind, "group": "cert-manager.io"},
        },
    }
