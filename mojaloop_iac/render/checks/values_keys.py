"""Every values key the plan sets is one the chart knows: Helm silently ignores the others.

Known keys are the chart's `shape` (its values.yaml, its dependencies' under their aliases, its values
schema). Below a key the chart defaults to an empty map (`affinity: {}`) anything goes; keys the planners
declare free-form (`mojaloop_iac.planners.free_form`, each with its reason) are not looked into. A map
where the chart has a list or a scalar, or the other way round, is an error too (Helm warns "cannot
overwrite table with non table" and keeps one of them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mojaloop_iac.charts.facts import ANY, LIST, OPEN, SCALAR
from mojaloop_iac.planners.free_form import free_form_paths
from mojaloop_iac.render.checks.findings import Finding
from mojaloop_iac.render.plan_view import PlannedRelease
from mojaloop_iac.render.renderer import RenderedRelease


def unknown_keys(
    values: Mapping[str, Any], shape: Any, free_form: Mapping[str, str] = {}, path: str = ""
) -> Iterator[tuple[str, str]]:
    """(dotted key, problem) for each key the chart does not know."""
    if shape in (OPEN, ANY) or _declared(path, free_form):
        return
    if not isinstance(shape, dict):
        return
    for key, value in values.items():
        here = f"{path}.{key}" if path else str(key)
        if _declared(here, free_form):
            continue
        if key not in shape:
            yield here, "the chart has no such key (Helm ignores it)"
            continue
        known = shape[key]
        if isinstance(value, dict):
            if known in (LIST, SCALAR):
                yield here, f"a map, where the chart's default is a {'list' if known == LIST else 'scalar'}"
            else:
                yield from unknown_keys(value, known, free_form, here)
        elif value is not None and (isinstance(known, dict) or known == OPEN):
            kind = "list" if isinstance(value, list) else "scalar"
            yield here, f"a {kind}, where the chart's default is a map (Helm: cannot overwrite table with non table)"


def _declared(path: str, free_form: Mapping[str, str]) -> bool:
    if not path:
        return False
    parts = path.split(".")
    for declared in free_form:
        pattern = declared.split(".")
        if len(pattern) <= len(parts) and all(p in ("*", part) for p, part in zip(pattern, parts, strict=False)):
            return True
    return False


def check_values(releases: tuple[PlannedRelease, ...], rendered: dict[str, RenderedRelease]) -> list[Finding]:
    findings = []
    for release in releases:
        out = rendered.get(release.name)
        if out is None or out.facts is None:
            continue
        declared = free_form_paths(release.chart.name)
        for key, problem in unknown_keys(release.values, out.facts.shape, declared):
            findings.append(Finding("values", release.name, f"values key {key}", problem))
    return findings
