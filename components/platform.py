"""A platform layer: the objects its releases read, Helm releases installed in order, then the objects that
need those releases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from components.manifests import kubernetes_object
from mojaloop_iac.kubeapi.pinned_manifest import PinnedManifest
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.identity import ManifestSource


class PlatformLayerArgs(TypedDict):
    prerequisites: NotRequired[Sequence[Mapping[str, Any]]]
    """Objects created before the releases, which read them (ExternalSecrets, Certificates); their CRDs come
    from an earlier layer."""
    releases: Sequence[HelmReleaseSpec]
    """Installed one after another (each may need the CRDs or webhooks of the one before), unless
    `release_needs` says what each needs."""
    release_needs: NotRequired[Mapping[str, Sequence[str]]]
    """Per release name, the releases of this layer it waits for; the others install side by side."""
    manifests: Sequence[Mapping[str, Any]]
    """Objects created once every release of the layer is installed (custom resources need their CRDs)."""
    sources: NotRequired[Sequence[ManifestSource]]
    """Upstream manifests (an operator without a chart), each checked against its pinned sha256, applied first
    into their namespace."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Needed with `sources`: they apply through a provider defaulting to their namespace."""


class PlatformLayer(pulumi.ComponentResource):
    releases: list[pulumi.Resource]

    def __init__(self, name: str, args: PlatformLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:platform:PlatformLayer", name, None, opts)
        self.releases = []
        prerequisites = [
            self._object(name, manifest, pulumi.ResourceOptions(parent=self)) for manifest in args.get("prerequisites", ())
        ]
        for source in args.get("sources", ()):
            # The upstream objects name no namespace; this provider puts them into the intended one.
            namespaced = k8s.Provider(
                f"{name}-{source.name}-provider",
                kubeconfig=args["kubeconfig"],
                namespace=source.namespace,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for index, (pin, url) in enumerate(zip(source.files, source.urls, strict=True)):
                # Fetched when pulumi up runs and applied only if it is the pinned file (its sha256).
                verified = PinnedManifest(f"{name}-{source.name}-{index}-file", {"url": url, "sha256": pin.sha256},
                                          opts=pulumi.ResourceOptions(parent=self))
                self.releases.append(
                    k8s.yaml.v2.ConfigGroup(
                        f"{name}-{source.name}-{index}",
                        yaml=verified.content,
                        opts=pulumi.ResourceOptions(parent=self, provider=namespaced, depends_on=self.releases[-1:]),
                    )
                )
        needs = args.get("release_needs")
        by_name: dict[str, pulumi.Resource] = {}
        for spec in args["releases"]:
            if needs is None:
                after = self.releases[-1:] or prerequisites
            else:
                after = [by_name[other] for other in needs.get(spec.name, ())] or prerequisites
            by_name[spec.name] = helm_release(
                f"{name}-{spec.name}", spec, pulumi.ResourceOptions(parent=self, depends_on=after)
            )
            self.releases.append(by_name[spec.name])
        for manifest in args["manifests"]:
            self._object(name, manifest, pulumi.ResourceOptions(parent=self, depends_on=self.releases))
        self.register_outputs({})

    @staticmethod
    def _object(layer: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
        metadata = manifest["metadata"]
        return kubernetes_object(
            f"{layer}-{manifest['kind'].lower()}-{metadata.get('namespace', 'cluster')}-{metadata['name']}",
            manifest,
            opts,
        )
