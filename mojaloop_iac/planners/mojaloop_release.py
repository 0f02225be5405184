"""The Helm releases that install a chosen Mojaloop release: backend dependencies, then the umbrella chart."""

from __future__ import annotations

from dataclasses import dataclass

from mojaloop_iac.catalog import Release
from mojaloop_iac.config.models import Environment
from mojaloop_iac.planners.helm import HelmReleaseSpec

# Mojaloop's docs install the backend chart as `backend`; its service names derive from it.
BACKEND_RELEASE_NAME = "backend"


@dataclass(frozen=True)
class MojaloopReleaseSpecs:
    backend: HelmReleaseSpec
    umbrella: HelmReleaseSpec


def mojaloop_release_specs(env: Environment, release: Release) -> MojaloopReleaseSpecs:
    namespace = env.mojaloop.namespace
    backend = HelmReleaseSpec(
        name=BACKEND_RELEASE_NAME,
        chart=release.backend.name,
        repo=release.backend.repo,
        version=release.backend.version,
        namespace=namespace,
        values={},
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
