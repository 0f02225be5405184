"""What an environment stack installs, from its configuration, as plain data (the counterpart of
`control_center_stack`): the Mojaloop releases, the platform (none on a shared QA cluster, whose platform is
the cluster's), the namespaces and, per namespace, the Secrets Vault generates for them. `__main__.py` wires
this into resources; validation plans it too, so whatever these planners refuse is refused before anything
runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac import contract
from mojaloop_iac.catalog import Release
from mojaloop_iac.config.models import Environment, Profile
from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS, MojaloopReleaseSpecs, mojaloop_release_specs
from mojaloop_iac.planners.namespaces import EXTERNAL_SECRETS_NAMESPACE, NamespaceSpec, environment_namespaces
from mojaloop_iac.planners.platform import (
    PlatformPlan,
    cluster_platform_versions,
    cluster_sidecars,
    merge_namespaces,
    merge_needs,
    plan_platform,
)
from mojaloop_iac.planners.qa_profile import QaProfile, qa_profile
from mojaloop_iac.planners.qa_tenancy import TenantGateway, environment_labels, tenant_gateway_plan
from mojaloop_iac.planners.secrets import SecretNeed, secrets_needed
from mojaloop_iac.platform_versions import PlatformVersions
from mojaloop_iac.vault.environment import EnvironmentVaultPlan, plan_environment_vault, plan_qa_tenant_vault


@dataclass(frozen=True)
class EnvironmentPlan:
    specs: MojaloopReleaseSpecs
    platform: PlatformPlan | None
    """None on a shared QA cluster: the platform is the cluster's."""
    versions: PlatformVersions
    namespaces: tuple[NamespaceSpec, ...]
    secret_needs: dict[str, tuple[SecretNeed, ...]]
    """Per namespace, the Secrets the charts read (delivered from Vault)."""
    profile: QaProfile | None
    tenant: TenantGateway | None
    """A QA environment on a shared QA cluster: its own Gateway on the shared gateway pods."""


def plan_environment(
    env: Environment,
    release: Release,
    umbrella_overrides: Mapping[str, Any] | None = None,
    backend_overrides: Mapping[str, Any] | None = None,
) -> EnvironmentPlan:
    profile = qa_profile() if env.profile == Profile.QA else None
    shared = env.qa.shared_cluster if env.qa is not None else None
    # On a shared QA cluster the environment's hosts get a Gateway of their own on the shared gateway pods.
    tenant = tenant_gateway_plan(env.name, env.domains.internal, env.tls.internal_issuer) if shared else None
    specs = mojaloop_release_specs(
        env,
        release,
        umbrella_overrides=umbrella_overrides,
        backend_overrides=backend_overrides,
        profile=profile,
        internal_gateway=tenant.gateway if tenant is not None else contract.INTERNAL_GATEWAY,
    )
    platform = None if shared else plan_platform(env, STORAGE_CLASS[env.substrate], specs.virtual_services, profile)
    # On a shared QA cluster the platform is the cluster's, built from the same kind of stack.
    versions = platform.versions if platform else cluster_platform_versions(env)
    meshed = (platform.sidecars if platform else cluster_sidecars(env)) is not None
    own_namespaces = environment_namespaces(env.mojaloop.namespace, meshed)
    if env.qa_host:
        # A cluster hosting QA environments runs the platform they share, not a Mojaloop of its own.
        own_namespaces = tuple(spec for spec in own_namespaces if spec.name != env.mojaloop.namespace)
    if env.qa is not None:
        own_namespaces = tuple(
            dataclasses.replace(spec, extra_labels=environment_labels(env.name))
            if spec.name == env.mojaloop.namespace
            else spec
            for spec in own_namespaces
            # External Secrets runs once per cluster: on a shared cluster it is the cluster's.
            if not (shared and spec.name == EXTERNAL_SECRETS_NAMESPACE)
        )
    return EnvironmentPlan(
        specs=specs,
        platform=platform,
        versions=versions,
        namespaces=merge_namespaces(own_namespaces, platform.namespaces if platform else ()),
        secret_needs=merge_needs(
            {} if env.qa_host else {env.mojaloop.namespace: secrets_needed(specs.secret_refs)},
            platform.secret_needs if platform else {},
        ),
        profile=profile,
        tenant=tenant,
    )


def environment_vault_plan(
    env: Environment, needs: Mapping[str, tuple[SecretNeed, ...]], *, ephemeral: bool
) -> EnvironmentVaultPlan:
    """The environment's side of Vault: a QA tenant's on a shared QA cluster, else its own."""
    shared = env.qa.shared_cluster if env.qa is not None else None
    if shared is not None:
        return plan_qa_tenant_vault(env.name, shared.environment, needs, kv_mount=env.vault.kv_mount)
    return plan_environment_vault(env.name, kv_mount=env.vault.kv_mount, ephemeral=ephemeral, qa_host=env.qa_host)
