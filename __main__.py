"""The Pulumi program: one program for `pulumi up` and for the offline `mojactl plan`.

It reads the stack's `mojaloop:` configuration, validates it once (every problem reported together,
no traceback), and wires planner output into components. Decisions live in mojaloop_iac's planners.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi

from components.cluster import KubernetesCluster, KubernetesClusterArgs
from components.mojaloop_release import MojaloopRelease
from components.namespaces import Namespaces
from components.platform import PlatformLayer, PlatformLayerArgs
from components.secret_delivery import VaultSecretDelivery, VaultSecretDeliveryArgs
from mojaloop_iac.catalog import load_catalog
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import NAMESPACE, STACK_KINDS, validate_namespace
from mojaloop_iac.config.models import ClusterSettings, ControlCenter, Environment
from mojaloop_iac.config.rules import load_values_file
from mojaloop_iac.planners.backend_values import BackendValuesError
from mojaloop_iac.planners.identity import with_templates
from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS, mojaloop_release_specs
from mojaloop_iac.planners.mesh import peer_configs, plan_wireguard_mesh
from mojaloop_iac.planners.mojaloop_values import MojaloopValuesError
from mojaloop_iac.planners.namespaces import environment_namespaces
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
from mojaloop_iac.planners.platform import merge_namespaces, merge_needs, plan_platform
from mojaloop_iac.planners.secrets import SecretNeed, secrets_needed
from mojaloop_iac.planners.vault_access import (
    control_center_vault_address,
    external_secrets_release,
    kubeconfig_ca_pem,
)


def load_stack_config():
    config = pulumi.Config(NAMESPACE)
    values = {kind: config.get_object(kind) for kind in STACK_KINDS if config.get(kind) is not None}
    try:
        validated = validate_namespace(values, source=f"stack {pulumi.get_stack()}")
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    for warning in validated.warnings:
        pulumi.log.warn(str(warning))
    return validated.config


def build_cluster(settings: ClusterSettings) -> KubernetesCluster:
    args: KubernetesClusterArgs = {
        "settings": settings,
        # The same place `mojactl baremetal STACK apply` uses, so both share artifacts and kubeconfig.
        "run_dir": f"out/{pulumi.get_stack()}/baremetal",
    }
    kubeconfig = pulumi.Config(NAMESPACE).get_secret("kubeconfig")
    if kubeconfig is not None:
        args["kubeconfig"] = kubeconfig
    cluster = KubernetesCluster(f"{settings.name}-cluster", args)
    pulumi.export("kubernetesVersion", settings.kubernetes.version)
    if cluster.inventory is not None:
        pulumi.export("ansibleInventory", cluster.inventory)
    return cluster


def build_environment(env: Environment) -> None:
    cluster = build_cluster(env)
    in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    release = load_catalog().get(env.mojaloop.release)
    assert release is not None, "validation guarantees a catalog release"
    try:
        specs = mojaloop_release_specs(
            env,
            release,
            umbrella_overrides=load_values_file(env.mojaloop.values_file) if env.mojaloop.values_file else None,
            backend_overrides=(
                load_values_file(env.mojaloop.backend_values_file) if env.mojaloop.backend_values_file else None
            ),
        )
    except (MojaloopValuesError, BackendValuesError) as refused:  # e.g. a password in an overrides file
        raise pulumi.RunError(f"cannot plan the Mojaloop release values: {refused}") from None
    platform = plan_platform(env, STORAGE_CLASS[env.substrate])
    for note in platform.warnings:
        pulumi.log.warn(note)
    namespaces = Namespaces(
        f"{env.name}-namespaces",
        {
            "namespaces": merge_namespaces(environment_namespaces(env.mojaloop.namespace), platform.namespaces),
            "kubernetes_version": env.kubernetes.version,
        },
        opts=in_cluster,
    )
    # External Secrets first: the gateways' client CA and the identity services' credentials come through it.
    secrets = build_secret_delivery(
        env,
        cluster,
        merge_needs({env.mojaloop.namespace: secrets_needed(specs.secret_refs)}, platform.secret_needs),
        platform.external_secret_templates,
        pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[namespaces])),
    )
    layers: list[pulumi.Resource] = []
    for layer in platform.layers:
        layer_args: PlatformLayerArgs = {"releases": layer.releases, "manifests": layer.manifests}
        if layer.sources:
            layer_args.update(sources=layer.sources, kubeconfig=cluster.kubeconfig)
        layers.append(
            PlatformLayer(
                f"{env.name}-{layer.name}",
                layer_args,
                opts=pulumi.ResourceOptions.merge(
                    in_cluster, pulumi.ResourceOptions(depends_on=[namespaces, secrets, *layers])
                ),
            )
        )
    mojaloop = MojaloopRelease(
        f"{env.name}-mojaloop",
        {"umbrella": specs.umbrella, "backend": specs.backend, "virtual_services": specs.virtual_services},
        # The charts read their Secrets at once, and the VirtualServices need the gateways.
        opts=pulumi.ResourceOptions.merge(
            in_cluster, pulumi.ResourceOptions(depends_on=[namespaces, secrets, *layers])
        ),
    )
    pulumi.export("mojaloopRelease", release.version)
    pulumi.export("mojaloopStatus", mojaloop.status)


def build_secret_delivery(
    env: Environment,
    cluster: KubernetesCluster,
    needs: dict[str, tuple[SecretNeed, ...]],
    templates: Mapping[tuple[str, str], Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
) -> VaultSecretDelivery:
    vault_address: pulumi.Input[str]
    if env.vault.address is not None:
        vault_address = env.vault.address
    else:
        assert env.control_center_stack is not None, "validation requires one of them"
        vault_address = pulumi.StackReference(env.control_center_stack).require_output("vaultAddress")
    delivery = plan_secret_delivery(env.name, vault_address, env.vault.kv_mount, needs)
    # Some Secrets are documents around a generated password (a DSN): ESO assembles them in the cluster.
    delivery = dataclasses.replace(delivery, manifests=with_templates(delivery.manifests, templates))
    for note in delivery.operator_supplied:
        pulumi.log.warn(note)
    args: VaultSecretDeliveryArgs = {
        "plan": delivery,
        "vault_address": vault_address,
        "token_env": env.vault.token_env,
        "kubernetes_host": env.vault.kubernetes_host or cluster.api_endpoint,
        "kubernetes_ca_cert": cluster.kubeconfig.apply(kubeconfig_ca_pem),
        "retain_secrets_on_delete": env.vault.retain_secrets_on_delete,
        "operator": external_secrets_release(),
    }
    if env.vault.ca_cert_file:
        args["vault_ca_cert"] = env.vault.ca_cert_file
    return VaultSecretDelivery(f"{env.name}-secrets", args, opts=opts)


def build_control_center(control_center: ControlCenter) -> None:
    build_cluster(control_center)
    pulumi.export("profile", control_center.profile.value)
    pulumi.export("vaultAddress", control_center_vault_address(control_center.domains.internal))
    mesh = plan_wireguard_mesh(control_center.wireguard)
    pulumi.export("wireguardHubEndpoint", str(mesh.hub.endpoint))
    pulumi.export("wireguardHubPublicKey", mesh.hub.public_key)
    # Feed this back as wireguard.ledger: addresses given out are never reassigned.
    pulumi.export("wireguardLedger", mesh.ledger())
    pulumi.export("wireguardPeerConfigs", peer_configs(control_center.wireguard))


stack = load_stack_config()
if stack.environment is not None:
    build_environment(stack.environment)
else:
    assert stack.control_center is not None
    build_control_center(stack.control_center)
