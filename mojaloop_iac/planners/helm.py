"""A Helm release as plain data: what components install and what the plan bundle shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HelmReleaseSpec:
    name: str
    chart: str
    repo: str
    version: str
    namespace: str
    values: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: int = 600
    # Roll back a failed install/upgrade; off only where a chart's hooks make rollback unsafe.
    atomic: bool = True
    wait_for_jobs: bool = True
    max_history: int = 10


def split_deletions(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the values without their nulls, a tree of just the nulls).

    A null in Helm values deletes the chart's default for that key (e.g. an example private key). Pulumi's
    Python SDK drops None from maps before they reach the provider (pulumi/pulumi#12178), so the nulls
    travel in a values file instead, which the Kubernetes provider (4.30 and later) passes on to Helm
    as written; `values` still wins over it for every other key.
    """
    kept: dict[str, Any] = {}
    deleted: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            deleted[key] = None
        elif isinstance(value, Mapping):
            inner_kept, inner_deleted = split_deletions(value)
            kept[key] = inner_kept
            if inner_deleted:
                deleted[key] = inner_deleted
        else:
            kept[key] = value
    return kept, deleted


def with_deletions(values: Mapping[str, Any], deleted: Mapping[str, Any]) -> dict[str, Any]:
    """`split_deletions` undone: the values Helm receives, nulls in place."""
    merged: dict[str, Any] = dict(values)
    for key, value in deleted.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = with_deletions(merged[key], value)
        else:
            merged[key] = value
    return merged
