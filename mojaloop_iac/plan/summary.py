"""summary.md: what a reviewer reads first."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from mojaloop_iac.plan.bundle import HelmRelease
from mojaloop_iac.plan.engine import PlanRecord


def render_summary(
    record: PlanRecord,
    title: str,
    facts: Sequence[str],
    releases: Sequence[HelmRelease],
    warnings: Sequence[str],
    sections: Sequence[tuple[str, str]] = (),
) -> str:
    lines = [f"# Plan: {title}", "", " · ".join(facts), ""]
    counts = Counter(r.type for r in record.resources if r.custom)
    lines += [f"## Resources ({sum(counts.values())})", "", "| Type | Count |", "|---|---:|"]
    lines += [f"| `{type_}` | {count} |" for type_, count in sorted(counts.items())]
    lines += ["", "## Helm releases", ""]
    if releases:
        lines += ["| Release | Chart | Version | Namespace | Repository |", "|---|---|---|---|---|"]
        for release in releases:
            r = release.release
            lines.append(f"| {r['name']} | {r['chart']} | {r['version']} | {r['namespace']} | {r['repo']} |")
    else:
        lines.append("None.")
    for heading, body in sections:
        lines += ["", f"## {heading}", "", body]
    lines += ["", "## Warnings", ""]
    lines += [f"- {markdown_text(warning)}" for warning in warnings] or ["None."]
    lines += ["", "## Component tree", "", "```mermaid", *component_tree(record), "```", ""]
    return "\n".join(lines)


def component_tree(record: PlanRecord) -> list[str]:
    """Mermaid graph of the components; leaf resources are counted under their component."""
    components = sorted((r for r in record.resources if not r.custom), key=lambda r: r.urn)
    ids = {component.urn: f"c{index}" for index, component in enumerate(components)}
    children = Counter(r.parent for r in record.resources if r.custom and r.parent)
    lines = ["graph TD", f'  stack["{_label(record.project)}-{_label(record.stack)}<br/>Stack"]']
    for component in components:
        kind = component.type.rsplit(":", 1)[-1]
        count = children.get(component.urn, 0)
        detail = f"<br/>{count} resource{'s' if count != 1 else ''}" if count else ""
        lines.append(f'  {ids[component.urn]}["{_label(component.name)}<br/>{_label(kind)}{detail}"]')
        lines.append(f"  {ids.get(component.parent or '', 'stack')} --> {ids[component.urn]}")
    return lines


def markdown_text(text: str) -> str:
    """Plain text as Markdown shows it: `<placeholder>` would otherwise be taken for an HTML tag and vanish
    (in a terminal's rendering and on GitHub alike)."""
    return re.sub(r"([<>])", r"\\\1", text)


def _label(text: str) -> str:
    return re.sub(r'["<>]', "", text)
