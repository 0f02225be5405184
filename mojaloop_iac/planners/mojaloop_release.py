"""The Helm releases that install a chosen Mojaloop release: backend dependencies, then the umbrella chart."""

from __future__ import annotations

from dataclasses import dataclass

from mojaloop_iac.catalog import Release
from mojaloop_iac.config.models import Environment, Substrate
from mojaloop_iac.planners.backend_values import BackendValuesInput, plan_backend_values
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.placement import workload_scheduling
from mojaloop_iac.planners.secrets import backend_secret_names

# Mojaloop's docs install the backend chart as `backend`; its service names derive from it.
BACKEND_RELEASE_NAME = "backend"

# The storage class each substrate's cluster provides by default (k3s' local-path provisioner; the
# encrypted gp3 class the AWS substrate creates).
STORAGE_CLASS = {Substrate.BAREMETAL: "local-path", Substrate.AWS: "gp3-encrypted"}


@dataclass(frozen=True)
class MojaloopReleaseSpecs:
    backend: HelmReleaseSpec
    umbrella: HelmReleaseSpec


def mojaloop_release_specs(env: Environment, release: Release) -> MojaloopReleaseSpecs:
    namespace = env.mojaloop.namespace
    registry = env.baremetal.registry_mirror if env.baremetal is not None else ""
    backend_plan = plan_backend_values(
        BackendValuesInput(
            chart_version=release.backend.version,
            scheduling=workload_scheduling(env),
            storage_class=STORAGE_CLASS[env.substrate],
            image_registry=registry or None,
            secrets=backend_secret_names(),
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
    umbrella = HelmReleaseSpec(
        name=env.mojaloop.helm_release_name,
        chart=release.umbrella.name,
        repo=release.umbrella.repo,
        version=release.umbrella.version,
        namespace=namespace,
        values={},
        # A first install pulls ~40 images and runs the schema migrations.
        timeout_seconds=1800,
    )
    return MojaloopReleaseSpecs(backend=backend, umbrella=umbrella)
