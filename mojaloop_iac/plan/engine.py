"""Runs the Pulumi program in-process through Pulumi's mock runtime and records every resource.

No Pulumi CLI, no cloud, no cluster: the very same `__main__.py` and components run against a
resource monitor that records each registration (type, name, parent, dependencies, provider, inputs,
lifecycle options) and answers with deterministic fake outputs.
"""

from __future__ import annotations

import json
import logging
import pickle
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import stack as runtime_stack
from pulumi.runtime.sync_await import _sync_await

from mojaloop_iac.paths import PROGRAM, REPO_ROOT
from mojaloop_iac.plan.fakes import fake_call, fake_id, fake_outputs


SECRET_PLACEHOLDER = "[secret]"
# How an inline asset (e.g. a Helm release's values file) is recorded: its text under this key.
STRING_ASSET = "stringAsset"
STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    options: dict[str, Any]


@dataclass
class PlanRecord:
    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stack_references: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Outputs the plan answers each StackReference with, by referenced stack name."""


class ProgramError(Exception):
    """The program failed; the message is what `pulumi up` would have printed."""


class _FakeCloud(pulumi.runtime.Mocks):
    def __init__(self, stack_references: dict[str, dict[str, Any]] | None = None):
        self.stack_references = stack_references or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == STACK_REFERENCE_TYPE:
            target = args.inputs.get("name") or args.resource_id
            if target not in self.stack_references:
                known = ", ".join(sorted(self.stack_references)) or "none"
                raise ProgramError(f"the plan has no outputs for stack reference {target!r} (answered: {known})")
            return target, {"name": target, "outputs": self.stack_references[target], "secretOutputNames": []}
        return fake_id(args.typ, args.name), fake_outputs(args.typ, args.name, args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return fake_call(args.token, args.args)


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, record: PlanRecord):
        super().__init__(_FakeCloud(record.stack_references))
        self.record = record
        self._stack_urn = ""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine's URN scheme: the parent's qualified type chain, without the root stack's type.
        qualified = type_
        if parent and parent != self._stack_urn:
            qualified = parent.split("::")[2] + "$" + type_
        return f"urn:pulumi:{self.record.stack}::{self.record.project}::{qualified}::{name}"

    def RegisterResource(self, request):
        if request.type == STACK_TYPE:
            self._stack_urn = f"urn:pulumi:{self.record.stack}::{self.record.project}::{STACK_TYPE}::{request.name}"
            return super().RegisterResource(request)
        response = super().RegisterResource(request)
        inputs = _scrub(rpc.deserialize_properties(request.object, keep_internal=True))
        parent = request.parent if request.parent and request.parent != self._stack_urn else None
        provider = request.provider.rsplit("::", 1)[0] if request.provider else None
        self.record.resources.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=parent,
                custom=bool(request.custom),
                provider=provider,
                dependencies=tuple(sorted(set(request.dependencies))),
                inputs=inputs,
                options=_options(request),
            )
        )
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn == self._stack_urn:
            self.record.outputs = _scrub(rpc.deserialize_properties(request.outputs, keep_internal=True))
        return super().RegisterResourceOutputs(request)


class _WarningCollector(logging.Handler):
    def __init__(self, record: PlanRecord):
        super().__init__(logging.WARNING)
        self.record = record

    def emit(self, entry: logging.LogRecord) -> None:
        self.record.warnings.append(entry.getMessage())


@contextmanager
def _pickler_restored() -> Iterator[None]:
    """Undo what pulumi.dynamic.serialize_provider leaves behind in the pickle module.

    Each dynamic resource's provider is serialized by wrapping pickle._Pickler._batch_setitems (and
    replacing save_dict) without restoring them, so every serialization nests one more wrapper. In one
    `pulumi up` that is harmless; a process that plans many stacks (the tests, `mojactl qa`, a plan that
    answers a stack reference) eventually exceeds the recursion limit. Restoring after each run keeps
    every run identical to the first.
    """
    saved = {name: pickle._Pickler.__dict__[name] for name in ("_batch_setitems", "save_dict")}  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(pickle._Pickler, name, function)  # type: ignore[attr-defined]


@contextmanager
def _without_source_positions() -> Iterator[None]:
    """Pulumi walks the Python stack and reads source lines for every resource it registers, to tell the
    engine where each was declared. The recording monitor keeps no source positions, and this walk was a
    ninth of the demo's plan, so it is skipped while the plan runs (the program is the same)."""
    original = runtime_resource._get_stack_trace
    runtime_resource._get_stack_trace = lambda: runtime_resource.source_pb2.StackTrace()
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = original


def run_program(
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    program: Path = PROGRAM,
    stack_references: dict[str, dict[str, Any]] | None = None,
) -> PlanRecord:
    """Run the program under the recording monitor; `config` maps `namespace:key` to string values
    (structured values JSON-encoded), exactly as the engine passes them."""
    record = PlanRecord(project=project, stack=stack, stack_references=dict(stack_references or {}))
    logger = logging.getLogger(f"mojaloop_iac.plan.{stack}")
    logger.propagate = False
    logger.handlers = [_WarningCollector(record)]
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    pulumi.runtime.set_all_config(config, secret_keys)
    monitor = _RecordingMonitor(record)
    with _without_source_positions():
        mocks.set_mocks(monitor.mocks, project, stack, preview=False, logger=logger, monitor=monitor)
        # set_mocks made a root stack for unit tests; the program gets its own, as under the engine.
        settings.ROOT.set(None)
        try:
            with _pickler_restored():
                _sync_await(runtime_stack.run_in_stack(lambda: runpy.run_path(str(program), run_name="__main__")))
        except pulumi.RunError as error:
            raise ProgramError(str(error)) from None
        finally:
            settings.ROOT.set(None)
    return record


def _scrub(value: Any) -> Any:
    """Secrets become a marker; a dynamic provider's pickled code is not a reviewable input."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET_PLACEHOLDER
        return {
            key: ("[dynamic provider]" if key == "__provider" else _scrub(item))
            for key, item in value.items()
            if not key.startswith("__") or key == "__provider"
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        # Protobuf carries every number as a double; integers in the program stay integers here.
        return int(value)
    if isinstance(value, pulumi.StringAsset):
        return {STRING_ASSET: value.text}
    if isinstance(value, pulumi.FileAsset):
        return {"fileAsset": value.path}
    return value


def _options(request: Any) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.protect:
        options["protect"] = True
    if request.retainOnDelete:
        options["retainOnDelete"] = True
    if request.deleteBeforeReplace:
        options["deleteBeforeReplace"] = True
    if request.ignoreChanges:
        options["ignoreChanges"] = sorted(request.ignoreChanges)
    if request.additionalSecretOutputs:
        options["additionalSecretOutputs"] = sorted(request.additionalSecretOutputs)
    if request.replaceOnChanges:
        options["replaceOnChanges"] = sorted(request.replaceOnChanges)
    return options


def config_for_engine(file_config: dict[str, Any]) -> dict[str, str]:
    """Stack-file config values as the engine hands them to a program: strings, objects JSON-encoded."""
    encoded = {}
    for key, value in file_config.items():
        encoded[key] = value if isinstance(value, str) else json.dumps(value)
    return encoded
