"""The pod templates of workloads, and what each pod reads from Secrets and ConfigMaps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"})


@dataclass(frozen=True)
class Reference:
    kind: str
    """Secret or ConfigMap."""
    name: str
    optional: bool
    where: str
    """e.g. `env DB_PASSWORD`, `volume config`, `imagePullSecrets`."""


def pod_spec(body: dict[str, Any]) -> dict[str, Any] | None:
    kind, spec = body.get("kind"), body.get("spec") or {}
    if kind not in WORKLOAD_KINDS:
        return None
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def references(spec: dict[str, Any]) -> Iterator[Reference]:
    for container in containers(spec):
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if key in source:
                    ref = source[key]
                    yield Reference(kind, ref.get("name", ""), bool(ref.get("optional")), f"env {env.get('name')}")
        for env_from in container.get("envFrom") or []:
            for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                if key in env_from:
                    ref = env_from[key]
                    yield Reference(kind, ref.get("name", ""), bool(ref.get("optional")), "envFrom")
    for volume in spec.get("volumes") or []:
        if "secret" in volume:
            ref = volume["secret"]
            yield Reference("Secret", ref.get("secretName", ""), bool(ref.get("optional")), f"volume {volume.get('name')}")
        if "configMap" in volume:
            ref = volume["configMap"]
            yield Reference("ConfigMap", ref.get("name", ""), bool(ref.get("optional")), f"volume {volume.get('name')}")
        for source in (volume.get("projected") or {}).get("sources") or []:
            for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if key in source:
                    ref = source[key]
                    yield Reference(kind, ref.get("name", ""), bool(ref.get("optional")),
                                    f"projected volume {volume.get('name')}")
    for pull in spec.get("imagePullSecrets") or []:
        # The kubelet skips an entry without a name (kubernetes#99454); an empty name names no Secret.
        if pull.get("name"):
            yield Reference("Secret", pull["name"], False, "imagePullSecrets")
