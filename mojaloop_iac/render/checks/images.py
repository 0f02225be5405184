"""With a registry mirror, every image goes through it: named on the mirror itself, or from a registry the
nodes pull through the mirror (the upstreams the control center's mirror syncs, which containerd on
bare-metal nodes is pointed at). An image from any other registry would be pulled from the internet."""

from __future__ import annotations

from collections.abc import Iterable

from mojaloop_iac.render.checks.findings import Finding, object_label
from mojaloop_iac.render.checks.workloads import containers, pod_spec
from mojaloop_iac.render.renderer import RenderedRelease


def image_registry(image: str) -> str:
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def check_images(
    rendered: dict[str, RenderedRelease], mirror: str | None, mirrored_registries: Iterable[str]
) -> list[Finding]:
    if not mirror:
        return []
    allowed = {mirror, *mirrored_registries}
    findings = []
    for release in rendered.values():
        for obj in release.objects:
            spec = pod_spec(obj.body)
            if spec is None:
                continue
            for container in containers(spec):
                image = str(container.get("image", ""))
                registry = image_registry(image)
                if registry not in allowed:
                    findings.append(Finding(
                        "images", release.name, object_label(obj.body, release.namespace),
                        f"image {image} (container {container.get('name')}) comes from {registry}, which is not "
                        f"pulled through the registry mirror {mirror}",
                    ))
    return findings
