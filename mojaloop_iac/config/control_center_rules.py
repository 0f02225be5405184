"""Rules of a control-center stack: whom it serves, who holds the unseal shares, the raft peers, the mesh,
QA access and chart versions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from mojaloop_iac import contract
from mojaloop_iac.config.cluster_rules import DERIVED_NAME_PREFIX, MAX_NAME_LENGTH, named_networks, repels
from mojaloop_iac.config.files import StackLocation
from mojaloop_iac.config.issues import Issue, suggest
from mojaloop_iac.config.models import ControlCenter, ControlCenterProfile, Substrate
from mojaloop_iac.paths import STACKS_DIR
from mojaloop_iac.planners.mesh import plan_hub_side
from mojaloop_iac.wireguard import MeshPlanError


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
    yield from vault_names_are_distinct(cc, prefix)
    yield from unseal_keys(cc, prefix, files_checked)
    yield from raft_fits_the_nodes(cc, prefix)
    yield from wireguard_mesh_plans(cc, f"{prefix}.wireguard")
    yield from qa_access_is_complete(cc, f"{prefix}.qa")


def derived_vault_names(cc: ControlCenter, extra_environment: str | None = None) -> dict[tuple[str, str], list[str]]:
    """Every name the control center's Vault bootstrap derives, by kind (ACL policy, token role, auth mount, KV
    prefix), each with what it belongs to. The control center's own secrets live under its own name, like an
    environment's; `extra_environment` adds an environment that is not declared (an ephemeral one)."""
    from mojaloop_iac.planners.control_center_stack import GITHUB_ACTIONS_MOUNT, GITLAB_CI_MOUNT
    from mojaloop_iac.vault import paths
    from mojaloop_iac.vault.bootstrap_plan import (
        ADMIN_POLICY_NAME,
        DEFAULT_OPERATOR_AUTH_MOUNT,
        QA_DEPLOYER_POLICY_NAME,
        QA_DEPLOYER_ROLE,
    )

    names: dict[tuple[str, str], list[str]] = {}

    def add(kind: str, name: str, owner: str) -> None:
        names.setdefault((kind, name), []).append(owner)

    add("ACL policy", ADMIN_POLICY_NAME, "the operators' admin policy")
    add("auth mount", DEFAULT_OPERATOR_AUTH_MOUNT, "the operators' logins")
    owners = [(cc.name, "the control center's own")]
    owners += [(name, environment_owner(name)) for name in dict.fromkeys(cc.environments)]
    if extra_environment is not None:
        owners.append((extra_environment, environment_owner(extra_environment)))
    for name, owner in owners:
        add("ACL policy", paths.environment_read_policy_name(name), f"{owner} read policy")
        add("ACL policy", paths.environment_deploy_policy_name(name), f"{owner} deploy policy")
        add("token role", paths.deployer_token_role_name(name), f"{owner} deployer role")
        add("auth mount", paths.kubernetes_auth_mount(name), f"{owner} Kubernetes auth mount")
        add("KV prefix", paths.environment_prefix(name), f"{owner} secrets")
    if cc.qa is not None:
        for name in dict.fromkeys(cc.qa.shared_clusters):
            add("ACL policy", paths.qa_read_policy_name(name), f"shared QA cluster {name}'s QA read policy")
        add("ACL policy", QA_DEPLOYER_POLICY_NAME, "the QA deployer policy")
        add("token role", QA_DEPLOYER_ROLE, "the QA deployer role")
        if cc.qa.gitlab is not None:
            add("auth mount", GITLAB_CI_MOUNT, "GitLab CI's login")
        if cc.qa.github is not None:
            add("auth mount", GITHUB_ACTIONS_MOUNT, "GitHub Actions' login")
    return names


def environment_owner(name: str) -> str:
    return f"environment {name}'s"


def vault_name_collisions(names: dict[tuple[str, str], list[str]]) -> Iterator[tuple[str, str, list[str]]]:
    """(kind, name, owners) of every derived name two different things would share."""
    for (kind, name), owners in names.items():
        if len(owners) > 1:
            yield kind, name, owners


def vault_names_are_distinct(cc: ControlCenter, prefix: str) -> Iterator[Issue]:
    """Two things sharing a Vault name share its rights: e.g. environment `x-qa`'s read policy `env-x-qa-read`
    is also shared QA cluster `x`'s QA read policy. (The control center's own name is refused on its own.)"""
    if cc.name in cc.environments or any(len(name) > MAX_NAME_LENGTH for name in cc.environments):
        return
    for kind, name, owners in vault_name_collisions(derived_vault_names(cc)):
        yield Issue(f"{prefix}.environments", f"the Vault {kind} {name!r} would be both {' and '.join(owners)}: "
                    "whoever holds one would hold the other's rights; rename the environment (e.g. no name ending "
                    "in -qa next to a shared QA cluster of the name before it)")


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
    untainted = {name for name, pool in cc.node_pools.items() if not repels(pool)}
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


def shared_clusters_host_qa(cc: ControlCenter, prefix: str, location: StackLocation) -> Iterator[Issue]:
    """A shared QA cluster's stack must say it hosts QA environments (`qaHost: true`): checked against the
    environment stacks of that name found locally (next to this stack file and in stacks/), as plan finds them."""
    if cc.qa is None or not cc.qa.shared_clusters:
        return
    from mojaloop_iac.config.issues import ConfigError
    from mojaloop_iac.config.load import read_stack_file

    wanted = set(cc.qa.shared_clusters)
    hosts: dict[str, list[tuple[str, bool]]] = {}
    for directory in dict.fromkeys((location.directory.resolve(), STACKS_DIR.resolve())):
        for stack_path in sorted(directory.glob("Pulumi.*.yaml")):
            try:
                settings = read_stack_file(str(stack_path)).namespace().get("environment")
            except ConfigError:
                continue  # not a stack this one can learn from; its own validation says why
            if isinstance(settings, dict) and settings.get("name") in wanted:
                hosts.setdefault(settings["name"], []).append((stack_path.name, settings.get("qaHost") is True))
    for index, name in enumerate(cc.qa.shared_clusters):
        found = hosts.get(name, [])
        if found and not any(is_host for _, is_host in found):
            stacks = ", ".join(stack for stack, _ in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            yield Issue(f"{prefix}.qa.sharedClusters[{index}]", f"{name!r} is not a QA host: its stack "
                        f"({stacks}) does not set qaHost: true, so its cluster neither "
                        "exports its kubeconfig to QA environments nor gets their read policy; set qaHost: true there, "
                        "or name the cluster that hosts QA environments")


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
