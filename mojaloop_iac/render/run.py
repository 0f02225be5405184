"""Render a planned stack's releases and check what would actually run; the bundle's `rendered/` and the
summary's "Rendered releases" section."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mojaloop_iac.charts import ChartRepositories, PinnedFile
from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.config.models import StackConfig
from mojaloop_iac.plan.bundle import dump_yaml
from mojaloop_iac.plan.engine import PlanRecord
from mojaloop_iac.planners.control_center.registry_mirror import DEFAULT_UPSTREAMS
from mojaloop_iac.planners.identity.keycloak import operator_source
from mojaloop_iac.planners.mojaloop_values import inferred_values_note
from mojaloop_iac.render.checks.findings import Finding, object_namespace
from mojaloop_iac.render.checks.images import check_images
from mojaloop_iac.render.checks.placement import check_placement
from mojaloop_iac.render.checks.references import check_references
from mojaloop_iac.render.checks.schemas import builtin_api_versions, check_core_objects, check_custom_resources
from mojaloop_iac.render.checks.values_keys import check_values
from mojaloop_iac.render.plan_view import PlanView, plan_view
from mojaloop_iac.render.renderer import RenderedRelease, RenderResult, render_plan

RENDERED_DIR = "rendered"
PLAN_OBJECTS = "(plan)"


@dataclass(frozen=True)
class RenderOptions:
    helm: Path
    cache_dir: Path
    mirror: str | None = None


@dataclass
class RenderReport:
    result: RenderResult
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pinned_files() -> tuple[PinnedFile, ...]:
    pins = chart_pins()
    return tuple(
        file for pin in pins.values() if pin.get("kind") == "manifests" for file in operator_source(pin).files
    )


def mirrored_registries() -> tuple[str, ...]:
    return tuple(host for upstream in DEFAULT_UPSTREAMS for host in (upstream.prefix, *upstream.aliases))


def render_and_check(record: PlanRecord, config: StackConfig, options: RenderOptions) -> RenderReport:
    cluster = config.cluster
    view = plan_view(record)
    repositories = ChartRepositories(options.cache_dir, options.mirror)
    version = cluster.kubernetes.version
    # Kubernetes' own kinds are checked release by release while the other releases still render.
    core_findings: dict[str, list[Finding]] = {
        PLAN_OBJECTS: check_core_objects([(PLAN_OBJECTS, "default", o.body) for o in view.objects], version)
    }

    def check_core(release: RenderedRelease) -> None:
        core_findings[release.name] = check_core_objects(_located([release]), version)

    result = render_plan(view, repositories, options.helm, version, pinned_files(),
                         builtin_apis=builtin_api_versions(version), on_rendered=check_core)
    core = [f for name, found in core_findings.items() if name in result.rendered or name == PLAN_OBJECTS
            for f in found]
    report = RenderReport(result, run_checks(view, result, config, core_checked=core))
    deferred = deferred_crd_groups(view, result)
    if deferred:
        by_release: dict[str, list[str]] = {}
        for group, name in sorted(deferred.items()):
            by_release.setdefault(name, []).append(group)
        report.notes.append(
            "Not checked: the objects of API groups whose CRDs come from a release that was not rendered ("
            + "; ".join(f"{name}: {', '.join(groups)}" for name, groups in sorted(by_release.items())) + ")."
        )
    env = config.environment
    if env is not None:
        note = inferred_values_note(env.mojaloop.release)
        if note:
            report.notes.append(note)
    return report


def _located(releases: Iterable[RenderedRelease]) -> list[tuple[str, str, dict]]:
    return [(r.name, r.namespace, obj.body) for r in releases for obj in r.objects]


def run_checks(
    view: PlanView, result: RenderResult, config: StackConfig, core_checked: list[Finding] | None = None
) -> list[Finding]:
    """Every check; `core_checked`: the findings of Kubernetes' own kinds when they were checked already."""
    cluster = config.cluster
    rendered = result.rendered
    taints = [(t.key, t.value, t.effect) for pool in cluster.node_pools.values() for t in pool.taints]
    mirror = cluster.baremetal.registry_mirror if cluster.baremetal is not None else ""
    located = _located(rendered.values()) + [(PLAN_OBJECTS, "default", obj.body) for obj in view.objects]
    findings = [Finding("render", name, "helm template", error) for name, error in sorted(result.failed.items())]
    findings += check_references(view, rendered)
    findings += check_values(view.releases, rendered)
    findings += check_placement(rendered, taints)
    findings += check_images(rendered, mirror or None, mirrored_registries())
    if core_checked is None:
        findings += check_core_objects(located, cluster.kubernetes.version)
    else:
        findings += core_checked
    findings += check_custom_resources(located, located, deferred_crd_groups(view, result))
    return sorted(set(findings))


def deferred_crd_groups(view: PlanView, result: RenderResult) -> dict[str, str]:
    """API group -> the release that installs its CRDs but was not rendered (from the pins' `crdGroups`):
    objects of those groups cannot be checked, which is said in the summary, not counted as an error."""
    pins = chart_pins()
    deferred: dict[str, str] = {}
    for name in result.not_rendered:
        for group in pins.get(name, {}).get("crdGroups", ()):
            deferred[group] = name
    return deferred


def summary_section(report: RenderReport) -> tuple[str, str]:
    result = report.result
    lines = [f"{len(result.rendered)} rendered, {len(result.not_rendered)} not rendered, "
             f"{len(report.findings)} error(s).", ""]
    if result.rendered:
        lines += ["| Release | Chart | Objects | Kinds | Source |", "|---|---|---:|---|---|"]
        for name, release in sorted(result.rendered.items()):
            kinds = Counter(obj.body.get("kind") for obj in release.objects)
            listed = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
            lines.append(f"| {name} | {release.chart} | {len(release.objects)} | {listed} | {release.source} |")
    if result.not_rendered:
        lines += ["", "Not rendered (their charts could not be obtained; not checked):", ""]
        lines += [f"- **{name}**: {reason}" for name, reason in sorted(result.not_rendered.items())]
    for note in report.notes:
        lines += ["", note]
    lines += ["", "### Errors", ""]
    lines += [f"- {finding}" for finding in report.findings] or ["None."]
    helm_warnings = [(name, w) for name, r in sorted(result.rendered.items()) for w in r.warnings]
    if helm_warnings:
        lines += ["", "### Helm's warnings", ""]
        lines += [f"- {name}: `{warning}`" for name, warning in helm_warnings]
    return "Rendered releases", "\n".join(lines)


def write_rendered(out_dir: Path, report: RenderReport) -> list[Path]:
    """rendered/<release>/<namespace or _cluster>/<Kind>-<name>.yaml, one object per file, as Helm wrote it."""
    written = []
    for name, release in sorted(report.result.rendered.items()):
        seen: Counter[str] = Counter()
        for obj in release.objects:
            metadata = obj.body.get("metadata") or {}
            namespace = object_namespace(obj.body, release.namespace) or "_cluster"
            stem = f"{obj.body.get('kind')}-{metadata.get('name', 'unnamed')}"
            seen[f"{namespace}/{stem}"] += 1
            suffix = f"-{seen[f'{namespace}/{stem}']}" if seen[f"{namespace}/{stem}"] > 1 else ""
            path = out_dir / RENDERED_DIR / name / namespace / f"{stem}{suffix}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            header = f"# Source: {obj.template}\n" if obj.template else ""
            path.write_text(header + (obj.text or dump_yaml(obj.body)), encoding="utf-8")
            written.append(path)
    return written
