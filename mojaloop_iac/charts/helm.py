"""Helm 3 itself: where it is, and `helm template` of one chart into plain objects.

Helm is found at $MOJACTL_HELM, then at `.tools/bin/helm` (installed pinned by `scripts/install-helm`), then
on PATH; it must be Helm 3 (`helm.v3.Release`, which `pulumi up` uses, is Helm 3's library).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.yamlio import SafeLoader

HELM_ENV = "MOJACTL_HELM"
PROJECT_HELM = REPO_ROOT / ".tools" / "bin" / "helm"
RENDER_TIMEOUT_SECONDS = 300
_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)


class HelmNotFound(Exception):
    """No usable Helm 3; the message says what to install."""


class RenderFailed(Exception):
    """`helm template` refused the chart and values (what `helm install` would refuse too)."""


@dataclass(frozen=True)
class RenderedObject:
    template: str
    """The chart template it came from, e.g. `oathkeeper/templates/deployment-controller.yaml`."""
    body: dict[str, Any]
    text: str | None = None
    """The object as Helm wrote it (YAML), when it was alone in its document."""


@dataclass(frozen=True)
class RenderedChart:
    objects: tuple[RenderedObject, ...]
    warnings: tuple[str, ...]
    """What Helm printed besides the objects (e.g. "cannot overwrite table with non table")."""


@cache
def find_helm() -> Path:
    candidates: list[tuple[str, str | None]] = [
        (f"${HELM_ENV}", os.environ.get(HELM_ENV)),
        ("the project's .tools/bin/helm", str(PROJECT_HELM) if PROJECT_HELM.is_file() else None),
        ("helm on PATH", shutil.which("helm")),
    ]
    for where, path in candidates:
        if not path:
            continue
        try:
            version = subprocess.run(
                [path, "version", "--short"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as error:
            raise HelmNotFound(f"{where} ({path}) does not run: {error}") from None
        if not version.startswith("v3."):
            raise HelmNotFound(f"{where} ({path}) is Helm {version or '(unknown)'}; Helm 3 is needed")
        return Path(path)
    raise HelmNotFound(
        "Helm 3 is needed to render the charts: run ./scripts/install-helm (the pinned Helm in .tools/bin), "
        f"or put Helm 3 on PATH, or set {HELM_ENV} to its path"
    )


def render_chart(
    helm: Path,
    chart: Path,
    release: str,
    namespace: str,
    values: Mapping[str, Any],
    kube_version: str,
    api_versions: Iterable[str] = (),
) -> RenderedChart:
    """`helm template` as `helm install` would render it on a cluster of `kube_version` that serves
    `api_versions` (besides the built-in ones), CRDs of the chart's crds/ included."""
    with tempfile.TemporaryDirectory(prefix="mojactl-helm-") as scratch:
        values_file = Path(scratch) / "values.json"
        values_file.write_text(json.dumps(values), encoding="utf-8")
        command = [
            str(helm), "template", release, str(chart), "--namespace", namespace, "--values", str(values_file),
            "--kube-version", kube_version, "--include-crds",
        ]  # fmt: skip
        apis = sorted(set(api_versions))
        if apis:
            command += ["--api-versions", ",".join(apis)]
        # Helm's own config, cache and plugins stay out of it: the render depends on the chart and values only.
        env = {**os.environ, **{f"HELM_{part}_HOME": str(Path(scratch) / part.lower()) for part in ("CACHE", "CONFIG", "DATA")}}
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=RENDER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise RenderFailed(f"helm template did not finish in {RENDER_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise RenderFailed(done.stderr.strip() or f"helm template exited with {done.returncode}")
    warnings = tuple(dict.fromkeys(line.strip() for line in done.stderr.splitlines() if line.strip()))
    return RenderedChart(tuple(parse_rendered(done.stdout)), warnings)


def parse_rendered(text: str) -> list[RenderedObject]:
    """The objects of `helm template` output, with the template each came from."""
    objects = []
    for chunk in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        source = _SOURCE.search(chunk)
        documents = [d for d in yaml.load_all(chunk, Loader=SafeLoader) if isinstance(d, dict) and "kind" in d]
        for document in documents:
            own_text = _SOURCE.sub("", chunk).strip("\n") + "\n" if len(documents) == 1 else None
            objects.append(RenderedObject(source.group(1) if source else "", document, own_text))
    return objects
