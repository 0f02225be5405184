"""What a release validation needs from an environment, as an interface.

The ephemeral QA environments (`mojactl qa`, built separately) implement it: provision a QA environment
from a template stack, install a release, upgrade one chart, run Helm tests and judge them, report the
footprint, tear down. The orchestration (orchestrator.py) only talks to this interface, so it is tested
against a stand-in, and the QA machinery plugs in without changing it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import replace
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
        """Create the environment (cluster, platform) for `release`, with these Mojaloop features on and
        no custom values files."""

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


class EnvironmentProvider(Protocol):
    def __call__(self, template: str) -> ValidationEnvironment: ...


def missing_prerequisites() -> list[str]:
    """What a real validation run needs and this machine or build lacks."""
    missing = []
    if shutil.which("pulumi") is None:
        missing.append("the Pulumi CLI (pulumi on PATH) to create and destroy the ephemeral environment")
    if shutil.which("helm") is None:
        missing.append("Helm 3 (helm on PATH) to run the tests")
    missing.append("the ephemeral QA environments (`mojactl qa`), which provide the environment this run "
                   "installs into; they are not part of this build")
    missing.append("a cluster (or cloud account) for the QA environment to run on")
    return missing
