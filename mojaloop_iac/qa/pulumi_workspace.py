"""The real QaWorkspace: Pulumi's Automation API on this project, with the stack's own backend.

Thin on purpose: every decision (names, tags, which stacks to reap, the order of a run) is made elsewhere
and tested; this adapter only turns those into Automation API calls. It needs the Pulumi CLI on PATH and
the usual environment: `PULUMI_BACKEND_URL` (or a `pulumi login`), and the secrets provider's credentials
(`PULUMI_CONFIG_PASSPHRASE` for passphrase stacks). Not run in this project's test suite: the Pulumi CLI
cannot be installed where the suite runs (see the README's QA section for what ran for real).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.qa.orchestrate import Output
from mojaloop_iac.qa.stacks import StackInfo
from mojaloop_iac.yamlio import load_yaml


def stack_settings_from_state(secrets_providers: Mapping[str, Any] | None) -> dict[str, str]:
    """Stack-file settings that let the CLI decrypt a stack's state again, from the secrets provider the
    state records (`deployment.secrets_providers`): for a QA stack destroyed from a fresh checkout (the
    reaper, a CI stop job), whose stack file was never committed."""
    if not secrets_providers:
        return {}
    kind = secrets_providers.get("type")
    state = secrets_providers.get("state") or {}
    if kind == "passphrase" and state.get("salt"):
        return {"encryptionsalt": str(state["salt"])}
    if kind == "cloud" and state.get("url"):
        settings = {"secretsprovider": str(state["url"])}
        if state.get("encryptedkey"):
            settings["encryptedkey"] = str(state["encryptedkey"])
        return settings
    return {}


def own_children(proc: Path = Path("/proc")) -> list[int]:
    """PIDs of this process's direct children (the Pulumi CLI, helm), read from /proc."""
    me, children = os.getpid(), []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the parent PID follows the last ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(me):
            children.append(int(entry.name))
    return children


class PulumiWorkspace:
    def __init__(self, work_dir: Path = REPO_ROOT, secrets_provider: str | None = None):
        from pulumi import automation as auto  # imported here: plans and tests never need it

        self._auto = auto
        self._work_dir = work_dir
        self._secrets_provider = secrets_provider
        self._workspace = auto.LocalWorkspace(work_dir=str(work_dir))

    def _settings_file(self, stack: str) -> Path:
        return self._work_dir / "stacks" / f"Pulumi.{stack}.yaml"

    def up(
        self, stack: str, config: Path, tags: Mapping[str, str], on_output: Output, targets: Sequence[str] = ()
    ) -> Mapping[str, Any]:
        handle = self._auto.create_or_select_stack(
            stack_name=stack,
            work_dir=str(self._work_dir),
            opts=self._auto.LocalWorkspaceOptions(secrets_provider=self._secrets_provider),
        )
        # Tags first: a stack whose deployment is killed half-way is still a QA stack the reaper finds.
        for key, value in tags.items():
            self._workspace.set_tag(stack, key, value)
        # The derived config goes into the stack's file in stacks/ (the project's stackConfigDir), next to
        # the secrets provider's settings `stack init` wrote there. (The Automation API's save_stack_settings
        # would write beside Pulumi.yaml, where the CLI does not look when stackConfigDir is set.)
        self._write_settings(stack, config, {})
        result = handle.up(on_output=on_output, on_error=on_output, color="never", suppress_progress=True,
                           target=list(targets) or None)
        return {key: value.value for key, value in result.outputs.items()}

    def destroy(self, stack: str, config: Path | None, on_output: Output) -> None:
        if not self._settings_file(stack).is_file():
            self._restore_settings(stack, config)
        handle = self._auto.select_stack(stack_name=stack, work_dir=str(self._work_dir))
        handle.destroy(on_output=on_output, on_error=on_output, color="never", suppress_progress=True)
        self._workspace.remove_stack(stack)

    def _restore_settings(self, stack: str, config: Path | None) -> None:
        deployment = self._workspace.export_stack(stack).deployment or {}
        self._write_settings(stack, config, stack_settings_from_state(deployment.get("secrets_providers")))

    def _write_settings(self, stack: str, config: Path | None, settings: Mapping[str, str]) -> None:
        path = self._settings_file(stack)
        document: dict[str, Any] = dict(load_yaml(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}
        document.update(settings)
        if config is not None and config.is_file():
            document["config"] = (load_yaml(config.read_text(encoding="utf-8")) or {}).get("config") or {}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    def stacks(self) -> list[StackInfo]:
        return [StackInfo(s.name, dict(self._workspace.list_tags(s.name))) for s in self._workspace.list_stacks()]

    def outputs(self, stack: str) -> Mapping[str, Any]:
        return {key: value.value for key, value in self._workspace.stack_outputs(stack).items()}

    def interrupt(self) -> None:
        # The Automation API does not expose the CLI's PID; our direct children are the CLI (and helm).
        # Pulumi stops gracefully on SIGINT and releases the stack's lock.
        for pid in own_children():
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
