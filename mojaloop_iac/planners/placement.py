"""Where things run: node labels and taints of each pool, and the scheduling of each workload class.

The values generators take their `affinity` and `tolerations` from here, so a workload is always
scheduled onto the pools its class is placed on and tolerates exactly what the config says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac import contract
from mojaloop_iac.config.models import ClusterSettings, Environment, NodePool, Toleration


@dataclass(frozen=True)
class Scheduling:
    affinity: Mapping[str, Any]
    tolerations: tuple[Mapping[str, Any], ...]


def node_labels(pool_name: str, pool: NodePool) -> dict[str, str]:
    """Labels every node of the pool carries: the pool's name, its workload classes, then the user's."""
    labels = {contract.NODE_POOL_LABEL: pool_name}
    labels.update(
        {contract.workload_class_label(cls): contract.WORKLOAD_CLASS_LABEL_VALUE for cls in pool.workload_classes}
    )
    labels.update(pool.labels)
    return dict(sorted(labels.items()))


def node_taints(pool: NodePool) -> list[str]:
    """Taints in kubespray's `key=value:Effect` form (inventories, k3s `node-taint`)."""
    return [str(taint) for taint in pool.taints]


def node_taint_specs(pool: NodePool) -> list[dict[str, str]]:
    """Taints as Kubernetes `spec.taints` entries."""
    return [
        {"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect} for t in pool.taints
    ]


def pools_by_class(cluster: ClusterSettings) -> dict[str, tuple[str, ...]]:
    placed: dict[str, list[str]] = {}
    for pool_name, pool in sorted(cluster.node_pools.items()):
        for cls in pool.workload_classes:
            placed.setdefault(cls, []).append(pool_name)
    return {cls: tuple(pools) for cls, pools in placed.items()}


def toleration_spec(toleration: Toleration) -> dict[str, str]:
    spec: dict[str, str] = {"operator": toleration.operator}
    if toleration.key is not None:
        spec["key"] = toleration.key
    if toleration.operator == "Equal":
        spec["value"] = toleration.value
    if toleration.effect is not None:
        spec["effect"] = toleration.effect
    return spec


def workload_scheduling(env: Environment) -> dict[str, Scheduling]:
    """Per workload class: a required node affinity on its class label, and the workloads' tolerations."""
    tolerations = tuple(toleration_spec(t) for t in env.placement.tolerations)
    scheduling = {}
    for cls in contract.WORKLOAD_CLASSES:
        affinity = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": contract.workload_class_label(cls),
                                    "operator": "In",
                                    "values": [contract.WORKLOAD_CLASS_LABEL_VALUE],
                                }
                            ]
                        }
                    ]
                }
            }
        }
        scheduling[cls] = Scheduling(affinity=affinity, tolerations=tolerations)
    return scheduling
