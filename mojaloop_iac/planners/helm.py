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
