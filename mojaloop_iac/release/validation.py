"""The plan of a release validation: which release goes in first, the ordered steps, and the gate.

`plan_validation` is pure: from the catalog and the gates it decides

- the previous release P (unless given): the newest published release older than the candidate C from
  which the catalog supports a direct upgrade to C;
- the steps, in order: provision an ephemeral environment from the template stack (with the features the
  gate needs), install P, run P's golden path as a baseline, upgrade to C following the upgrade planner's
  steps (backend first; an operator step stops the run unless it has nothing to do without custom
  overrides), run every collection the gate requires (known-flaky ones retried as allowed), capture the
  footprint, and always tear down. `fresh` installs C directly instead of P and the upgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mojaloop_iac.catalog import Release, ReleaseCatalog, UpgradeRefused, UpgradeStep, plan_upgrade
from mojaloop_iac.release.gates import GatesFile, ReleaseGate, release_gate

Phase = Literal["provision", "install", "baseline", "upgrade", "test", "footprint", "teardown"]
StepKind = Literal["automated", "operator-automated", "operator-skipped", "operator-stop"]
Mode = Literal["upgrade", "fresh"]

DiffProvider = Callable[[Release, Release], str]
"""Renders the release diff between two releases (Markdown): mojaloop_iac.release.diff_render.diff_provider."""


class ValidationRefused(ValueError):
    """The validation cannot be planned; the message says why and what to do."""


@dataclass(frozen=True)
class ValidationStep:
    order: int
    phase: Phase
    kind: StepKind
    title: str
    detail: str = ""
    release: str | None = None
    upgrade: UpgradeStep | None = None
    suites: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidationPlan:
    candidate: Release
    previous: Release | None
    mode: Mode
    template: str
    gate: ReleaseGate
    steps: tuple[ValidationStep, ...]
    releases: dict[str, Release]
    """Every release the run installs or upgrades to, by version (previous, intermediate stops, candidate)."""
    blockers: tuple[str, ...] = ()
    """Why the run cannot happen although it can be planned (a release the toolkit cannot install yet)."""

    @property
    def stops_at(self) -> ValidationStep | None:
        """The first operator step a person must do: the run stops there."""
        return next((step for step in self.steps if step.kind == "operator-stop"), None)


def default_previous(catalog: ReleaseCatalog, candidate: Release) -> Release:
    """The newest published release older than `candidate` from which a direct upgrade is supported."""
    older = [release for release in catalog.releases.values() if release.semver < candidate.semver]
    for release in reversed(older):
        try:
            upgrade = plan_upgrade(catalog, release.version, candidate.version)
        except UpgradeRefused:
            continue
        if upgrade.path == (release.version, candidate.version):
            return release
    raise ValidationRefused(
        f"no published release can be upgraded directly to {candidate.version} (it supports upgrades from "
        f"{candidate.upgrade_from or 'no catalogued release'}): pass --previous, or --fresh to validate a fresh install"
    )


def plan_validation(
    catalog: ReleaseCatalog,
    candidate_version: str,
    *,
    previous_version: str | None = None,
    fresh: bool = False,
    template: str = "qa",
    template_has_overrides: bool = False,
    gates: GatesFile | None = None,
) -> ValidationPlan:
    """Plan a validation of `candidate_version`; ValidationRefused says why it cannot be planned.

    `template_has_overrides`: the template stack has custom values files, so operator steps that carry
    overrides over are not empty there and stop the run.
    """
    candidate = catalog.resolve(candidate_version)
    if candidate is None:
        known = ", ".join(catalog.known_versions())
        raise ValidationRefused(f"{candidate_version!r} is neither a release nor a candidate of the catalog ({known})")
    try:
        gate = release_gate(candidate, gates)
    except ValueError as error:
        raise ValidationRefused(str(error)) from None
    if fresh and previous_version is not None:
        raise ValidationRefused("--fresh installs the candidate directly: it takes no --previous")
    previous = None
    upgrade_steps: tuple[UpgradeStep, ...] = ()
    if not fresh:
        if previous_version is None:
            previous = default_previous(catalog, candidate)
        else:
            previous = catalog.resolve(previous_version)
            if previous is None:
                raise ValidationRefused(f"--previous {previous_version!r} is not in the catalog")
        try:
            upgrade_steps = plan_upgrade(catalog, previous.version, candidate.version).steps
        except UpgradeRefused as refused:
            raise ValidationRefused(f"cannot rehearse the upgrade {previous.version} -> {candidate.version}: "
                                    f"{refused}") from None
        if not upgrade_steps:
            raise ValidationRefused(f"--previous {previous.version} is the candidate itself: nothing to upgrade")
    features = ", ".join(sorted(gate.features)) or "none"
    values_files = "its custom values files kept" if template_has_overrides else "no custom values files"
    steps: list[ValidationStep] = [
        ValidationStep(0, "provision", "automated", f"Provision an ephemeral environment from stack {template}",
                       f"features the gate needs switched on: {features}; {values_files}"),
    ]
    first = previous or candidate
    steps.append(ValidationStep(0, "install", "automated", f"Install Mojaloop {first.version}",
                                f"backend {first.backend.name} {first.backend.version}, then "
                                f"{first.umbrella.name} {first.umbrella.version}", release=first.version))
    if previous is not None:
        steps.append(ValidationStep(0, "baseline", "automated", f"Baseline: golden path of {previous.version}",
                                    "helm test; must pass before the upgrade, else the environment is at fault",
                                    release=previous.version, suites=gate.golden_path))
        for step in upgrade_steps:
            steps.append(_upgrade_step(step, template_has_overrides))
    flaky = [f"{test.suite} (retries {test.retries}: {test.issue})" for test in gate.gate.flaky]
    steps.append(ValidationStep(0, "test", "automated", f"Gate of line {gate.line}: run the required collections",
                                "each at its pass rate (100% unless stated); known-flaky: " + (", ".join(flaky) or "none"),
                                release=candidate.version, suites=gate.gate.suites()))
    steps.append(ValidationStep(0, "footprint", "automated", "Capture the footprint",
                                "pods, CPU/memory requests and limits, volumes, images"))
    steps.append(ValidationStep(0, "teardown", "automated", "Tear the environment down",
                                "always, whatever happened before"))
    numbered = tuple(
        ValidationStep(order, s.phase, s.kind, s.title, s.detail, s.release, s.upgrade, s.suites)
        for order, s in enumerate(steps, start=1)
    )
    releases = {candidate.version: candidate, **({previous.version: previous} if previous else {})}
    for step in upgrade_steps:
        stop = catalog.resolve(step.release)
        assert stop is not None, "the upgrade planner only plans catalogued releases"
        releases.setdefault(stop.version, stop)
    from mojaloop_iac.config.rules import release_is_plannable

    blockers = tuple(issue.message for release in releases.values() for issue in release_is_plannable(release, ""))
    return ValidationPlan(candidate=candidate, previous=previous, mode="fresh" if fresh else "upgrade",
                          template=template, gate=gate, steps=numbered, releases=releases, blockers=blockers)


def _upgrade_step(step: UpgradeStep, overrides: bool) -> ValidationStep:
    if step.part == "operator":
        kind: StepKind
        if step.kafka_topic is not None:
            kind, title = "operator-automated", f"Operator step, done by the run: create Kafka topic {step.kafka_topic}"
        elif step.skip_without_overrides and not overrides:
            kind, title = "operator-skipped", "Operator step (nothing to do without custom overrides)"
        else:
            kind, title = "operator-stop", "Operator step (cannot be automated: the run stops here)"
        return ValidationStep(0, "upgrade", kind, title, step.description, release=step.release, upgrade=step)
    return ValidationStep(0, "upgrade", "automated",
                          f"Upgrade {step.part} chart {step.chart} {step.from_version} -> {step.to_version}",
                          step.description, release=step.release, upgrade=step)


def dry_run_text(plan: ValidationPlan, diff: DiffProvider | None = None) -> str:
    """The plan as Markdown, with the release diff when a diff provider is available."""
    previous = f" from {plan.previous.version}" if plan.previous else " (fresh install)"
    lines = [f"## Validation of Mojaloop {plan.candidate.version}{previous}", ""]
    if plan.candidate.candidate is not None:
        info = plan.candidate.candidate
        lines.append(f"Candidate: {info.status} based on {info.base}"
                     + ("" if info.published else "; its chart is not published: the environment's chart mirror "
                        "must carry it") + ".")
    lines += [f"Environment: ephemeral, from stack `{plan.template}`.", "", "### Steps", ""]
    for step in plan.steps:
        marker = {"automated": "", "operator-automated": "", "operator-skipped": " _(skipped: no overrides)_",
                  "operator-stop": " **(stops the run)**"}[step.kind]
        suites = f" — {', '.join(f'`{suite}`' for suite in step.suites)}" if step.suites else ""
        lines.append(f"{step.order}. **{step.phase}** {step.title}{marker}{suites}")
        if step.detail:
            lines.append(f"   {step.detail}")
    lines += ["", "### Gate", "", "| Collection | Pass rate | Retries |", "|---|---|---|"]
    for rule in plan.gate.gate.required:
        flaky = plan.gate.gate.flaky_note(rule.suite)
        retries = f"{flaky.retries} ({flaky.issue})" if flaky else "0"
        lines.append(f"| `{rule.suite}` | {rule.pass_rate:g}% | {retries} |")
    if plan.blockers:
        lines += ["", "**This run cannot happen yet:**", ""] + [f"- {blocker}" for blocker in plan.blockers]
    stop = plan.stops_at
    if stop is not None:
        lines += ["", f"The run would stop at step {stop.order}: {stop.detail}"]
    lines += ["", "### Release diff", ""]
    if plan.previous is None:
        lines.append("No previous release: a fresh install has nothing to diff.")
    elif diff is None:
        lines.append("Not available: no chart rendering was set up for this dry run.")
    else:
        lines.append(diff(plan.previous, plan.candidate))
    return "\n".join(lines) + "\n"
