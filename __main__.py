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
from mojaloop_iac.config.files import (
    StackLocation,
    load_operator_keys,
    load_values_file,
    read_ca_certificate,
    stack_file_of_program,
)
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import NAMESPACE, SECRET_KEYS, SECRET_VALUE, STACK_KINDS, validate_namespace
from mojaloop_iac.config.models import ClusterSettings, ControlCenter, Environment
from mojaloop_iac.planners.api_versions import served_api_versions
from mojaloop_iac.planners.backend_values import BackendValuesError
from mojaloop_iac.planners.identity import with_templates
from mojaloop_iac.planners.lifecycle import PERSISTENT, LifecyclePolicy, lifecycle_policy
from mojaloop_iac.planners.mesh import peer_configs, plan_hub_side
from mojaloop_iac.planners.mojaloop_values import MojaloopValuesError, load_values_data
from mojaloop_iac.planners.mojaloop_values.planner import release_line
from mojaloop_iac.planners.environment_stack import environment_vault_plan, plan_environment
from mojaloop_iac.planners.platform import (
    ROUTES_NEED,
    WORKLOADS_NEED,
    cluster_platform_versions,
    with_chart_sources,
    with_manifest_mirror,
)
from mojaloop_iac.planners.qa_tenancy import isolation_policy
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery, with_ca_bundle
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.planners.vault_access import (
    external_secrets_release,
    kubeconfig_ca_pem,
)
from mojaloop_iac.platform_versions import PlatformVersions
from mojaloop_iac.testenv import ExpectedSuite, expected_suites
from mojaloop_iac.vault.environment import EnvironmentVaultPlan
from mojaloop_iac.vault.paths import DEFAULT_KV_MOUNT


def load_stack_config():
    config = pulumi.Config(NAMESPACE)
    values = {kind: config.get_object(kind) for kind in STACK_KINDS if config.get(kind) is not None}
    for key in SECRET_KEYS:
        if config.get(key) is not None:
            # Validation judges how the value was given (a secret, or in clear), never the value itself.
            secret = pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}")
            values[key] = SECRET_VALUE if secret else config.get(key)
    stack = pulumi.get_stack()
    location = StackLocation.of_stack_file(stack_file_of_program(stack))
    try:
        # The engine answers stack references (from the backend, or the offline plan's answers).
        validated = validate_namespace(values, source=f"stack {stack}", location=location, stack_name=stack,
                                       references=None)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    for warning in validated.warnings:
        pulumi.log.warn(str(warning))
    return validated.config


def build_cluster(
    settings: ClusterSettings, lifecycle: LifecyclePolicy = PERSISTENT, shared_kubeconfig: pulumi.Input[str] | None = None
) -> KubernetesCluster:
    args: KubernetesClusterArgs = {
        "settings": settings,
        # The same place `mojactl baremetal STACK apply` uses, so both share artifacts and kubeconfig.
        "run_dir": f"out/{pulumi.get_stack()}/baremetal",
        "lifecycle": lifecycle,
    }
    kubeconfig = pulumi.Config(NAMESPACE).get_secret("kubeconfig")
    if shared_kubeconfig is not None:
        # A QA environment on a shared QA cluster: that cluster is another stack's, reached, never built.
        args.update(kubeconfig=shared_kubeconfig, shared=True)
    elif kubeconfig is not None:
        args["kubeconfig"] = kubeconfig
    cluster = KubernetesCluster(f"{settings.name}-cluster", args)
    pulumi.export("kubernetesVersion", settings.kubernetes.version)
    if cluster.inventory is not None:
        pulumi.export("ansibleInventory", cluster.inventory)
    return cluster


def build_environment(env: Environment) -> None:
    lifecycle = lifecycle_policy(env.lifecycle, retain_secrets=env.vault.retain_secrets_on_delete)
    shared = env.qa.shared_cluster if env.qa is not None else None
    shared_kubeconfig = (
        pulumi.StackReference(shared.stack).require_output("kubeconfig") if shared is not None else None
    )
    cluster = build_cluster(env, lifecycle, shared_kubeconfig)
    in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    release = load_catalog().resolve(env.mojaloop.release)
    assert release is not None, "validation guarantees a catalog release (or candidate)"
    try:
        planned = plan_environment(
            env,
            release,
            umbrella_overrides=load_values_file(env.mojaloop.values_file) if env.mojaloop.values_file else None,
            backend_overrides=(
                load_values_file(env.mojaloop.backend_values_file) if env.mojaloop.backend_values_file else None
            ),
        )
    except (MojaloopValuesError, BackendValuesError) as refused:  # e.g. a password in an overrides file
        raise pulumi.RunError(f"cannot plan the Mojaloop release values: {refused}") from None
    specs, platform, versions, tenant = planned.specs, planned.platform, planned.versions, planned.tenant
    for note in platform.warnings if platform else ():
        pulumi.log.warn(note)
    namespaces = Namespaces(
        f"{env.name}-namespaces",
        {"namespaces": planned.namespaces, "kubernetes_version": env.kubernetes.version},
        opts=in_cluster,
    )
    after_namespaces = pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[namespaces]))
    # External Secrets first: the gateways' client CA and the identity services' credentials come through it.
    secrets = build_secret_delivery(
        env,
        cluster,
        planned.secret_needs,
        platform.external_secret_templates if platform else {},
        versions,
        after_namespaces,
        lifecycle,
    )
    # Each layer waits only for what it really needs (planners.platform.Layer.after): unrelated layers install
    # side by side, and the Mojaloop release waits only for the mesh and the policies (WORKLOADS_NEED).
    layers: dict[str, pulumi.Resource] = {}
    for layer in platform.layers if platform else ():
        layer_args: PlatformLayerArgs = {
            "releases": with_chart_sources(layer.releases, env.chart_versions, env.chart_mirror),
            "manifests": layer.manifests,
        }
        if layer.prerequisites:
            layer_args["prerequisites"] = layer.prerequisites
        if layer.sources:
            layer_args.update(sources=with_manifest_mirror(layer.sources, env.chart_mirror),
                              kubeconfig=cluster.kubeconfig)
        if layer.release_needs is not None:
            layer_args["release_needs"] = layer.release_needs
        needs = [namespaces, *([secrets] if layer.reads_secrets else []), *(layers[name] for name in layer.after)]
        layers[layer.name] = PlatformLayer(
            f"{env.name}-{layer.name}",
            layer_args,
            opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=needs)),
        )
    routes_need = [layers[name] for name in ROUTES_NEED if name in layers]
    if env.qa is not None:
        # Ingress to the QA environment's namespace only from itself and the internal gateway; on a shared
        # cluster, its own Gateway and certificate there.
        tenancy = PlatformLayer(
            f"{env.name}-qa-tenancy",
            {
                "releases": (),
                "manifests": (
                    isolation_policy(env.mojaloop.namespace, env.name),
                    *(tenant.manifests if tenant is not None else ()),
                ),
            },
            opts=pulumi.ResourceOptions.merge(after_namespaces, pulumi.ResourceOptions(depends_on=routes_need)),
        )
        routes_need.append(tenancy)
    if env.qa_host:
        export_qa(env, cluster)
        return
    mojaloop = MojaloopRelease(
        f"{env.name}-mojaloop",
        {
            "umbrella": with_chart_sources((specs.umbrella,), {}, env.chart_mirror)[0],
            "backend": with_chart_sources((specs.backend,), {}, env.chart_mirror)[0],
            "virtual_services": served_api_versions(specs.virtual_services, versions),
            "backend_first": specs.backend_first,
            # The routes need Istio's CRDs, and admin hosts must not be exposed before identity guards them.
            "routes_depend_on": routes_need,
        },
        # The charts read their Secrets at once; their pods need the mesh (a pod created before istiod and
        # the CNI agent runs without its proxy) and start under the default-deny policies.
        opts=pulumi.ResourceOptions.merge(
            in_cluster,
            pulumi.ResourceOptions(depends_on=[namespaces, secrets, *(layers[n] for n in WORKLOADS_NEED if n in layers)]),
        ),
    )
    pulumi.export("mojaloopRelease", release.version)
    pulumi.export("mojaloopStatus", mojaloop.status)
    line = release_line(load_values_data(), release.version)
    export_qa(env, cluster, expected_suites=expected_suites(specs.umbrella.values, line))


def export_qa(env: Environment, cluster: KubernetesCluster, expected_suites: tuple[ExpectedSuite, ...] = ()) -> None:
    """What `mojactl qa` reads back: the QA environment's identity and expiry, the test collections its
    values switch on (what its verdict expects), and (secret) the kubeconfig its tests run with; a cluster
    hosting QA environments exports its kubeconfig for them."""
    if env.qa is not None:
        pulumi.export("qa", {
            "id": env.qa.id, "template": env.qa.template, "expiresAt": env.expires_at.isoformat() if env.expires_at else None,
            "namespace": env.mojaloop.namespace, "helmReleaseName": env.mojaloop.helm_release_name,
            "expectedTestSuites": [{"name": suite.name, "collection": suite.collection} for suite in expected_suites],
        })
    if env.qa is not None or env.qa_host:
        pulumi.export("kubeconfig", cluster.kubeconfig)


def build_secret_delivery(
    env: Environment,
    cluster: KubernetesCluster,
    needs: dict[str, tuple[SecretNeed, ...]],
    templates: Mapping[tuple[str, str], Mapping[str, Any]],
    versions: PlatformVersions,
    opts: pulumi.ResourceOptions,
    lifecycle: LifecyclePolicy = PERSISTENT,
) -> VaultSecretDelivery:
    vault_address: pulumi.Input[str]
    control_center = pulumi.StackReference(env.control_center_stack) if env.control_center_stack else None
    if env.vault.address is not None:
        vault_address = env.vault.address
    else:
        assert control_center is not None, "validation requires one of them"
        vault_address = control_center.require_output("vaultAddress")
    vault_ca_pem: pulumi.Output[str | None] | None = None
    if control_center is not None and not lifecycle.ephemeral:
        # An ephemeral environment is never declared: it writes (and removes) its own access.
        control_center.get_output("vaultEnvironments").apply(
            lambda declared: warn_if_undeclared(env.name, env.control_center_stack, declared)
        )
    if control_center is not None and env.vault.ca_cert_file is None:
        # The control center's Vault presents a certificate from its internal CA, which it exports.
        vault_ca_pem = control_center.get_output("vaultCaCert").apply(
            lambda pem: exported_ca(pem, env.control_center_stack)
        )
    shared = env.qa.shared_cluster if env.qa is not None else None
    vault_plan = environment_vault_plan(env, needs, ephemeral=lifecycle.ephemeral)
    return build_cluster_secret_delivery(
        env.name, vault_address, cluster, needs, templates, versions, opts,
        token_env=env.vault.token_env, kubernetes_host=env.vault.kubernetes_host,
        vault_ca_cert=read_ca_certificate(env.vault.ca_cert_file) if env.vault.ca_cert_file else None,
        vault_ca_pem=vault_ca_pem,
        retain=lifecycle.retain_secrets_on_delete, kv_mount=env.vault.kv_mount,
        chart_mirror=env.chart_mirror,
        # A control center declares its (persistent) environments and administers their Vault access; an
        # ephemeral environment on a cluster of its own writes its own access and removes it on destroy.
        access_managed_by_control_center=env.control_center_stack is not None and not lifecycle.ephemeral,
        vault_plan=vault_plan,
        manage_shared_objects=lifecycle.manage_shared_vault_objects,
        # On a shared QA cluster, External Secrets is the cluster's.
        install_operator=shared is None,
    )


def warn_if_undeclared(environment: str, control_center: str | None, declared: Any) -> None:
    # The stack still plans; `pulumi up` would stop at the auth mount the control center never enabled.
    if isinstance(declared, Mapping) and environment not in declared:
        pulumi.log.warn(
            f"environment {environment!r} is not declared in control center {control_center}'s environments "
            f"({', '.join(sorted(declared)) or 'none'}): add it there and run `pulumi up` on the control center "
            "first, or this stack's Vault access does not exist"
        )


def exported_ca(pem: Any, control_center: str | None) -> str | None:
    if isinstance(pem, str) and pem.strip():
        return pem
    # A control center from before `vaultCaCert` existed: its next `pulumi up` exports it.
    pulumi.log.warn(
        f"control center {control_center} exports no vaultCaCert: this stack's SecretStores and Vault connections "
        "trust the system's CAs only. Run `pulumi up` on the control center, or set vault.caCertFile"
    )
    return None


def trusting_vault_ca(
    manifests: tuple[dict[str, Any], ...], ca_pem: pulumi.Input[str | None]
) -> tuple[dict[str, Any], ...]:
    """The SecretStores trusting the CA once it is known (the PEM is a Pulumi output)."""
    return tuple(
        {**manifest, "spec": pulumi.Output.all(manifest["spec"], ca_pem).apply(lambda both: with_ca_bundle(*both))}
        if manifest["kind"] == "SecretStore"
        else manifest
        for manifest in manifests
    )


def build_cluster_secret_delivery(
    name: str,
    vault_address: pulumi.Input[str],
    cluster: KubernetesCluster,
    needs: Mapping[str, tuple[SecretNeed, ...]],
    templates: Mapping[tuple[str, str], Mapping[str, Any]],
    versions: PlatformVersions,
    opts: pulumi.ResourceOptions,
    *,
    token_env: str = "VAULT_TOKEN",
    kubernetes_host: str | None = None,
    vault_ca_cert: str | None = None,
    vault_ca_pem: pulumi.Input[str | None] | None = None,
    retain: bool = True,
    kv_mount: str = DEFAULT_KV_MOUNT,
    chart_mirror: str | None = None,
    access_managed_by_control_center: bool = False,
    vault_plan: EnvironmentVaultPlan | None = None,
    manage_shared_objects: bool = True,
    install_operator: bool = True,
) -> VaultSecretDelivery:
    """Vault generates the cluster's passwords and External Secrets delivers them, namespace by namespace.

    `vault_ca_cert` is a CA (PEM text, from the stack's caCertFile) for this machine's Vault connections;
    `vault_ca_pem` (PEM text, instead) is trusted by those connections and by the SecretStores in the cluster."""
    delivery = plan_secret_delivery(name, vault_address, kv_mount, needs, vault=vault_plan)
    # Some Secrets are documents around a generated password (a DSN): ESO assembles them in the cluster.
    delivery = dataclasses.replace(
        delivery, manifests=served_api_versions(with_templates(delivery.manifests, templates), versions)
    )
    if vault_ca_pem is not None:
        delivery = dataclasses.replace(delivery, manifests=trusting_vault_ca(delivery.manifests, vault_ca_pem))
    for note in delivery.operator_supplied:
        pulumi.log.warn(note)
    args: VaultSecretDeliveryArgs = {
        "plan": delivery,
        "vault_address": vault_address,
        "token_env": token_env,
        "kubernetes_host": kubernetes_host or cluster.api_endpoint,
        "kubernetes_ca_cert": cluster.kubeconfig.apply(kubeconfig_ca_pem),
        "retain_secrets_on_delete": retain,
        "access_managed_by_control_center": access_managed_by_control_center,
        "manage_shared_objects": manage_shared_objects,
    }
    if install_operator:
        args["operator"] = with_chart_sources((external_secrets_release(versions),), {}, chart_mirror)[0]
    if vault_ca_pem is not None:
        args["vault_ca_cert"] = vault_ca_pem
    elif vault_ca_cert:
        args["vault_ca_cert"] = vault_ca_cert
    return VaultSecretDelivery(f"{name}-secrets", args, opts=opts)


def build_control_center(cc: ControlCenter) -> None:
    # Imported here: environment stacks never load the object-storage client or the Vault bootstrap.
    from mojaloop_iac.kubeapi.ca_certificate import ClusterCaCertificate, internal_ca_ref
    from mojaloop_iac.objectstore.control_center import VaultSource, build_object_store
    from mojaloop_iac.planners.control_center_stack import plan_control_center
    from mojaloop_iac.vault.bootstrap_resources import VaultBootstrap, VaultInitialization

    cluster = build_cluster(cc)
    in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    aws_account = None
    if cluster.aws_cluster is not None:
        # Imported here: bare-metal control centers never load pulumi-aws.
        from components.aws_control_center import aws_account_of

        aws_account = aws_account_of(cluster.aws_cluster)
    plan = plan_control_center(cc, cluster.storage_class_name, load_operator_keys(cc.secrets_store.unseal.operator_pgp_key_files), aws_account)
    for note in plan.warnings:
        pulumi.log.warn(note)
    namespaces = Namespaces(
        f"{cc.name}-namespaces",
        {"namespaces": plan.namespaces, "kubernetes_version": cc.kubernetes.version},
        opts=in_cluster,
    )
    after_namespaces = pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[namespaces]))

    def sourced(releases: Any) -> tuple[Any, ...]:
        return with_chart_sources(releases, cc.chart_versions, cc.chart_mirror)

    certificates = PlatformLayer(f"{cc.name}-cert-manager", {"releases": sourced(plan.certificates.releases),
                                 "manifests": plan.certificates.manifests}, opts=after_namespaces)
    # The internal CA's certificate, never its key: Vault, MinIO, zot and GitLab present certificates it signed,
    # so this stack's connections to them and the environments' (through `vaultCaCert`) trust it.
    internal_ca = ClusterCaCertificate(
        f"{cc.name}-internal-ca",
        {"kubeconfig": cluster.kubeconfig, **internal_ca_ref().to_props()},
        pulumi.ResourceOptions(depends_on=[certificates]),
    )
    ca_pem = internal_ca.certificate
    # Istio and the gateway passing TLS through to the services: how vault./s3./mirror./gitlab. are reached.
    ingress = PlatformLayer(f"{cc.name}-ingress", {"releases": sourced(plan.ingress.releases),
                            "manifests": plan.ingress.manifests}, opts=after_namespaces)
    # Deny by default, with the allows the control center's traffic needs (AuthorizationPolicies need Istio).
    PlatformLayer(f"{cc.name}-network-policy", {"releases": (), "manifests": plan.policies.manifests},
                  opts=pulumi.ResourceOptions.merge(after_namespaces, pulumi.ResourceOptions(depends_on=[ingress])))
    unseal_key: list[pulumi.Resource] = []
    if plan.vault_unseal is not None:
        from components.aws_control_center import VaultAutoUnseal

        assert cluster.aws_cluster is not None
        # The servers find the KMS key and their role's access to it in place when they first start.
        unseal_key.append(VaultAutoUnseal(f"{cc.name}-vault-unseal", {"plan": plan.vault_unseal,
                                                                       "cluster": cluster.aws_cluster}))
    secrets_store = PlatformLayer(
        f"{cc.name}-secrets-store",
        {"releases": sourced(plan.secrets_store.releases), "manifests": plan.secrets_store.manifests},
        opts=pulumi.ResourceOptions.merge(
            after_namespaces, pulumi.ResourceOptions(depends_on=[certificates, *unseal_key])
        ),
    )
    connection = {"address": plan.vault_address, "cli": plan.vault_server.cli, "ca_cert": ca_pem}
    # First run: initialise, handing each operator a share encrypted to their PGP key. On bare metal the
    # operators then unseal (the resources below say so while Vault is sealed) and the next run goes on.
    initialization = VaultInitialization(
        f"{cc.name}-vault-init",
        {**connection, **plan.initialization},
        # It reaches Vault at vault.<internal domain>, through the gateway (as everything after it does).
        pulumi.ResourceOptions(depends_on=[secrets_store, ingress]),
    )
    bootstrap = VaultBootstrap(
        f"{cc.name}-vault-bootstrap",
        {**connection, "plan": plan.bootstrap, "token_env": "VAULT_TOKEN"},
        pulumi.ResourceOptions(depends_on=[initialization]),
    )
    secrets = build_cluster_secret_delivery(
        cc.name,
        plan.vault_address,
        cluster,
        plan.secret_needs,
        {},
        cluster_platform_versions(cc),
        pulumi.ResourceOptions.merge(after_namespaces, pulumi.ResourceOptions(depends_on=[bootstrap])),
        vault_ca_pem=ca_pem,
        chart_mirror=cc.chart_mirror,
    )
    hub_public_key: pulumi.Input[str | None] = cc.wireguard.hub.public_key
    if plan.wireguard_hub is not None:
        from components.aws_control_center import InClusterWireGuardHub

        # On AWS the hub is a pod: its key pair is generated into Vault, External Secrets mounts the key.
        hub = InClusterWireGuardHub(
            f"{cc.name}-wireguard-hub",
            {"plan": plan.wireguard_hub, "vault_address": plan.vault_address, "token_env": "VAULT_TOKEN",
             "kv_mount": DEFAULT_KV_MOUNT, "vault_ca_cert": ca_pem},
            opts=pulumi.ResourceOptions.merge(after_namespaces, pulumi.ResourceOptions(depends_on=[secrets])),
        )
        hub_public_key = hub.public_key
        # Point the name in wireguard.hub.endpoint at it.
        pulumi.export("wireguardHubLoadBalancer", hub.load_balancer_hostname)
    services = PlatformLayer(
        f"{cc.name}-services",
        # Their Certificates and ExternalSecrets first: the releases wait for the Secrets they mount.
        {"prerequisites": plan.services.manifests, "releases": sourced(plan.services.releases), "manifests": ()},
        opts=pulumi.ResourceOptions.merge(after_namespaces, pulumi.ResourceOptions(depends_on=[certificates, secrets])),
    )
    # The buckets, then each consumer's MinIO user and policy; root and consumer secrets are read from Vault.
    build_object_store(cc.name, plan.services, plan.secret_needs,
                       VaultSource(plan.vault_address, plan.bootstrap.kv_mount),
                       pulumi.ResourceOptions(depends_on=[services, secrets]), ca_cert=ca_pem)
    if plan.services.gitlab is not None:
        build_gitlab_post_install(cc, plan, ca_pem, pulumi.ResourceOptions(depends_on=[services, bootstrap]),
                                  after_namespaces)
    pulumi.export("profile", cc.profile.value)
    pulumi.export("vaultAddress", plan.vault_address)
    # The CA that signed Vault's (and every service's) certificate, PEM: environments trust it from here.
    pulumi.export("vaultCaCert", ca_pem)
    pulumi.export("vaultInitialization", initialization.status)
    pulumi.export("vaultUnsealShares", initialization.key_shares)
    pulumi.export("vaultEnvironments", plan.vault_environments())
    for key, value in plan.services.outputs().items():
        pulumi.export(key, value)
    export_wireguard_mesh(cc, hub_public_key)


def build_gitlab_post_install(
    cc: ControlCenter, plan: Any, ca_pem: pulumi.Input[str], opts: pulumi.ResourceOptions,
    in_cluster: pulumi.ResourceOptions,
) -> None:
    """Once GitLab answers: its OAuth application for Vault logins, Vault's OIDC mount, the runner's token;
    then the runner, which needs that token."""
    from mojaloop_iac.gitlab.resource import gitlab_post_install

    name, gitlab = cc.name, plan.services.gitlab
    runner = with_chart_sources((gitlab.runner.release,), cc.chart_versions, cc.chart_mirror)
    post_install = gitlab_post_install(f"{name}-gitlab-post-install", gitlab,
                                       vault_address=plan.vault_address, kv_mount=plan.bootstrap.kv_mount,
                                       # GitLab's certificate is the internal CA's too (also Vault's OIDC discovery CA).
                                       gitlab_ca_cert=ca_pem, vault_ca_cert=ca_pem, opts=opts)
    PlatformLayer(f"{name}-gitlab-runner",
                  {"prerequisites": gitlab.runner.prerequisites, "releases": runner, "manifests": ()},
                  opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[post_install])))


def export_wireguard_mesh(cc: ControlCenter, hub_public_key: pulumi.Input[str | None]) -> None:
    mesh = plan_hub_side(cc.wireguard)
    pulumi.export("wireguardHubEndpoint", str(mesh.hub.endpoint))
    pulumi.export("wireguardHubPublicKey", hub_public_key)
    # Feed this back as wireguard.ledger: addresses given out are never reassigned.
    pulumi.export("wireguardLedger", mesh.ledger())
    # The peers' configurations name the hub's public key: on AWS it is known once Vault generated it.
    pulumi.export(
        "wireguardPeerConfigs",
        pulumi.Output.from_input(hub_public_key).apply(lambda key: peer_configs(cc.wireguard, key)),
    )


stack = load_stack_config()
if stack.environment is not None:
    build_environment(stack.environment)
else:
    assert stack.control_center is not None
    build_control_center(stack.control_center)
