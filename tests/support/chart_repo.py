"""The real upstream charts (../shared/charts/repo), served as a Helm repository on 127.0.0.1.

This is how the tests reach "the chart repositories": over the same HTTP a user's machine would use
against the upstream repositories or the control center's chart mirror, on loopback. The charts are
third-party code and are never copied into the project. Helm itself comes from scripts/install-helm.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mojaloop_iac.paths import REPO_ROOT

SHARED_CHARTS = REPO_ROOT.parent / "shared" / "charts" / "repo"
# The pinned upstream manifests (no chart), served under manifests/ as a chart mirror keeps them.
SHARED_MANIFESTS = REPO_ROOT.parent / "shared" / "charts" / "manifests"
HELM = REPO_ROOT / ".tools" / "bin" / "helm"


@dataclass(frozen=True)
class ChartRepository:
    url: str
    directory: Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass

    def translate_path(self, path: str) -> str:
        # manifests/<source>-<version>/<file> comes from the shared manifests, the rest from the repository.
        if path.startswith("/manifests/") and SHARED_MANIFESTS.is_dir():
            relative = path[len("/manifests/") :].split("?", 1)[0]
            target = (SHARED_MANIFESTS / relative).resolve()
            if SHARED_MANIFESTS.resolve() in target.parents:
                return str(target)
        return super().translate_path(path)


@contextmanager
def serve_charts(directory: Path = SHARED_CHARTS) -> Iterator[ChartRepository]:
    """Serve `directory` on 127.0.0.1 (a free port) until the block ends."""
    if not (directory / "index.yaml").is_file():
        raise FileNotFoundError(f"{directory} is not a Helm repository (no index.yaml); ../shared must sit beside the project")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="chart-repository", daemon=True)
    thread.start()
    try:
        yield ChartRepository(url=f"http://127.0.0.1:{server.server_port}", directory=directory)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chart_repository() -> Iterator[ChartRepository]:
    with serve_charts() as repository:
        yield repository


@pytest.fixture(scope="session")
def helm() -> Path:
    if not HELM.is_file():
        raise FileNotFoundError(f"{HELM} is missing: run scripts/install-helm (scripts/test does)")
    return HELM
