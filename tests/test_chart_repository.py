"""The loopback-served chart repository and the pinned Helm work together: the real Mojaloop chart renders.

This is the ground the rendering features stand on, checked on its own so that a broken Helm install or a
missing ../shared is named plainly rather than surfacing as a rendering failure elsewhere.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401


def run_helm(helm: Path, tmp_path: Path, *args: str) -> str:  # noqa: F811
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp_path / "cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "config"),
        "HELM_DATA_HOME": str(tmp_path / "data"),
    }
    done = subprocess.run([str(helm), *args], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_pinned_helm_is_helm_3(helm: Path, tmp_path: Path):  # noqa: F811
    assert run_helm(helm, tmp_path, "version", "--short").startswith("v3.18.0+")


def test_the_mojaloop_chart_is_pulled_over_loopback_and_renders(
    helm: Path, chart_repository: ChartRepository, tmp_path: Path  # noqa: F811
):
    run_helm(helm, tmp_path, "pull", "mojaloop", "--repo", chart_repository.url, "--version", "15.2.0",
             "--destination", str(tmp_path))
    rendered = run_helm(helm, tmp_path, "template", "moja", str(tmp_path / "mojaloop-15.2.0.tgz"),
                        "--namespace", "mojaloop", "--kube-version", "1.28")
    objects = [doc for doc in yaml.safe_load_all(rendered) if doc]
    deployments = {doc["metadata"]["name"] for doc in objects if doc["kind"] == "Deployment"}
    assert "moja-centralledger-service" in deployments
    assert len(objects) > 100
