"""The chosen Mojaloop release: the backend dependency chart and the umbrella chart, in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from components.manifests import kubernetes_object
from mojaloop_iac.planners.helm import HelmReleaseSpec


class MojaloopReleaseArgs(TypedDict):
    umbrella: HelmReleaseSpec
    """The `mojaloop` umbrella chart at the catalog's version, with planned values."""
    backend: NotRequired[HelmReleaseSpec]
    """The `example-mojaloop-backend` chart; installed (and upgraded) before the umbrella chart."""
    virtual_services: NotRequired[Sequence[Mapping[str, Any]]]
    """Istio VirtualService manifests routing the gateways to the release's services."""
    backend_first: NotRequired[bool]
    """Default True: the umbrella release waits for the backend release (upgrades need it); False installs
    both side by side (a first install, whose services wait for the backend in init containers)."""
    routes_depend_on: NotRequired[Sequence[pulumi.Resource]]
    """What the VirtualServices wait for (Istio's CRDs; the identity layer's policies guarding the admin
    hosts); the charts themselves need none of it."""


class MojaloopRelease(pulumi.ComponentResource):
    umbrella: k8s.helm.v3.Release
    backend: k8s.helm.v3.Release | None
    status: pulumi.Output[str]

    def __init__(self, name: str, args: MojaloopReleaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:mojaloop:MojaloopRelease", name, None, opts)
        self.backend = None
        umbrella_deps: list[pulumi.Resource] = []
        if "backend" in args:
            # Not protected, unlike the cluster and the buckets: ephemeral QA environments must tear down in
            # one `pulumi destroy`, and uninstalling the chart keeps the databases' PersistentVolumeClaims
            # (StatefulSet claims outlive their release), so no data goes with it.
            self.backend = helm_release(f"{name}-backend", args["backend"], pulumi.ResourceOptions(parent=self))
            # Upgrades move the backend first (the umbrella chart's migrations run on start against the
            # upgraded backend); a first install may run both at once (planners.mojaloop_release.backend_first).
            if args.get("backend_first", True):
                umbrella_deps.append(self.backend)
        self.umbrella = helm_release(
            f"{name}-umbrella", args["umbrella"], pulumi.ResourceOptions(parent=self, depends_on=umbrella_deps)
        )
        routes = pulumi.ResourceOptions(parent=self, depends_on=list(args.get("routes_depend_on", ())))
        for manifest in args.get("virtual_services", ()):
            kubernetes_object(f"{name}-vs-{manifest['metadata']['name']}", manifest, routes)
        self.status = self.umbrella.status.apply(lambda status: (status.status if status else None) or "unknown")
        self.register_outputs({"status": self.status})
