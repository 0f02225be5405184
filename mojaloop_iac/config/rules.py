"""Rules that relate several configuration fields.

Each rule is a small function over the parsed model yielding Issues with the key path to fix, so
the validator can report every problem at once and each rule is tested on its own. The last rule plans
the stack with the same pure planners the program runs (see `plannable`): whatever they refuse is
refused here, before anything runs, under a stack key.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from mojaloop_iac import contract
from mojaloop_iac.catalog import ReleaseCatalog, UpgradeRefused, plan_upgrade
from mojaloop_iac.config.defaults import versions
from mojaloop_iac.config.files import DEFAULT_LOCATION, StackLocation, load_values, referenced_stack_file
from mojaloop_iac.config.issues import Issue, key_text, suggest
from mojaloop_iac.config.models import ClusterSettings, ControlCenter, Environment, NodePool, StackConfig, Substrate
from mojaloop_iac.credentials import find_credentials
from mojaloop_iac.planners.mesh import plan_hub_side
from mojaloop_iac.wireguard import MeshPlanError

# Kubernetes' own namespaces: a stack that created (and on destroy deleted) one would break the cluster.
KUBERNETES_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Paths Vault reserves for itself: no secrets engine can be mounted there.
VAULT_RESERVED_MOUNTS = ("sys", "auth", "cubbyhole", "identity")
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

ClusterRule = Callable[[ClusterSettings, str], Iterator[Issue]]


def check_stack(
    config: StackConfig,
    catalog: ReleaseCatalog,
    location: StackLocation = DEFAULT_LOCATION,
    stack_name: str | None = None,
    references: Collection[str] | None = (),
    *,
    files_checked: bool = True,
) -> list[Issue]:
    """`files_checked` is False when the files the stack names were refused: `config` then holds their paths as
    written, and nothing that reads them runs."""
    prefix = config.kind
    cluster_rules: list[ClusterRule] = [
        acme_is_configured,
        substrate_sections,
        cidrs_do_not_overlap,
        baremetal_hosts,
        downloads_are_https,
        aws_node_groups,
        k3s_version_matches_kubernetes,
        taints_are_unique,
        some_pool_is_untainted,
        domains_differ,
        name_fits_derived_names,
        aws_names_fit,
    ]
    issues = [issue for rule in cluster_rules for issue in rule(config.cluster, prefix)]
    if config.control_center is not None:
        issues += control_center_rules(config.control_center, prefix, files_checked)
    if config.environment is not None:
        env = config.environment
        issues += release_is_installable(env, prefix, catalog)
        issues += workload_classes_placed(env, prefix)
        issues += tainted_pools_tolerated(env, prefix)
        issues += vault_reaches_the_cluster(env, prefix)
        issues += chart_versions_name_platform_releases(env, prefix)
        issues += namespace_is_mojaloops_own(env, prefix)
        issues += control_center_stack_is_a_control_center(env, prefix, location, stack_name, references)
    if files_checked and not any(issue.severity == "error" for issue in issues):
        # Imported here: it pulls in every planner.
        from mojaloop_iac.config.plannable import planner_issues

        issues += planner_issues(config, prefix, catalog)
    return issues


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
    wanted = (3,) if cluster.baremetal.ha_embedded_etcd else (1, 3)
    if servers not in wanted:
        detail = "exactly 3 (haEmbeddedEtcd needs a quorum)" if cluster.baremetal.ha_embedded_etcd else "1 or 3"
        yield Issue(f"{base}.hosts", f"has {servers} server host(s); needs {detail} so etcd keeps quorum")
    if cluster.baremetal.ssh_user == "root":
        yield Issue(
            f"{base}.sshUser",
            "must not be root: the hardening role turns root SSH login off, which would lock the next run "
            "out; use a user with passwordless sudo",
        )
    if cluster.baremetal.k3s_binary_url and cluster.baremetal.k3s_binary_path:
        yield Issue(f"{base}.k3sBinaryPath", "set either k3sBinaryUrl or k3sBinaryPath, not both")
    populated = {host.pool for host in hosts}
    for pool_name in cluster.node_pools:
        if pool_name not in populated:
            yield Issue(
                f"{prefix}.nodePools.{pool_name}",
                "has no hosts; assign hosts to it under baremetal.hosts[].pool or remove the pool",
            )


def downloads_are_https(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    baremetal = cluster.baremetal
    if baremetal is None:
        return
    urls = {"k3sInstallScriptUrl": baremetal.k3s_install_script_url, "k3sBinaryUrl": baremetal.k3s_binary_url}
    if baremetal.k3s_install_script_path:
        urls.pop("k3sInstallScriptUrl")  # the file wins: the URL is never fetched
    yield from _http_needs_the_flag(
        {f"{prefix}.baremetal.{key}": url for key, url in urls.items()},
        baremetal.insecure_http,
        f"{prefix}.baremetal.insecureHttp",
        "the k3s installer and binary run as root on every host: anyone on the path could replace them",
    )


def _http_needs_the_flag(urls: dict[str, str], allowed: bool, flag: str, risk: str) -> Iterator[Issue]:
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


def _repels(pool: NodePool) -> bool:
    return any(taint.effect in _REPELLING_EFFECTS for taint in pool.taints)


def some_pool_is_untainted(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    if cluster.node_pools and all(_repels(pool) for pool in cluster.node_pools.values()):
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


def release_is_installable(env: Environment, prefix: str, catalog: ReleaseCatalog) -> Iterator[Issue]:
    from mojaloop_iac.planners.mojaloop_release import BACKEND_RELEASE_NAME

    base = f"{prefix}.mojaloop"
    name = env.mojaloop.helm_release_name
    if len(name) > contract.MAX_HELM_RELEASE_NAME_LENGTH:
        yield Issue(
            f"{base}.helmReleaseName",
            f"{name!r} has {len(name)} characters; at most {contract.MAX_HELM_RELEASE_NAME_LENGTH} keep the "
            "chart's generated names within Kubernetes' 63-character limit",
        )
    elif not name or not ("a" <= name[0] <= "z") or not name[-1].isalnum() or not all(
        "a" <= c <= "z" or "0" <= c <= "9" or c == "-" for c in name
    ):
        yield Issue(f"{base}.helmReleaseName", f"{name!r} must be lower-case letters, digits and '-', starting with "
                    "a letter and ending with a letter or digit (e.g. moja)")
    elif name == BACKEND_RELEASE_NAME:
        yield Issue(f"{base}.helmReleaseName", f"{name!r} is the backend chart's release in the same namespace; "
                    "choose another name (e.g. moja)")
    release = catalog.get(env.mojaloop.release)
    if release is None:
        hint = suggest(env.mojaloop.release, catalog.versions())
        extra = f"did you mean {hint!r}? " if hint else ""
        yield Issue(
            f"{base}.release",
            f"unknown release {env.mojaloop.release!r}; {extra}the catalog has {', '.join(catalog.versions())}",
        )
        return
    installed = env.mojaloop.installed_release
    if installed is not None and installed != release.version:
        try:
            plan_upgrade(catalog, installed, release.version)
        except UpgradeRefused as refused:
            yield Issue(f"{base}.release", f"cannot upgrade from installedRelease {installed}: {refused}")
    support = release.kubernetes_support(env.kubernetes.version)
    limits = f"validated on {release.kubernetes.validated}, supported from {release.kubernetes.minimum}"
    if support == "unsupported":
        yield Issue(
            f"{prefix}.kubernetes.version",
            f"Kubernetes {env.kubernetes.version} is older than release {release.version} supports ({limits})",
        )
    elif support == "newer-than-validated":
        yield Issue(
            f"{prefix}.kubernetes.version",
            f"Kubernetes {env.kubernetes.version} is newer than release {release.version} was validated on "
            f"({limits}); it may work, but it is untested",
            severity="warning",
        )


def workload_classes_placed(env: Environment, prefix: str) -> Iterator[Issue]:
    placed = {cls for pool in env.node_pools.values() for cls in pool.workload_classes}
    missing = [cls for cls in contract.WORKLOAD_CLASSES if cls not in placed]
    if missing:
        yield Issue(
            f"{prefix}.nodePools",
            f"workload classes {', '.join(missing)} are not placed on any node pool; "
            "add each to some pool's workloadClasses",
        )


def tainted_pools_tolerated(env: Environment, prefix: str) -> Iterator[Issue]:
    for pool_name, pool in env.node_pools.items():
        if not pool.workload_classes:
            continue
        for index, taint in enumerate(pool.taints):
            if taint.effect == "PreferNoSchedule":
                continue
            if not any(toleration.tolerates(taint) for toleration in env.placement.tolerations):
                yield Issue(
                    f"{prefix}.nodePools.{pool_name}.taints[{index}]",
                    f"workload classes {', '.join(pool.workload_classes)} are placed on this pool but Mojaloop "
                    f"workloads do not tolerate {taint}; add a toleration under {prefix}.placement.tolerations "
                    "or remove the taint",
                )


def vault_reaches_the_cluster(env: Environment, prefix: str) -> Iterator[Issue]:
    vault = env.vault
    if vault.address is None and env.control_center_stack is None:
        yield Issue(f"{prefix}.vault.address", "is required unless controlCenterStack names the control center "
                    "whose Vault this environment uses")
    if vault.address is not None:
        yield from _http_needs_the_flag(
            {f"{prefix}.vault.address": vault.address}, vault.insecure_http, f"{prefix}.vault.insecureHttp",
            "the Vault token and every generated password would cross the network in clear",
        )
    if vault.kv_mount in VAULT_RESERVED_MOUNTS:
        yield Issue(f"{prefix}.vault.kvMount", f"{vault.kv_mount!r} is a path Vault reserves for itself "
                    f"({', '.join(VAULT_RESERVED_MOUNTS)}); choose another mount, e.g. mojaloop")


def chart_versions_name_platform_releases(env: Environment, prefix: str) -> Iterator[Issue]:
    if not env.chart_versions:
        return
    known = _platform_release_names(env)
    if known is None:
        return  # the platform cannot be planned: the planners' own issue says why
    for name in sorted(env.chart_versions):
        if name not in known:
            hint = suggest(name, known)
            yield Issue(f"{prefix}.chartVersions.{name}", "not a platform Helm release"
                        + (f"; did you mean {hint!r}?" if hint else f"; releases: {', '.join(sorted(known))}"))


def _platform_release_names(env: Environment) -> set[str] | None:
    # Imported here: the platform planners are only needed when a stack names releases.
    from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS
    from mojaloop_iac.planners.platform import plan_platform, platform_release_names
    from mojaloop_iac.planners.vault_access import external_secrets_release

    try:
        platform = plan_platform(env, STORAGE_CLASS[env.substrate])
    except ValueError:
        return None
    return platform_release_names(platform) | {external_secrets_release().name}


def namespace_is_mojaloops_own(env: Environment, prefix: str) -> Iterator[Issue]:
    from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS
    from mojaloop_iac.planners.namespaces import EXTERNAL_SECRETS_NAMESPACE
    from mojaloop_iac.planners.platform import plan_platform

    namespace = env.mojaloop.namespace
    try:
        platform = {spec.name for spec in plan_platform(env, STORAGE_CLASS[env.substrate]).namespaces}
    except ValueError:
        platform = set()
    platform |= {EXTERNAL_SECRETS_NAMESPACE, contract.INTERNAL_GATEWAY_NAMESPACE,
                 contract.EXTERNAL_GATEWAY_NAMESPACE, contract.EGRESS_GATEWAY_NAMESPACE}
    if namespace in KUBERNETES_NAMESPACES:
        yield Issue(f"{prefix}.mojaloop.namespace", f"{namespace!r} is one of Kubernetes' own namespaces, which the "
                    "stack would take over (and delete with it); use a namespace of its own, e.g. mojaloop")
    elif namespace in platform:
        yield Issue(f"{prefix}.mojaloop.namespace", f"{namespace!r} is a platform service's namespace "
                    f"({', '.join(sorted(platform))}); Mojaloop needs a namespace of its own, e.g. mojaloop")


def control_center_stack_is_a_control_center(
    env: Environment, prefix: str, location: StackLocation, stack_name: str | None,
    references: Collection[str] | None = (),
) -> Iterator[Issue]:
    """Offline, the reference is answered by `--stack-outputs` (`references`) or by planning the local stack
    file of that name, which must then exist and be a valid control center (as `mojactl plan` needs it)."""
    reference = env.control_center_stack
    if reference is None:
        return
    path = f"{prefix}.controlCenterStack"
    local = reference.rsplit("/", 1)[-1]
    if stack_name is not None and local == stack_name:
        yield Issue(path, f"{reference!r} names this stack itself; name the control center's stack")
        return
    if references is None or reference in references:
        return  # answered by the engine, or by the outputs given
    stack_file = referenced_stack_file(reference, location)
    if stack_file is None:
        yield Issue(path, f"{reference!r} has no local stack file (Pulumi.{local}.yaml next to this one or in stacks/) "
                    "to answer it offline: add it, or give the control center's outputs with --stack-outputs FILE "
                    "(pulumi up reads them from the state backend)")
        return
    # Imported here: loading a stack file is load.py's business, which imports these rules.
    from mojaloop_iac.config.issues import ConfigError
    from mojaloop_iac.config.load import read_stack_file, validate_stack_file

    declared = None
    try:
        kinds = set(read_stack_file(str(stack_file)).namespace())
        if "controlCenter" in kinds:
            control_center = validate_stack_file(str(stack_file))[1].config.control_center
            declared = control_center.environments if control_center is not None else None
    except ConfigError as error:
        yield Issue(path, f"the control center's stack {stack_file} is invalid ({len(error.issues)} problem(s), "
                    f"first: {error.issues[0]}); `mojactl validate {stack_file}` lists them")
        return
    if "controlCenter" not in kinds:
        what = "an environment" if "environment" in kinds else "not a control center"
        yield Issue(path, f"{reference!r} names {stack_file.name}, which is {what} stack; name the control center's "
                    "stack (the one with mojaloop:controlCenter)")
    elif declared is not None and env.name not in declared:
        yield Issue(path, f"the control center ({stack_file.name}) does not declare {env.name!r} in its environments "
                    f"({', '.join(declared) or 'none'}): add it there, or this stack's Vault access does not exist",
                    severity="warning")


def load_values_file(name: str) -> dict[str, Any]:
    """A values overrides file, as validation resolved it (an absolute path)."""
    return load_values(Path(name))


def read_ca_certificate(name: str) -> str:
    """The PEM text of a CA file validation resolved: the Vault connections trust it as text."""
    return Path(name).read_text(encoding="utf-8")


def control_center_rules(cc: ControlCenter, prefix: str, files_checked: bool = True) -> Iterator[Issue]:
    for name, count in Counter(cc.environments).items():
        if count > 1:
            yield Issue(f"{prefix}.environments", f"{name!r} is listed {count} times")
    for index, name in enumerate(cc.environments):
        if len(name) > MAX_NAME_LENGTH:
            yield Issue(f"{prefix}.environments[{index}]", f"{name!r} has {len(name)} characters; at most "
                        f"{MAX_NAME_LENGTH}, as for an environment's own name (its Vault auth mount is "
                        f"{DERIVED_NAME_PREFIX}<name>)")
    if cc.name in cc.environments:
        index = cc.environments.index(cc.name)
        yield Issue(f"{prefix}.environments[{index}]", f"{cc.name!r} is the control center's own name: its Vault paths, "
                    "auth mount and policies hold the control center's own secrets (MinIO's root password among "
                    "them), which that environment's deployer would then read and write; name the environment "
                    "differently")
    yield from unseal_keys(cc, prefix, files_checked)
    yield from raft_fits_the_nodes(cc, prefix)
    yield from wireguard_mesh_plans(cc, f"{prefix}.wireguard")


def unseal_keys(cc: ControlCenter, prefix: str, files_checked: bool) -> Iterator[Issue]:
    from mojaloop_iac.vault.bootstrap_pgp import PgpKeyError, parse_public_key
    from mojaloop_iac.vault.paths import require_vault_name

    unseal = cc.secrets_store.unseal
    base = f"{prefix}.secretsStore.unseal"
    if unseal.threshold > unseal.shares:
        yield Issue(f"{base}.threshold", f"{unseal.threshold} is more than the {unseal.shares} shares")
    if cc.substrate == Substrate.BAREMETAL and len(unseal.operator_pgp_key_files) != unseal.shares:
        yield Issue(
            f"{base}.operatorPgpKeyFiles",
            f"needs one operator PGP public key per share ({unseal.shares}), found "
            f"{len(unseal.operator_pgp_key_files)}: unseal shares are only ever handed out encrypted",
        )
    operators: dict[str, int] = {}
    fingerprints: dict[str, int] = {}
    for index, name in enumerate(unseal.operator_pgp_key_files):
        path = f"{base}.operatorPgpKeyFiles[{index}]"
        operator = Path(name).stem
        try:
            require_vault_name(operator, "operator")
        except ValueError:
            yield Issue(path, f"the file name {Path(name).name!r} names the operator (their Vault login) and must "
                        "start with a letter or digit, then letters, digits, '.', '_' and '-' (e.g. alice.asc)")
        if operator in operators:
            yield Issue(path, f"names operator {operator!r} again (operatorPgpKeyFiles[{operators[operator]}]); each "
                        "file's name without its extension names one operator")
        operators.setdefault(operator, index)
        if not files_checked:
            continue
        try:
            fingerprint = parse_public_key(Path(name).read_text(encoding="utf-8"), operator).fingerprint
        except (OSError, UnicodeDecodeError, PgpKeyError):
            continue  # reported by the file check
        if fingerprint in fingerprints:
            yield Issue(path, f"is the same key as operatorPgpKeyFiles[{fingerprints[fingerprint]}]: one person would "
                        "hold two shares, defeating the threshold")
        fingerprints.setdefault(fingerprint, index)


def raft_fits_the_nodes(cc: ControlCenter, prefix: str) -> Iterator[Issue]:
    """The secrets store's chart keeps each raft peer on a node of its own, on nodes without taints."""
    replicas = cc.secrets_store.replicas
    untainted = {name for name, pool in cc.node_pools.items() if not _repels(pool)}
    if cc.baremetal is not None:
        nodes = sum(1 for host in cc.baremetal.hosts if host.pool in untainted)
        where = "hosts in untainted pools"
    else:
        nodes = sum(pool.aws.min_size for name, pool in cc.node_pools.items() if name in untainted and pool.aws)
        where = "nodes (minSize) in untainted pools"
    if replicas > nodes:
        yield Issue(f"{prefix}.secretsStore.replicas", f"{replicas} raft peers need {replicas} nodes, each on its own, "
                    f"but the cluster has {nodes} {where}; lower replicas or add nodes")


def wireguard_mesh_plans(cc: ControlCenter, path: str) -> Iterator[Issue]:
    hub = cc.wireguard.hub
    if cc.substrate == Substrate.BAREMETAL:
        hosts = [host.name for host in cc.baremetal.hosts] if cc.baremetal is not None else []
        if hub.host is None:
            yield Issue(f"{path}.hub.host", "is required on substrate baremetal: the control-center host that "
                        f"runs the hub, one of {', '.join(hosts) or 'baremetal.hosts'}")
        elif hub.host not in hosts:
            hint = suggest(hub.host, hosts)
            yield Issue(f"{path}.hub.host", f"unknown host {hub.host!r}"
                        + (f"; did you mean {hint!r}?" if hint else f"; hosts: {', '.join(hosts)}"))
        if hub.public_key is None:
            yield Issue(f"{path}.hub.publicKey", "is required on substrate baremetal: the hub's public key as "
                        "`mojactl baremetal STACK apply` reports it (the private key stays on the hub host)")
    else:
        # On AWS the hub is a pod of the control-center cluster and its key pair is generated in Vault.
        if hub.host is not None:
            yield Issue(f"{path}.hub.host", f"is not allowed on substrate {cc.substrate.value}: the hub runs as a "
                        "pod in the control-center cluster, not on a host; remove it")
        if hub.public_key is not None:
            yield Issue(f"{path}.hub.publicKey", f"is not allowed on substrate {cc.substrate.value}: the hub's "
                        "key pair is generated in Vault and its public key is the stack output "
                        "wireguardHubPublicKey; remove it")
    for name, peer in cc.wireguard.peers.items():
        if peer.kind == "environment" and name not in cc.environments:
            yield Issue(f"{path}.peers.{name}", f"environment peer {name!r} is not in {path.rsplit('.', 1)[0]}"
                        ".environments", severity="warning")
    networks = named_networks(cc, path.rsplit(".", 1)[0])
    if any(a.overlaps(b) for index, (_, a) in enumerate(networks) for _, b in networks[:index]):
        return  # cidrs_do_not_overlap names each overlap; the mesh planner would only repeat the first
    try:
        # Addresses and routes do not depend on the hub's key, which AWS only knows at deployment.
        plan_hub_side(cc.wireguard)
    except MeshPlanError as error:
        yield Issue(_mesh_member_path(path, str(error), cc), str(error))


def _mesh_member_path(path: str, message: str, cc: ControlCenter) -> str:
    """The key of the peer a mesh planner message is about (it starts with "peer 'name'"), else the mesh."""
    for name in cc.wireguard.peers:
        if message.startswith(f"peer {name!r}"):
            return f"{path}.peers.{name}"
    return path


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


def load_operator_keys(cc: ControlCenter) -> dict[str, str]:
    """Operator name (the key file's stem) -> armored PGP public key, for the unseal shares."""
    return {
        Path(name).stem: Path(name).read_text(encoding="utf-8")
        for name in cc.secrets_store.unseal.operator_pgp_key_files
    }
