"""Rules that relate several configuration fields.

Each rule is a small function over the parsed model yielding Issues with the key path to fix, so
the validator can report every problem at once and each rule is tested on its own.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from mojaloop_iac import contract
from mojaloop_iac.catalog import Release, ReleaseCatalog, UpgradeRefused, plan_upgrade
from mojaloop_iac.clock import today
from mojaloop_iac.config.defaults import versions
from mojaloop_iac.config.issues import Issue, suggest
from mojaloop_iac.config.models import (
    ClusterSettings,
    ControlCenter,
    ControlCenterProfile,
    Environment,
    Lifecycle,
    StackConfig,
    Substrate,
)
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.planners.mesh import plan_hub_side
from mojaloop_iac.wireguard import MeshPlanError
from mojaloop_iac.yamlio import load_yaml


def check_stack(config: StackConfig, catalog: ReleaseCatalog) -> list[Issue]:
    prefix = config.kind
    cluster_rules: list[Callable[[ClusterSettings, str], Iterator[Issue]]] = [
        acme_is_configured,
        substrate_sections,
        cidrs_do_not_overlap,
        baremetal_hosts,
        aws_node_groups,
        k3s_version_matches_kubernetes,
        platform_versions_are_supported,
    ]
    issues = [issue for rule in cluster_rules for issue in rule(config.cluster, prefix)]
    if config.control_center is not None:
        issues += control_center_rules(config.control_center, prefix)
        issues += control_center_chart_versions(config.control_center, prefix)
    if config.environment is not None:
        issues += release_is_installable(config.environment, prefix, catalog)
        issues += workload_classes_placed(config.environment, prefix)
        issues += tainted_pools_tolerated(config.environment, prefix)
        issues += vault_reaches_the_cluster(config.environment, prefix)
        issues += values_files_are_mappings(config.environment, prefix)
        issues += chart_versions_name_platform_releases(config.environment, prefix)
        issues += lifecycle_is_consistent(config.environment, prefix)
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


def cidrs_do_not_overlap(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    named: list[tuple[str, ipaddress.IPv4Network]] = [
        (f"{prefix}.network.podCidr", cluster.network.pod_cidr),
        (f"{prefix}.network.serviceCidr", cluster.network.service_cidr),
    ]
    if cluster.aws is not None:
        named.append((f"{prefix}.aws.vpcCidr", cluster.aws.vpc_cidr))
    for index, (path, network) in enumerate(named):
        for other_path, other in named[:index]:
            if network.overlaps(other):
                yield Issue(path, f"{network} overlaps {other_path} ({other}); cluster CIDRs must be disjoint")
    if cluster.baremetal is not None:
        for index, host in enumerate(cluster.baremetal.hosts):
            for path, network in named:
                if host.address.version == 4 and host.address in network:
                    yield Issue(
                        f"{prefix}.baremetal.hosts[{index}].address",
                        f"{host.address} lies inside {path} ({network}); host addresses must be outside "
                        "the cluster's pod and service CIDRs",
                    )


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


def aws_node_groups(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    for pool_name, pool in cluster.node_pools.items():
        path = f"{prefix}.nodePools.{pool_name}.aws"
        if cluster.substrate == Substrate.AWS and pool.aws is None:
            yield Issue(path, "is required when substrate is aws (instanceTypes, minSize, maxSize, desiredSize)")
        elif cluster.substrate != Substrate.AWS and pool.aws is not None:
            yield Issue(path, f"is set but substrate is {cluster.substrate.value}; remove it")
        elif pool.aws is not None and not pool.aws.min_size <= pool.aws.desired_size <= pool.aws.max_size:
            yield Issue(
                f"{path}.desiredSize",
                f"must lie between minSize ({pool.aws.min_size}) and maxSize ({pool.aws.max_size})",
            )


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


def release_is_installable(env: Environment, prefix: str, catalog: ReleaseCatalog) -> Iterator[Issue]:
    base = f"{prefix}.mojaloop"
    name = env.mojaloop.helm_release_name
    if len(name) > contract.MAX_HELM_RELEASE_NAME_LENGTH:
        yield Issue(
            f"{base}.helmReleaseName",
            f"{name!r} has {len(name)} characters; at most {contract.MAX_HELM_RELEASE_NAME_LENGTH} keep the "
            "chart's generated names within Kubernetes' 63-character limit",
        )
    elif not name or not name[0].isalpha() or not all(c.islower() or c.isdigit() or c == "-" for c in name):
        yield Issue(f"{base}.helmReleaseName", f"{name!r} must be lower-case letters, digits and '-', starting with a letter")
    release = catalog.resolve(env.mojaloop.release)
    if release is None:
        hint = suggest(env.mojaloop.release, catalog.known_versions())
        extra = f"did you mean {hint!r}? " if hint else ""
        candidates = f" (candidates: {', '.join(catalog.candidates)})" if catalog.candidates else ""
        yield Issue(
            f"{base}.release",
            f"unknown release {env.mojaloop.release!r}; {extra}the catalog has {', '.join(catalog.versions())}"
            + candidates,
        )
        return
    installed = env.mojaloop.installed_release
    if installed is not None and installed != release.version:
        try:
            plan_upgrade(catalog, installed, release.version)
        except UpgradeRefused as refused:
            yield Issue(f"{base}.release", f"cannot upgrade from installedRelease {installed}: {refused}")
    yield from release_is_plannable(release, f"{base}.release")
    yield from release_support(catalog, release, f"{base}.release")
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


def release_is_plannable(release: Release, path: str) -> Iterator[Issue]:
    """The toolkit can only write values for charts its data files describe."""
    from mojaloop_iac.planners.backend_values import DEFAULT_DATA_PATH, load_backend_data

    backend = load_backend_data()
    if release.backend.version not in backend.chart_versions:
        yield Issue(
            path,
            f"Mojaloop {release.version} installs {release.backend.name} {release.backend.version}, whose keys are "
            f"not described in config/{DEFAULT_DATA_PATH.name} (described: {', '.join(backend.chart_versions)}); "
            "the toolkit cannot write its values yet. Upgrade plans and support windows still work "
            "(`mojactl upgrade-plan`, `mojactl releases`)",
        )


def release_support(catalog: ReleaseCatalog, release: Release, path: str) -> Iterator[Issue]:
    """Warn about candidates and releases outside their support window (today: see mojaloop_iac/clock.py)."""
    if release.candidate is not None:
        published = "" if release.candidate.published else (
            "; its chart is not in the public repository: serve it from a chart mirror that carries it"
        )
        yield Issue(
            path,
            f"{release.version} is a {release.candidate.status.replace('-', ' ')} of Mojaloop (based on "
            f"{release.candidate.base}), not a published release: for validation environments, not production"
            + published,
            severity="warning",
        )
        return
    day = today()
    status = catalog.support_status(release, day)
    if status in ("supported", "not-yet-released"):
        return
    newest = catalog.newest_supported(day)
    advice = (f"; the newest supported release is {newest.version} (`mojactl upgrade-plan --from {release.version} "
              f"--to {newest.version}`)") if newest is not None else ""
    window = catalog.support_window(release)
    if status == "ended" and window is not None:
        message = (f"Mojaloop {release.version}'s support ended on {window.end} (supported for "
                   f"{catalog.support_policy.months if catalog.support_policy else '?'} months from its release on "
                   f"{window.start}){advice}")
    else:
        message = f"Mojaloop {release.version} was released before the support policy applies: it is unsupported{advice}"
    yield Issue(path, message, severity="warning")


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
    if env.vault.address is None and env.control_center_stack is None:
        yield Issue(f"{prefix}.vault.address", "is required unless controlCenterStack names the control center "
                    "whose Vault this environment uses")


def values_files_are_mappings(env: Environment, prefix: str) -> Iterator[Issue]:
    for key, name in (("valuesFile", env.mojaloop.values_file), ("backendValuesFile", env.mojaloop.backend_values_file)):
        if name is None:
            continue
        path = f"{prefix}.mojaloop.{key}"
        try:
            document = load_values_file(name)
        except FileNotFoundError:
            yield Issue(path, f"{name} does not exist (paths are relative to {REPO_ROOT})")
        except yaml.YAMLError as error:
            yield Issue(path, f"{name} is not valid YAML: {error}")
        else:
            if not isinstance(document, dict):
                yield Issue(path, f"{name} must hold a mapping of Helm values")


def load_values_file(name: str) -> object:
    """A values overrides file, relative to the project directory (where `pulumi up` runs)."""
    return load_yaml((REPO_ROOT / name).read_text(encoding="utf-8")) or {}


def control_center_rules(cc: ControlCenter, prefix: str) -> Iterator[Issue]:
    for name, count in Counter(cc.environments).items():
        if count > 1:
            yield Issue(f"{prefix}.environments", f"{name!r} is listed {count} times")
    unseal = cc.secrets_store.unseal
    base = f"{prefix}.secretsStore.unseal"
    if unseal.threshold > unseal.shares:
        yield Issue(f"{base}.threshold", f"{unseal.threshold} is more than the {unseal.shares} shares")
    if cc.substrate == Substrate.BAREMETAL:
        if len(unseal.operator_pgp_key_files) != unseal.shares:
            yield Issue(
                f"{base}.operatorPgpKeyFiles",
                f"needs one operator PGP public key per share ({unseal.shares}), found "
                f"{len(unseal.operator_pgp_key_files)}: unseal shares are only ever handed out encrypted",
            )
        for index, name in enumerate(unseal.operator_pgp_key_files):
            if not (REPO_ROOT / name).is_file():
                yield Issue(f"{base}.operatorPgpKeyFiles[{index}]", f"{name} does not exist (relative to {REPO_ROOT})")
    yield from wireguard_mesh_plans(cc, f"{prefix}.wireguard")
    yield from qa_access_is_complete(cc, f"{prefix}.qa")


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
    try:
        # Addresses and routes do not depend on the hub's key, which AWS only knows at deployment.
        plan_hub_side(cc.wireguard)
    except MeshPlanError as error:
        yield Issue(path, str(error))


def acme_is_configured(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    tls = cluster.tls
    if "acme" not in (tls.internal_issuer, tls.external_issuer):
        return
    if tls.acme_email is None:
        yield Issue(f"{prefix}.tls.acmeEmail", "is required when an issuer is acme (the ACME account's contact)")
    if tls.acme_dns01_solver is None:
        yield Issue(f"{prefix}.tls.acmeDns01Solver", "is required when an issuer is acme: wildcard certificates "
                    "need a DNS-01 solver, e.g. {route53: {region: eu-west-1}}")


def load_operator_keys(cc: ControlCenter) -> dict[str, str]:
    """Operator name (the key file's stem) -> armored PGP public key, for the unseal shares."""
    return {
        Path(name).stem: (REPO_ROOT / name).read_text(encoding="utf-8")
        for name in cc.secrets_store.unseal.operator_pgp_key_files
    }


def chart_versions_name_platform_releases(env: Environment, prefix: str) -> Iterator[Issue]:
    if not env.chart_versions:
        return
    # Imported here: the platform planners are only needed when a stack overrides a version.
    from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS
    from mojaloop_iac.planners.platform import plan_platform, platform_release_names
    from mojaloop_iac.platform_versions import PRODUCTS, PlatformVersionError, product_of

    try:
        planned = plan_platform(env.model_copy(update={"chart_versions": {}}), STORAGE_CLASS[env.substrate])
    except PlatformVersionError:
        return  # the Kubernetes version has no pins: reported by platform_versions_are_supported
    known = platform_release_names(planned) | {"external-secrets", *PRODUCTS}
    for name in sorted(env.chart_versions):
        if name not in known and product_of(name) is None:
            hint = suggest(name, known)
            yield Issue(f"{prefix}.chartVersions.{name}", "not a platform Helm release"
                        + (f"; did you mean {hint!r}?" if hint else f"; releases: {', '.join(sorted(known))}"))


def lifecycle_is_consistent(env: Environment, prefix: str) -> Iterator[Issue]:
    """An ephemeral environment carries an expiry and keeps nothing; QA settings only on the right kind."""
    ephemeral = env.lifecycle == Lifecycle.EPHEMERAL
    if ephemeral and env.expires_at is None:
        yield Issue(f"{prefix}.expiresAt", "is required when lifecycle is ephemeral: an ephemeral environment must "
                    'carry an expiry, e.g. "2025-06-01T18:00:00Z" (mojactl qa stack sets it from --ttl)')
    if not ephemeral and env.expires_at is not None:
        yield Issue(f"{prefix}.expiresAt", "is set but lifecycle is persistent; remove it, or set lifecycle: ephemeral")
    if ephemeral and env.vault.retain_secrets_on_delete and "retain_secrets_on_delete" in env.vault.model_fields_set:
        yield Issue(f"{prefix}.vault.retainSecretsOnDelete", "must not be true when lifecycle is ephemeral: an "
                    "ephemeral environment removes its secrets on destroy; remove the key")
    if env.qa is not None and not ephemeral:
        yield Issue(f"{prefix}.qa", "describes a QA environment, which is thrown away: set lifecycle: ephemeral")
    if env.qa_host and ephemeral:
        yield Issue(f"{prefix}.qaHost", "a cluster hosting QA environments outlives them: it must be persistent")
    if env.qa is not None and env.qa.shared_cluster is not None and env.qa_host:
        yield Issue(f"{prefix}.qaHost", "a QA environment on a shared cluster cannot host QA environments itself")


def qa_access_is_complete(cc: ControlCenter, path: str) -> Iterator[Issue]:
    if cc.qa is None:
        return
    for index, name in enumerate(cc.qa.shared_clusters):
        if name not in cc.environments:
            yield Issue(f"{path}.sharedClusters[{index}]", f"{name!r} is not in environments: declare the shared QA "
                        "cluster's environment there first")
    gitlab = cc.qa.gitlab
    if gitlab is not None and gitlab.url is None and cc.profile != ControlCenterProfile.FULL:
        yield Issue(f"{path}.gitlab.url", "is required unless profile is full (then the control center's own GitLab "
                    "issues the CI tokens), e.g. https://gitlab.example.com")
    if cc.qa.gitlab is None and cc.qa.github is None:
        yield Issue(path, "names no CI login: set gitlab (GitLab CI id_tokens) or github (GitHub Actions OIDC), "
                    "or both")


def platform_versions_are_supported(cluster: ClusterSettings, prefix: str) -> Iterator[Issue]:
    """Istio, cert-manager and External Secrets versions exist for the cluster's Kubernetes minor, and each
    (pinned or overridden in chartVersions) supports it; Istio's components run one version."""
    from mojaloop_iac.platform_versions import check_platform_versions

    for issue in check_platform_versions(cluster.kubernetes.version, getattr(cluster, "chart_versions", None)):
        yield Issue(f"{prefix}.{issue.key}", issue.message, severity=issue.severity)


# Pins of the identity services, which only environments install.
_ENVIRONMENT_ONLY_PINS = frozenset({"keycloak-operator", "kratos", "keto", "oathkeeper", "kratos-mysql", "keto-mysql",
                                    "keycloak-mysql", "istio-gateway"})


def control_center_chart_versions(cc: ControlCenter, prefix: str) -> Iterator[Issue]:
    if not cc.chart_versions:
        return
    from mojaloop_iac.config.defaults import chart_pins
    from mojaloop_iac.platform_versions import PRODUCTS

    known = (set(chart_pins()) - _ENVIRONMENT_ONLY_PINS) | {contract.INTERNAL_GATEWAY, *PRODUCTS}
    for name in sorted(cc.chart_versions):
        if name not in known:
            hint = suggest(name, known)
            yield Issue(f"{prefix}.chartVersions.{name}", "not a Helm release of a control center"
                        + (f"; did you mean {hint!r}?" if hint else f"; releases: {', '.join(sorted(known))}"))
