"""What a release validation needs from an environment, as an interface.

The ephemeral QA environments (`mojactl qa`) implement it (qa_environment.py): provision a QA environment
from a template stack, install a release, upgrade one chart, run Helm tests and judge them, report the
footprint, tear down. The orchestration (orchestrator.py) only talks to this interface, so it is tested
against a stand-in, and the QA machinery plugs in without changing it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from mojaloop_iac.catalog import Release, UpgradeStep
from mojaloop_iac.release.footprint import Footprint, footprint_of
from mojaloop_iac.testenv import ExpectedSuite, HelmTestCommand, judge, parse_helm_test_output, run_helm_test
from mojaloop_iac.testenv.verdict import Verdict


class EnvironmentFailure(RuntimeError):
    """The environment could not do what was asked (the message says what and why)."""


class ValidationEnvironment(Protocol):
    """An environment one validation run installs into, upgrades, tests and tears down."""

    @property
    def name(self) -> str:
        """What identifies it while it lives (e.g. the ephemeral QA stack's name)."""
        ...

    def provision(self, release: Release, features: frozenset[str]) -> None:
        """Make the environment ready for a validation of `release` (the candidate), with these Mojaloop
        features on and the template's custom values files, if it has any."""

    def install(self, release: Release) -> None:
        """Install the backend chart, then the umbrella chart, of `release` with the plan's values."""

    def upgrade(self, step: UpgradeStep, release: Release) -> None:
        """Apply one chart step (`backend` or `umbrella`) of an upgrade to `release`, with its values."""

    def create_kafka_topic(self, topic: str) -> None:
        """Create a Kafka topic in the backend's Kafka (an upgrade's operator step the run can do itself)."""

    def run_tests(self, suites: Sequence[str]) -> Verdict:
        """Run these Helm test suites (only these) and judge them (mojaloop_iac.testenv.judge)."""

    def footprint(self) -> Footprint:
        """What runs in the Mojaloop namespace now (mojaloop_iac.release.footprint.footprint_of its pods)."""

    def teardown(self) -> None:
        """Destroy everything `provision` created; safe to call after a partial provision."""


def run_suites(command: HelmTestCommand, suites: Sequence[str]) -> Verdict:
    """What an implementation's `run_tests` can do: run exactly these suites with Helm and judge them."""
    filtered = replace(command, only=tuple(suites))
    run = run_helm_test(filtered)
    expected = [ExpectedSuite(suite, "gate") for suite in suites]
    return judge(expected, parse_helm_test_output(run.stdout), release=command.release,
                 helm_exit_code=run.exit_code, helm_error=run.stderr, not_before=run.started_at)


def footprint_from_pods(kubectl_json: str) -> Footprint:
    """The footprint of `kubectl get pods -n NAMESPACE -o json` output (what `footprint` can return)."""
    return footprint_of(json.loads(kubectl_json).get("items") or [])


@dataclass(frozen=True)
class EnvironmentOptions:
    """Where and how the ephemeral environment of a run is made (as `mojactl qa stack` and `qa up` take it)."""

    id: str | None = None
    """The QA ID; default `rv-<candidate>`."""
    ttl: str = "6h"
    """After this the reaper may destroy it (a run that was killed before its teardown)."""
    shared_cluster: str | None = None
    host_pool: Path | None = None
    host_slot: str | None = None
    secrets_provider: str | None = None
    test_timeout: str = "30m"
    log: Path | None = None
    """Where Pulumi's output goes (none when unset)."""


class EnvironmentUnavailable(Exception):
    """The environment cannot be made from this machine; `missing` says what it lacks."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("; ".join(missing))
        self.missing = tuple(missing)


class EnvironmentProvider(Protocol):
    def __call__(self, template: str, options: EnvironmentOptions) -> ValidationEnvironment: ...


def missing_prerequisites() -> list[str]:
    """What a real validation run needs and this machine lacks (empty when it has it all)."""
    from mojaloop_iac.charts import HelmNotFound, find_helm

    missing = []
    if shutil.which("pulumi") is None:
        missing.append("the Pulumi CLI (pulumi on PATH) to create and destroy the ephemeral environment")
    try:
        find_helm()
    except HelmNotFound as reason:
        missing.append(f"Helm 3 to run the tests: {reason}")
    return missing


ALWAYS_NEEDED = (
    "Pulumi's state backend (PULUMI_BACKEND_URL, or `pulumi login`) and the QA stacks' secrets provider "
    "(--secrets-provider, or PULUMI_CONFIG_PASSPHRASE for passphrase stacks)",
    "where the QA environment runs: a shared QA cluster (--shared-cluster), a bare-metal host pool "
    "(--host-pool), or a cloud account for a cluster of its own",
)
"""What a run needs that cannot be checked before it starts."""
