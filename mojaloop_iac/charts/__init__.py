"""Helm charts as the plan renders them: fetched from their repository (or one chart mirror) into a cache
verified by the repository index's digest, read for their defaults, and rendered with `helm template`.

The API is what other features reuse (the release diff): `ChartRepositories.fetch(ref) -> FetchedChart`,
`chart_facts(fetched) -> ChartFacts`, `render_chart(helm, chart, release, ...) -> RenderedChart`.
"""

from mojaloop_iac.charts.facts import ChartFacts, chart_facts
from mojaloop_iac.charts.helm import (
    HelmNotFound,
    RenderedChart,
    RenderedObject,
    RenderFailed,
    find_helm,
    render_chart,
)
from mojaloop_iac.charts.repository import (
    ChartRef,
    ChartRepositories,
    ChartUnavailable,
    FetchedChart,
    PinnedFile,
    default_cache_dir,
)

__all__ = [
    "ChartFacts",
    "ChartRef",
    "ChartRepositories",
    "ChartUnavailable",
    "FetchedChart",
    "HelmNotFound",
    "PinnedFile",
    "RenderFailed",
    "RenderedChart",
    "RenderedObject",
    "chart_facts",
    "default_cache_dir",
    "find_helm",
    "render_chart",
]
