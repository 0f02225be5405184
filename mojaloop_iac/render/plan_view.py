"""What rendering needs from a plan record: its Helm releases, its own Kubernetes objects, the upstream
manifests it applies, and the order `pulumi up` creates them in.

Order: a resource is created after its dependencies, and (through its parent's URN, which it waits for)
after its ancestors' dependencies; a dependency on a component means every resource under it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mojaloop_iac.charts import ChartRef
from mojaloop_iac.plan.bundle import HELM_RELEASE_TYPE, helm_releases, manifests
from mojaloop_iac.plan.engine import PlanRecord

MANIFEST_GROUP_TYPE = "kubernetes:yaml/v2:ConfigGroup"
PINNED_MANIFEST_TYPE = "pulumi-python:dynamic/mojaloop-manifests:PinnedManifest"


@dataclass(frozen=True)
class PlannedRelease:
    name: str
    urn: str
    chart: ChartRef
    namespace: str
    values: dict[str, Any]
    waits: bool
    """Helm waits for the release's workloads to be ready (and an atomic one rolls back when they are not)."""


@dataclass(frozen=True)
class PlanObject:
    urn: str
    body: dict[str, Any]


@dataclass(frozen=True)
class PlannedManifestFile:
    urn: str
    """The ConfigGroup applying it."""
    url: str
    sha256: str
    namespace: str | None
    """The namespace its namespaced objects go to (its provider's default namespace)."""


@dataclass(frozen=True)
class PlanView:
    record: PlanRecord
    releases: tuple[PlannedRelease, ...]
    objects: tuple[PlanObject, ...]
    manifest_files: tuple[PlannedManifestFile, ...]

    @cached_property
    def _ancestors_and_deps(self) -> dict[str, set[str]]:
        by_urn = {resource.urn: resource for resource in self.record.resources}
        children: dict[str, list[str]] = defaultdict(list)
        for resource in self.record.resources:
            if resource.parent:
                children[resource.parent].append(resource.urn)

        def subtree(urn: str) -> set[str]:
            found, stack = set(), [urn]
            while stack:
                current = stack.pop()
                if current not in found:
                    found.add(current)
                    stack.extend(children.get(current, ()))
            return found

        direct: dict[str, set[str]] = {}
        for resource in self.record.resources:
            deps: set[str] = set()
            node: Any = resource
            while node is not None:
                for dependency in node.dependencies:
                    deps |= subtree(dependency)
                node = by_urn.get(node.parent) if node.parent else None
            direct[resource.urn] = deps
        return direct

    @cached_property
    def _closure(self) -> dict[str, frozenset[str]]:
        closure: dict[str, frozenset[str]] = {}

        def visit(urn: str, trail: frozenset[str]) -> frozenset[str]:
            if urn in closure:
                return closure[urn]
            found: set[str] = set()
            for dependency in self._ancestors_and_deps.get(urn, ()):
                if dependency not in trail:
                    found.add(dependency)
                    found |= visit(dependency, trail | {urn})
            closure[urn] = frozenset(found)
            return closure[urn]

        for urn in self._ancestors_and_deps:
            visit(urn, frozenset())
        return closure

    def before(self, earlier: str, later: str) -> bool:
        """`earlier` is created (and, for awaited resources, ready) before `later` starts."""
        return earlier in self._closure.get(later, frozenset())


def plan_view(record: PlanRecord) -> PlanView:
    by_urn = {resource.urn: resource for resource in record.resources}
    releases = []
    for release in helm_releases(record):
        spec = release.release
        options = spec["options"]
        releases.append(
            PlannedRelease(
                name=release.name,
                urn=release.urn,
                chart=ChartRef(str(spec["repo"]), str(spec["chart"]), str(spec["version"])),
                namespace=str(spec["namespace"]),
                values=release.values,
                waits=bool(options.get("atomic")) or not options.get("skipAwait", False),
            )
        )
    files = []
    groups = {resource.name: resource for resource in record.resources if resource.type == MANIFEST_GROUP_TYPE}
    for resource in record.resources:
        if resource.type != PINNED_MANIFEST_TYPE:
            continue
        group = groups.get(resource.name.removesuffix("-file"))
        provider = by_urn.get(group.provider or "") if group is not None else None
        namespace = provider.inputs.get("namespace") if provider is not None else None
        files.append(PlannedManifestFile(group.urn if group is not None else resource.urn, resource.inputs["url"],
                                         resource.inputs["sha256"], namespace))
    objects = tuple(PlanObject(manifest.urn, manifest.body) for manifest in manifests(record))
    return PlanView(record, tuple(releases), objects, tuple(files))


__all__ = ["HELM_RELEASE_TYPE", "PlanObject", "PlanView", "PlannedManifestFile", "PlannedRelease", "plan_view"]
