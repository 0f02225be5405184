"""A release's footprint from Kubernetes objects: what runs, what it asks for, what it stores, which images.

The objects are either live Pods (`kubectl get pods -o json` in a validation environment) or workloads
(Deployments, StatefulSets, DaemonSets, Jobs, CronJobs: e.g. the rendered charts), whose pod template
counts once per replica. Totals cover the main containers (init containers run before them and do not add
to the steady state); a container without requests is counted, so a footprint can show what is unbounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_QUANTITY = re.compile(r"^(?P<number>[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    None: Decimal(1), "m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_POD_TEMPLATE = {"Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
                 "DaemonSet": ("spec", "template"), "ReplicaSet": ("spec", "template"), "Job": ("spec", "template"),
                 "CronJob": ("spec", "jobTemplate", "spec", "template")}


def parse_quantity(text: str | int | float) -> Decimal:
    """A Kubernetes quantity ("250m", "1.5", "128Mi", "1e3") in base units; ValueError if it is not one."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    try:
        return Decimal(match["number"]) * _SUFFIX[match["suffix"]]
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from None


@dataclass(frozen=True)
class ContainerFootprint:
    name: str
    image: str
    requests: dict[str, str]
    limits: dict[str, str]


@dataclass(frozen=True)
class WorkloadFootprint:
    kind: str
    name: str
    replicas: int
    containers: tuple[ContainerFootprint, ...]
    volumes: tuple[str, ...]
    """Volume sources by kind and name, e.g. `secret/moja-jws`, `persistentVolumeClaim/data`."""
    claims: tuple[tuple[str, str], ...] = ()
    """(claim template, requested storage) of a StatefulSet's volumeClaimTemplates."""


@dataclass(frozen=True)
class Footprint:
    workloads: tuple[WorkloadFootprint, ...]

    @property
    def pods(self) -> int:
        return sum(workload.replicas for workload in self.workloads)

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(sorted({c.image for w in self.workloads for c in w.containers}))

    def total(self, kind: str, resource: str) -> Decimal:
        """Sum of `requests`/`limits` of `cpu`/`memory` over every container of every replica."""
        return sum(
            (parse_quantity(getattr(c, kind)[resource]) * w.replicas
             for w in self.workloads for c in w.containers if resource in getattr(c, kind)),
            Decimal(0),
        )

    def unbounded(self, kind: str, resource: str) -> tuple[str, ...]:
        """`workload/container` without a `requests`/`limits` entry for `resource`."""
        return tuple(f"{w.name}/{c.name}" for w in self.workloads for c in w.containers
                     if resource not in getattr(c, kind))

    @property
    def storage_requested(self) -> Decimal:
        return sum((parse_quantity(size) * w.replicas for w in self.workloads for _, size in w.claims), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "pods": self.pods,
            "cpuRequests": _cores(self.total("requests", "cpu")),
            "cpuLimits": _cores(self.total("limits", "cpu")),
            "memoryRequestsMiB": _mebibytes(self.total("requests", "memory")),
            "memoryLimitsMiB": _mebibytes(self.total("limits", "memory")),
            "storageRequestedGiB": float(round(self.storage_requested / Decimal(2) ** 30, 2)),
            "containersWithoutCpuRequests": list(self.unbounded("requests", "cpu")),
            "containersWithoutMemoryLimits": list(self.unbounded("limits", "memory")),
            "images": list(self.images),
            "workloads": [
                {"kind": w.kind, "name": w.name, "replicas": w.replicas, "volumes": list(w.volumes),
                 "claims": [{"name": name, "storage": size} for name, size in w.claims],
                 "containers": [{"name": c.name, "image": c.image, "requests": c.requests, "limits": c.limits}
                                for c in w.containers]}
                for w in self.workloads
            ],
        }


def _cores(value: Decimal) -> float:
    return float(round(value, 3))


def _mebibytes(value: Decimal) -> float:
    return float(round(value / Decimal(2) ** 20, 1))


def footprint_of(objects: Iterable[Mapping[str, Any]]) -> Footprint:
    workloads = []
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Pod":
            spec, replicas = obj.get("spec") or {}, 1
        elif kind in _POD_TEMPLATE:
            spec = _dig(obj, _POD_TEMPLATE[kind]).get("spec") or {}
            replicas = _replicas(obj)
        else:
            continue
        name = (obj.get("metadata") or {}).get("name", "?")
        workloads.append(WorkloadFootprint(
            kind=kind,
            name=name,
            replicas=replicas,
            containers=tuple(_container(c) for c in spec.get("containers") or ()),
            volumes=tuple(_volume(v) for v in spec.get("volumes") or ()),
            claims=tuple(_claim(c) for c in (obj.get("spec") or {}).get("volumeClaimTemplates") or ()),
        ))
    return Footprint(tuple(sorted(workloads, key=lambda w: (w.kind, w.name))))


def _dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _replicas(obj: Mapping[str, Any]) -> int:
    # A DaemonSet runs one pod per node, and a Job or CronJob one at a time unless told otherwise.
    spec = obj.get("spec") or {}
    if obj.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet"):
        replicas = spec.get("replicas", 1)
        return replicas if isinstance(replicas, int) else 1
    return 1


def _container(container: Mapping[str, Any]) -> ContainerFootprint:
    resources = container.get("resources") or {}
    return ContainerFootprint(
        name=str(container.get("name", "?")),
        image=str(container.get("image", "?")),
        requests={key: str(value) for key, value in (resources.get("requests") or {}).items()},
        limits={key: str(value) for key, value in (resources.get("limits") or {}).items()},
    )


def _volume(volume: Mapping[str, Any]) -> str:
    name = volume.get("name", "?")
    for source in ("persistentVolumeClaim", "secret", "configMap", "emptyDir", "hostPath", "projected",
                   "downwardAPI", "csi"):
        if source in volume:
            target = volume[source] if isinstance(volume[source], Mapping) else {}
            ref = target.get("claimName") or target.get("secretName") or target.get("name")
            return f"{source}/{ref or name}"
    return f"other/{name}"


def _claim(claim: Mapping[str, Any]) -> tuple[str, str]:
    storage = _dig(claim, ("spec", "resources", "requests")).get("storage", "0")
    return str((claim.get("metadata") or {}).get("name", "?")), str(storage)
