"""A stack's Mojaloop release rendered at any catalogued release: the two sides of `mojactl release diff`.

Each side is the stack's own plan with `mojaloop.release` set to that release (and no `installedRelease`:
each side is the environment as installed at it), run through the offline engine, so the values are the
ones the program gives Helm under `pulumi up`. Only the two Helm releases a Mojaloop release consists of
(its backend chart and its umbrella chart) are rendered, by the plan's renderer
(mojaloop_iac.render.renderer.render_plan) with the charts' repositories or one chart mirror. What makes
each Secret and ConfigMap comes from the rendered charts and the plan's own objects
(mojaloop_iac.render.checks.references.producers).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

from mojaloop_iac.catalog import Release, ReleaseCatalog, load_catalog
from mojaloop_iac.charts import ChartRepositories
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import NAMESPACE, StackFile, read_stack_file, validate_stack_file
from mojaloop_iac.plan.run import PlanResult, plan_stack, referenced_outputs
from mojaloop_iac.release.diff import ReleaseDiff, RenderedChart, RenderedSide, diff_markdown, diff_releases
from mojaloop_iac.release.validation import DiffProvider
from mojaloop_iac.render.checks.references import producers
from mojaloop_iac.render.checks.schemas import builtin_api_versions
from mojaloop_iac.render.plan_view import plan_view
from mojaloop_iac.render.renderer import render_plan
from mojaloop_iac.render.run import RenderOptions

ENVIRONMENT = f"{NAMESPACE}:environment"


class DiffRefused(Exception):
    """The diff cannot be made (an unknown release, a chart that cannot be obtained, a stack that is not
    valid at a release); the message says why."""


class DiffRenderFailed(Exception):
    """Helm refused to render a release with the stack's values: `helm install` would refuse it too."""


def render_release_diff(
    stack: str, before: str, after: str, options: RenderOptions, catalog: ReleaseCatalog | None = None
) -> ReleaseDiff:
    catalog = catalog or load_catalog()
    releases = [_resolve(catalog, version) for version in (before, after)]
    stack_file = read_stack_file(stack)
    if not isinstance(stack_file.config.get(ENVIRONMENT), dict):
        raise DiffRefused(f"stack {stack_file.name} is not an environment stack: a release diff renders an "
                          "environment's Mojaloop releases")
    repositories = ChartRepositories(options.cache_dir, options.mirror)
    plans: list[PlanResult] = []
    outputs: dict[str, dict] | None = None
    for release in releases:
        # In memory, at the stack file's own place: the files it names resolve as they do for it.
        side = _stack_at(stack_file, release)
        try:
            if outputs is None:  # the referenced stacks (the control center) are planned once
                outputs = referenced_outputs(*validate_stack_file(side, references=None), None)
            plans.append(plan_stack(side, None, outputs))
        except ConfigError as error:
            problems = "; ".join(f"{issue.path}: {issue.message}" if issue.path else issue.message
                                 for issue in error.issues)
            raise DiffRefused(f"with Mojaloop {release.version}, stack {stack_file.name} is not valid: "
                              f"{problems}") from None
    # Helm renders in processes of its own: both sides at once.
    with ThreadPoolExecutor(max_workers=2) as pool:
        before, after = pool.map(lambda pair: _render_side(*pair, repositories, options), zip(plans, releases))
    return diff_releases(stack_file.name, plans[1].validated.config.cluster.kubernetes.version, before, after)


def _resolve(catalog: ReleaseCatalog, version: str) -> Release:
    release = catalog.resolve(version)
    if release is None:
        raise DiffRefused(f"{version!r} is neither a release nor a candidate of the catalog "
                          f"({', '.join(catalog.known_versions())})")
    return release


def _stack_at(stack_file: StackFile, release: Release) -> StackFile:
    """The stack file with `mojaloop.release` set to `release` (and no `installedRelease`)."""
    environment = dict(stack_file.config[ENVIRONMENT])
    mojaloop = dict(environment.get("mojaloop") or {})
    mojaloop["release"] = release.version
    mojaloop.pop("installedRelease", None)
    environment["mojaloop"] = mojaloop
    return dataclasses.replace(stack_file, config={**stack_file.config, ENVIRONMENT: environment})


def _render_side(planned: PlanResult, release: Release, repositories: ChartRepositories,
                 options: RenderOptions) -> RenderedSide:
    view = plan_view(planned.record)
    ordered = []
    for chart in (release.backend, release.umbrella):
        found = [r for r in view.releases if (r.chart.name, r.chart.version) == (chart.name, chart.version)]
        if len(found) != 1:
            raise DiffRefused(f"the plan of Mojaloop {release.version} has {len(found)} Helm releases of "
                              f"{chart.name} {chart.version}, not one")
        ordered.extend(found)
    mojaloop_only = dataclasses.replace(view, releases=tuple(ordered), manifest_files=())
    kubernetes = planned.validated.config.cluster.kubernetes.version
    result = render_plan(mojaloop_only, repositories, options.helm, kubernetes,
                         builtin_apis=builtin_api_versions(kubernetes))
    if result.not_rendered:
        raise DiffRefused("; ".join(f"Mojaloop {release.version}'s release {name} cannot be rendered: {reason}"
                                    for name, reason in sorted(result.not_rendered.items())))
    if result.failed:
        raise DiffRenderFailed("; ".join(f"Helm refused to render Mojaloop {release.version}'s release {name} with "
                                         f"the values of stack {planned.stack}: {error}"
                                         for name, error in sorted(result.failed.items())))
    made = producers(mojaloop_only, result.rendered)
    charts = []
    for planned_release in ordered:
        rendered = result.rendered[planned_release.name]
        assert rendered.facts is not None, "a rendered chart always has its facts"
        charts.append(RenderedChart(
            release=planned_release.name, namespace=planned_release.namespace, chart=rendered.chart,
            source=rendered.source, objects=tuple(obj.body for obj in rendered.objects),
            values=planned_release.values, shape=rendered.facts.shape,
        ))
    return RenderedSide(release.version, tuple(charts),
                        {key: tuple(dict.fromkeys(p.what for p in makers)) for key, makers in made.items()})


def diff_provider(stack: str, options: RenderOptions | str) -> DiffProvider:
    """The release diff for `release validate --dry-run`, rendered with `stack`'s values; `options` is what
    rendering needs, or why it cannot happen here. The dry run is never failed by the diff: what keeps it
    from being made is said in its place."""

    def provide(before: Release, after: Release) -> str:
        if isinstance(options, str):
            return f"Not available: {options}."
        try:
            return diff_markdown(render_release_diff(stack, before.version, after.version, options), heading="####")
        except (DiffRefused, DiffRenderFailed, ConfigError) as error:
            return f"Not available: {error}"

    return provide
