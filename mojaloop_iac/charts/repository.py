"""Charts (and pinned files) from their repositories, or from one chart mirror, into a local cache.

A chart is looked up in its repository's `index.yaml`, downloaded, and kept only if its sha256 is the
digest the index gives; the cache is keyed by the repository it came from, the chart's name and its
version, and a cached archive is re-hashed against the digest recorded with it before every use. With a
chart mirror every request goes to that one repository instead (how air-gapped hubs, and the tests, reach
the charts). Pinned files (upstream manifests without a chart) are verified against their pinned sha256
and kept by checksum; a mirror holds them under `manifests/<source>-<version>/<file>`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mojaloop_iac.yamlio import load_yaml

CACHE_ENV = "MOJACTL_CHART_CACHE"
DOWNLOAD_TIMEOUT_SECONDS = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


class ChartUnavailable(Exception):
    """The chart (or file) cannot be obtained; the message says why, for the plan's "not rendered" list."""


@dataclass(frozen=True)
class ChartRef:
    repo: str
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.repo})"


@dataclass(frozen=True)
class FetchedChart:
    ref: ChartRef
    source: str
    """The repository the archive actually came from: `ref.repo`, or the chart mirror."""
    path: Path
    digest: str


@dataclass(frozen=True)
class PinnedFile:
    """A file fetched by URL and accepted only with this sha256 (e.g. an operator's upstream manifest)."""

    url: str
    sha256: str
    mirror_path: str
    """Where a chart mirror keeps it, relative to the mirror's URL."""

    def location(self, mirror: str | None) -> str:
        return f"{mirror.rstrip('/')}/{self.mirror_path}" if mirror else self.url


def default_cache_dir() -> Path:
    """$MOJACTL_CHART_CACHE, else $XDG_CACHE_HOME/mojaloop-iac/charts, else ~/.cache/mojaloop-iac/charts."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mojaloop-iac" / "charts"


def repository_key(url: str) -> str:
    """A directory name per repository URL: readable, and distinct for distinct URLs."""
    parts = urllib.parse.urlsplit(url.rstrip("/"))
    readable = _UNSAFE.sub("_", f"{parts.netloc}{parts.path}").strip("_") or "repository"
    return f"{readable}-{hashlib.sha256(url.rstrip('/').encode()).hexdigest()[:8]}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ChartRepositories:
    """Fetches charts into `cache_dir`; each repository's index is read at most once per instance."""

    cache_dir: Path
    mirror: str | None = None
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS
    _indexes: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def source_of(self, ref: ChartRef) -> str:
        return (self.mirror or ref.repo).rstrip("/")

    def fetch(self, ref: ChartRef) -> FetchedChart:
        source = self.source_of(ref)
        if source.startswith("oci://"):
            raise ChartUnavailable(
                f"{ref.name} {ref.version} is in an OCI registry ({source}); the plan renders from HTTP Helm "
                "repositories only: set a chart mirror"
            )
        directory = self.cache_dir / repository_key(source) / ref.name / ref.version
        archive, recorded = directory / f"{ref.name}-{ref.version}.tgz", directory / "digest"
        if archive.is_file() and recorded.is_file():
            digest = recorded.read_text(encoding="utf-8").strip()
            if sha256_of(archive) == digest:
                return FetchedChart(ref, source, archive, digest)
        entry = self._entry(source, ref)
        digest = str(entry.get("digest") or "").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ChartUnavailable(f"{source}/index.yaml gives no sha256 digest for {ref.name} {ref.version}")
        urls = entry.get("urls") or []
        if not urls:
            raise ChartUnavailable(f"{source}/index.yaml gives no download URL for {ref.name} {ref.version}")
        url = urllib.parse.urljoin(source + "/", urls[0])
        self._download(url, archive, digest, f"{ref.name} {ref.version}")
        recorded.write_text(digest + "\n", encoding="utf-8")
        return FetchedChart(ref, source, archive, digest)

    def fetch_file(self, pinned: PinnedFile) -> Path:
        target = self.cache_dir / "files" / pinned.sha256 / Path(urllib.parse.urlsplit(pinned.url).path).name
        if target.is_file() and sha256_of(target) == pinned.sha256:
            return target
        self._download(pinned.location(self.mirror), target, pinned.sha256, pinned.url)
        return target

    def _entry(self, source: str, ref: ChartRef) -> dict[str, Any]:
        index = self._indexes.get(source)
        if index is None:
            text = self._get(f"{source}/index.yaml", f"the index of {source}").decode("utf-8")
            index = load_yaml(text) or {}
            if not isinstance(index, dict) or not isinstance(index.get("entries"), dict):
                raise ChartUnavailable(f"{source}/index.yaml is not a Helm repository index")
            self._indexes[source] = index
        versions = index["entries"].get(ref.name) or []
        wanted = ref.version.removeprefix("v")
        for entry in versions:
            if str(entry.get("version", "")).removeprefix("v") == wanted:
                return entry
        have = ", ".join(sorted(str(entry.get("version")) for entry in versions)) or "no version of it"
        raise ChartUnavailable(f"{ref.name} {ref.version} is not in {source} (it has {have})")

    def _download(self, url: str, target: Path, sha256: str, what: str) -> None:
        body = self._get(url, what)
        actual = hashlib.sha256(body).hexdigest()
        if actual != sha256:
            raise ChartUnavailable(f"{what} from {url} has sha256 {actual}, expected {sha256}: refused")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a concurrent or interrupted run never leaves half a file in the cache.
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            handle.write(body)
        shutil.move(handle.name, target)

    def _get(self, url: str, what: str) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise ChartUnavailable(f"cannot fetch {what} from {url}: only http(s) URLs are supported")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 (http(s) only)
                return response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise ChartUnavailable(f"cannot fetch {what} from {url}: {reason}") from None
