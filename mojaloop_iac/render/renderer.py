"""Render every Helm release of a plan (and the upstream manifests it applies) as `pulumi up` would install
them: `helm template` at the stack's Kubernetes version, with the API versions of the CRDs the stack
installs.

The CRDs come from the rendered charts themselves, so a release is rendered again only when an API
version its templates test (`.Capabilities.APIVersions.Has`) turned up in another release.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mojaloop_iac.charts import (
    ChartFacts,
    ChartRepositories,
    ChartUnavailable,
    FetchedChart,
    PinnedFile,
    RenderedObject,
    RenderFailed,
    chart_facts,
    render_chart,
)
from mojaloop_iac.charts.facts import crd_api_versions
from mojaloop_iac.render.plan_view import PlannedManifestFile, PlannedRelease, PlanView
from mojaloop_iac.yamlio import SafeLoader

MAX_ROUNDS = 3


@dataclass(frozen=True)
class RenderedRelease:
    name: str
    namespace: str
    chart: str
    """`<name> <version>` as rendered."""
    source: str
    """Where the chart (or file) came from."""
    objects: tuple[RenderedObject, ...]
    warnings: tuple[str, ...] = ()
    facts: ChartFacts | None = None
    urn: str = ""
    waits: bool = True


@dataclass
class RenderResult:
    rendered: dict[str, RenderedRelease] = field(default_factory=dict)
    not_rendered: dict[str, str] = field(default_factory=dict)
    """Release -> why its chart could not be obtained (reported, not an error of the plan)."""
    failed: dict[str, str] = field(default_factory=dict)
    """Release -> what `helm template` refused (what `helm install` would refuse: an error of the plan)."""
    api_versions: frozenset[str] = frozenset()


def render_plan(
    view: PlanView,
    repositories: ChartRepositories,
    helm: Path,
    kube_version: str,
    pinned_files: Iterable[PinnedFile] = (),
    workers: int | None = None,
    builtin_apis: frozenset[str] = frozenset(),
    on_rendered: Callable[[RenderedRelease], None] | None = None,
) -> RenderResult:
    """`builtin_apis`: what the cluster's API server serves itself (group/version and group/version/Kind).
    `on_rendered` sees each release as soon as it is rendered (again, if it is rendered again), in this
    thread, so per-release work overlaps the renders still running."""
    result = RenderResult()
    pool = ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 2))
    with pool:
        fetched: dict[str, tuple[FetchedChart, ChartFacts]] = {}

        def fetch(release: PlannedRelease) -> tuple[PlannedRelease, tuple[FetchedChart, ChartFacts] | str]:
            try:
                chart = repositories.fetch(release.chart)
                return release, (chart, chart_facts(chart))
            except ChartUnavailable as unavailable:
                return release, str(unavailable)

        for release, outcome in pool.map(fetch, view.releases):
            if isinstance(outcome, str):
                result.not_rendered[release.name] = outcome
            else:
                fetched[release.name] = outcome
        sources = _render_manifest_files(view.manifest_files, repositories, pinned_files, result)
        known = set(builtin_apis).union(*(facts.crd_api_versions for _, facts in fetched.values()))
        for rendered in sources:
            known |= crd_api_versions(obj.body for obj in rendered.objects)
        by_name = {release.name: release for release in view.releases}
        pending, used = set(fetched), {name: frozenset[str]() for name in fetched}
        for _ in range(MAX_ROUNDS):
            apis = frozenset(known)

            def render(name: str, apis: frozenset[str] = apis) -> tuple[str, RenderedRelease | str]:
                release, (chart, facts) = by_name[name], fetched[name]
                try:
                    out = render_chart(helm, chart.path, release.name, release.namespace, release.values,
                                       kube_version, apis)
                except RenderFailed as failed:
                    return name, str(failed)
                return name, RenderedRelease(release.name, release.namespace, f"{facts.name} {facts.version}",
                                             chart.source, out.objects, out.warnings, facts, release.urn,
                                             release.waits)

            # The biggest charts first: the longest render starts at once and the others fill in around it.
            largest_first = sorted(pending, key=lambda name: -fetched[name][0].path.stat().st_size)
            for future in as_completed([pool.submit(render, name) for name in largest_first]):
                name, outcome = future.result()
                used[name] = apis
                if isinstance(outcome, str):
                    result.failed[name] = outcome
                    result.rendered.pop(name, None)
                else:
                    result.failed.pop(name, None)
                    result.rendered[name] = outcome
                    if on_rendered is not None:
                        on_rendered(outcome)
            for rendered in result.rendered.values():
                known |= crd_api_versions(obj.body for obj in rendered.objects)
            pending = {name for name in fetched if _needs_again(fetched[name][1], used[name], frozenset(known))}
            if not pending:
                break
        for rendered in sources:
            result.rendered[rendered.name] = rendered
            if on_rendered is not None:
                on_rendered(rendered)
        result.api_versions = frozenset(known - builtin_apis)
    return result


def _needs_again(facts: ChartFacts, used: frozenset[str], known: frozenset[str]) -> bool:
    new = known - used
    if not new:
        return False
    return facts.api_probes is None or bool(new & facts.api_probes)


def _render_manifest_files(
    files: Iterable[PlannedManifestFile],
    repositories: ChartRepositories,
    pinned: Iterable[PinnedFile],
    result: RenderResult,
) -> list[RenderedRelease]:
    """Upstream manifests as one pseudo-release per source directory, e.g. `keycloak-operator`."""
    by_checksum = {file.sha256: file for file in pinned}
    groups: dict[str, list[tuple[PlannedManifestFile, PinnedFile]]] = {}
    for planned in files:
        # The pin gives the mirror's path; a file the data files do not pin is fetched from its planned URL.
        pin = by_checksum.get(planned.sha256) or PinnedFile(planned.url, planned.sha256, Path(planned.url).name)
        name = pin.mirror_path.split("/")[1].rsplit("-", 1)[0] if pin.mirror_path.count("/") >= 2 else pin.mirror_path
        groups.setdefault(name, []).append((planned, pin))
    rendered = []
    for name, members in sorted(groups.items()):
        objects: list[RenderedObject] = []
        try:
            for planned, pin in members:
                path = repositories.fetch_file(pin)
                objects += _manifest_objects(path, planned.namespace, _located(pin, repositories.mirror))
        except ChartUnavailable as unavailable:
            result.not_rendered[name] = str(unavailable)
            continue
        first, pin = members[0]
        where = pin.location(repositories.mirror).rsplit("/", 1)[0] + "/"  # where they were fetched from
        rendered.append(RenderedRelease(name, first.namespace or "default", f"{name} (manifests)", where,
                                        tuple(objects), urn=first.urn))
    return rendered


def _located(pin: PinnedFile, mirror: str | None) -> str:
    return pin.location(mirror).rsplit("/", 1)[-1]


def _manifest_objects(path: Path, namespace: str | None, template: str) -> list[RenderedObject]:
    from mojaloop_iac.plan.bundle import CLUSTER_SCOPED_KINDS

    objects = []
    for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=SafeLoader):
        if not isinstance(document, dict) or "kind" not in document:
            continue
        metadata = document.setdefault("metadata", {})
        if namespace and document["kind"] not in CLUSTER_SCOPED_KINDS and not metadata.get("namespace"):
            metadata["namespace"] = namespace  # as the provider applying them does
        objects.append(RenderedObject(template, document))
    return objects


