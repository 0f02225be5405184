"""Modelled time to ready: the critical path through a plan's dependency graph (pure).

`pulumi up` creates a resource as soon as everything it waits for exists, with no other limit (the
engine's parallelism is unbounded by default). A resource waits for

- its recorded dependencies (explicit `depends_on`, expanded by the SDK to a component's children, and the
  resources whose outputs its inputs use),
- its provider (the Kubernetes provider waits for the cluster's kubeconfig, so every in-cluster object
  waits for the cluster),
- and the dependencies of every component it is a child of: a child is registered only once its parent
  is, and a parent only once its `depends_on` exist.

A dependency on a component means its whole subtree. Each resource takes the time the first matching rule
of config/durations.yaml gives (with where the estimate comes from); the longest chain of waits is the
critical path, its length the modelled time to ready. The time to verdict adds the tests.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mojaloop_iac.datafiles import load_default_data
from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.plan.engine import PlanRecord, RecordedResource

DURATIONS_FILE = CONFIG_DIR / "durations.yaml"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Model):
    type: str = "*"
    chart: str | None = None
    input: str | None = None


class Estimate(_Model):
    match: Match
    seconds: int = Field(ge=0)
    what: str
    basis: str


class TestsEstimate(_Model):
    __test__ = False  # not a pytest test class, whatever its name
    seconds: int = Field(ge=0)
    what: str
    basis: str


class DurationModel(_Model):
    rules: tuple[Estimate, ...] = Field(min_length=1)
    tests: TestsEstimate


def load_durations() -> DurationModel:
    return load_default_data(DurationModel, DURATIONS_FILE)


def estimate_for(resource: RecordedResource, model: DurationModel) -> Estimate:
    for rule in model.rules:
        if not fnmatch.fnmatchcase(resource.type, rule.match.type):
            continue
        if rule.match.chart is not None and resource.inputs.get("chart") != rule.match.chart:
            continue
        if rule.match.input is not None and rule.match.input not in resource.inputs:
            continue
        return rule
    raise ValueError(f"config/durations.yaml has no rule for {resource.type} (end it with a `type: \"*\"` rule)")


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    chart: str | None
    starts: int
    seconds: int
    what: str


@dataclass(frozen=True)
class TimeToReady:
    seconds: int
    path: tuple[Step, ...]
    """The critical path, first step first (resources that take no time left out)."""
    tests_seconds: int

    @property
    def verdict_seconds(self) -> int:
        return self.seconds + self.tests_seconds


def time_to_ready(record: PlanRecord, model: DurationModel | None = None, *, with_tests: bool = True) -> TimeToReady:
    model = model or load_durations()
    by_urn = {resource.urn: resource for resource in record.resources}
    children: dict[str, list[str]] = defaultdict(list)
    for resource in record.resources:
        if resource.parent in by_urn:
            children[resource.parent].append(resource.urn)
    finish: dict[str, int] = {}
    ready: dict[str, int] = {}
    came_from: dict[str, str | None] = {}

    def waits_for(urn: str) -> list[str]:
        resource = by_urn[urn]
        found = [*resource.dependencies]
        if resource.provider:
            found.append(resource.provider)
        parent = resource.parent
        while parent in by_urn:
            found += by_urn[parent].dependencies
            parent = by_urn[parent].parent
        return [dep for dep in found if dep in by_urn and dep != urn]

    def finish_of(urn: str, visiting: frozenset[str] = frozenset()) -> int:
        if urn in finish:
            return finish[urn]
        if urn in visiting:
            raise ValueError(f"the plan's dependencies form a cycle through {by_urn[urn].name}")
        visiting = visiting | {urn}
        resource = by_urn[urn]
        start, via = 0, None
        for dep in sorted(set(waits_for(urn))):
            done = finish_of(dep, visiting)
            if via is None or done > start:
                start, via = done, dep
        if resource.custom:
            end = start + estimate_for(resource, model).seconds
        else:
            # A component is done when its whole subtree is.
            end = start
            for child in children[urn]:
                done = finish_of(child, visiting)
                if done > end:
                    end, via = done, child
        ready[urn], finish[urn], came_from[urn] = start, end, via
        return end

    last, total = None, 0
    for urn in sorted(by_urn):
        done = finish_of(urn)
        if done > total:
            last, total = urn, done
    path: list[Step] = []
    urn = last
    while urn is not None:
        resource = by_urn[urn]
        if resource.custom:
            rule = estimate_for(resource, model)
            if rule.seconds:
                path.append(Step(resource.name, resource.type, _chart(resource), ready[urn], rule.seconds, rule.what))
        urn = came_from.get(urn)
    return TimeToReady(total, tuple(reversed(path)), model.tests.seconds if with_tests else 0)


def _chart(resource: RecordedResource) -> str | None:
    return resource.inputs.get("chart") if resource.type == HELM_RELEASE else None


def minutes(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60:02d} s"


def time_to_ready_section(timing: TimeToReady, model: DurationModel | None = None) -> str:
    """summary.md's "Time to ready": the totals, then the critical path step by step."""
    model = model or load_durations()
    lines = [f"Modelled time to ready: **{minutes(timing.seconds)}** (critical path below)."]
    if timing.tests_seconds:
        lines.append(
            f"Modelled time to verdict: **{minutes(timing.verdict_seconds)}** "
            f"(ready, then {model.tests.what}: {minutes(timing.tests_seconds)})."
        )
    lines += [
        "",
        "Estimates per resource type are in config/durations.yaml, each with its basis; no cloud was called.",
        "",
        "| Starts at | Takes | Resource | What |",
        "|---:|---:|---|---|",
    ]
    for step in timing.path:
        kind = step.chart or step.type.rsplit(":", 1)[-1]
        lines.append(f"| {minutes(step.starts)} | {minutes(step.seconds)} | `{step.name}` ({kind}) | {step.what} |")
    return "\n".join(lines)


def resources_without_estimate(resources: Sequence[RecordedResource], model: DurationModel) -> list[str]:
    """Types only the catch-all rule covers (a test keeps the shipped stacks free of them)."""
    catch_all = model.rules[-1]
    return sorted({r.type for r in resources if r.custom and estimate_for(r, model) is catch_all})


def as_json(timing: TimeToReady) -> Mapping[str, Any]:
    return {
        "seconds": timing.seconds,
        "testsSeconds": timing.tests_seconds,
        "verdictSeconds": timing.verdict_seconds,
        "criticalPath": [
            {"name": s.name, "type": s.type, "chart": s.chart, "starts": s.starts, "seconds": s.seconds} for s in timing.path
        ],
    }
