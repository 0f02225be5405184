"""Invalid stack configurations, each a small edit of a valid stack, with the key path it must name.

An edit is a list of operations on the `mojaloop:` namespace of a valid stack file:
("set", "environment.nodePools.kafka.taints.0.effect", "Sometimes") or ("del", "environment.domains").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

Op = tuple[str, str, Any] | tuple[str, str]


@dataclass(frozen=True)
class Case:
    id: str
    ops: tuple[Op, ...]
    path: str
    """The key path the error must name."""
    fragment: str
    """Text the message must contain."""
    base: str = "demo"


def apply(document: dict[str, Any], ops: tuple[Op, ...]) -> dict[str, Any]:
    result = copy.deepcopy(document)
    for op in ops:
        *parents, last = op[1].split(".")
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if op[0] == "set":
            node[key] = op[2]
        elif op[0] == "del":
            del node[key]
        elif op[0] == "append":
            node[key].append(op[2])
        else:
            raise ValueError(f"unknown corpus operation {op[0]}")
    return result


E = "environment"
C = "controlCenter"
POOLS = f"{E}.nodePools"
HOSTS = f"{E}.baremetal.hosts"

CASES: tuple[Case, ...] = (
    # Structure: types, enums, required keys, unknown keys.
    Case("taint-effect", (("set", f"{POOLS}.kafka.taints.0.effect", "Sometimes"),),
         f"{POOLS}.kafka.taints[0].effect", "must be one of NoSchedule, PreferNoSchedule, NoExecute"),
    Case("taint-missing-effect", (("del", f"{POOLS}.kafka.taints.0.effect"),),
         f"{POOLS}.kafka.taints[0].effect", "is required"),
    Case("taint-bad-key", (("set", f"{POOLS}.kafka.taints.0.key", "moja enabled"),),
         f"{POOLS}.kafka.taints[0].key", "Kubernetes label key"),
    Case("taint-bad-value", (("set", f"{POOLS}.kafka.taints.0.value", "-true"),),
         f"{POOLS}.kafka.taints[0].value", "label value"),
    Case("unknown-key-typo", (("set", f"{POOLS}.kafka.taint", []),),
         f"{POOLS}.kafka.taint", "did you mean 'taints'"),
    Case("unknown-top-level-key", (("set", f"{E}.mojaloopp", {}),),
         f"{E}.mojaloopp", "did you mean 'mojaloop'"),
    Case("unknown-key-no-suggestion", (("set", f"{E}.kubernetes.flavour", "x"),),
         f"{E}.kubernetes.flavour", "allowed keys: version"),
    Case("unknown-namespace-key", (("set", "environmnt", {}),), "mojaloop:environmnt", "did you mean 'environment'"),
    Case("both-kinds", (("set", "controlCenter", {}),), "mojaloop", "exactly one of"),
    Case("substrate-enum", (("set", f"{E}.substrate", "gcp"),), f"{E}.substrate", "must be one of baremetal, aws"),
    Case("name-not-dns", (("set", f"{E}.name", "Demo_Env"),), f"{E}.name", "DNS label"),
    Case("name-missing", (("del", f"{E}.name"),), f"{E}.name", "is required"),
    Case("kubernetes-version-format", (("set", f"{E}.kubernetes.version", 1.28),),
         f"{E}.kubernetes.version", "must be a string"),
    Case("kubernetes-version-patch", (("set", f"{E}.kubernetes.version", "1.28.3"),),
         f"{E}.kubernetes.version", "Kubernetes minor version"),
    Case("release-format", (("set", f"{E}.mojaloop.release", "v15"),), f"{E}.mojaloop.release", "such as 15.2.0"),
    Case("release-unknown", (("set", f"{E}.mojaloop.release", "15.4.0"),), f"{E}.mojaloop.release", "unknown release"),
    Case("release-missing", (("del", f"{E}.mojaloop.release"),), f"{E}.mojaloop.release", "is required"),
    Case("upgrade-skips-a-stop", (("set", f"{E}.mojaloop.installedRelease", "15.2.0"),
                                  ("set", f"{E}.mojaloop.release", "17.0.0"), ("set", f"{E}.kubernetes.version", "1.32"),
                                  ("set", f"{E}.baremetal.k3sVersion", "v1.32.13+k3s1")),
         f"{E}.mojaloop.release", "upgrade to 16.0.0 first"),
    Case("upgrade-downgrade", (("set", f"{E}.mojaloop.installedRelease", "16.0.0"),),
         f"{E}.mojaloop.release", "downgrades are not supported"),
    Case("values-file-missing", (("set", f"{E}.mojaloop.valuesFile", "stacks/no-such-values.yaml"),),
         f"{E}.mojaloop.valuesFile", "does not exist"),
    Case("values-file-not-a-mapping", (("set", f"{E}.mojaloop.backendValuesFile", "tests/fixtures/values-not-a-mapping.yaml"),),
         f"{E}.mojaloop.backendValuesFile", "must hold a mapping"),
    Case("helm-release-name-too-long", (("set", f"{E}.mojaloop.helmReleaseName", "mojaloop-prod-1"),),
         f"{E}.mojaloop.helmReleaseName", "at most 13"),
    Case("helm-release-name-bad-chars", (("set", f"{E}.mojaloop.helmReleaseName", "Moja"),),
         f"{E}.mojaloop.helmReleaseName", "lower-case"),
    Case("features-not-bool", (("set", f"{E}.mojaloop.features", {"bulk": "sometimes"}),),
         f"{E}.mojaloop.features.bulk", "true or false"),
    Case("namespace-not-dns", (("set", f"{E}.mojaloop.namespace", "Mojaloop"),),
         f"{E}.mojaloop.namespace", "DNS label"),
    Case("kubernetes-too-old", (("set", f"{E}.kubernetes.version", "1.20"),),
         f"{E}.kubernetes.version", "older than release"),
    Case("domains-missing", (("del", f"{E}.domains"),), f"{E}.domains", "is required"),
    Case("domain-invalid", (("set", f"{E}.domains.external", "Demo Example"),),
         f"{E}.domains.external", "DNS name"),
    Case("vault-missing", (("del", f"{E}.vault"),), f"{E}.vault.address",
         "is required unless controlCenterStack"),
    Case("control-center-stack-name", (("set", f"{E}.controlCenterStack", "org/proj/stack/extra"),),
         f"{E}.controlCenterStack", "does not match"),
    Case("vault-address", (("set", f"{E}.vault", {"address": "vault:8200"}),), f"{E}.vault.address", "does not match"),
    Case("vault-token-env", (("set", f"{E}.vault", {"tokenEnv": "VAULT TOKEN"}),), f"{E}.vault.tokenEnv",
         "does not match"),
    Case("acme-without-email", (("set", f"{E}.tls", {"externalIssuer": "acme", "acmeDns01Solver": {"route53": {}}}),),
         f"{E}.tls.acmeEmail", "is required when an issuer is acme"),
    Case("acme-without-solver", (("set", f"{E}.tls", {"externalIssuer": "acme", "acmeEmail": "ops@example.org"}),),
         f"{E}.tls.acmeDns01Solver", "DNS-01"),
    Case("tls-issuer-enum", (("set", f"{E}.tls", {"internalIssuer": "vault"}),),
         f"{E}.tls.internalIssuer", "must be one of internal-ca, acme"),
    Case("layout-and-pools", (("set", f"{E}.layout", "small"),), E, "either layout or nodePools"),
    Case("layout-unknown", (("set", f"{E}.layout", "huge"), ("del", f"{E}.nodePools")),
         f"{E}.layout", "must be one of small, production, qa"),
    Case("chart-version-unknown-release", (("set", f"{E}.chartVersions", {"istio-d": "1.29.4"}),),
         f"{E}.chartVersions.istio-d", "did you mean 'istiod'"),
    Case("chart-version-empty", (("set", f"{E}.chartVersions", {"istiod": ""}),),
         f"{E}.chartVersions.istiod", "must be a chart version"),
    # Networks.
    Case("pod-cidr-invalid", (("set", f"{E}.network", {"podCidr": "10.42.0.0/33"}),),
         f"{E}.network.podCidr", "must be a CIDR"),
    Case("pod-cidr-host-bits", (("set", f"{E}.network", {"podCidr": "10.42.0.1/16"}),),
         f"{E}.network.podCidr", "no host bits"),
    Case("cidrs-overlap", (("set", f"{E}.network", {"podCidr": "10.42.0.0/16", "serviceCidr": "10.42.128.0/17"}),),
         f"{E}.network.serviceCidr", "overlaps"),
    Case("host-inside-pod-cidr", (("set", f"{HOSTS}.0.address", "10.42.0.5"),),
         f"{HOSTS}[0].address", "inside"),
    Case("host-address-invalid", (("set", f"{HOSTS}.0.address", "192.0.2.300"),),
         f"{HOSTS}[0].address", "IP address"),
    # Node pools and placement.
    Case("pool-name-invalid", (("set", f"{POOLS}.Kafka_Pool", {"workloadClasses": []}),),
         f"{POOLS}.Kafka_Pool", "DNS label"),
    Case("workload-class-unknown", (("set", f"{POOLS}.kafka.workloadClasses", ["KAFKA"]),),
         f"{POOLS}.kafka.workloadClasses[0]", "must be one of CENTRAL-LEDGER-SVC"),
    Case("workload-class-unplaced", (("set", f"{POOLS}.rdbms.workloadClasses", ["RDBMS-ALS-LIVE"]),),
         POOLS, "RDBMS-CENTRAL-LEDGER-LIVE are not placed"),
    Case("taint-not-tolerated", (("set", f"{POOLS}.kafka.taints.0", {"key": "dedicated", "value": "kafka",
                                                                     "effect": "NoSchedule"}),),
         f"{POOLS}.kafka.taints[0]", "do not tolerate dedicated=kafka:NoSchedule"),
    Case("tolerations-removed", (("set", f"{E}.placement", {"tolerations": []}),),
         f"{POOLS}.kafka.taints[0]", "do not tolerate moja-enabled=true:NoSchedule"),
    Case("toleration-operator", (("set", f"{E}.placement", {"tolerations": [{"key": "a", "operator": "In"}]}),),
         f"{E}.placement.tolerations[0].operator", "must be one of Equal, Exists"),
    Case("label-key-invalid", (("set", f"{POOLS}.kafka.labels", {"tier/": "fast"}),),
         f"{POOLS}.kafka.labels.tier/", "label key"),
    Case("label-value-invalid", (("set", f"{POOLS}.kafka.labels", {"tier": "very fast"}),),
         f"{POOLS}.kafka.labels.tier", "label value"),
    Case("no-pools", (("set", POOLS, {}),), POOLS, "at least 1"),
    Case("aws-sizing-on-baremetal", (("set", f"{POOLS}.kafka.aws", {"instanceTypes": ["m6i.large"], "minSize": 1,
                                                                    "maxSize": 2, "desiredSize": 1}),),
         f"{POOLS}.kafka.aws", "substrate is baremetal"),
    # Bare-metal hosts.
    Case("host-unknown-pool", (("set", f"{HOSTS}.1.pool", "kafak"),), f"{HOSTS}[1].pool", "did you mean 'kafka'"),
    Case("host-role", (("set", f"{HOSTS}.1.role", "worker"),), f"{HOSTS}[1].role", "must be one of server, agent"),
    Case("host-duplicate-name", (("set", f"{HOSTS}.1.name", "demo-core-1"),), f"{HOSTS}[0].name", "must be unique"),
    Case("host-duplicate-address", (("set", f"{HOSTS}.2.address", "192.0.2.12"),),
         f"{HOSTS}[1].address", "must be unique"),
    Case("host-duplicate-ssh-endpoint", (("set", f"{HOSTS}.0.sshHost", "127.0.0.1"), ("set", f"{HOSTS}.0.sshPort", 2201),
                                          ("set", f"{HOSTS}.1.sshHost", "127.0.0.1"), ("set", f"{HOSTS}.1.sshPort", 2201)),
         f"{HOSTS}[0].sshPort", "each host needs its own SSH endpoint"),
    Case("host-ssh-port-range", (("set", f"{HOSTS}.0.sshPort", 70000),), f"{HOSTS}[0].sshPort", "must be at most 65535"),
    Case("host-ssh-host-not-a-name", (("set", f"{HOSTS}.0.sshHost", "bastion host!"),), f"{HOSTS}[0].sshHost",
         "DNS name"),
    Case("two-servers", (("set", f"{HOSTS}.1.role", "server"),), f"{E}.baremetal.hosts", "needs 1, or 3"),
    Case("ha-needs-three", (("set", f"{E}.baremetal.haEmbeddedEtcd", True),),
         f"{E}.baremetal.haEmbeddedEtcd", "need haEmbeddedEtcd: false"),
    # What the validate_inventory role refuses too: three servers share their datastore only through etcd.
    Case("three-servers-need-ha", (("set", f"{HOSTS}.1.role", "server"), ("set", f"{HOSTS}.2.role", "server")),
         f"{E}.baremetal.haEmbeddedEtcd", "need haEmbeddedEtcd: true"),
    Case("own-installer-needs-its-checksum", (("set", f"{E}.baremetal.k3sInstallScriptPath", "/srv/k3s/install.sh"),),
         f"{E}.baremetal.k3sInstallScriptSha256", "is required with the install script"),
    Case("installer-checksum-not-hex", (("set", f"{E}.baremetal.k3sInstallScriptSha256", "abc"),),
         f"{E}.baremetal.k3sInstallScriptSha256", "does not match the pattern"),
    Case("registry-mirror-not-a-url", (("set", f"{E}.baremetal.registryMirror", "ftp://mirror example"),),
         f"{E}.baremetal.registryMirror", "does not match the pattern"),
    Case("api-allowed-cidr", (("set", f"{E}.baremetal.apiAllowedCidrs", ["10.250.0.0/33"]),),
         f"{E}.baremetal.apiAllowedCidrs[0]", ""),
    Case("pool-without-hosts", (("set", f"{HOSTS}.2.pool", "kafka"),), f"{POOLS}.rdbms", "has no hosts"),
    Case("ssh-user-root", (("set", f"{E}.baremetal.sshUser", "root"),), f"{E}.baremetal.sshUser", "must not be root"),
    Case("k3s-binary-url-and-path", (("set", f"{E}.baremetal.k3sBinaryUrl", "https://mirror.example/k3s"),
                                      ("set", f"{E}.baremetal.k3sBinaryPath", "/srv/k3s")),
         f"{E}.baremetal.k3sBinaryPath", "not both"),
    Case("no-hosts", (("set", HOSTS, []),), HOSTS, "at least 1"),
    Case("baremetal-missing", (("del", f"{E}.baremetal"),), f"{E}.baremetal", "is required when substrate"),
    Case("k3s-version-mismatch", (("set", f"{E}.baremetal.k3sVersion", "v1.29.15+k3s1"),),
         f"{E}.baremetal.k3sVersion", "not a Kubernetes 1.28 release"),
    Case("k3s-version-format", (("set", f"{E}.baremetal.k3sVersion", "1.28"),),
         f"{E}.baremetal.k3sVersion", "does not match"),
    Case("aws-section-on-baremetal", (("set", f"{E}.aws", {"region": "eu-west-1", "vpcCidr": "10.0.0.0/16"}),),
         f"{E}.aws", "substrate is baremetal"),
    # AWS.
    Case("aws-missing", (("set", f"{E}.substrate", "aws"), ("del", f"{E}.baremetal")),
         f"{E}.aws", "is required when substrate is aws"),
    Case("aws-region-invalid", (("set", f"{E}.aws", {"region": "Europe", "vpcCidr": "10.0.0.0/16"}),),
         f"{E}.aws.region", "does not match"),
    Case("aws-one-zone", (("set", f"{E}.aws", {"region": "eu-west-1", "vpcCidr": "10.0.0.0/16",
                                                "availabilityZones": 1}),),
         f"{E}.aws.availabilityZones", "at least 2"),
    # Control center.
    Case("cc-threshold-over-shares", (("set", f"{C}.secretsStore.unseal.threshold", 4),),
         f"{C}.secretsStore.unseal.threshold", "more than the 3 shares", base="control-center"),
    Case("cc-pgp-keys-per-share", (("set", f"{C}.secretsStore.unseal.shares", 5),),
         f"{C}.secretsStore.unseal.operatorPgpKeyFiles", "one operator PGP public key per share", base="control-center"),
    Case("cc-pgp-key-missing", (("set", f"{C}.secretsStore.unseal.operatorPgpKeyFiles.0", "stacks/nobody.asc"),),
         f"{C}.secretsStore.unseal.operatorPgpKeyFiles[0]", "does not exist", base="control-center"),
    Case("cc-implementation", (("set", f"{C}.secretsStore.implementation", "consul"),),
         f"{C}.secretsStore.implementation", "must be one of vault, openbao", base="control-center"),
    Case("cc-hub-host-unknown", (("set", f"{C}.wireguard.hub.host", "cc-4"),),
         f"{C}.wireguard.hub.host", "unknown host 'cc-4'", base="control-center"),
    Case("cc-hub-host-missing", (("del", f"{C}.wireguard.hub.host"),),
         f"{C}.wireguard.hub.host", "is required on substrate baremetal", base="control-center"),
    Case("cc-hub-public-key-missing", (("del", f"{C}.wireguard.hub.publicKey"),),
         f"{C}.wireguard.hub.publicKey", "is required on substrate baremetal", base="control-center"),
    Case("cc-aws-hub-host-given", (("set", f"{C}.wireguard.hub.host", "cc-1"),),
         f"{C}.wireguard.hub.host", "is not allowed on substrate aws", base="control-center-aws"),
    Case("cc-aws-hub-public-key-given",
         (("set", f"{C}.wireguard.hub.publicKey", "Z+0lf7EvixzkTAEovQn6eNMMr4/ElKK/2aNbcWM8sE0="),),
         f"{C}.wireguard.hub.publicKey", "generated in Vault", base="control-center-aws"),
    Case("cc-aws-hub-public-key-format", (("set", f"{C}.wireguard.hub.publicKey", "not-a-key"),),
         f"{C}.wireguard.hub.publicKey", "does not match", base="control-center-aws"),
    Case("cc-aws-pin-outside-mesh", (("set", f"{C}.wireguard.peers.alice.address", "10.9.9.9"),),
         f"{C}.wireguard", "alice", base="control-center-aws"),
    Case("cc-bad-public-key", (("set", f"{C}.wireguard.peers.alice.publicKey", "not-a-key"),),
         f"{C}.wireguard.peers.alice.publicKey", "does not match", base="control-center"),
    Case("cc-pin-outside-mesh", (("set", f"{C}.wireguard.peers.alice.address", "10.9.9.9"),),
         f"{C}.wireguard", "alice", base="control-center"),
    Case("cc-duplicate-environment", (("set", f"{C}.environments", ["demo", "demo"]),),
         f"{C}.environments", "listed 2 times", base="control-center"),
    Case("cc-profile", (("set", f"{C}.profile", "maximal"),), f"{C}.profile", "must be one of minimal, full",
         base="control-center"),
    Case("cc-wireguard-missing", (("del", f"{C}.wireguard"),), f"{C}.wireguard", "is required", base="control-center"),
)
