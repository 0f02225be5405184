"""Rules every stack kind's cluster follows: substrate sections, networks, hosts, pools, names, TLS.

Each rule takes the cluster settings and the key prefix (`environment` or `controlCenter`) and yields Issues.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from typing import Any

from mojaloop_iac.config.defaults import versions
from mojaloop_iac.config.issues import Issue, key_text, suggest
from mojaloop_iac.config.models import ClusterSettings, ControlCenter, NodePool, Substrate
from mojaloop_iac.credentials import find_credentials

# Names derived from the stack's name that must stay DNS labels (63 characters): the longest is the Vault
# auth mount `kubernetes-<name>`; the control center's bucket for an environment is `env-<name>`.
DERIVED_NAME_PREFIX = "kubernetes-"
MAX_NAME_LENGTH = 63 - len(DERIVED_NAME_PREFIX)
# EKS' default quota of managed node groups per cluster.
EKS_NODE_GROUPS_QUOTA = 30
# Pulumi names an AWS resource after its logical name plus "-" and 7 random characters; the cluster's IAM roles
# and node groups are `<name>-cluster-aws-<role>-role` and `<name>-cluster-aws-<pool>` (__main__.build_cluster,
# components.cluster and components.aws_cluster name them), and AWS caps those names.
PULUMI_NAME_SUFFIX = 8
IAM_ROLE_NAME_MAX = 64
NODE_GROUP_NAME_MAX = 63
_REPELLING_EFFECTS = ("NoSchedule", "NoExecute")


def substrate_sections(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    sections = {Substrate.BAREMETAL: cluster.baremetal, Substrate.AWS: cluster.aws}
    for substrate, section in sections.items():
        if substrate == cluster.substrate and section is None:
            yield Issue(f"{prefix}.{substrate.value}", f"is required when substrate is {substrate.value}")
        elif substrate != cluster.substrate and section is not None:
            yield Issue(
                f"{prefix}.{substrate.value}",
                f"is set but substrate is {cluster.substrate.value}; remove it or change substrate",
            )


def named_networks(cluster: ClusterSettings, prefix: str) -> list[tuple[str, ipaddress.IPv4Network]]:
    """Every network the cluster owns or routes, with its key path: they must not overlap."""
    named: list[tuple[str, ipaddress.IPv4Network]] = [
        (f"{prefix}.network.podCidr", cluster.network.pod_cidr),
        (f"{prefix}.network.serviceCidr", cluster.network.service_cidr),
    ]
    if cluster.aws is not None:
        named.append((f"{prefix}.aws.vpcCidr", cluster.aws.vpc_cidr))
    if isinstance(cluster, ControlCenter):
        mesh = cluster.wireguard
        named.append((f"{prefix}.wireguard.cidr", mesh.cidr))
        for name, peer in sorted(mesh.peers.items()):
            named += [(f"{prefix}.wireguard.peers.{name}.allowedIps[{index}]", network)
                      for index, network in enumerate(peer.allowed_ips)]
    return named


def cidrs_do_not_overlap(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    named = named_networks(cluster, prefix)
    for index, (path, network) in enumerate(named):
        for other_path, other in named[:index]:
            if network.overlaps(other):
                yield Issue(path, f"{network} overlaps {other_path} ({other}); the cluster's networks, the mesh "
                            "and every peer's routed networks must be disjoint")
    if cluster.baremetal is not None:
        for index, host in enumerate(cluster.baremetal.hosts):
            for path, network in named:
                if host.address in network:
                    yield Issue(
                        f"{prefix}.baremetal.hosts[{index}].address",
                        f"{host.address} lies inside {path} ({network}); host addresses must be outside the "
                        "cluster's pod and service CIDRs, the mesh and the networks routed to its peers",
                    )
        capacity = 2 ** (24 - cluster.network.pod_cidr.prefixlen)
        if len(cluster.baremetal.hosts) > capacity:
            yield Issue(f"{prefix}.network.podCidr", f"{cluster.network.pod_cidr} holds {capacity} node "
                        f"subnets (a /24 each) for {len(cluster.baremetal.hosts)} hosts; use a larger range")


# The most public (non-private) addresses a cluster's API allow-lists may open it to, together: a /8's worth.
MAX_PUBLIC_ALLOWED_ADDRESSES = 2**24


def api_access_is_bounded(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    """Each allowed network is at most a /8 (syntax); together they must not open the API to the Internet
    piece by piece (0.0.0.0/1 + 128.0.0.0/1 is everyone)."""
    lists = []
    if cluster.baremetal is not None:
        lists.append((f"{prefix}.baremetal.apiAllowedCidrs", cluster.baremetal.api_allowed_cidrs))
    if cluster.aws is not None:
        lists.append((f"{prefix}.aws.apiAccessCidrs", cluster.aws.api_access_cidrs))
    for path, networks in lists:
        collapsed = ipaddress.collapse_addresses(n for n in networks if isinstance(n, ipaddress.IPv4Network))
        public = sum(network.num_addresses for network in collapsed if not network.is_private)
        if public > MAX_PUBLIC_ALLOWED_ADDRESSES:
            yield Issue(path, f"together open the API to {public} public addresses, more than a /8 "
                        f"({MAX_PUBLIC_ALLOWED_ADDRESSES}): list the operators' and CI's own networks, e.g. "
                        "203.0.113.0/24, or reach the API over the WireGuard mesh")


def api_endpoint_is_a_vip(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    """The API endpoint is a virtual IP or load balancer in front of the servers: an address of its own, outside
    the pod and service networks, and not an agent's (which runs no API server). A server's address only with
    a single server, where it is what the default would be anyway."""
    baremetal = cluster.baremetal
    if baremetal is None or not isinstance(baremetal.api_endpoint, ipaddress.IPv4Address):
        return
    endpoint, path = baremetal.api_endpoint, f"{prefix}.baremetal.apiEndpoint"
    for key, network in (("podCidr", cluster.network.pod_cidr), ("serviceCidr", cluster.network.service_cidr)):
        if endpoint in network:
            yield Issue(path, f"{endpoint} lies inside {prefix}.network.{key} ({network}), which the cluster hands "
                        "to pods or services; give the virtual IP or load balancer on the hosts' network, e.g. "
                        "192.0.2.10")
    servers = [host for host in baremetal.hosts if host.role == "server"]
    for host in baremetal.hosts:
        if host.address != endpoint:
            continue
        if host.role == "agent":
            yield Issue(path, f"{endpoint} is agent {host.name}'s address, which runs no API server; give the "
                        "virtual IP or load balancer in front of the servers, or leave it out for the first server")
        elif len(servers) > 1:
            yield Issue(path, f"{endpoint} is server {host.name}'s own address: with {len(servers)} servers the API "
                        "would go down with that one; give a virtual IP or load balancer in front of all of them")


def baremetal_hosts(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if cluster.baremetal is None:
        return
    hosts = cluster.baremetal.hosts
    base = f"{prefix}.baremetal"
    for field, values in (("name", [h.name for h in hosts]), ("address", [str(h.address) for h in hosts])):
        for value, count in Counter(values).items():
            if count > 1:
                first = values.index(value)
                yield Issue(f"{base}.hosts[{first}].{field}", f"{value!r} is used by {count} hosts; must be unique")
    endpoints = [host.ssh_endpoint for host in hosts]
    for endpoint, count in Counter(endpoints).items():
        sharing = [host for host in hosts if host.ssh_endpoint == endpoint]
        # Hosts that only share an address are reported above, under `address`.
        if count > 1 and any(host.ssh_host is not None for host in sharing):
            first = endpoints.index(endpoint)
            yield Issue(
                f"{base}.hosts[{first}].sshPort",
                f"{count} hosts are reached over SSH at {endpoint[0]} port {endpoint[1]}; each host needs its "
                "own SSH endpoint (give them different sshHost or sshPort values)",
            )
    for index, host in enumerate(hosts):
        if host.pool not in cluster.node_pools:
            hint = suggest(host.pool, cluster.node_pools)
            known = ", ".join(sorted(cluster.node_pools))
            extra = f"did you mean {hint!r}? " if hint else ""
            yield Issue(f"{base}.hosts[{index}].pool", f"unknown node pool {host.pool!r}; {extra}defined pools: {known}")
    servers = sum(1 for host in hosts if host.role == "server")
    if servers not in (1, 3):
        yield Issue(f"{base}.hosts", f"has {servers} server host(s); needs 1, or 3 so etcd keeps quorum")
    elif (servers == 3) != cluster.baremetal.ha_embedded_etcd:
        # The validate_inventory role checks the same: several k3s servers share one datastore only through
        # embedded etcd, and one server has no quorum to keep.
        yield Issue(
            f"{base}.haEmbeddedEtcd",
            f"{servers} server host(s) need haEmbeddedEtcd: {str(servers == 3).lower()} (three servers share their "
            "datastore through embedded etcd; a single server keeps it on its own)",
        )
    if cluster.baremetal.ssh_user == "root":
        yield Issue(
            f"{base}.sshUser",
            "must not be root: the hardening role turns root SSH login off, which would lock the next run "
            "out; use a user with passwordless sudo",
        )
    if cluster.baremetal.k3s_binary_url and cluster.baremetal.k3s_binary_path:
        yield Issue(f"{base}.k3sBinaryPath", "set either k3sBinaryUrl or k3sBinaryPath, not both")
    pinned_url = versions()["k3sInstaller"]["url"]
    url = cluster.baremetal.k3s_install_script_url
    own_script = cluster.baremetal.k3s_install_script_path or (url if url not in (None, pinned_url) else None)
    if own_script and cluster.baremetal.k3s_install_script_sha256 is None:
        yield Issue(
            f"{base}.k3sInstallScriptSha256",
            f"is required with the install script {own_script}: the playbooks run no installer whose sha256 they "
            "were not given (e.g. the output of `sha256sum install.sh`)",
        )
    populated = {host.pool for host in hosts}
    for pool_name in cluster.node_pools:
        if pool_name not in populated:
            yield Issue(
                f"{prefix}.nodePools.{pool_name}",
                "has no hosts; assign hosts to it under baremetal.hosts[].pool or remove the pool",
            )


def downloads_are_https(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if cluster.chart_mirror is not None:
        yield from http_needs_the_flag(
            {f"{prefix}.chartMirror": cluster.chart_mirror}, cluster.chart_mirror_insecure_http,
            f"{prefix}.chartMirrorInsecureHttp", "every chart and manifest the cluster installs could be replaced on the way",
        )
    baremetal = cluster.baremetal
    if baremetal is None:
        return
    urls = {"k3sInstallScriptUrl": baremetal.k3s_install_script_url or "", "k3sBinaryUrl": baremetal.k3s_binary_url}
    if baremetal.k3s_install_script_path:
        urls.pop("k3sInstallScriptUrl")  # the file wins: the URL is never fetched
    yield from http_needs_the_flag(
        {f"{prefix}.baremetal.{key}": url for key, url in urls.items()},
        baremetal.insecure_http,
        f"{prefix}.baremetal.insecureHttp",
        "the k3s installer and binary run as root on every host: anyone on the path could replace them",
    )


def http_needs_the_flag(urls: dict[str, str], allowed: bool, flag: str, risk: str) -> Iterator[Issue]:
    for path, url in urls.items():
        if not url.startswith("http://"):
            continue
        if allowed:
            yield Issue(path, f"uses http:// ({flag} is set): {risk}", severity="warning")
        else:
            yield Issue(path, f"uses http://, but {risk}; use https://, or set {flag}: true in a lab without TLS "
                        "(validation then warns)")


def aws_node_groups(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    from mojaloop_iac.planners.aws_cluster.nodes import arm_instance_types

    for pool_name, pool in cluster.node_pools.items():
        path = f"{prefix}.nodePools.{pool_name}.aws"
        if cluster.substrate == Substrate.AWS and pool.aws is None:
            yield Issue(path, "is required when substrate is aws (instanceTypes, minSize, maxSize, desiredSize)")
        elif cluster.substrate != Substrate.AWS and pool.aws is not None:
            yield Issue(path, f"is set but substrate is {cluster.substrate.value}; remove it")
        elif pool.aws is not None:
            sizing = pool.aws
            if sizing.min_size > sizing.max_size:
                yield Issue(f"{path}.minSize", f"{sizing.min_size} is more than maxSize ({sizing.max_size})")
            elif not sizing.min_size <= sizing.desired_size <= sizing.max_size:
                yield Issue(
                    f"{path}.desiredSize",
                    f"must lie between minSize ({sizing.min_size}) and maxSize ({sizing.max_size})",
                )
            arm = arm_instance_types(sizing.instance_types)
            if arm:
                yield Issue(f"{path}.instanceTypes", f"{', '.join(arm)} are ARM (Graviton) types; Mojaloop runs on "
                            "x86-64 only: choose x86 types such as m6i.xlarge or m6a.xlarge")
            for name, count in Counter(sizing.instance_types).items():
                if count > 1:
                    yield Issue(f"{path}.instanceTypes", f"{name} is listed {count} times")
    if cluster.substrate == Substrate.AWS and len(cluster.node_pools) > EKS_NODE_GROUPS_QUOTA:
        yield Issue(f"{prefix}.nodePools", f"{len(cluster.node_pools)} pools are more managed node groups than EKS "
                    f"allows by default ({EKS_NODE_GROUPS_QUOTA}); raise the account's quota first",
                    severity="warning")


def k3s_version_matches_kubernetes(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if cluster.baremetal is None:
        return
    wanted = cluster.kubernetes.version
    pinned = cluster.baremetal.k3s_version
    if pinned is None:
        if wanted not in versions()["k3s"]:
            yield Issue(
                f"{prefix}.kubernetes.version",
                f"no k3s release is pinned for Kubernetes {wanted} in config/versions.yaml; "
                f"pinned: {', '.join(versions()['k3s'])}; or set baremetal.k3sVersion",
            )
    elif not pinned.startswith(f"v{wanted}."):
        yield Issue(
            f"{prefix}.baremetal.k3sVersion",
            f"{pinned} is not a Kubernetes {wanted} release; it must start with v{wanted}.",
        )


def taints_are_unique(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    for pool_name, pool in cluster.node_pools.items():
        seen: dict[tuple[str, str], int] = {}
        for index, taint in enumerate(pool.taints):
            first = seen.setdefault((taint.key, taint.effect), index)
            if first != index:
                yield Issue(f"{prefix}.nodePools.{pool_name}.taints[{index}]", f"repeats the key {taint.key!r} with "
                            f"effect {taint.effect} of taints[{first}]; Kubernetes allows one value per key and effect")


def repels(pool: NodePool) -> bool:
    return any(taint.effect in _REPELLING_EFFECTS for taint in pool.taints)


def some_pool_is_untainted(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if cluster.node_pools and all(repels(pool) for pool in cluster.node_pools.values()):
        yield Issue(f"{prefix}.nodePools", "every pool carries a NoSchedule or NoExecute taint, so the cluster's own "
                    "services (DNS, certificates, the gateways, the secrets store) could run nowhere; leave at least "
                    "one pool untainted")


def domains_differ(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if cluster.domains.internal == cluster.domains.external:
        yield Issue(f"{prefix}.domains.external", f"is the internal domain too ({cluster.domains.external}); the "
                    "internal and external gateways serve different domains (hub operators and DFSPs must not share "
                    "host names), e.g. int.demo.example.com and demo.example.com")


def name_fits_derived_names(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if len(cluster.name) > MAX_NAME_LENGTH:
        yield Issue(f"{prefix}.name", f"has {len(cluster.name)} characters; at most {MAX_NAME_LENGTH}, so that the "
                    f"names made from it (e.g. the Vault auth mount {DERIVED_NAME_PREFIX}<name>) stay within "
                    "Kubernetes' and Vault's 63")


def aws_logical_names(cluster: ClusterSettings) -> dict[str, list[str]]:
    """The logical names of the cluster's IAM roles and node groups, which AWS names them after."""
    from mojaloop_iac.planners.aws_cluster.iam import cluster_roles

    base = f"{cluster.name}-cluster-aws"
    return {"roles": [f"{base}-{key}-role" for key in cluster_roles()],
            "node_groups": [f"{base}-{pool}" for pool in cluster.node_pools]}


def aws_names_fit(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if cluster.substrate != Substrate.AWS:
        return
    names = aws_logical_names(cluster)
    longest = max(names["roles"], key=len)
    if len(longest) + PULUMI_NAME_SUFFIX > IAM_ROLE_NAME_MAX:
        limit = len(cluster.name) - (len(longest) + PULUMI_NAME_SUFFIX - IAM_ROLE_NAME_MAX)
        yield Issue(f"{prefix}.name", f"has {len(cluster.name)} characters; on AWS at most {limit}: the cluster's IAM "
                    f"roles are named after it ({longest} and Pulumi's 8-character suffix) and AWS allows "
                    f"{IAM_ROLE_NAME_MAX}")
        return
    for pool, group in zip(cluster.node_pools, names["node_groups"], strict=True):
        if len(group) + PULUMI_NAME_SUFFIX > NODE_GROUP_NAME_MAX:
            yield Issue(f"{prefix}.nodePools.{pool}", f"names the managed node group {group} (and Pulumi's 8-character "
                        f"suffix): {len(group) + PULUMI_NAME_SUFFIX} characters, but EKS allows "
                        f"{NODE_GROUP_NAME_MAX}; shorten the pool's or the stack's name")


def acme_is_configured(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    tls = cluster.tls
    if tls.acme_dns01_solver is not None:
        yield from dns01_solver_shape(tls.acme_dns01_solver, f"{prefix}.tls.acmeDns01Solver")
    if "acme" not in (tls.internal_issuer, tls.external_issuer):
        return
    if tls.acme_email is None:
        yield Issue(f"{prefix}.tls.acmeEmail", "is required when an issuer is acme (the ACME account's contact)")
    if tls.acme_dns01_solver is None:
        yield Issue(f"{prefix}.tls.acmeDns01Solver", "is required when an issuer is acme: wildcard certificates "
                    "need a DNS-01 solver, e.g. {route53: {region: eu-west-1}}")


def dns01_solver_shape(solver: dict[str, Any], path: str) -> Iterator[Issue]:
    """cert-manager's shape: {provider: {settings}}, credentials only as `...SecretRef: {name, key}`."""
    findings = find_credentials(solver)
    if findings:
        yield Issue(path, f"holds credentials at {', '.join(str(f) for f in findings)}; give the DNS provider's "
                    "credentials only as ...SecretRef references (e.g. secretAccessKeySecretRef: {name, key}), whose "
                    "Secrets Vault fills")
    for provider, settings in solver.items():
        if provider != "cnameStrategy" and not isinstance(settings, dict):
            yield Issue(f"{path}.{key_text(provider)}", "must be a mapping of the provider's settings, e.g. "
                        "{region: eu-west-1} for route53")

    def refs(value: Any, where: str) -> Iterator[Issue]:
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            here = f"{where}[{key}]" if isinstance(value, list) else f"{where}.{key_text(key)}"
            if isinstance(value, dict) and str(key).endswith("SecretRef"):
                if not (isinstance(item, dict) and set(item) == {"name", "key"} and _secret_ref_names(item)):
                    yield Issue(here, "must be a Secret reference {name: <Secret>, key: <key in it>}, the name a DNS "
                                "label and the key letters, digits, '.', '_' and '-', e.g. "
                                "{name: route53-credentials, key: secret-access-key}")
            else:
                yield from refs(item, here)

    yield from refs(solver, path)


def _secret_ref_names(ref: dict[str, Any]) -> bool:
    from mojaloop_iac.vault.paths import require_dns_label, require_secret_key

    try:
        require_dns_label(ref["name"], "Secret")
        require_secret_key(ref["key"])
    except ValueError:
        return False
    return True


def platform_versions_are_supported(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    """Istio, cert-manager and External Secrets versions exist for the cluster's Kubernetes minor, and each
    (pinned or overridden in chartVersions) supports it; Istio's components run one version."""
    from mojaloop_iac.platform_versions import check_platform_versions

    for issue in check_platform_versions(cluster.kubernetes.version, getattr(cluster, "chart_versions", None)):
        yield Issue(f"{prefix}.{issue.key}", issue.message, severity=issue.severity)
