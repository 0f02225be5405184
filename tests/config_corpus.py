"""Invalid stack configurations, each a small edit of a valid stack, with the key path it must name.

An edit is a list of operations on the `mojaloop:` namespace of a valid stack file:
("set", "environment.nodePools.kafka.taints.0.effect", "Sometimes") or ("del", "environment.domains").
`TEXT_CASES` edit the stack file's text instead, for what only YAML text can hold (a key given twice,
aliases, nesting); their key path is where in the file, or empty for a file that is not YAML at all.
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


@dataclass(frozen=True)
class TextCase:
    id: str
    old: str
    """Text of the base stack file to replace (its first occurrence)."""
    new: str
    path: str
    fragment: str
    base: str = "demo"

    def edit(self, text: str) -> str:
        assert self.old in text, f"{self.id}: {self.old!r} is not in stacks/Pulumi.{self.base}.yaml"
        return text.replace(self.old, self.new, 1)


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
    Case("values-file-not-a-mapping", (("set", f"{E}.mojaloop.backendValuesFile", "../tests/fixtures/values-not-a-mapping.yaml"),),
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
         f"{E}.controlCenterStack", "must name a Pulumi stack"),
    Case("vault-address", (("set", f"{E}.vault", {"address": "vault:8200"}),), f"{E}.vault.address",
         "must be an https:// (or http://) URL"),
    Case("vault-token-env", (("set", f"{E}.vault", {"tokenEnv": "VAULT TOKEN"}),), f"{E}.vault.tokenEnv",
         "must be an environment variable name"),
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
         f"{E}.baremetal.k3sInstallScriptSha256", "must be a sha256: 64 lower-case hex digits"),
    Case("registry-mirror-not-a-url", (("set", f"{E}.baremetal.registryMirror", "ftp://mirror example"),),
         f"{E}.baremetal.registryMirror", "the nodes always pull over https"),
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
         f"{E}.baremetal.k3sVersion", "must be a k3s release such as v1.28.15+k3s1"),
    Case("aws-section-on-baremetal", (("set", f"{E}.aws", {"region": "eu-west-1", "vpcCidr": "10.0.0.0/16"}),),
         f"{E}.aws", "substrate is baremetal"),
    # AWS.
    Case("aws-missing", (("set", f"{E}.substrate", "aws"), ("del", f"{E}.baremetal")),
         f"{E}.aws", "is required when substrate is aws"),
    Case("aws-region-invalid", (("set", f"{E}.aws", {"region": "Europe", "vpcCidr": "10.0.0.0/16"}),),
         f"{E}.aws.region", "must be an AWS region such as eu-west-1"),
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
         f"{C}.wireguard.hub.publicKey", "must be a WireGuard public key", base="control-center-aws"),
    Case("cc-aws-pin-outside-mesh", (("set", f"{C}.wireguard.peers.alice.address", "10.9.9.9"),),
         f"{C}.wireguard.peers.alice", "outside the mesh", base="control-center-aws"),
    Case("cc-bad-public-key", (("set", f"{C}.wireguard.peers.alice.publicKey", "not-a-key"),),
         f"{C}.wireguard.peers.alice.publicKey", "must be a WireGuard public key", base="control-center"),
    Case("cc-pin-outside-mesh", (("set", f"{C}.wireguard.peers.alice.address", "10.9.9.9"),),
         f"{C}.wireguard.peers.alice", "outside the mesh", base="control-center"),
    Case("cc-duplicate-environment", (("set", f"{C}.environments", ["demo", "demo"]),),
         f"{C}.environments", "listed 2 times", base="control-center"),
    Case("cc-profile", (("set", f"{C}.profile", "maximal"),), f"{C}.profile", "must be one of minimal, full",
         base="control-center"),
    Case("cc-wireguard-missing", (("del", f"{C}.wireguard"),), f"{C}.wireguard", "is required", base="control-center"),
    # 1. No input crashes: user text is data, a kind's value must be a mapping, a kubeconfig only a secret.
    Case("markup-in-a-value", (("set", f"{E}.mojaloop.release", "15.2.0[/x]"),), f"{E}.mojaloop.release",
         "'15.2.0[/x]' must be a release version"),
    Case("markup-in-a-key", (("set", f"{E}.kubernetes.x[/b]", 1),), f"{E}.kubernetes.x[/b]", "unknown key"),
    Case("environment-null", (("set", E, None),), f"mojaloop:{E}", "must be a mapping"),
    Case("environment-a-list", (("set", E, ["name", "demo"]),), f"mojaloop:{E}", "must be a mapping"),
    Case("control-center-text", (("set", C, "cc"),), f"mojaloop:{C}", "must be a mapping", base="control-center"),
    Case("kubeconfig-in-clear", (("set", "kubeconfig", "apiVersion: v1\nkind: Config\n"),), "mojaloop:kubeconfig",
         "is in clear in the stack file"),
    Case("kubeconfig-not-text", (("set", "kubeconfig", {"clusters": []}),), "mojaloop:kubeconfig",
         "must be a secret text value"),
    Case("huge-number", (("set", f"{E}.baremetal.hosts.0.sshPort", 10**40),), f"{HOSTS}[0].sshPort", "at most 65535"),
    Case("number-not-text", (("set", f"{E}.name", 42),), f"{E}.name", "must be a string"),
    # 2. What the plan would refuse, validation refuses first, under the stack key.
    Case("cc-raft-even", (("set", f"{C}.secretsStore.replicas", 4),), f"{C}.secretsStore.replicas", "use an odd number",
         base="control-center"),
    Case("cc-raft-more-than-nodes", (("set", f"{C}.secretsStore.replicas", 5),), f"{C}.secretsStore.replicas",
         "5 raft peers need 5 nodes", base="control-center"),
    Case("cc-aws-raft-more-than-nodes", (("set", f"{C}.secretsStore.replicas", 7),), f"{C}.secretsStore.replicas",
         "has 4 nodes", base="control-center-aws"),
    Case("aws-vpc-too-small", (("set", f"{E}.aws.vpcCidr", "10.20.0.0/28"),), f"{E}.aws.vpcCidr",
         "between a /16 and a /24", base="aws-dev"),
    Case("aws-vpc-too-large", (("set", f"{E}.aws.vpcCidr", "10.0.0.0/8"),), f"{E}.aws.vpcCidr", "between a /16",
         base="aws-dev"),
    Case("domains-equal", (("set", f"{E}.domains.external", "int.demo.mojaloop.example"),), f"{E}.domains.external",
         "is the internal domain too"),
    Case("domain-label-64", (("set", f"{E}.domains.internal", "a" * 64 + ".example.com"),), f"{E}.domains.internal",
         "each at most 63 characters"),
    Case("domain-one-label", (("set", f"{E}.domains.internal", "internal"),), f"{E}.domains.internal",
         "at least two labels"),
    Case("domain-too-long", (("set", f"{E}.domains.internal", ".".join(["a" * 60] * 4)),), f"{E}.domains.internal",
         "at most 200"),
    Case("route53-keys-in-clear", (("set", f"{E}.tls.acmeDns01Solver", {"route53": {
        "region": "eu-west-1", "accessKeyID": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "corpus-secret"}}),),
         f"{E}.tls.acmeDns01Solver", "route53.secretAccessKey", base="aws-dev"),
    Case("control-center-stack-is-an-environment", (("set", f"{E}.controlCenterStack", "organization/mojaloop/aws-dev"),),
         f"{E}.controlCenterStack", "which is not a control center stack"),
    Case("control-center-stack-unknown", (("set", f"{E}.controlCenterStack", "org/mojaloop/nowhere"),),
         f"{E}.controlCenterStack", "has no local stack file"),
    Case("control-center-stack-dot-dot", (("set", f"{E}.controlCenterStack", "org/.."),), f"{E}.controlCenterStack",
         "must name a Pulumi stack"),
    Case("name-too-long-on-aws", (("set", f"{E}.name", "a" * 63),), f"{E}.name", "at most 52", base="aws-dev"),
    Case("name-too-long-on-baremetal", (("set", f"{E}.name", "b" * 53),), f"{E}.name", "at most 52"),
    Case("arm-instance-type", (("set", f"{POOLS}.core.aws.instanceTypes", ["m7g.xlarge"]),),
         f"{POOLS}.core.aws.instanceTypes", "ARM (Graviton)", base="aws-dev"),
    Case("arm-first-generation", (("set", f"{POOLS}.kafka.aws.instanceTypes", ["r6i.large", "a1.large"]),),
         f"{POOLS}.kafka.aws.instanceTypes", "a1.large are ARM", base="aws-dev"),
    Case("instance-type-format", (("set", f"{POOLS}.kafka.aws.instanceTypes", ["large"]),),
         f"{POOLS}.kafka.aws.instanceTypes[0]", "EC2 instance type", base="aws-dev"),
    Case("helm-release-name-dot", (("set", f"{E}.mojaloop.helmReleaseName", "moja.x"),),
         f"{E}.mojaloop.helmReleaseName", "lower-case letters, digits and '-'"),
    Case("helm-release-name-trailing-dash", (("set", f"{E}.mojaloop.helmReleaseName", "moja-"),),
         f"{E}.mojaloop.helmReleaseName", "ending with a letter or digit"),
    Case("helm-release-name-is-the-backend", (("set", f"{E}.mojaloop.helmReleaseName", "backend"),),
         f"{E}.mojaloop.helmReleaseName", "backend chart's release"),
    Case("every-pool-tainted", (("set", f"{POOLS}.core.taints", [{"key": "moja-enabled", "value": "true",
                                                                  "effect": "NoSchedule"}]),),
         POOLS, "every pool carries a NoSchedule or NoExecute taint"),
    Case("aws-more-zones-than-planned", (("set", f"{E}.aws.availabilityZones", 7),), f"{E}.aws.availabilityZones",
         "at most 6", base="aws-dev"),
    Case("dns01-provider-not-a-mapping", (("set", f"{E}.tls.acmeDns01Solver", {"route53": "eu-west-1"}),),
         f"{E}.tls.acmeDns01Solver.route53", "must be a mapping of the provider's settings", base="aws-dev"),
    Case("dns01-secret-ref-not-a-reference", (("set", f"{E}.tls.acmeDns01Solver", {"route53": {
        "region": "eu-west-1", "secretAccessKeySecretRef": "route53-credentials"}}),),
         f"{E}.tls.acmeDns01Solver.route53.secretAccessKeySecretRef", "must be a Secret reference", base="aws-dev"),
    Case("dns01-unknown-provider", (("set", f"{E}.tls.acmeDns01Solver", {"route-53": {}}),),
         f"{E}.tls", "exactly one of acmeDNS", base="aws-dev"),
    # 3. Secrets stay out: values files, URLs with a password.
    Case("values-file-with-credentials", (("set", f"{E}.mojaloop.valuesFile", "../tests/fixtures/values-with-credentials.yaml"),),
         f"{E}.mojaloop.valuesFile", "holds credentials at centralledger.centralledger-service.config.db_password"),
    Case("backend-values-file-with-credentials",
         (("set", f"{E}.mojaloop.backendValuesFile", "../tests/fixtures/values-with-credentials.yaml"),),
         f"{E}.mojaloop.backendValuesFile", "the value of variable MYSQL_PASSWORD"),
    Case("password-in-a-description", (("set", f"{POOLS}.core.description", "db at mysql://root:hunter2@db:3306"),),
         f"{POOLS}.core.description", "holds a URL or DSN with a password"),
    Case("token-under-an-unknown-key", (("set", f"{E}.vault", {"token": "glpat-corpus0123456789abcdef"}),),
         f"{E}.vault.token", "holds a GitLab token"),
    Case("names-are-not-credentials", (("set", f"{E}.chartVersions", {"external-secrets": "0.14.3x"}),),
         f"{E}.chartVersions.external-secrets", "must be a chart version"),
    Case("vault-address-with-password", (("set", f"{E}.vault", {"address": "https://ops:hunter2@vault.example.com:8200"}),),
         f"{E}.vault.address", "must not carry a user name or password"),
    Case("k3s-url-with-password", (("set", f"{E}.baremetal.k3sInstallScriptUrl", "https://u:p@mirror.example.com/k3s"),),
         f"{E}.baremetal.k3sInstallScriptUrl", "must not carry a user name or password"),
    Case("acme-server-with-password", (("set", f"{E}.tls", {"acmeServer": "https://u:p@acme.example.com/directory"}),),
         f"{E}.tls.acmeServer", "must not carry a user name or password"),
    Case("registry-mirror-with-user", (("set", f"{E}.baremetal.registryMirror", "user:pw@mirror.example.com"),),
         f"{E}.baremetal.registryMirror", "registry host[:port][/path]"),
    # 4. Files stay inside the project, exist, and are what their key says.
    Case("values-file-outside-the-project", (("set", f"{E}.mojaloop.valuesFile", "../../../../etc/shadow"),),
         f"{E}.mojaloop.valuesFile", "outside the project"),
    Case("values-file-absolute-outside", (("set", f"{E}.mojaloop.valuesFile", "/etc/passwd"),),
         f"{E}.mojaloop.valuesFile", "outside the project"),
    Case("values-file-a-directory", (("set", f"{E}.mojaloop.valuesFile", "operator-keys"),),
         f"{E}.mojaloop.valuesFile", "is not a regular file"),
    Case("values-file-not-yaml", (("set", f"{E}.mojaloop.valuesFile", "operator-keys/alice.asc"),),
         f"{E}.mojaloop.valuesFile", "must hold a mapping of Helm values"),
    Case("pgp-key-is-etc-passwd", (("set", f"{C}.secretsStore.unseal.operatorPgpKeyFiles.0", "/etc/passwd"),),
         f"{C}.secretsStore.unseal.operatorPgpKeyFiles[0]", "outside the project", base="control-center"),
    Case("pgp-key-not-a-key", (("set", f"{C}.secretsStore.unseal.operatorPgpKeyFiles.0", "Pulumi.demo.yaml"),),
         f"{C}.secretsStore.unseal.operatorPgpKeyFiles[0]", "is not an OpenPGP public key", base="control-center"),
    Case("ca-file-missing", (("set", f"{E}.vault", {"caCertFile": "certs/vault-ca.pem"}),), f"{E}.vault.caCertFile",
         "does not exist"),
    Case("ca-file-not-a-certificate", (("set", f"{E}.vault", {"caCertFile": "operator-keys/alice.asc"}),),
         f"{E}.vault.caCertFile", "is not a PEM certificate"),
    Case("ssh-key-missing", (("set", f"{E}.baremetal.sshPrivateKeyFile", "/nonexistent/id_ed25519"),),
         f"{E}.baremetal.sshPrivateKeyFile", "does not exist"),
    Case("ssh-key-not-a-key", (("set", f"{E}.baremetal.sshPrivateKeyFile", "../pyproject.toml"),),
         f"{E}.baremetal.sshPrivateKeyFile", "is not an SSH private key"),
    Case("ssh-key-is-the-public-key", (("set", f"{E}.baremetal.sshPrivateKeyFile", "../tests/fixtures/id_ed25519.pub"),),
         f"{E}.baremetal.sshPrivateKeyFile", "is a public key"),
    Case("known-hosts-not-known-hosts", (("set", f"{E}.baremetal.sshKnownHostsFile", "../README.md"),),
         f"{E}.baremetal.sshKnownHostsFile", "not a known_hosts file"),
    Case("k3s-installer-not-a-script", (("set", f"{E}.baremetal.k3sInstallScriptPath", "../README.md"),),
         f"{E}.baremetal.k3sInstallScriptPath", "is not a script"),
    Case("k3s-binary-not-an-executable", (("set", f"{E}.baremetal.k3sBinaryPath", "../README.md"),),
         f"{E}.baremetal.k3sBinaryPath", "is not an executable"),
    # 5. Addresses and networks make sense; downloads and Vault are https.
    Case("host-unspecified", (("set", f"{HOSTS}.0.address", "0.0.0.0"),), f"{HOSTS}[0].address", "unspecified"),
    Case("host-loopback", (("set", f"{HOSTS}.0.address", "127.0.0.1"),), f"{HOSTS}[0].address", "loopback"),
    Case("host-multicast", (("set", f"{HOSTS}.1.address", "224.0.0.5"),), f"{HOSTS}[1].address", "multicast"),
    Case("host-link-local", (("set", f"{HOSTS}.1.address", "169.254.10.1"),), f"{HOSTS}[1].address", "link-local"),
    Case("host-broadcast", (("set", f"{HOSTS}.2.address", "255.255.255.255"),), f"{HOSTS}[2].address", "broadcast"),
    Case("host-ipv6", (("set", f"{HOSTS}.2.address", "2001:db8::13"),), f"{HOSTS}[2].address", "must be IPv4"),
    Case("ssh-host-unspecified", (("set", f"{HOSTS}.0.sshHost", "0.0.0.0"),), f"{HOSTS}[0].sshHost", "unspecified"),
    Case("ssh-host-numeric-nonsense", (("set", f"{HOSTS}.0.sshHost", "300.1.1.1"),), f"{HOSTS}[0].sshHost",
         "neither an IPv4 address nor a DNS name"),
    Case("pod-cidr-multicast", (("set", f"{E}.network", {"podCidr": "224.1.0.0/16"}),), f"{E}.network.podCidr",
         "not usable"),
    Case("pod-cidr-too-small", (("set", f"{E}.network", {"podCidr": "10.42.0.0/25"}),), f"{E}.network.podCidr",
         "between a /8 and a /24"),
    Case("pod-cidr-too-few-nodes", (("set", f"{E}.network", {"podCidr": "10.42.0.0/24"}),), f"{E}.network.podCidr",
         "holds 1 node subnets"),
    Case("service-cidr-too-large", (("set", f"{E}.network", {"serviceCidr": "10.0.0.0/8"}),),
         f"{E}.network.serviceCidr", "between a /12 and a /24"),
    Case("cc-mesh-overlaps-pods", (("set", f"{C}.wireguard.cidr", "10.42.7.0/24"),), f"{C}.wireguard.cidr",
         "overlaps controlCenter.network.podCidr", base="control-center"),
    Case("cc-peer-routes-the-services", (("set", f"{C}.wireguard.peers.demo.allowedIps", ["10.43.0.0/24"]),),
         f"{C}.wireguard.peers.demo.allowedIps[0]", "overlaps controlCenter.network.serviceCidr", base="control-center"),
    Case("cc-peer-routes-a-host", (("set", f"{C}.baremetal.hosts.2.address", "192.0.2.5"),),
         f"{C}.baremetal.hosts[2].address", "lies inside controlCenter.wireguard.peers.demo.allowedIps[0]",
         base="control-center"),
    Case("cc-aws-peer-routes-the-vpc", (("set", f"{C}.wireguard.peers.aws-dev.allowedIps", ["10.30.0.0/16"]),),
         f"{C}.wireguard.peers.aws-dev.allowedIps[0]", "overlaps controlCenter.aws.vpcCidr", base="control-center-aws"),
    Case("vault-over-http", (("set", f"{E}.vault", {"address": "http://vault.int.cc.mojaloop.example:8200"}),),
         f"{E}.vault.address", "uses http://"),
    Case("k3s-installer-over-http", (("set", f"{E}.baremetal.k3sInstallScriptUrl", "http://mirror.example.com/k3s"),),
         f"{E}.baremetal.k3sInstallScriptUrl", "uses http://"),
    Case("k3s-url-not-a-url", (("set", f"{E}.baremetal.k3sBinaryUrl", "mirror/k3s"),), f"{E}.baremetal.k3sBinaryUrl",
         "must be an https:// (or http://) URL"),
    Case("kubernetes-host-http", (("set", f"{E}.vault", {"kubernetesHost": "http://192.0.2.11:6443"}),),
         f"{E}.vault.kubernetesHost", "must be an https:// URL"),
    Case("registry-mirror-over-http", (("set", f"{E}.baremetal.registryMirror", "http://mirror.example.com"),),
         f"{E}.baremetal.registryMirror", "the nodes always pull over https"),
    Case("vault-at-the-unspecified-address", (("set", f"{E}.vault", {"address": "https://0.0.0.0:8200"}),),
         f"{E}.vault.address", "which no client can connect to"),
    Case("cc-peer-routes-everything", (("set", f"{C}.wireguard.peers.demo.allowedIps", ["0.0.0.0/0"]),),
         f"{C}.wireguard.peers.demo.allowedIps[0]", "a default route", base="control-center"),
    Case("cc-peer-address-as-a-number", (("set", f"{C}.wireguard.peers.alice.address", 184156167),),
         f"{C}.wireguard.peers.alice.address", "must be written as text", base="control-center"),
    Case("api-endpoint-unspecified", (("set", f"{E}.baremetal.apiEndpoint", "0.0.0.0"),),
         f"{E}.baremetal.apiEndpoint", "the unspecified address"),
    Case("api-open-to-everyone", (("set", f"{E}.baremetal.apiAllowedCidrs", ["::/0"]),),
         f"{E}.baremetal.apiAllowedCidrs[0]", "would open the API to everyone"),
    Case("eks-api-open-to-everyone", (("set", f"{E}.aws.apiAccessCidrs", ["0.0.0.0/0"]),),
         f"{E}.aws.apiAccessCidrs[0]", "would open the API to everyone", base="aws-dev"),
    Case("chart-mirror-over-http", (("set", f"{E}.chartMirror", "http://charts.lab.example/helm"),),
         f"{E}.chartMirror", "chartMirrorInsecureHttp: true"),
    Case("hub-endpoint-port", (("set", f"{C}.wireguard.hub.endpoint", "vpn.cc.mojaloop.example:70000"),),
         f"{C}.wireguard.hub.endpoint", "port 1-65535", base="control-center"),
    Case("hub-endpoint-unspecified", (("set", f"{C}.wireguard.hub.endpoint", "0.0.0.0:51820"),),
         f"{C}.wireguard.hub.endpoint", "peers cannot dial", base="control-center"),
    # 6. Kubernetes and POSIX syntax.
    Case("label-under-kubernetes-io", (("set", f"{POOLS}.kafka.labels", {"kubernetes.io/role": "kafka"}),),
         f"{POOLS}.kafka.labels.kubernetes.io/role", "Kubernetes reserves"),
    Case("label-under-k8s-io", (("set", f"{POOLS}.kafka.labels", {"node.k8s.io/tier": "x"}),),
         f"{POOLS}.kafka.labels.node.k8s.io/tier", "Kubernetes reserves"),
    Case("label-is-a-workload-class", (("set", f"{POOLS}.kafka.labels", {"workload-class.mojaloop.io/MONITORING":
                                                                          "enabled"}),),
         f"{POOLS}.kafka.labels.workload-class.mojaloop.io/MONITORING", "set by the toolkit itself"),
    Case("label-is-the-pool-label", (("set", f"{POOLS}.kafka.labels", {"mojaloop.io/node-pool": "core"}),),
         f"{POOLS}.kafka.labels.mojaloop.io/node-pool", "set by the toolkit itself"),
    Case("label-name-too-long", (("set", f"{POOLS}.kafka.labels", {"example.com/" + "n" * 64: "x"}),),
         f"{POOLS}.kafka.labels.example.com/{'n' * 64}", "label key"),
    Case("label-value-too-long", (("set", f"{POOLS}.kafka.labels", {"tier": "v" * 64}),),
         f"{POOLS}.kafka.labels.tier", "at most 63"),
    Case("taint-repeated", (("append", f"{POOLS}.kafka.taints", {"key": "moja-enabled", "value": "false",
                                                                  "effect": "NoSchedule"}),),
         f"{POOLS}.kafka.taints[1]", "repeats the key 'moja-enabled' with effect NoSchedule"),
    Case("toleration-exists-with-value", (("set", f"{E}.placement", {"tolerations": [
        {"key": "moja-enabled", "operator": "Exists", "value": "true"}]}),),
         f"{E}.placement.tolerations[0]", "value must be empty with operator Exists"),
    Case("toleration-equal-without-key", (("set", f"{E}.placement", {"tolerations": [
        {"operator": "Equal", "value": "true"}]}),),
         f"{E}.placement.tolerations[0]", "key is required with operator Equal"),
    Case("ssh-user-an-option", (("set", f"{E}.baremetal.sshUser", "-oProxyCommand=sh -c id"),),
         f"{E}.baremetal.sshUser", "must be a user name"),
    Case("ssh-user-newline", (("set", f"{E}.baremetal.sshUser", "root\n"),), f"{E}.baremetal.sshUser",
         "must be a user name"),
    Case("ssh-user-too-long", (("set", f"{E}.baremetal.sshUser", "u" * 33),), f"{E}.baremetal.sshUser",
         "at most 32"),
    Case("dns-label-newline", (("set", f"{E}.name", "demo\n"),), f"{E}.name", "DNS label"),
    Case("namespace-kube-system", (("set", f"{E}.mojaloop.namespace", "kube-system"),), f"{E}.mojaloop.namespace",
         "Kubernetes' own namespaces"),
    Case("namespace-of-a-gateway", (("set", f"{E}.mojaloop.namespace", "istio-ingress-ext"),),
         f"{E}.mojaloop.namespace", "platform service's namespace"),
    Case("kv-mount-reserved", (("set", f"{E}.vault", {"kvMount": "sys"}),), f"{E}.vault.kvMount", "Vault reserves"),
    # 7. Bounds.
    Case("aws-group-too-large", (("set", f"{POOLS}.core.aws.maxSize", 1000),), f"{POOLS}.core.aws.maxSize",
         "at most 450", base="aws-dev"),
    Case("aws-min-over-max", (("set", f"{POOLS}.rdbms.aws.minSize", 3),), f"{POOLS}.rdbms.aws.minSize",
         "more than maxSize", base="aws-dev"),
    Case("aws-instance-type-repeated", (("set", f"{POOLS}.kafka.aws.instanceTypes", ["r6i.large", "r6i.large"]),),
         f"{POOLS}.kafka.aws.instanceTypes", "listed 2 times", base="aws-dev"),
    Case("too-many-operator-keys", (("set", f"{C}.secretsStore.unseal.operatorPgpKeyFiles",
                                     ["operator-keys/alice.asc"] * 11),),
         f"{C}.secretsStore.unseal.operatorPgpKeyFiles", "at most 10", base="control-center"),
    # 8. No privilege through naming.
    Case("cc-serves-itself", (("set", f"{C}.environments", ["demo", "cc"]),), f"{C}.environments[1]",
         "the control center's own name", base="control-center"),
    Case("cc-aws-serves-itself", (("set", f"{C}.environments", ["cc-aws"]),), f"{C}.environments[0]",
         "MinIO's root password", base="control-center-aws"),
    Case("cc-operator-twice", (("set", f"{C}.secretsStore.unseal.operatorPgpKeyFiles.2", "operator-keys/alice.asc"),),
         f"{C}.secretsStore.unseal.operatorPgpKeyFiles[2]", "names operator 'alice' again", base="control-center"),
    Case("cc-same-key-twice", (("set", f"{C}.secretsStore.unseal.operatorPgpKeyFiles.1", "operator-keys/alice.asc"),),
         f"{C}.secretsStore.unseal.operatorPgpKeyFiles[1]", "one person would hold two shares", base="control-center"),
)


_BOMB = "".join(f"      x{n}: &x{n} [{', '.join([f'*x{n - 1}'] * 10)}]\n" for n in range(1, 9))
TEXT_CASES: tuple[TextCase, ...] = (
    # 7. A key given twice would silently win: refused, with where.
    TextCase("duplicated-pool", "      kafka:\n", "      core:\n        description: again\n      kafka:\n",
             f"{POOLS}", "has the key 'core' twice"),
    TextCase("duplicated-setting", "    substrate: baremetal\n", "    substrate: baremetal\n    substrate: aws\n",
             E, "has the key 'substrate' twice"),
    TextCase("duplicated-kind", "config:\n", "config:\n  mojaloop:controlCenter: {}\n  mojaloop:controlCenter: {}\n",
             "config", "has the key 'mojaloop:controlCenter' twice"),
    # 2. An alias bomb (billion laughs), an alias inside itself, absurd nesting.
    TextCase("alias-bomb", "    nodePools:\n", "    bomb:\n      x0: &x0 [lol]\n" + _BOMB + "    nodePools:\n",
             f"{E}.bomb.x5", "expands to more than 200000 values"),
    TextCase("recursive-alias", "      core:\n", "      loop: &loop {description: *loop}\n      core:\n",
             f"{POOLS}.loop.description", "an alias that contains itself"),
    TextCase("deep-nesting", "    nodePools:\n", "    deep: " + "[" * 70 + "]" * 70 + "\n    nodePools:\n",
             "", "nested more than 64 levels"),
    TextCase("merge-keys-are-fine-but-the-result-is-checked", "      core:\n",
             "      base: &base {description: shared}\n      spare: {<<: *base, labels: {tier: [/x]}}\n      core:\n",
             f"{POOLS}.spare.labels.tier", "must be a string"),
    # Not YAML, or not plain data.
    TextCase("tab-indented", "    substrate: baremetal\n", "\tsubstrate: baremetal\n", "", "is not valid YAML"),
    TextCase("a-date", "      release: 15.2.0\n", "      release: 2024-01-01\n", f"{E}.mojaloop.release",
             "a date is not a configuration value"),
    TextCase("python-object", "    substrate: baremetal\n", "    substrate: !!python/object:os.system [id]\n", "",
             "is not valid YAML"),
    TextCase("unquoted-yes-as-key", "      kafka:\n", "      yes:\n        description: a pool named yes\n      kafka:\n",
             POOLS, "`yes` is a boolean in YAML 1.1 but text in YAML 1.2"),
)


# --- Issue 14 fix round, part A: text, credentials, values files, YAML types, messages ----------------------
# (classes the red team found: a41 hang, b07-b29 echoed or leaked credentials, c10/k03/k04 values files,
# a08-a16/e06/f17-f19/h03/h18 YAML types and pydantic's wording). Every planted secret holds "PLANTED":
# tests/test_config_messages.py checks no message ever shows it.
FIX14A = "../tests/fixtures/fix14a"
PLANTED = "PLANTED"
_VALUES_FILE = f"{E}.mojaloop.valuesFile"
_BACKEND_VALUES_FILE = f"{E}.mojaloop.backendValuesFile"


def _values(file: str, key: str = _VALUES_FILE) -> tuple[Op, ...]:
    return (("set", key, f"{FIX14A}/{file}"),)


FIX14A_CASES: tuple[Case, ...] = (
    # 1. Any length of text is judged in linear time; a description is one line.
    Case("fix14a-megabyte-description", (("set", f"{POOLS}.kafka.description", "a" * 1_000_000),),
         f"{POOLS}.kafka.description", "must be at most 1024 characters"),
    # 2. Values files hold JSON's types only, refused by place, never by value.
    Case("fix14a-values-date-password", _values("values-datepw.yaml", _BACKEND_VALUES_FILE), _BACKEND_VALUES_FILE,
         "mysql.auth.password is a date"),
    Case("fix14a-values-binary", _values("values-binary.yaml"), _VALUES_FILE, "centralledger.blob is binary data"),
    Case("fix14a-values-timestamp", _values("values-timestamp.yaml"), _VALUES_FILE,
         "centralledger.startedAt is a timestamp"),
    # 3. A credential-like value is never echoed, whatever rule refuses it; tokens are recognised.
    Case("fix14a-dsn-as-a-domain", (("set", f"{E}.domains.internal", "mysql://root:PLANTEDdsn@db.example"),),
         f"{E}.domains.internal", "a credential-like value (not shown) must be a lower-case DNS name"),
    Case("fix14a-gitlab-token-as-a-name", (("set", f"{E}.name", "glpat-PLANTEDtoken01234567890"),),
         f"{E}.name", "holds a GitLab token"),
    Case("fix14a-vault-token-as-token-env",
         (("set", f"{E}.vault.tokenEnv", "hvs.CAESIPLANTEDvaulttokenAAAAAAAAAAAAAAAAAAAAAAAA"),),
         f"{E}.vault.tokenEnv", "holds a Vault token"),
    Case("fix14a-legacy-vault-token-in-a-description",
         (("set", f"{POOLS}.kafka.description", "login with s.PLANTEDabcdefghijklmnopq"),),
         f"{POOLS}.kafka.description", "holds a Vault token"),
    Case("fix14a-github-token-in-a-description",
         (("set", f"{POOLS}.kafka.description", "ghp_PLANTEDabcdefghijklmnopqrstuvwxyz0123"),),
         f"{POOLS}.kafka.description", "holds a GitHub token"),
    # 4. What leaked into Helm values and plan.json: every way text carries a credential.
    Case("fix14a-values-dsn-password-with-slash", _values("values-dsn-slash.yaml"), _VALUES_FILE,
         "global.dbUrl (a URL or DSN with a password)"),
    Case("fix14a-values-password-option", _values("values-args.yaml"), _VALUES_FILE,
         "account-lookup-service.args[0] (a command-line option db-password with its value)"),
    Case("fix14a-values-templated-env", _values("values-tplenv.yaml"), _VALUES_FILE,
         "keycloak.extraEnvVars (the value of variable KEYCLOAK_ADMIN_PASSWORD)"),
    Case("fix14a-values-vault-token", _values("values-vaulttoken.yaml"), _VALUES_FILE,
         "global.vaultLogin (a Vault token)"),
    Case("fix14a-values-github-fine-grained-token", _values("values-ghpat.yaml"), _VALUES_FILE,
         "global.githubLogin (a GitHub token)"),
    Case("fix14a-values-secret-key-base", _values("values-secretkeybase.yaml"), _VALUES_FILE,
         "ttk.config.SECRET_KEY_BASE (a key named like a credential)"),
    Case("fix14a-label-named-like-a-password",
         (("set", f"{POOLS}.kafka.labels", {"example.com/db-password": "PLANTEDlabel"}),),
         f"{POOLS}.kafka.labels.example.com/db-password", "is a label named like a credential (db-password)"),
    # 5. Not UTF-8.
    Case("fix14a-values-not-utf8", _values("not-utf8.yaml"), _VALUES_FILE, "is not UTF-8 text"),
    # 6. Integers are integers: a boolean is no count, NaN and infinity no size.
    Case("fix14a-port-true", (("set", f"{HOSTS}.0.sshPort", True),), f"{HOSTS}[0].sshPort",
         "must be a whole number: YAML read the boolean true here"),
    Case("fix14a-size-yes", (("set", f"{POOLS}.core.aws.desiredSize", True),), f"{POOLS}.core.aws.desiredSize",
         "must be a whole number: YAML read the boolean true", base="aws-dev"),
    Case("fix14a-threshold-on", (("set", f"{C}.secretsStore.unseal.threshold", True),),
         f"{C}.secretsStore.unseal.threshold", "must be a whole number", base="control-center"),
    Case("fix14a-port-leading-zero-text", (("set", f"{HOSTS}.0.sshPort", "0022"),), f"{HOSTS}[0].sshPort",
         "'0022' has a leading zero, which some YAML readers take for octal: write 22"),
    Case("fix14a-port-as-words", (("set", f"{HOSTS}.0.sshPort", "ssh"),), f"{HOSTS}[0].sshPort",
         "must be a whole number, not text, e.g. 22"),
    Case("fix14a-min-size-nan", (("set", f"{POOLS}.core.aws.minSize", float("nan")),), f"{POOLS}.core.aws.minSize",
         ".nan and .inf are not numbers a setting takes", base="aws-dev"),
    Case("fix14a-disk-inf", (("set", f"{POOLS}.core.aws.diskSizeGib", float("inf")),),
         f"{POOLS}.core.aws.diskSizeGib", ".nan and .inf are not numbers a setting takes", base="aws-dev"),
    # 7. Pydantic's own wording replaced by words and an example.
    Case("fix14a-naive-expiry", (("set", f"{E}.lifecycle", "ephemeral"), ("set", f"{E}.expiresAt", "2026-12-31T12:00:00")),
         f"{E}.expiresAt", "must say its time zone, e.g. 2026-12-31T23:59:00Z"),
    Case("fix14a-february-30", (("set", f"{E}.lifecycle", "ephemeral"), ("set", f"{E}.expiresAt", "2026-02-30T12:00:00Z")),
         f"{E}.expiresAt", "must be a real date and time"),
    Case("fix14a-label-value-true", (("set", f"{POOLS}.kafka.labels", {"example.com/tier": True}),),
         f"{POOLS}.kafka.labels.example.com/tier", 'YAML read the boolean true here (quote it, e.g. "true"'),
    Case("fix14a-values-file-a-list", (("set", _VALUES_FILE, ["a.yaml"]),), _VALUES_FILE,
         "must be a string, not a list, e.g. values/demo.yaml"),
    Case("fix14a-pools-a-list", (("set", POOLS, [{"description": "x"}]),), POOLS,
         "must be a mapping of keys to values, not a list, e.g. {name: {"),
    Case("fix14a-classes-a-mapping", (("set", f"{POOLS}.kafka.workloadClasses", {"KAFKA-DATA-PLANE": "x"}),),
         f"{POOLS}.kafka.workloadClasses", "must be a list, not a mapping, e.g. [KAFKA-CONTROL-PLANE"),
    Case("fix14a-enormous-name", (("set", f"{E}.name", "a" * 100_000),), f"{E}.name", "aaaaaaa…' must be a DNS label"),
    # 8. A values planner's refusal of the file's own value: under the file's key, the path in the file.
    Case("fix14a-values-bad-existing-secret", _values("values-bad-existing-secret.yaml"), _VALUES_FILE,
         "at centralledger.config.existingSecret in the file: must be a Secret reference"),
)

FIX14A_TEXT_CASES: tuple[TextCase, ...] = (
    # 4. Clear credentials anywhere in the stack file: other namespaces, the secrets provider.
    TextCase("fix14a-aws-secret-key-in-clear", "config:\n", "config:\n  aws:secretKey: PLANTEDawssecret\n",
             "config.aws:secretKey", "is a credential in clear in a committed stack file"),
    TextCase("fix14a-token-in-another-namespace", "config:\n",
             "config:\n  other:note: see hvs.CAESIPLANTEDvaulttokenAAAAAAAAAAAA\n",
             "config.other:note", "holds a Vault token"),
    TextCase("fix14a-secrets-provider-password", "config:\n",
             "secretsprovider: hashivault://ops:PLANTEDpw@vault.example:8200\nconfig:\n",
             "secretsprovider", "holds a URL or DSN with a password"),
    # 6. Plain scalars YAML 1.1 (PyYAML) and YAML 1.2 (Pulumi) read differently.
    TextCase("fix14a-octal-port", "role: server, pool: core}", "role: server, pool: core, sshPort: 0022}",
             f"{HOSTS}[0].sshPort", "`0022` is an octal number in YAML 1.1"),
    TextCase("fix14a-base-60-port", "role: server, pool: core}", "role: server, pool: core, sshPort: 22:22}",
             f"{HOSTS}[0].sshPort", "`22:22` is a base-60 number in YAML 1.1"),
    TextCase("fix14a-user-on", "      hosts:\n", "      sshUser: on\n      hosts:\n",
             f"{E}.baremetal.sshUser", "`on` is a boolean in YAML 1.1 but text in YAML 1.2"),
    TextCase("fix14a-desired-size-yes", "desiredSize: 3,", "desiredSize: yes,", f"{POOLS}.core.aws.desiredSize",
             "`yes` is a boolean in YAML 1.1", base="aws-dev"),
    TextCase("fix14a-threshold-on", "        threshold: 2\n", "        threshold: on\n",
             f"{C}.secretsStore.unseal.threshold", "`on` is a boolean in YAML 1.1", base="control-center"),
    TextCase("fix14a-label-value-true", "storage.mojaloop.io/tier: fast", "storage.mojaloop.io/tier: true",
             f"{POOLS}.kafka.labels.storage.mojaloop.io/tier", "YAML read the boolean true here"),
    TextCase("fix14a-nan-size", "minSize: 2,", "minSize: .nan,", f"{POOLS}.core.aws.minSize",
             ".nan and .inf are not numbers", base="aws-dev"),
)

CASES = CASES + FIX14A_CASES
TEXT_CASES = TEXT_CASES + FIX14A_TEXT_CASES
