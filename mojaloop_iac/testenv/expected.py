"""Which Testing Toolkit collections a stack's `helm test` must report: the ones its values switch on.

The expectation comes from the very values the plan hands Helm (release line data, feature toggles and
the user's values file merged last), never from what `helm test` happens to print. A collection the
values switch on and Helm does not report is therefore a failure, whatever the reason: output cut off,
a hook that never ran, a chart that dropped the test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.planners.mojaloop_values.data import ReleaseLine


@dataclass(frozen=True)
class ExpectedSuite:
    name: str
    """The test sub-chart (alias), e.g. `ml-ttk-test-val-gp`; Helm names its pod `<release>-<name>`."""
    collection: str
    """goldenPath, bulk, thirdParty, or other (switched on only by the user's values file)."""


def expected_suites(values: Mapping[str, Any], line: ReleaseLine) -> tuple[ExpectedSuite, ...]:
    """The release line's test sub-charts whose `tests.enabled` is true in the umbrella chart's values."""
    return tuple(
        ExpectedSuite(name, collection)
        for name, collection in line.tests.by_collection()
        if _enabled(values, name)
    )


def _enabled(values: Mapping[str, Any], name: str) -> bool:
    chart = values.get(name)
    tests = chart.get("tests") if isinstance(chart, Mapping) else None
    return isinstance(tests, Mapping) and tests.get("enabled") is True


def stack_expected_suites(env: Any, release: Any) -> tuple[ExpectedSuite, ...]:
    """The suites an environment stack's plan switches on (`env` a config Environment, `release` from the catalog)."""
    from mojaloop_iac.config.files import load_values_file
    from mojaloop_iac.planners.mojaloop_release import mojaloop_release_specs
    from mojaloop_iac.planners.mojaloop_values import load_values_data
    from mojaloop_iac.planners.mojaloop_values.planner import release_line

    overrides = load_values_file(env.mojaloop.values_file) if env.mojaloop.values_file else None
    specs = mojaloop_release_specs(env, release, umbrella_overrides=overrides)  # type: ignore[arg-type]
    return expected_suites(specs.umbrella.values, release_line(load_values_data(), release.version))
