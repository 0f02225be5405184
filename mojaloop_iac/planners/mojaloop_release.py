"""The Helm releases that install a chosen Mojaloop release: backend dependencies, then the umbrella chart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac import contract
from mojaloop_iac.catalog import Release
from mojaloop_iac.config.models import Environment, Substrate
from mojaloop_iac.planners.backend_values import BackendValuesInput, plan_backend_values
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.mojaloop_values import MojaloopValuesInput, SecretRef, plan_mojaloop_values
from mojaloop_iac.planners.placement import workload_scheduling
from mojaloop_iac.planners.secrets import backend_secret_names, mojaloop_secret_refs

# Mojaloop's docs install the backend chart as `backend`; its service names derive from it.
BACKEND_RELEASE_NAME = "backend"

# The storage class each substrate's cluster provides by default (k3s' local-path provisioner; the
# encrypted gp3 class the AWS substrate creates).
STORAGE_CLASS = {Substrate.BAREMETAL: "local-path", Substrate.AWS: "gp3-encrypted"}


@dataclass(frozen=True)
class MojaloopReleaseSpecs:
    backend: HelmReleaseSpec
    umbrella: HelmReleaseSpec
    virtual_services: tuple[dict[str, Any], ...]
    """Istio routes replacing the chart's ingresses."""
    secret_refs: frozenset[SecretRef]
    """Every Secret key the umbrella chart's values reference."""


def mojaloop_release_specs(
    env: Environment,
    release: Release,
    umbrella_overrides: Mapping[str, Any] | None = None,
    backend_overrides: Mapping[str, Any] | None = None,
) -> MojaloopReleaseSpecs:
    namespace = env.mojaloop.namespace
    scheduling = workload_scheduling(env)
    registry = env.baremetal.registry_mirror_host if env.baremetal is not None else ""
    backend_plan = plan_backend_values(
        BackendValuesInput(
            chart_version=release.backend.version,
            scheduling=scheduling,
            storage_class=STORAGE_CLASS[env.substrate],
            image_registry=registry or None,
            secrets=backend_secret_names(),
            overrides=backend_overrides or {},
        )
    )
    backend = HelmReleaseSpec(
        name=BACKEND_RELEASE_NAME,
        chart=release.backend.name,
        repo=release.backend.repo,
        version=release.backend.version,
        namespace=namespace,
        values=backend_plan.values,
        timeout_seconds=900,
    )
    umbrella_plan = plan_mojaloop_values(
        MojaloopValuesInput(
            release_version=release.version,
            scheduling=scheduling,
            backend=backend_plan.endpoints,
            secrets=mojaloop_secret_refs(),
            bulk_enabled=env.mojaloop.features.bulk,
            third_party_enabled=env.mojaloop.features.third_party,
            internal_domain=env.domains.internal,
            external_domain=env.domains.external,
            internal_gateway=contract.INTERNAL_GATEWAY,
            external_gateway=contract.EXTERNAL_GATEWAY,
            namespace=namespace,
            release_name=env.mojaloop.helm_release_name,
            overrides=umbrella_overrides or {},
        )
    )
    umbrella = HelmReleaseSpec(
        name=env.mojaloop.helm_release_name,
        chart=release.umbrella.name,
        repo=release.umbrella.repo,
        version=release.umbrella.version,
        namespace=namespace,
        values=umbrella_plan.values,
        # A first install pulls ~40 images and runs the schema migrations.
        timeout_seconds=1800,
    )
    return MojaloopReleaseSpecs(backend=backend, umbrella=umbrella, virtual_services=umbrella_plan.virtual_services,
        secret_refs=umbrella_plan.secret_refs,
    )
