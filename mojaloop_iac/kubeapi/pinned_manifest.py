"""An upstream manifest file, fetched when `pulumi up` runs and accepted only with its pinned sha256.

The Keycloak operator has no chart: its three manifest files are applied as they are. Applying them
straight from their URL (Pulumi's ConfigFile) would take whatever the URL serves at that moment; this
resource fetches the file (from upstream, or from the chart mirror that keeps it), refuses it unless its
sha256 is the pinned one, and hands the verified text to the objects applied from it. The plan never
runs it (offline); `mojactl plan --render` fetches and checks the same files.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from typing import Any, TypedDict

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

_MODULE = "mojaloop-manifests"
FETCH_TIMEOUT_SECONDS = 60


class PinnedManifestError(Exception):
    """The file could not be fetched, or is not the pinned one."""


def fetch_verified(url: str, sha256: str, timeout: float = FETCH_TIMEOUT_SECONDS) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http(s) checked)
            body = response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise PinnedManifestError(f"cannot fetch {url}: {getattr(error, 'reason', None) or error}") from None
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256:
        raise PinnedManifestError(f"{url} has sha256 {actual}, not the pinned {sha256}: refused")
    return body.decode("utf-8")


class PinnedManifestProvider(pulumi.dynamic.ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        url, sha256 = news.get("url"), news.get("sha256")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            failures.append(CheckFailure("url", f"url {url!r} must be an http(s):// URL"))
        if not isinstance(sha256, str) or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            failures.append(CheckFailure("sha256", f"sha256 {sha256!r} must be 64 lower-case hex digits"))
        return CheckResult({"url": url, "sha256": sha256}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # The checksum pins the content: the same checksum from another URL (a mirror) is the same file.
        if olds.get("sha256") != news.get("sha256"):
            return DiffResult(changes=True, replaces=["sha256"], delete_before_replace=False)
        return DiffResult(changes=olds.get("url") != news.get("url"), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        content = fetch_verified(props["url"], props["sha256"])
        return CreateResult(props["sha256"], {**props, "content": content})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only the URL changed (same checksum): keep the verified content.
        return UpdateResult({**news, "content": olds.get("content") or fetch_verified(news["url"], news["sha256"])})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete: the file lives upstream; the objects applied from it go with their own resources."""


class PinnedManifestArgs(TypedDict):
    url: pulumi.Input[str]
    sha256: pulumi.Input[str]


class PinnedManifest(pulumi.dynamic.Resource, module=_MODULE, name="PinnedManifest"):
    """The verified text of one pinned manifest file (`content`)."""

    content: pulumi.Output[str]
    url: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(self, resource_name: str, args: PinnedManifestArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(PinnedManifestProvider(), resource_name, {"content": None, **dict(args)}, opts)


__all__ = ["PinnedManifest", "PinnedManifestError", "PinnedManifestProvider", "fetch_verified"]
