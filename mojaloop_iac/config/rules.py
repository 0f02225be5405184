"""Rules that relate several configuration fields, and the environment's own.

Each rule is a small function over the parsed model yielding Issues with the key path to fix, so
the validator can report every problem at once and each rule is tested on its own. `check_stack` runs the
cluster rules (`cluster_rules`), the control center's (`control_center_rules`) or the environment's (here),
then plans the stack with the same pure planners the program runs (see `plannable`): whatever they refuse
is refused here, before anything runs, under a stack key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from mojaloop_iac import contract
from mojaloop_iac.catalog import Release, ReleaseCatalog, UpgradeRefused, plan_upgrade
from mojaloop_iac.clock import now, today
from mojaloop_iac.config.cluster_rules import (
    acme_is_configured,
    api_access_is_bounded,
    api_endpoint_is_a_vip,
    aws_names_fit,
    aws_node_groups,
    baremetal_hosts,
    cidrs_do_not_overlap,
    domains_differ,
    downloads_are_https,
    http_needs_the_flag,
    k3s_version_matches_kubernetes,
    name_fits_derived_names,
    platform_versions_are_supported,
    some_pool_is_untainted,
    substrate_sections,
    taints_are_unique,
)
from mojaloop_iac.config.control_center_rules import (
    control_center_chart_versions,
    control_center_rules,
    shared_clusters_host_qa,
)
from mojaloop_iac.config.files import DEFAULT_LOCATION, StackLocation, referenced_stack_file
from mojaloop_iac.config.issues import Issue, suggest
from mojaloop_iac.config.models import (
    ClusterSettings,
    ControlCenter,
    Environment,
    Lifecycle,
    StackConfig,
    Substrate,
)
from mojaloop_iac.paths import STACKS_DIR

# Kubernetes' own namespaces: a stack that created (and on destroy deleted) one would break the cluster.
KUBERNETES_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Paths Vault reserves for itself: no secrets engine can be mounted there.
VAULT_RESERVED_MOUNTS = ("sys", "auth", "cubbyhole", "identity")
# The bare-metal hosts QA environments with a cluster of their own run on (mojactl qa stack's default pool).
HOST_POOL_FILE = "qa-host-pool.yaml"

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
        api_access_is_bounded,
        api_endpoint_is_a_vip,
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
        platform_versions_are_supported,
    ]
    issues = [issue for rule in cluster_rules for issue in rule(config.cluster, prefix)]
    if config.control_center is not None:
        issues += control_center_rules(config.control_center, prefix, files_checked)
        issues += shared_clusters_host_qa(config.control_center, prefix, location)
        issues += control_center_chart_versions(config.control_center, prefix)
    if config.environment is not None:
        env = config.environment
        issues += release_is_installable(env, prefix, catalog)
        issues += workload_classes_placed(env, prefix)
        issues += tainted_pools_tolerated(env, prefix)
        issues += vault_reaches_the_cluster(env, prefix)
        issues += chart_versions_name_platform_releases(env, prefix)
        issues += namespace_is_mojaloops_own(env, prefix)
        issues += referenced_stacks_answer(env, prefix, location, stack_name, references)
        issues += lifecycle_is_consistent(env, prefix)
        issues += qa_host_slot_fits(env, prefix, location)
    if files_checked and not any(issue.severity == "error" for issue in issues):
        # Imported here: it pulls in every planner.
        from mojaloop_iac.config.plannable import planner_issues

        issues += planner_issues(config, prefix, catalog)
    return issues


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
    vault = env.vault
    if vault.address is None and env.control_center_stack is None:
        yield Issue(f"{prefix}.vault.address", "is required unless controlCenterStack names the control center "
                    "whose Vault this environment uses")
    if vault.address is not None:
        yield from http_needs_the_flag(
            {f"{prefix}.vault.address": vault.address}, vault.insecure_http, f"{prefix}.vault.insecureHttp",
            "the Vault token and every generated password would cross the network in clear",
        )
    if vault.kv_mount in VAULT_RESERVED_MOUNTS:
        yield Issue(f"{prefix}.vault.kvMount", f"{vault.kv_mount!r} is a path Vault reserves for itself "
                    f"({', '.join(VAULT_RESERVED_MOUNTS)}); choose another mount, e.g. mojaloop")


def _substrate_section(env: Environment) -> bool:
    """The planners need the substrate's own section (its absence is reported by substrate_sections)."""
    return (env.aws if env.substrate == Substrate.AWS else env.baremetal) is not None


def chart_versions_name_platform_releases(env: Environment, prefix: str) -> Iterator[Issue]:
    if not env.chart_versions or not _substrate_section(env):
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


def namespace_is_mojaloops_own(env: Environment, prefix: str) -> Iterator[Issue]:
    from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS
    from mojaloop_iac.planners.namespaces import EXTERNAL_SECRETS_NAMESPACE
    from mojaloop_iac.planners.platform import plan_platform

    namespace = env.mojaloop.namespace
    platform: set[str] = set()
    if _substrate_section(env):
        try:
            platform = {spec.name for spec in plan_platform(env, STORAGE_CLASS[env.substrate]).namespaces}
        except ValueError:
            pass  # the platform cannot be planned: the planners' own issue says why
    platform |= {EXTERNAL_SECRETS_NAMESPACE, contract.INTERNAL_GATEWAY_NAMESPACE,
                 contract.EXTERNAL_GATEWAY_NAMESPACE, contract.EGRESS_GATEWAY_NAMESPACE}
    if namespace in KUBERNETES_NAMESPACES:
        yield Issue(f"{prefix}.mojaloop.namespace", f"{namespace!r} is one of Kubernetes' own namespaces, which the "
                    "stack would take over (and delete with it); use a namespace of its own, e.g. mojaloop")
    elif namespace in platform:
        yield Issue(f"{prefix}.mojaloop.namespace", f"{namespace!r} is a platform service's namespace "
                    f"({', '.join(sorted(platform))}); Mojaloop needs a namespace of its own, e.g. mojaloop")


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
    if ephemeral and env.expires_at is not None:
        from mojaloop_iac.qa.derive import MAX_TTL

        latest = now() + MAX_TTL
        if env.expires_at > latest:
            yield Issue(f"{prefix}.expiresAt", f"{env.expires_at.isoformat()} is more than {MAX_TTL.days} days from now: "
                        "an ephemeral environment lives for its tests and is then reaped (mojactl qa stack --ttl allows "
                        f"at most {MAX_TTL.days} days); e.g. \"{latest.strftime('%Y-%m-%dT%H:%M:%SZ')}\" at the latest")


def qa_host_slot_fits(env: Environment, prefix: str, location: StackLocation) -> Iterator[Issue]:
    """A QA environment's own bare-metal cluster runs on one slot of the QA host pool: the slot must exist, and
    there is none on AWS or on a shared cluster."""
    slot = env.qa.host_slot if env.qa is not None else None
    if slot is None:
        return
    path = f"{prefix}.qa.hostSlot"
    if env.qa is not None and env.qa.shared_cluster is not None:
        yield Issue(path, "is set together with sharedCluster: a QA environment either deploys into a shared cluster "
                    "or builds one of its own on a host-pool slot; remove one of them")
    elif env.substrate != Substrate.BAREMETAL:
        yield Issue(path, f"is a bare-metal host-pool slot, but the substrate is {env.substrate.value}: a QA "
                    "environment on AWS builds its nodes itself; remove hostSlot")
    else:
        yield from _slot_in_the_pool(env, path, slot, location)


def _slot_in_the_pool(env: Environment, path: str, slot: str, location: StackLocation) -> Iterator[Issue]:
    import yaml

    from mojaloop_iac.qa.derive import parse_host_pool
    from mojaloop_iac.qa.names import QaInputError
    from mojaloop_iac.yamlio import UserYamlError, load_user_yaml

    pool_file = next((candidate for candidate in (location.directory / HOST_POOL_FILE, STACKS_DIR / HOST_POOL_FILE)
                      if candidate.is_file()), None)
    if pool_file is None:
        yield Issue(path, f"names slot {slot!r}, but there is no host pool ({HOST_POOL_FILE} next to this stack or in "
                    "stacks/) to hold it: add the pool, or derive the stack again (mojactl qa stack)")
        return
    try:
        slots = {entry.name: entry for entry in parse_host_pool(load_user_yaml(pool_file.read_text(encoding="utf-8")),
                                                                str(pool_file))}
    except (OSError, UnicodeDecodeError, UserYamlError, yaml.YAMLError, QaInputError) as error:
        yield Issue(path, f"the host pool {pool_file} cannot be read: {error}")
        return
    if slot not in slots:
        yield Issue(path, f"{slot!r} is not a slot of the host pool {pool_file.name} (slots: {', '.join(slots)}); "
                    "name one of them (mojactl qa stack --host-slot SLOT)")
        return
    wanted = sorted((str(host.get("name")), str(host.get("address"))) for host in slots[slot].hosts)
    hosts = sorted((host.name, str(host.address)) for host in env.baremetal.hosts) if env.baremetal else []
    if hosts != wanted:
        yield Issue(f"{path.rsplit('.', 2)[0]}.baremetal.hosts", f"are not the hosts of slot {slot!r} in "
                    f"{pool_file.name} ({', '.join(f'{name} {address}' for name, address in wanted)}): the slot's "
                    "hosts are the ones reset on teardown; derive the stack again (mojactl qa stack)")


def stack_references(env: Environment, prefix: str = "environment") -> list[tuple[str, str]]:
    """The stacks an environment reads outputs of, each with the key that names it: its control center, and a
    QA environment's shared QA cluster."""
    references = [(f"{prefix}.controlCenterStack", env.control_center_stack)]
    if env.qa is not None and env.qa.shared_cluster is not None:
        references.append((f"{prefix}.qa.sharedCluster.stack", env.qa.shared_cluster.stack))
    return [(key, reference) for key, reference in references if reference is not None]


def referenced_stacks_answer(
    env: Environment, prefix: str, location: StackLocation, stack_name: str | None,
    references: Collection[str] | None = (),
) -> Iterator[Issue]:
    """Offline, a reference is answered by `--stack-outputs` (`references`) or by planning the local stack
    file of that name, which must then exist and be a valid stack of the right kind (as `mojactl plan` needs
    it): a control center for controlCenterStack, a QA-hosting environment for qa.sharedCluster.stack."""
    for path, reference in stack_references(env, prefix):
        local = reference.rsplit("/", 1)[-1]
        if stack_name is not None and local == stack_name:
            yield Issue(path, f"{reference!r} names this stack itself; name the stack whose outputs this one reads")
        elif references is not None and reference not in references:
            yield from _local_stack_answers(env, path, reference, location)


FOLLOWED_STACKS: ContextVar[tuple[Path, ...]] = ContextVar("followed_stacks", default=())
"""The stack files being validated, outermost first: a reference back to one of them closes a cycle."""


_CYCLE = "closes a cycle of stack references"


@contextmanager
def following(stack_file: Path) -> Iterator[None]:
    """Validate `stack_file` (and the stacks it references) with it on the chain of followed stacks."""
    token = FOLLOWED_STACKS.set((*FOLLOWED_STACKS.get(), stack_file.resolve()))
    try:
        yield
    finally:
        FOLLOWED_STACKS.reset(token)


def _local_stack_answers(env: Environment, path: str, reference: str, location: StackLocation) -> Iterator[Issue]:
    # Imported here: loading a stack file is load.py's business, which imports these rules.
    from mojaloop_iac.config.issues import ConfigError
    from mojaloop_iac.config.load import read_stack_file, stack_name_of, validate_stack_file

    wants_control_center = path.endswith(".controlCenterStack")
    wanted = "a control center stack (mojaloop:controlCenter)" if wants_control_center else (
        "an environment stack with qaHost: true")
    local = reference.rsplit("/", 1)[-1]
    stack_file = referenced_stack_file(reference, location)
    if stack_file is None:
        yield Issue(path, f"{reference!r} has no local stack file (Pulumi.{local}.yaml next to this one or in stacks/) "
                    "to answer it offline: add it, or give its outputs with --stack-outputs FILE (pulumi up reads "
                    "them from the state backend)")
        return
    resolved = stack_file.resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in (location.project, STACKS_DIR)):
        yield Issue(path, f"{reference!r} is answered by {stack_file.name}, which resolves to {resolved}, outside the "
                    f"project ({location.project}): a referenced stack file obeys the rule of every file a stack "
                    "names; keep it in the project, or give its outputs with --stack-outputs FILE")
        return
    chain = FOLLOWED_STACKS.get()
    if resolved in chain:
        cycle = " -> ".join(stack_name_of(step) for step in (*chain[chain.index(resolved):], resolved))
        yield Issue(path, f"{reference!r} {_CYCLE} ({cycle}): a stack cannot read its own outputs, even through other "
                    "stacks; name a stack that does not lead back here")
        return
    try:
        kinds = set(read_stack_file(str(stack_file)).namespace())
        kind = "controlCenter" if wants_control_center else "environment"
        config = validate_stack_file(str(stack_file))[1].config if kind in kinds else None
    except ConfigError as error:
        cycle = next((issue for issue in error.issues if _CYCLE in issue.message), None)
        if cycle is not None:  # the cycle runs through this stack: say so here, not as the other stack's problem
            yield Issue(path, f"{reference!r} {cycle.message[cycle.message.index(_CYCLE):]}")
            return
        yield Issue(path, f"the stack it names ({stack_file}) is invalid ({len(error.issues)} problem(s), first: "
                    f"{error.issues[0]}); `mojactl validate {stack_file}` lists them")
        return
    prefix = path.split(".", 1)[0]
    if wants_control_center and config is not None and config.control_center is not None:
        yield from _fits_the_control_center(env, prefix, path, stack_file, config.control_center)
    elif not wants_control_center and config is not None and config.environment is not None \
            and config.environment.qa_host:
        yield from _fits_the_shared_cluster(env, prefix, stack_file, config.environment)
    else:
        yield Issue(path, f"{reference!r} names {stack_file.name}, which is not {wanted}; name that stack")


def _fits_the_control_center(env: Environment, prefix: str, path: str, stack_file: Path,
                             cc: ControlCenter) -> Iterator[Issue]:
    """The environment's names and networks beside the control center's (its Vault names, its mesh)."""
    from mojaloop_iac.config.control_center_rules import derived_vault_names, environment_owner, vault_name_collisions

    declared = cc.environments
    if env.name == cc.name:
        yield Issue(f"{prefix}.name", f"{env.name!r} is the name of its control center ({stack_file.name}): the "
                    f"control center's own Vault paths (environments/{cc.name}/, kubernetes-{cc.name}, its policies) "
                    "hold its own secrets, which this environment's deployer would read and write; name the "
                    "environment differently")
    else:
        extra = None if env.name in declared else env.name
        for kind, name, owners in vault_name_collisions(derived_vault_names(cc, extra)):
            if any(owner.startswith(environment_owner(env.name) + " ") for owner in owners):
                yield Issue(f"{prefix}.name", f"with control center {stack_file.name}, the Vault {kind} {name!r} would "
                            f"be both {' and '.join(owners)}; name the environment differently")
        # An ephemeral environment is never declared: it writes (and removes) its own access.
        if env.name not in declared and env.lifecycle != Lifecycle.EPHEMERAL:
            yield Issue(path, f"the control center ({stack_file.name}) does not declare {env.name!r} in its "
                        f"environments ({', '.join(declared) or 'none'}): add it there, or this stack's Vault access "
                        "does not exist", severity="warning")
    mesh = cc.wireguard.cidr
    for key, network in _own_networks(env, prefix):
        if network.overlaps(mesh):
            yield Issue(key, f"{network} overlaps the WireGuard mesh {mesh} of its control center ({stack_file.name}, "
                        "controlCenter.wireguard.cidr): the tunnel addresses would shadow this cluster's; choose a "
                        "range apart from it")


def _own_networks(env: Environment, prefix: str) -> list[tuple[str, ipaddress.IPv4Network]]:
    networks = [(f"{prefix}.network.podCidr", env.network.pod_cidr),
                (f"{prefix}.network.serviceCidr", env.network.service_cidr)]
    if env.aws is not None:
        networks.append((f"{prefix}.aws.vpcCidr", env.aws.vpc_cidr))
    if env.baremetal is not None:
        networks += [(f"{prefix}.baremetal.hosts[{index}].address", ipaddress.IPv4Network(host.address))
                     for index, host in enumerate(env.baremetal.hosts)]
    return networks


# What a QA environment on a shared cluster must share with the cluster's stack, as `mojactl qa stack` copies
# it: the cluster itself (how to reach it, e.g. the SSH key, may differ where the QA run happens).
_CLUSTER_SETTINGS: dict[str, tuple[str, ...] | None] = {
    "substrate": None, "kubernetes": None, "network": None, "node_pools": None,
    "baremetal": ("hosts", "api_endpoint", "k3s_version", "ha_embedded_etcd"), "aws": ("region", "vpc_cidr"),
}  # fmt: skip


def _fits_the_shared_cluster(env: Environment, prefix: str, stack_file: Path, cluster: Environment) -> Iterator[Issue]:
    assert env.qa is not None and env.qa.shared_cluster is not None
    shared = env.qa.shared_cluster
    if shared.environment != cluster.name:
        yield Issue(f"{prefix}.qa.sharedCluster.environment", f"{shared.environment!r} is not the environment of "
                    f"{stack_file.name}, which is {cluster.name!r}: its auth mount and QA read policy serve this "
                    f"environment; write {cluster.name!r}")
    for field, parts in _CLUSTER_SETTINGS.items():
        own, theirs = getattr(env, field), getattr(cluster, field)
        if parts is not None and own is not None and theirs is not None:
            own, theirs = own.model_dump(include=set(parts)), theirs.model_dump(include=set(parts))
        if own != theirs:
            key = Environment.model_fields[field].alias or field
            key += ".version" if field == "kubernetes" else ""
            detail = (f"Kubernetes {env.kubernetes.version}, but the cluster runs {cluster.kubernetes.version}"
                      if field == "kubernetes" else "not the cluster's")
            yield Issue(f"{prefix}.{key}", f"is {detail} ({stack_file.name}): a QA environment on a shared cluster "
                        "runs on that cluster as it is; take its settings (`mojactl qa stack --shared-cluster` copies "
                        "them)")
    for own_key, own in (("internal", env.domains.internal), ("external", env.domains.external)):
        for their_key, theirs in (("internal", cluster.domains.internal), ("external", cluster.domains.external)):
            if own == theirs or theirs.endswith("." + own):
                relation = "is" if own == theirs else "contains"
                yield Issue(f"{prefix}.domains.{own_key}", f"{own!r} {relation} the shared QA cluster's own "
                            f"domains.{their_key} ({theirs}, {stack_file.name}): its gateway would route the "
                            f"cluster's hosts here; use a name of its own under it, e.g. {env.name}.{theirs}")
