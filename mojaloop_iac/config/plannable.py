"""Validation plans the stack with the program's own pure planners, so `validate` refuses what `plan` would.

The rules in `rules.py` name each known mistake precisely; this is the net under them. It calls the same
planner functions `__main__.py` calls, with stand-ins only for what `pulumi up` alone knows (the control
center's Vault address through a stack reference, the AWS zones and account), and turns a planner's
refusal into an Issue under the stack key it concerns. Planners refuse with ValueError subclasses whose
message says what to change; anything else is a bug and propagates.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from mojaloop_iac.catalog import ReleaseCatalog
from mojaloop_iac.config.issues import Issue
from mojaloop_iac.config.models import ControlCenter, Environment, StackConfig, Substrate

# What only the deployment knows, stood in for (the offline plan's fakes answer the same).
VAULT_ADDRESS_STAND_IN = "https://vault.control-center.invalid"
AWS_ACCOUNT_STAND_IN = "123456789012"
MAX_AVAILABILITY_ZONES = 6
# Top-level settings a planner message may start with (`aws.vpcCidr 10.0.0.0/28 must ...`).
_SETTING = re.compile(r"^((?:aws|network|nodePools|domains|tls|baremetal|mojaloop|vault|wireguard|secretsStore)"
                      r"(?:\.[A-Za-z0-9_-]+)*)")


def planner_issues(config: StackConfig, prefix: str, catalog: ReleaseCatalog) -> list[Issue]:
    try:
        if config.environment is not None:
            manifests = plan_environment_offline(config.environment, catalog)
        else:
            assert config.control_center is not None
            manifests = plan_control_center_offline(config.control_center)
        duplicated = _duplicated_objects(manifests)
    except ValueError as refused:
        in_values_file = _values_file_issue(refused, config.environment, prefix)
        if in_values_file is not None:
            return [in_values_file]
        return [Issue(_key_of(refused, prefix), f"the stack cannot be planned: {refused}")]
    return [Issue(prefix, f"two parts of the stack would create the same object {name}; rename one of them")
            for name in duplicated]


def plan_environment_offline(env: Environment, catalog: ReleaseCatalog) -> list[Mapping[str, Any]]:
    from mojaloop_iac.config.files import load_values_file
    from mojaloop_iac.planners.api_versions import served_api_versions
    from mojaloop_iac.planners.environment_stack import environment_vault_plan, plan_environment
    from mojaloop_iac.planners.identity import with_templates
    from mojaloop_iac.planners.lifecycle import lifecycle_policy
    from mojaloop_iac.planners.platform import with_chart_sources, with_manifest_mirror
    from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
    from mojaloop_iac.planners.vault_access import external_secrets_release

    release = catalog.resolve(env.mojaloop.release)
    if release is None:
        raise ValueError(f"mojaloop.release {env.mojaloop.release} is not in the catalog")
    shared = env.qa is not None and env.qa.shared_cluster is not None
    if not shared:  # a shared QA cluster is another stack's: reached, never built
        _plan_cluster(env)
    lifecycle = lifecycle_policy(env.lifecycle, retain_secrets=env.vault.retain_secrets_on_delete)
    planned = plan_environment(
        env,
        release,
        load_values_file(env.mojaloop.values_file) if env.mojaloop.values_file else None,
        load_values_file(env.mojaloop.backend_values_file) if env.mojaloop.backend_values_file else None,
    )
    layers = planned.platform.layers if planned.platform is not None else ()
    for layer in layers:
        with_chart_sources(layer.releases, env.chart_versions, env.chart_mirror)
        with_manifest_mirror(layer.sources, env.chart_mirror)
    with_chart_sources((planned.specs.umbrella, planned.specs.backend), {}, env.chart_mirror)
    if not shared:
        with_chart_sources((external_secrets_release(planned.versions),), {}, env.chart_mirror)
    vault_plan = environment_vault_plan(env, planned.secret_needs, ephemeral=lifecycle.ephemeral)
    delivery = plan_secret_delivery(
        env.name, env.vault.address or VAULT_ADDRESS_STAND_IN, env.vault.kv_mount, planned.secret_needs,
        vault=vault_plan,
    )
    templates = planned.platform.external_secret_templates if planned.platform is not None else {}
    return [
        *served_api_versions(with_templates(delivery.manifests, templates), planned.versions),
        *(manifest for layer in layers for manifest in layer.manifests),
        *served_api_versions(planned.specs.virtual_services, planned.versions),
    ]


def plan_control_center_offline(cc: ControlCenter) -> list[Mapping[str, Any]]:
    from mojaloop_iac.config.files import load_operator_keys
    from mojaloop_iac.planners.control_center.vault_unseal import AwsAccount
    from mojaloop_iac.planners.control_center_stack import plan_control_center
    from mojaloop_iac.planners.mesh import peer_configs
    from mojaloop_iac.planners.platform import with_chart_sources
    from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
    from mojaloop_iac.vault.paths import DEFAULT_KV_MOUNT

    storage_class = _plan_cluster(cc)
    account = AwsAccount(AWS_ACCOUNT_STAND_IN) if cc.substrate == Substrate.AWS else None
    plan = plan_control_center(cc, storage_class, load_operator_keys(cc.secrets_store.unseal.operator_pgp_key_files),
                               account)
    for layer in (plan.certificates, plan.ingress, plan.secrets_store):
        with_chart_sources(layer.releases, cc.chart_versions, cc.chart_mirror)
    with_chart_sources(plan.services.releases, cc.chart_versions, cc.chart_mirror)
    delivery = plan_secret_delivery(cc.name, plan.vault_address, DEFAULT_KV_MOUNT, plan.secret_needs)
    plan.services.outputs()
    peer_configs(cc.wireguard, cc.wireguard.hub.public_key or _HUB_KEY_STAND_IN)
    return [
        *delivery.manifests,
        *plan.certificates.manifests,
        *plan.secrets_store.manifests,
        *plan.ingress.manifests,
        *plan.policies.manifests,
        *plan.services.manifests,
        *(plan.wireguard_hub.manifests if plan.wireguard_hub is not None else ()),
    ]


# A syntactically valid WireGuard key standing in for the hub's, which AWS generates in Vault.
_HUB_KEY_STAND_IN = "A" * 43 + "="


def _plan_cluster(cluster: Environment | ControlCenter) -> str:
    """Plan the substrate's cluster as KubernetesCluster does; returns its default storage class."""
    if cluster.substrate == Substrate.AWS:
        from mojaloop_iac.planners.aws_cluster import plan_aws_cluster
        from mojaloop_iac.planners.aws_cluster.storage import STORAGE_CLASS_NAME

        assert cluster.aws is not None
        zones = [f"{cluster.aws.region}{letter}" for letter in "abcdef"[:MAX_AVAILABILITY_ZONES]]
        plan_aws_cluster(cluster, zones, "aws")
        return STORAGE_CLASS_NAME
    from mojaloop_iac.planners.inventory import BAREMETAL_STORAGE_CLASS, baremetal_api_endpoint, plan_inventory

    plan_inventory(cluster)
    baremetal_api_endpoint(cluster)
    return BAREMETAL_STORAGE_CLASS


def _duplicated_objects(manifests: Iterable[Mapping[str, Any]]) -> list[str]:
    def identity(manifest: Mapping[str, Any]) -> str:
        metadata = manifest.get("metadata") or {}
        namespace = metadata.get("namespace")
        return f"{manifest.get('kind')} {namespace + '/' if namespace else ''}{metadata.get('name')}"

    counts = Counter(identity(manifest) for manifest in manifests)
    return sorted(name for name, count in counts.items() if count > 1)


# The values file each values planner merges last: its refusals name a Helm path, which may be the file's.
_VALUES_FILE_OF = {"MojaloopValuesError": "valuesFile", "BackendValuesError": "backendValuesFile"}


def _values_file_issue(refused: ValueError, env: Environment | None, prefix: str) -> Issue | None:
    """A values planner's refusal of a value the user's values file gave, under that file's key with the path
    inside the file (not under `mojaloop` with a Helm path the user never wrote)."""
    from mojaloop_iac.config.files import load_values_file

    key = next((_VALUES_FILE_OF[cls.__name__] for cls in type(refused).__mro__ if cls.__name__ in _VALUES_FILE_OF),
               None)
    file = getattr(env.mojaloop, _snake(key)) if env is not None and key else None
    path, _, reason = str(refused).partition(" ")
    if not file or not reason:
        return None
    node: Any = load_values_file(file)
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return Issue(f"{prefix}.mojaloop.{key}", f"at {path} in the file: {reason}")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _key_of(refused: ValueError, prefix: str) -> str:
    """The stack key a planner's refusal concerns: named at the start of its message, else by its planner."""
    message = str(refused)
    for text in (message, message.split(": ", 1)[-1]):
        found = _SETTING.match(text)
        if found:
            return f"{prefix}.{found.group(1)}"
    by_planner = {
        "MojaloopValuesError": "mojaloop",
        "BackendValuesError": "mojaloop",
        "CertificatesError": "tls",
        "IdentityError": "domains",
        "GatewaysError": "domains",
        "VaultServerInputError": "secretsStore",
        "MeshPlanError": "wireguard",
        "InvalidKeyError": "wireguard",
        "AwsClusterPlanError": "aws",
    }
    section = next((by_planner[cls.__name__] for cls in type(refused).__mro__ if cls.__name__ in by_planner), None)
    return f"{prefix}.{section}" if section else prefix
