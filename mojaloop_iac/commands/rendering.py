"""What rendering the real charts needs (`plan --render`, `release diff`): the render extra, Helm 3, and
where charts come from. A missing piece exits 2 saying what to install."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from mojaloop_iac.commands.common import EXIT_INVALID, fail

if TYPE_CHECKING:
    from mojaloop_iac.render.run import RenderOptions

ChartMirrorOption = Annotated[
    str | None, typer.Option("--chart-mirror", help="Fetch every chart from this Helm repository (default: the "
                             "stack's chartMirror, else each chart's repository).")
]
ChartCacheOption = Annotated[
    Path | None, typer.Option("--chart-cache", help="The chart cache (default $MOJACTL_CHART_CACHE or "
                              "~/.cache/mojaloop-iac/charts).")
]


class RenderUnavailable(Exception):
    """Rendering cannot happen on this machine or with these options; the message says what to do."""


def render_options_or_reason(stack: str, chart_mirror: str | None, chart_cache: Path | None) -> RenderOptions:
    """RenderOptions for `stack`, or RenderUnavailable saying what is missing."""
    from mojaloop_iac.config.load import validate_stack_file

    try:
        import jsonschema  # noqa: F401
        import kubernetes_validate  # noqa: F401
    except ImportError as missing:
        raise RenderUnavailable(f"rendering needs the render extra ({missing.name} is missing): run "
                                "./scripts/setup render") from None
    from mojaloop_iac.charts import HelmNotFound, default_cache_dir, find_helm
    from mojaloop_iac.render.run import RenderOptions

    try:
        helm = find_helm()
    except HelmNotFound as missing:
        raise RenderUnavailable(str(missing)) from None
    if chart_mirror is not None and not chart_mirror.startswith(("http://", "https://")):
        raise RenderUnavailable(f"--chart-mirror {chart_mirror!r} must be an http(s):// Helm repository URL")
    # Only the stack's chartMirror is read here: the plan validates the stack (and its references) itself.
    mirror = chart_mirror or validate_stack_file(stack, references=None)[1].config.cluster.chart_mirror
    return RenderOptions(helm=helm, cache_dir=chart_cache or default_cache_dir(), mirror=mirror)


def render_options(stack: str, chart_mirror: str | None, chart_cache: Path | None) -> RenderOptions:
    """RenderOptions for `stack`, or exit 2 saying what to install."""
    try:
        return render_options_or_reason(stack, chart_mirror, chart_cache)
    except RenderUnavailable as missing:
        fail(f"[bold red]Cannot render:[/] {escape(str(missing))}", EXIT_INVALID)
