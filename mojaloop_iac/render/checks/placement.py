"""Placement: a pod that tolerates the dedicated-node taints also carries a workload-class node affinity.

Otherwise it may land on the dedicated (Kafka, database) nodes merely because it tolerates them. The taints
are the stack's node pools' own; the affinity is a required `workload-class.mojaloop.io/<CLASS>` term.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mojaloop_iac.contract import WORKLOAD_CLASS_LABEL_PREFIX
from mojaloop_iac.render.checks.findings import Finding, object_label
from mojaloop_iac.render.checks.workloads import pod_spec
from mojaloop_iac.render.renderer import RenderedRelease

Taint = tuple[str, str, str]  # key, value, effect


def tolerates(toleration: dict[str, Any], taint: Taint) -> bool:
    key, value, effect = taint
    if toleration.get("effect") and toleration["effect"] != effect:
        return False
    if not toleration.get("key"):
        return toleration.get("operator") == "Exists"
    if toleration["key"] != key:
        return False
    return toleration.get("operator") == "Exists" or str(toleration.get("value", "")) == value


def has_workload_class_affinity(spec: dict[str, Any]) -> bool:
    """A required node affinity term, or a node selector (the same constraint), on a workload-class label."""
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    selector = spec.get("nodeSelector") or {}
    return WORKLOAD_CLASS_LABEL_PREFIX in json.dumps(required) or any(
        str(key).startswith(WORKLOAD_CLASS_LABEL_PREFIX) for key in selector
    )


def check_placement(rendered: dict[str, RenderedRelease], taints: Iterable[Taint]) -> list[Finding]:
    dedicated = tuple(dict.fromkeys(taints))
    findings = []
    if not dedicated:
        return findings
    for release in rendered.values():
        for obj in release.objects:
            spec = pod_spec(obj.body)
            if spec is None:
                continue
            tolerated = [t for t in dedicated if any(tolerates(tol, t) for tol in spec.get("tolerations") or [])]
            if tolerated and not has_workload_class_affinity(spec):
                taint = "=".join(tolerated[0][:2]) + ":" + tolerated[0][2]
                findings.append(Finding(
                    "placement", release.name, object_label(obj.body, release.namespace),
                    f"tolerates the dedicated-node taint {taint} but has no required {WORKLOAD_CLASS_LABEL_PREFIX}"
                    "<CLASS> node affinity: it may land on the Kafka or database nodes",
                ))
    return findings
