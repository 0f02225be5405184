"""The Keycloak operator's manifests are applied only as pinned: fetched (upstream or from the chart mirror,
here the loopback-served one) and refused unless their sha256 is the one in config/charts/identity.yaml."""

from __future__ import annotations

import pytest

from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.kubeapi.pinned_manifest import PinnedManifestError, PinnedManifestProvider
from mojaloop_iac.planners.identity.keycloak import operator_source
from tests.support.chart_repo import ChartRepository, chart_repository  # noqa: F401


def mirrored_files(mirror: str):
    source = operator_source(chart_pins()["keycloak-operator"])
    return list(zip(source.files, (file.location(mirror) for file in source.files), strict=True))


def test_each_pinned_file_is_fetched_from_the_mirror_and_its_content_kept(chart_repository):  # noqa: F811
    provider = PinnedManifestProvider()
    for pin, url in mirrored_files(chart_repository.url):
        assert url.startswith(f"{chart_repository.url}/manifests/keycloak-operator-26.0.0/")
        created = provider.create({"url": url, "sha256": pin.sha256})
        assert created.id == pin.sha256
        assert "kind:" in created.outs["content"]
        # The same file from another place (a mirror, upstream) is no change of content.
        moved = provider.diff(created.id, created.outs, {"url": pin.url, "sha256": pin.sha256})
        assert moved.changes and not moved.replaces
        assert provider.update(created.id, created.outs, {"url": pin.url, "sha256": pin.sha256}).outs["content"] \
            == created.outs["content"]


def test_a_file_that_is_not_the_pinned_one_is_refused(chart_repository):  # noqa: F811
    pin, url = mirrored_files(chart_repository.url)[0]
    with pytest.raises(PinnedManifestError, match="not the pinned 0000"):
        PinnedManifestProvider().create({"url": url, "sha256": "0" * 64})
    with pytest.raises(PinnedManifestError, match="cannot fetch"):
        PinnedManifestProvider().create({"url": f"{chart_repository.url}/manifests/nothing.yml", "sha256": pin.sha256})


def test_a_new_checksum_replaces_and_bad_inputs_are_named():
    provider = PinnedManifestProvider()
    diff = provider.diff("a", {"url": "https://x/a", "sha256": "a" * 64}, {"url": "https://x/a", "sha256": "b" * 64})
    assert diff.replaces == ["sha256"]
    failures = provider.check({}, {"url": "ftp://x", "sha256": "short"}).failures
    assert [f.property for f in failures] == ["url", "sha256"]
