"""What an environment stack installs, from its configuration, as plain data (the counterpart of
`control_center_stack`): the Mojaloop releases, the platform layers, the namespaces and, per namespace,
the Secrets Vault generates for them. `__main__.py` wires this into resources; validation plans it too,
so whatever these planners refuse is refused before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.catalog import Release
from mojaloop_iac.config.models import Environment
from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS, MojaloopReleaseSpecs, mojaloop_release_specs
from mojaloop_iac.planners.namespaces import NamespaceSpec, environment_namespaces
from mojaloop_iac.planners.platform import PlatformPlan, merge_namespaces, merge_needs, plan_platform
from mojaloop_iac.planners.secrets import SecretNeed, secrets_needed


@dataclass(frozen=True)
class EnvironmentPlan:
    specs: MojaloopReleaseSpecs
    platform: PlatformPlan
    namespaces: tuple[NamespaceSpec, ...]
    secret_needs: dict[str, tuple[SecretNeed, ...]]
    """Per namespace, the Secrets the charts read (delivered from Vault)."""


def plan_environment(
    env: Environment,
    release: Release,
    umbrella_overrides: Mapping[str, Any] | None = None,
    backend_overrides: Mapping[str, Any] | None = None,
) -> EnvironmentPlan:
    specs = mojaloop_release_specs(env, release, umbrella_overrides, backend_overrides)
    platform = plan_platform(env, STORAGE_CLASS[env.substrate])
    return EnvironmentPlan(
        specs=specs,
        platform=platform,
        namespaces=merge_namespaces(environment_namespaces(env.mojaloop.namespace), platform.namespaces),
        secret_needs=merge_needs({env.mojaloop.namespace: secrets_needed(specs.secret_refs)}, platform.secret_needs),
    )
