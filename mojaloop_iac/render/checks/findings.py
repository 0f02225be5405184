"""One problem found in what the plan would install, named by release, object and reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mojaloop_iac.plan.bundle import CLUSTER_SCOPED_KINDS


@dataclass(frozen=True, order=True)
class Finding:
    check: str
    """references, values, placement, images, schemas, ordering or render."""
    release: str
    object: str
    """`Kind namespace/name` of the object concerned (or the values key)."""
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.release}: {self.object}: {self.message}"


def object_namespace(body: dict[str, Any], default: str) -> str | None:
    """Where the object lands: its own namespace, else the release's (Helm's and the provider's rule)."""
    if body.get("kind") in CLUSTER_SCOPED_KINDS:
        return None
    return (body.get("metadata") or {}).get("namespace") or default


def object_label(body: dict[str, Any], default_namespace: str) -> str:
    name = (body.get("metadata") or {}).get("name", "?")
    namespace = object_namespace(body, default_namespace)
    return f"{body.get('kind')} {namespace}/{name}" if namespace else f"{body.get('kind')} {name}"
