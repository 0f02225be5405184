"""A stand-in for Pulumi's side of `mojactl qa` (mojaloop_iac.qa.orchestrate.QaWorkspace).

The Pulumi CLI cannot be installed where the suite runs, so the Automation API adapter
(qa/pulumi_workspace.py) never runs here; this keeps stacks and their tags in memory and records every
call, with the stack file each `up` was handed, so the code driving it runs for real against it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mojaloop_iac.qa.stacks import StackInfo
from mojaloop_iac.yamlio import load_yaml


@dataclass(frozen=True)
class UpCall:
    stack: str
    config: dict[str, Any]
    """The stack file's `config:` as it was when `up` ran."""
    targets: tuple[str, ...]


@dataclass
class FakeWorkspace:
    """Stacks in memory; `during_up`/`during_destroy` run inside those calls (to fail, or to send signals)."""

    stacks_by_name: dict[str, dict[str, str]] = field(default_factory=dict)
    deployed: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    ups: list[UpCall] = field(default_factory=list)
    during_up: Callable[[], None] | None = None
    during_destroy: Callable[[], None] | None = None
    outputs_of: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def up(self, stack: str, config: Path, tags: Mapping[str, str], on_output,
           targets: Sequence[str] = ()) -> Mapping[str, Any]:
        self.calls.append(f"up {stack}")
        document = load_yaml(config.read_text(encoding="utf-8")) if config.is_file() else {}
        self.ups.append(UpCall(stack, dict((document or {}).get("config") or {}), tuple(targets)))
        self.stacks_by_name[stack] = dict(tags)  # tagged before anything is deployed
        on_output(f"Updating ({stack})")
        if self.during_up:
            self.during_up()
        self.deployed.add(stack)
        return self.outputs_of.get(stack, {"qa": {"namespace": stack, "helmReleaseName": "moja"}, "kubeconfig": "k"})

    def destroy(self, stack: str, config: Path | None, on_output) -> None:
        self.calls.append(f"destroy {stack}")
        if self.during_destroy:
            self.during_destroy()
        self.deployed.discard(stack)
        self.stacks_by_name.pop(stack, None)

    def stacks(self) -> list[StackInfo]:
        return [StackInfo(name, dict(tags)) for name, tags in sorted(self.stacks_by_name.items())]

    def outputs(self, stack: str) -> Mapping[str, Any]:
        return self.outputs_of[stack]

    def interrupt(self) -> None:
        self.calls.append("interrupt")
