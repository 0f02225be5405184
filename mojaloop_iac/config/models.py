"""Typed, frozen models of a stack's configuration.

One schema covers both stack kinds: a stack file configures exactly one of `environment` or
`controlCenter` under the `mojaloop:` namespace. Keys are camelCase in YAML and snake_case here.
Field descriptions are the config reference: the README's reference is generated from them.
Rules that relate several fields live in `rules.py`, so that each is a small, testable function.
"""

from __future__ import annotations

import copy
import ipaddress
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from mojaloop_iac import contract
from mojaloop_iac.config.defaults import defaults, load_data_file
from mojaloop_iac.config.syntax import (
    AllowedIPv4Network,
    AllowedNetwork,
    ApiEndpoint,
    AwsRegion,
    CaCertificateFile,
    ChartVersion,
    CommitId,
    DnsLabel,
    Domain,
    Duration,
    Email,
    EnvironmentVariable,
    GithubRepository,
    GitlabProject,
    HostAddress,
    HttpsUrl,
    HttpUrl,
    InstanceType,
    IPv4Address,
    JwtAudience,
    K3sBinaryFile,
    K3sInstallScriptFile,
    K3sVersion,
    KnownHostsFile,
    KubernetesMinor,
    LabelKey,
    LabelValue,
    NodeLabelKey,
    OptionalHttpUrl,
    PgpPublicKeyFile,
    PosixUser,
    RegistryHost,
    ReleaseVersion,
    Sha256,
    SshPrivateKeyFile,
    SshTarget,
    StackName,
    StackReference,
    UsableNetwork,
    ValuesFile,
    VaultAddress,
    WholeNumber,
    WireGuardEndpoint,
    WireGuardPublicKey,
    duration_seconds,
    prefix_between,
)

_DEFAULTS = defaults()
LAYOUTS: dict[str, dict[str, Any]] = load_data_file("layouts.yaml")

MAX_NODES = 5000
"""Kubernetes supports clusters of up to 5000 nodes."""
MAX_NODES_PER_GROUP = 450
"""EKS: at most 450 nodes in a managed node group."""


def _odd_raft_peers(value: int) -> int:
    if value % 2 == 0:
        raise ValueError(f"{value} raft peers cannot keep a majority through a failure any better than "
                         f"{value - 1}; use an odd number: 1, 3 or 5")
    return value


MAX_QA_TOKEN_TTL_SECONDS = 24 * 3600
"""A QA run's up, test and down fit in a day; a longer-lived deployer token is a standing credential."""


def _at_most_a_day(value: str) -> str:
    if duration_seconds(value) > MAX_QA_TOKEN_TTL_SECONDS:
        raise ValueError(f"{value!r} is longer than a day: a QA deployer token lives for one QA run (up, tests, "
                         "down); at most 24h, e.g. 2h")
    return value


WorkloadClass = Literal[contract.WORKLOAD_CLASSES]  # type: ignore[valid-type]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


MAX_DESCRIPTION_LENGTH = 1024
"""A description is a few lines in the plan, not a document."""


class Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


class Substrate(StrEnum):
    BAREMETAL = "baremetal"
    AWS = "aws"


class Taint(Model):
    key: LabelKey
    """Taint key, e.g. `moja-enabled`."""
    value: LabelValue = ""
    """Taint value, e.g. `"true"`."""
    effect: TaintEffect
    """One of NoSchedule, PreferNoSchedule, NoExecute."""

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


class Toleration(Model):
    key: LabelKey | None = None
    """Taint key tolerated; empty with operator Exists tolerates every taint."""
    operator: Literal["Equal", "Exists"] = "Equal"
    """Equal matches key and value; Exists matches the key only."""
    value: LabelValue = ""
    """Taint value tolerated (operator Equal), e.g. `"true"`."""
    effect: TaintEffect | None = None
    """Effect tolerated; empty tolerates every effect."""

    @model_validator(mode="after")
    def _operator_fits(self) -> Toleration:
        # Kubernetes refuses both: Exists matches any value, and only Exists may leave the key out.
        if self.operator == "Exists" and self.value:
            raise ValueError("value must be empty with operator Exists, which matches every value of the key; "
                             "use operator Equal to match one value")
        if self.operator == "Equal" and self.key is None:
            raise ValueError("key is required with operator Equal; only operator Exists may leave it out (to "
                             "tolerate every taint)")
        return self

    def tolerates(self, taint: Taint) -> bool:
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.key is None:
            return self.operator == "Exists"
        if self.key != taint.key:
            return False
        return self.operator == "Exists" or self.value == taint.value


class AwsNodeGroup(Model):
    instance_types: tuple[InstanceType, ...] = Field(min_length=1)
    """EC2 instance types of the managed node group, x86-64 only (Mojaloop does not run on ARM), e.g.
    `[m6i.xlarge]`."""
    min_size: WholeNumber = Field(ge=0, le=MAX_NODES_PER_GROUP)
    """Minimum number of nodes."""
    max_size: WholeNumber = Field(ge=1, le=MAX_NODES_PER_GROUP)
    """Maximum number of nodes (EKS allows at most 450 in a managed node group)."""
    desired_size: WholeNumber = Field(ge=0, le=MAX_NODES_PER_GROUP)
    """Desired number of nodes at creation."""
    disk_size_gib: WholeNumber = Field(default=50, ge=20, le=16384)
    """Root volume size in GiB (encrypted gp3)."""


class NodePool(Model):
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    """What the pool is for, at most 1024 characters; shown in the plan, e.g. `Kafka brokers`."""
    workload_classes: tuple[WorkloadClass, ...] = ()
    """Mojaloop workload classes scheduled on this pool; each becomes a node label
    `workload-class.mojaloop.io/<CLASS>: enabled`, e.g. `[KAFKA-CONTROL-PLANE, KAFKA-DATA-PLANE]`."""
    labels: dict[NodeLabelKey, LabelValue] = {}
    """Extra node labels; not under `kubernetes.io/` or `k8s.io/` (Kubernetes' own), nor the toolkit's own
    `workload-class.mojaloop.io/` and `mojaloop.io/node-pool`, e.g. `{storage.example.com/tier: fast}`."""
    taints: tuple[Taint, ...] = ()
    """Node taints; dedicated Mojaloop pools carry `moja-enabled=true:NoSchedule`."""
    aws: AwsNodeGroup | None = None
    """Managed node group sizing (AWS substrate only)."""


class Host(Model):
    name: DnsLabel
    """Host name; becomes the Kubernetes node name, e.g. `demo-core-1`."""
    address: HostAddress
    """The node's own IPv4 address (not loopback, link-local, multicast, broadcast or unspecified), e.g.
    `192.0.2.11`: the other nodes, the API endpoint and the mesh use it; Ansible connects to it unless `sshHost`
    is set."""
    ssh_host: SshTarget | None = None
    """Where Ansible connects when that is not `address`: a NAT address, a bastion's forwarded port or a
    tunnel on the operator's machine (so a loopback address is allowed here). Default: `address`,
    e.g. `203.0.113.11`."""
    ssh_port: WholeNumber = Field(default=22, ge=1, le=65535)
    """The SSH port Ansible connects to (at `sshHost`, or `address`), e.g. `22`."""
    role: Literal["server", "agent"]
    """`server` runs the control plane (k3s server), `agent` only workloads."""
    pool: DnsLabel
    """Name of the node pool (key of `nodePools`) the host belongs to, e.g. `core`."""

    @property
    def ssh_endpoint(self) -> tuple[str, int]:
        """(host, port) Ansible's SSH connection goes to."""
        return str(self.ssh_host if self.ssh_host is not None else self.address), self.ssh_port


class BareMetal(Model):
    hosts: tuple[Host, ...] = Field(min_length=1, max_length=MAX_NODES)
    """The machines of the cluster; one or three `server` hosts."""
    ssh_user: PosixUser = _DEFAULTS["baremetal"]["sshUser"]
    """User Ansible connects as (with passwordless sudo); a POSIX user name, not root, e.g. `debian`."""
    ssh_private_key_file: SshPrivateKeyFile | None = None
    """Private key Ansible logs in with, a file on the machine running mojactl; default: ssh's own. May lie
    outside the project (`~` is expanded): an SSH key belongs to the operator's account, e.g. ~/.ssh."""
    ssh_known_hosts_file: KnownHostsFile | None = None
    """known_hosts file holding the hosts' keys; default ~/.ssh/known_hosts. Host keys are always checked.
    May lie outside the project, like the SSH key."""
    k3s_version: K3sVersion | None = Field(default=None, alias="k3sVersion")
    """k3s release to install; by default the one config/versions.yaml pins for `kubernetes.version`."""
    k3s_install_script_url: HttpUrl | None = Field(default=None, alias="k3sInstallScriptUrl")
    """Where the playbooks fetch the k3s install script (https; http only with `insecureHttp`); default: the
    revision config/versions.yaml pins (`k3sInstaller`). Point at a mirror for air-gapped sites (with
    `k3sInstallScriptSha256` if it differs)."""
    k3s_install_script_path: K3sInstallScriptFile | None = Field(default=None, alias="k3sInstallScriptPath")
    """The k3s install script (a `#!` script) as a file on the machine running mojactl (air-gapped sites); wins
    over the URL. May lie outside the project: a site's mirror (e.g. /srv/mirror/k3s) serves every stack."""
    k3s_install_script_sha256: Sha256 | None = Field(default=None, alias="k3sInstallScriptSha256")
    """sha256 the install script must have before it runs; default: the pinned installer's (config/versions.yaml).
    Required for a script other than the pinned one, e.g. the output of `sha256sum install.sh`."""
    k3s_binary_url: OptionalHttpUrl = Field(default="", alias="k3sBinaryUrl")
    """Where to fetch the k3s binary (a mirror; https, http only with `insecureHttp`); empty lets the install
    script download it."""
    k3s_binary_path: K3sBinaryFile | None = Field(default=None, alias="k3sBinaryPath")
    """The k3s binary (x86-64) as a file on the machine running mojactl (air-gapped sites). May lie outside
    the project, like the install script."""
    ha_embedded_etcd: bool = False
    """Run embedded etcd across three servers (required with three servers, refused with one)."""
    api_endpoint: ApiEndpoint | None = None
    """The Kubernetes API's address in front of the servers: a virtual IP or a load balancer forwarding TCP
    6443 to them (HA), e.g. `192.0.2.10` or `api.demo.example.com`. Agents, the fetched kubeconfig and Vault use
    it, and it is in the API certificate. Default: the first server's address."""
    api_allowed_cidrs: tuple[AllowedNetwork, ...] = ()
    """Networks besides the cluster's own nodes whose hosts may reach the Kubernetes API (TCP 6443): the
    WireGuard mesh, operators' networks, the load balancer in `apiEndpoint`. The host firewall drops the rest;
    not the whole address space (0.0.0.0/0 would open the API to everyone)."""
    registry_mirror: RegistryHost = ""
    """Registry mirror the nodes pull through over https (the control center's `registryMirror`), a
    `host[:port][/path]` or its https:// URL, e.g. `mirror.int.cc.example.com`; empty for none."""
    insecure_http: bool = False
    """Allow http:// in k3sInstallScriptUrl and k3sBinaryUrl (validation warns): the installer runs as root on
    every host, so anyone on the path could replace it. For a lab without TLS only."""

    @property
    def registry_mirror_host(self) -> str:
        """The mirror as image references name it: no scheme, no trailing slash."""
        return self.registry_mirror.split("://", 1)[-1].rstrip("/")


class Aws(Model):
    region: AwsRegion
    """AWS region, e.g. `eu-west-1`."""
    vpc_cidr: Annotated[
        UsableNetwork, prefix_between(16, 24, "AWS allows no VPC larger than a /16, and each zone's subnets need "
                                      "room: a /16 is recommended, since pods take VPC addresses on EKS")
    ]
    """CIDR of the environment's VPC, a /16 to a /24; subnets are carved from it, e.g. `10.20.0.0/16`."""
    availability_zones: WholeNumber = Field(default=2, ge=2, le=6)
    """How many availability zones the VPC and node groups span."""
    api_access_cidrs: tuple[AllowedIPv4Network, ...] = ()
    """Networks allowed to reach the EKS API endpoint from outside the VPC (operators' and CI's egress
    addresses); empty (the default): the endpoint is private, reached from inside the VPC only (the nodes,
    operators over the WireGuard mesh or a VPN), and `pulumi up` must run from there."""


class Kubernetes(Model):
    version: KubernetesMinor
    """Kubernetes minor version of the cluster, e.g. `"1.28"`; must be one the release supports."""


class Network(Model):
    pod_cidr: Annotated[
        UsableNetwork, prefix_between(8, 24, "each node takes a /24 of it")
    ] = ipaddress.IPv4Network(_DEFAULTS["network"]["podCidr"])
    """Cluster pod CIDR, a /8 to a /24 (each node takes a /24 of it), e.g. `10.42.0.0/16`."""
    service_cidr: Annotated[
        UsableNetwork, prefix_between(12, 24, "Kubernetes allows no service range larger than a /12, and "
                                      "Mojaloop's services need more addresses than a /25 holds")
    ] = ipaddress.IPv4Network(_DEFAULTS["network"]["serviceCidr"])
    """Cluster service CIDR, a /12 to a /24, e.g. `10.43.0.0/16`."""


class Domains(Model):
    internal: Domain
    """Domain of the internal gateway (hub operators, portals), e.g. `int.demo.mojaloop.example`."""
    external: Domain
    """Domain of the external gateway (the FSPIOP interop API for DFSPs); not the internal one,
    e.g. `demo.mojaloop.example`."""


class Features(Model):
    bulk: bool = False
    """Enable bulk transfers (and their test collection)."""
    third_party: bool = False
    """Enable third-party (PISP) services (and their test collections)."""


class MojaloopSettings(Model):
    release: ReleaseVersion
    """Mojaloop release to install; one of the release catalog (`mojactl releases`), e.g. `15.2.0`."""
    installed_release: ReleaseVersion | None = None
    """The release running now, when `release` names a newer one: validation plans the upgrade (or refuses
    the jump with the reason) and the plan summary lists its ordered steps, e.g. `15.1.0`."""
    helm_release_name: str = Field(default=contract.MOJALOOP_RELEASE_NAME)
    """Helm release name of the umbrella chart: lower-case letters, digits and '-', starting with a letter,
    at most 13 characters (the chart's generated names must fit Kubernetes' 63), e.g. `moja`."""
    namespace: DnsLabel = contract.MOJALOOP_NAMESPACE
    """Namespace of the Mojaloop and backend releases, e.g. `mojaloop`; not Kubernetes' or a platform service's."""
    features: Features = Features()
    """Optional Mojaloop features."""
    values_file: ValuesFile | None = None
    """YAML file (relative to the stack file's directory, inside the project) deep-merged last into the
    umbrella chart's values; anything credential-like is refused there: reference Secrets instead,
    e.g. `values/demo.yaml`."""
    backend_values_file: ValuesFile | None = None
    """YAML file deep-merged last into the backend chart's values (same rules), e.g. `values/demo-backend.yaml`."""


class VaultAccess(Model):
    address: VaultAddress | None = None
    """Vault (or OpenBao) API address, https, without user or path, e.g.
    `https://vault.int.cc.example.com:8200`; by default the control center's (`controlCenterStack` output
    `vaultAddress`)."""
    insecure_http: bool = False
    """Allow an http:// `address` (validation warns): the Vault token and every generated password then cross
    the network in clear. For a lab without TLS only."""
    ca_cert_file: CaCertificateFile | None = None
    """CA certificate that signed Vault's TLS certificate (a PEM file, relative to the stack file's directory,
    inside the project); default: the control center's (`controlCenterStack` output `vaultCaCert`), else the
    system's CAs, e.g. `certs/vault-ca.pem`."""
    token_env: EnvironmentVariable = "VAULT_TOKEN"
    """Environment variable holding the Vault token at `pulumi up` (never stored in config or state),
    e.g. `VAULT_TOKEN`."""
    kv_mount: DnsLabel = "mojaloop"
    """KV v2 mount holding every environment's secrets, each under `environments/<env>/<namespace>/`,
    e.g. `mojaloop`."""
    kubernetes_host: HttpsUrl | None = None
    """The cluster's API server as Vault reaches it; default: the EKS endpoint, or `https://<first server>:6443`,
    e.g. `https://192.0.2.11:6443`."""
    retain_secrets_on_delete: bool = True
    """Keep the generated secrets in Vault when the stack is destroyed (False deletes every version)."""


class Placement(Model):
    tolerations: tuple[Toleration, ...] = tuple(
        Toleration.model_validate(item) for item in _DEFAULTS["placement"]["tolerations"]
    )
    """Tolerations every Mojaloop workload carries; must tolerate the taints of the pools its
    workload classes are placed on."""


class Tls(Model):
    internal_issuer: Literal["internal-ca", "acme"] = "internal-ca"
    """Who signs the internal gateway's wildcard certificate: the cluster's own CA, or ACME (public DNS)."""
    external_issuer: Literal["internal-ca", "acme"] = "internal-ca"
    """Who signs the external (interop) gateway's certificate; `acme` for a public name."""
    acme_email: Email | None = None
    """The ACME account's contact address (required when an issuer is `acme`), e.g. `ops@example.org`."""
    acme_server: HttpsUrl | None = None
    """ACME directory; default Let's Encrypt production (use its staging URL while trying things out),
    e.g. `https://acme-v02.api.letsencrypt.org/directory`."""
    acme_dns01_solver: dict[str, Any] | None = None
    """A cert-manager dns01 solver (wildcards need DNS-01), e.g. `{route53: {region: eu-west-1}}`;
    credentials only as `...SecretRef`s."""


class Lifecycle(StrEnum):
    PERSISTENT = "persistent"
    EPHEMERAL = "ephemeral"


class Profile(StrEnum):
    STANDARD = "standard"
    QA = "qa"


class SharedQaCluster(Model):
    stack: StackReference
    """The shared QA cluster's own stack (`org/project/stack`, or a stack name; a persistent environment with
    `qaHost: true`): its `kubeconfig` output is the cluster this environment deploys into."""
    environment: DnsLabel
    """The shared QA cluster's environment name: its Kubernetes auth mount and QA read policy in Vault serve
    this environment's namespaces, and its internal gateway routes this environment's hosts."""


class QaOrigin(Model):
    id: DnsLabel
    """The QA environment's ID (DNS-safe, as `mojactl qa stack --id` made it), e.g. `pr-123`."""
    template: StackName
    """The environment stack this QA environment was derived from."""
    source: HttpUrl | None = None
    """The change under test: the merge or pull request's URL."""
    commit: CommitId | None = None
    """The commit under test."""
    owner: str | None = Field(default=None, max_length=256)
    """Who asked for it (the CI user or the person who ran `mojactl qa`)."""
    shared_cluster: SharedQaCluster | None = None
    """Deploy into a shared QA cluster instead of building a cluster of its own."""
    host_slot: DnsLabel | None = None
    """On bare metal: the host-pool slot (stacks/qa-host-pool.yaml) whose hosts this environment's cluster runs on."""


class ClusterSettings(Model):
    """What every stack kind has: a cluster on a substrate."""

    @model_validator(mode="before")
    @classmethod
    def _node_pools_from_layout(cls, data: Any) -> Any:
        # A layout stands in for nodePools: filled in before validation so every rule sees the pools.
        if isinstance(data, dict) and data.get("layout") is not None and "nodePools" in data:
            raise ValueError("set either layout or nodePools, not both")
        if isinstance(data, dict) and data.get("layout") in LAYOUTS:
            pools = copy.deepcopy(LAYOUTS[data["layout"]])
            if data.get("substrate") != "aws":
                for pool in pools.values():
                    pool.pop("aws", None)
            data = {**data, "nodePools": pools}
        return data

    name: DnsLabel
    """Name of the environment or control center; prefixes resource names, e.g. `demo` (at most 52 characters,
    31 on AWS)."""
    substrate: Substrate
    """Where the cluster runs: `baremetal` (hosts prepared by Ansible, k3s) or `aws` (EKS)."""
    kubernetes: Kubernetes
    """Kubernetes settings."""
    network: Network = Network()
    """Cluster networking."""
    domains: Domains
    """DNS domains served by the gateways."""
    node_pools: dict[DnsLabel, NodePool] = Field(min_length=1)
    """Node pools keyed by name."""
    baremetal: BareMetal | None = None
    """Hosts and k3s settings (substrate `baremetal`)."""
    aws: Aws | None = None
    """AWS settings (substrate `aws`)."""
    tls: Tls = Tls()
    """Certificates for the gateways (cert-manager issuers)."""
    chart_versions: dict[str, ChartVersion] = {}
    """Per-stack overrides of platform chart versions, keyed by Helm release name or product: Istio,
    cert-manager and External Secrets default to the versions config/platform-versions.yaml pins for the
    Kubernetes minor (e.g. `istio: 1.24.5` moves every Istio chart; Istio charts must share one version),
    others to config/charts; the Mojaloop charts' versions come from the release catalog."""
    chart_mirror: HttpUrl | None = None
    """An HTTP(S) Helm repository every chart is installed from instead of its own repository (air-gapped
    hubs: the control center's mirror), e.g. `https://gitlab.int.cc.example.com/api/v4/projects/7/packages/helm/stable`;
    it also holds the pinned upstream manifests under `manifests/<source>-<version>/`. `mojactl plan --render`
    fetches from it too. https; http only with `chartMirrorInsecureHttp`."""
    chart_mirror_insecure_http: bool = False
    """Allow an http:// `chartMirror` (validation warns): every chart and manifest the cluster installs could be
    replaced on the way. For a lab without TLS only."""


class Environment(ClusterSettings):
    layout: Literal["small", "production", "qa"] | None = None
    """Start from a node-pool layout of config/layouts.yaml instead of listing `nodePools` (on bare metal
    AWS sizing is dropped; on AWS it applies)."""
    mojaloop: MojaloopSettings
    """The Mojaloop release and how it is installed."""
    vault: VaultAccess = VaultAccess()
    """The Vault that generates this environment's passwords (the control center's secrets store)."""
    control_center_stack: StackReference | None = None
    """The control-center stack this environment uses (`org/project/stack`, or a stack name): its outputs
    give the Vault address unless `vault.address` is set, and its Vault bootstrap administers this
    environment's access (declare the environment in its `environments`; run with a token of the
    `env-<name>-deployer` role), e.g. `organization/mojaloop/control-center`."""
    placement: Placement = Placement()
    """Scheduling of Mojaloop workloads."""
    lifecycle: Lifecycle = Lifecycle.PERSISTENT
    """`persistent` keeps every protection (protected cluster and keys, cloud deletion protection, secrets
    kept in Vault); `ephemeral` turns them all off so `pulumi destroy` removes everything (QA environments)."""
    expires_at: AwareDatetime | None = None
    """When an ephemeral environment may be destroyed by `mojactl qa reap` (required when ephemeral), e.g.
    `"2025-06-01T18:00:00Z"` (quote it in YAML)."""
    profile: Profile = Profile.STANDARD
    """`standard`, or `qa`: no identity layer, single replicas, small requests and storage, only the internal
    gateway, the test collections the features call for (config/qa-profile.yaml)."""
    qa: QaOrigin | None = None
    """Where a QA environment comes from (written by `mojactl qa stack`): its ID, template, change and owner."""
    qa_host: bool = False
    """This (persistent) environment's cluster hosts ephemeral QA environments side by side: its Vault access
    gains the QA read policy and it exports its `kubeconfig` for them."""


class ControlCenterProfile(StrEnum):
    MINIMAL = "minimal"
    FULL = "full"


class Unseal(Model):
    shares: WholeNumber = Field(default=5, ge=1, le=10)
    """Shamir key shares (bare metal); each is encrypted to one operator's PGP key."""
    threshold: WholeNumber = Field(default=3, ge=1, le=10)
    """Shares needed to unseal."""
    operator_pgp_key_files: tuple[PgpPublicKeyFile, ...] = Field(default=(), max_length=10)
    """One OpenPGP public key file per share (relative to the stack file's directory, inside the project);
    shares are only ever handed out encrypted to these keys. Each file's name without its extension names
    the operator (their Vault login), e.g. `operator-keys/alice.asc`."""


class SecretsStore(Model):
    implementation: Literal["vault", "openbao"] = "vault"
    """HashiCorp Vault (default) or OpenBao; both speak the Vault API."""
    replicas: Annotated[WholeNumber, Field(ge=1, le=7), AfterValidator(_odd_raft_peers)] = 3
    """Raft peers, an odd number (3 or 5 for HA); each runs on a node of its own, so at most the nodes of the
    untainted pools."""
    unseal: Unseal = Unseal()
    """Shamir unseal on bare metal (AWS auto-unseals with a KMS key)."""


class WireGuardHub(Model):
    host: DnsLabel | None = None
    """Bare metal (required): the control-center host that runs the hub (one of `baremetal.hosts`). Not on
    AWS, where the hub runs as a pod in the control-center cluster, e.g. `cc-1`."""
    endpoint: WireGuardEndpoint
    """What peers dial, `host:port`: a public name or address of the hub host, or on AWS a DNS name pointed
    at the load balancer (stack output `wireguardHubLoadBalancer`), e.g. `vpn.cc.mojaloop.example:51820`."""
    listen_port: WholeNumber = Field(default=51820, ge=1, le=65535)
    """UDP port the hub listens on."""
    public_key: WireGuardPublicKey | None = None
    """Bare metal (required): the hub's public key, reported by `mojactl baremetal STACK apply` (the private
    key never leaves the host). Not on AWS, where the key pair is generated in Vault (output
    `wireguardHubPublicKey`), e.g. `Z+0lf7EvixzkTAEovQn6eNMMr4/ElKK/2aNbcWM8sE0=`."""


class WireGuardPeer(Model):
    kind: Literal["environment", "operator"]
    """An environment cluster or an operator's machine."""
    public_key: WireGuardPublicKey
    """The peer's public key (its private key is generated where it is used and never travels),
    e.g. `RpBffgUMk0/p1OczziNo+Gteymkoq2DXAPtjYJS5gis=`."""
    address: IPv4Address | None = None
    """Pins the tunnel address; by default the planner picks a stable one."""
    allowed_ips: tuple[UsableNetwork, ...] = ()
    """Networks behind the peer routed through the tunnel (an environment's node or pod CIDR); disjoint from
    the control center's own networks and hosts and from other peers', e.g. `[10.20.0.0/16]`."""


class WireGuardMesh(Model):
    cidr: UsableNetwork
    """Tunnel addresses are taken from here; the hub gets the first. Disjoint from the cluster's networks, e.g.
    `10.250.0.0/24`."""
    hub: WireGuardHub
    """The control center's end of every tunnel."""
    peers: dict[DnsLabel, WireGuardPeer] = {}
    """Environments and operators, keyed by name."""
    ledger: dict[DnsLabel, IPv4Address] = {}
    """Addresses given out before (the `wireguardLedger` stack output): honoured, so adding or removing a peer
    never renumbers another."""


class GitlabQaLogin(Model):
    url: HttpsUrl | None = None
    """GitLab's URL, the issuer of its CI `id_tokens`; default: the control center's own GitLab
    (`https://gitlab.<internal domain>`, profile `full`), e.g. `https://gitlab.mojaloop.example`."""
    projects: tuple[GitlabProject, ...] = Field(min_length=1)
    """Project paths whose pipelines may deploy QA environments, e.g. `mojaloop/hub-config` (no wildcards)."""
    refs: tuple[str, ...] = ("*",)
    """Branches (globs) whose pipelines may log in; merge-request pipelines carry the source branch."""
    audience: JwtAudience = "mojaloop-qa"
    """The `aud` the CI job's `id_tokens` entry asks for (not empty)."""


class GithubQaLogin(Model):
    repositories: tuple[GithubRepository, ...] = Field(min_length=1)
    """`owner/repository` whose workflows may deploy QA environments, e.g. `mojaloop/hub-config` (no wildcards)."""
    refs: tuple[str, ...] = ("refs/pull/*/merge", "refs/heads/*")
    """Workflow refs (globs) that may log in: pull requests run on `refs/pull/<n>/merge`."""
    audience: JwtAudience = "mojaloop-qa"
    """The audience the workflow requests its OIDC token for (not empty)."""


class QaAccess(Model):
    shared_clusters: tuple[DnsLabel, ...] = ()
    """Declared environments (of `environments`) whose clusters host QA environments: each gets the QA read
    policy its QA tenants' namespaces log in with, e.g. `[qa-cluster]`."""
    gitlab: GitlabQaLogin | None = None
    """GitLab CI logs in with its `id_tokens` (JWT, auth mount `gitlab-ci`) and receives QA deployer tokens."""
    github: GithubQaLogin | None = None
    """GitHub Actions logs in with its OIDC token (auth mount `github-actions`) and receives QA deployer tokens."""
    token_ttl: Annotated[Duration, AfterValidator(_at_most_a_day)] = "2h"
    """Life of a QA deployer token (a QA run's up, test and down), e.g. `2h`; at most `24h`."""


class ControlCenter(ClusterSettings):
    profile: ControlCenterProfile = ControlCenterProfile.MINIMAL
    """`minimal` (secrets store, object storage, registry mirror, WireGuard hub) or `full` (adds GitLab)."""
    environments: tuple[DnsLabel, ...] = ()
    """Environments this control center serves: each gets a bucket and its Vault access (a Kubernetes auth
    mount, the read policy and role its namespaces log in with, and a deployer token role for its stack). Not
    the control center's own name, whose Vault paths hold the control center's own secrets, e.g. `[demo, aws-dev]`."""
    secrets_store: SecretsStore = SecretsStore()
    """The Vault-API secrets store."""
    wireguard: WireGuardMesh
    """The WireGuard mesh joining operators, the control center and the environments."""
    backup_expiry_days: WholeNumber = Field(default=30, ge=1, le=3650)
    """Backups older than this are expired by the `backups` bucket's lifecycle rule."""
    qa: QaAccess | None = None
    """Ephemeral QA environments from CI: which clusters host them and which CI pipelines may deploy them."""


class StackConfig(Model):
    """The `mojaloop:` namespace of a stack file."""

    environment: Environment | None = None
    """An environment stack: a Mojaloop-ready cluster with a chosen release."""
    control_center: ControlCenter | None = None
    """A control-center stack: the shared services environments depend on."""

    @property
    def kind(self) -> Literal["environment", "controlCenter"]:
        return "environment" if self.environment is not None else "controlCenter"

    @property
    def cluster(self) -> ClusterSettings:
        settings = self.environment or self.control_center
        assert settings is not None, "validated stack config has exactly one kind"
        return settings
