"""The Helm releases that install a chosen Mojaloop release: backend dependencies, then the umbrella chart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac import contract
from mojaloop_iac.catalog import Release
from mojaloop_iac.config.models import Environment, Lifecycle, Substrate
from mojaloop_iac.planners.backend_values import BackendValuesInput, plan_backend_values
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.mojaloop_values import MojaloopValuesInput, SecretRef, plan_mojaloop_values
from mojaloop_iac.planners.placement import workload_scheduling
from mojaloop_iac.planners.qa_profile import QaProfile
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
    backend_first: bool = True
    """Install (and upgrade) the backend release before the umbrella release starts."""


def backend_first(env: Environment) -> bool:
    """Whether the umbrella release must wait for the backend release.

    Upgrades: always (the umbrella chart's migrations run on start against the upgraded backend). A first
    install needs no order: the chart's services wait for MySQL, Kafka and MongoDB in init containers
    (tests/test_qa_charts.py checks this against the rendered chart), so both releases install side by
    side. Only an ephemeral environment is known to be installed fresh (and re-derived, never upgraded in
    place across releases); a persistent one keeps the order, whatever the run.
    """
    return env.lifecycle != Lifecycle.EPHEMERAL or env.mojaloop.installed_release is not None


def mojaloop_release_specs(
    env: Environment,
    release: Release,
    umbrella_overrides: Mapping[str, Any] | None = None,
    backend_overrides: Mapping[str, Any] | None = None,
    *,
    profile: QaProfile | None = None,
    internal_gateway: str = contract.INTERNAL_GATEWAY,
) -> MojaloopReleaseSpecs:
    """The two releases; `profile` (the QA profile) sizes them down and keeps only the VirtualServices of
    the gateways it installs; `internal_gateway` is where the internal hosts attach (`<namespace>/<name>`)."""
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
            persistence_size=profile.backend.persistence_size if profile else None,
            pod_resources=profile.backend.resources if profile else None,
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
            internal_gateway=internal_gateway,
            external_gateway=contract.EXTERNAL_GATEWAY,
            namespace=namespace,
            release_name=env.mojaloop.helm_release_name,
            overrides=umbrella_overrides or {},
            service_values=profile.umbrella_service if profile else {},
        )
    )
    virtual_services = umbrella_plan.virtual_services
    if profile is not None and "external" not in profile.platform.ingress_gateways:
        # No external gateway is installed: a route bound to it would route nothing.
        virtual_services = tuple(
            vs for vs in virtual_services if contract.EXTERNAL_GATEWAY not in vs["spec"]["gateways"]
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
    return MojaloopReleaseSpecs(backend=backend, umbrella=umbrella, virtual_services=virtual_services,
        secret_refs=umbrella_plan.secret_refs, backend_first=backend_first(env),
    )
