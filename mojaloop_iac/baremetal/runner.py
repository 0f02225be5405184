"""Running the bare-metal playbooks with ansible-runner and reading back what happened.

One code path for `mojactl baremetal`, the Pulumi dynamic resource and the tests: `run_playbook` writes
the inventory (rendered from the stack) as a 0600 file under the run directory, runs a playbook from
`playbooks/` with ansible-runner, streams progress to an optional handler and returns a
`PlaybookResult` with per-host counts, the failure messages and where the artifacts are kept.

Run directory layout (`run_dir`, mode 0700), which is ansible-runner's private data directory:

    inventory/hosts.json    the inventory, 0600 (may hold connection settings)
    artifacts/<ident>/      ansible-runner's record of each run: stdout, job_events/, rc, status
    kubeconfig              fetched by k3s_server (see actions.apply), 0600
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mojaloop_iac.paths import PLAYBOOKS_DIR

PLAYBOOKS = ("site.yml", "upgrade.yml", "reset.yml", "control-center-hosts.yml")

ProgressKind = Literal["play", "task", "ok", "changed", "failed", "skipped", "unreachable"]


class BaremetalRunError(RuntimeError):
    """The playbook could not be started (bad arguments, missing ansible-playbook, bad inventory)."""


@dataclass(frozen=True)
class HostResult:
    """Task counts for one host, as Ansible's play recap reports them."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0

    @property
    def succeeded(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


@dataclass(frozen=True)
class PlaybookResult:
    """What one playbook run did.

    `reported` holds what the roles handed back with `set_stats` (for example `wireguard_public_keys`,
    host name to public key). `failed_messages` are "host: task: message" lines, ready to show a user.
    """

    playbook: str
    status: str
    rc: int
    hosts: Mapping[str, HostResult]
    failed_messages: tuple[str, ...]
    artifact_dir: Path
    reported: Mapping[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "successful" and self.rc == 0 and all(h.succeeded for h in self.hosts.values())

    @property
    def changed(self) -> int:
        """Tasks that changed something, over all hosts (0 on a converged run)."""
        return sum(host.changed for host in self.hosts.values())

    def recap(self) -> list[str]:
        """One line per host in the style of Ansible's play recap."""
        return [
            f"{name}: ok={h.ok} changed={h.changed} failed={h.failed} unreachable={h.unreachable} skipped={h.skipped}"
            for name, h in sorted(self.hosts.items())
        ]


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for streaming progress (a play or task starting, or a task's result on a host)."""

    kind: ProgressKind
    play: str = ""
    task: str = ""
    host: str = ""
    message: str = ""


ProgressHandler = Callable[[ProgressEvent], None]


def run_playbook(
    playbook: str,
    inventory: Mapping[str, Any],
    run_dir: Path,
    *,
    limit: str | None = None,
    tags: Iterable[str] = (),
    skip_tags: Iterable[str] = (),
    check: bool = False,
    extravars: Mapping[str, Any] | None = None,
    event_handler: ProgressHandler | None = None,
    playbooks_dir: Path = PLAYBOOKS_DIR,
    verbosity: int = 0,
) -> PlaybookResult:
    """Run `playbook` (a file in `playbooks_dir`) against `inventory` and return what happened.

    Never raises for a failing playbook: the result says so (`succeeded`, `failed_messages`). Raises
    `BaremetalRunError` when the run cannot start at all.
    """
    if not (playbooks_dir / playbook).is_file():
        raise BaremetalRunError(
            f"playbook {playbook!r} is not in {playbooks_dir}: expected one of {', '.join(PLAYBOOKS)}"
        )
    if not inventory_hosts(inventory):
        raise BaremetalRunError(
            "the inventory has no hosts: render it from a stack that declares bare-metal hosts"
        )

    run_dir = Path(run_dir).resolve()
    inventory_file = write_inventory(inventory, run_dir)
    ident = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + Path(playbook).stem
    cmdline = ["--check"] if check else []
    progress = _ProgressStream(event_handler)

    require_ansible()
    with _cancel_on_interrupt() as cancelled:
        # Imported here: planning a stack (which only hashes the inventory) must not need Ansible installed.
        import ansible_runner

        runner = ansible_runner.run(
            private_data_dir=str(run_dir),
            project_dir=str(playbooks_dir),
            playbook=playbook,
            inventory=str(inventory_file),
            ident=ident,
            limit=limit,
            tags=",".join(tags) or None,
            skip_tags=",".join(skip_tags) or None,
            extravars=dict(extravars or {}),
            cmdline=" ".join(cmdline) or None,
            envvars=_ansible_environment(playbooks_dir),
            event_handler=progress,
            quiet=True,
            # Extra vars go to ansible-playbook on its command line instead of a file under env/.
            suppress_env_files=True,
            rotate_artifacts=0,
            cancel_callback=cancelled,
            **({"verbosity": verbosity} if verbosity else {}),
        )
    artifact_dir = run_dir / "artifacts" / ident
    _redact_recorded_environment(artifact_dir)
    return _result(playbook, runner, artifact_dir, progress)


@contextlib.contextmanager
def _cancel_on_interrupt() -> Iterator[Callable[[], bool]]:
    """Ctrl-C or SIGTERM cancels the run (ansible-runner then stops ansible-playbook) for as long as it
    lasts. Left to itself, ansible-runner would replace the process's handlers for good."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda _number, _frame: requested.set())
    try:
        yield requested.is_set
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def write_inventory(inventory: Mapping[str, Any], run_dir: Path) -> Path:
    """Write `inventory` as JSON (which Ansible reads as YAML) to run_dir/inventory/hosts.json, mode 0600."""
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o700)
    inventory_dir = run_dir / "inventory"
    inventory_dir.mkdir(exist_ok=True)
    inventory_dir.chmod(0o700)
    path = inventory_dir / "hosts.json"
    text = _canonical_json(inventory, indent=2)
    # Created with 0600 from the start: the file may carry become passwords or key paths.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)
    return path


def inventory_hosts(inventory: Mapping[str, Any]) -> list[str]:
    """Every host name in a YAML-shaped inventory (`all.hosts` and all nested `children`), sorted."""
    names: set[str] = set()

    def walk(group: Any) -> None:
        if not isinstance(group, Mapping):
            return
        hosts = group.get("hosts") or {}
        if isinstance(hosts, Mapping):
            names.update(str(name) for name in hosts)
        for child in (group.get("children") or {}).values():
            walk(child)

    walk(inventory.get("all", inventory))
    return sorted(names)


def inventory_hash(inventory: Mapping[str, Any], roles_dir: Path) -> str:
    """sha256 over the canonical inventory and the contents of every file under `roles_dir`.

    Pass `PLAYBOOKS_DIR` to cover the playbooks as well as the roles. Equal inventories written with
    keys in a different order hash the same; any change to a role file changes the hash.
    """
    digest = hashlib.sha256()
    digest.update(b"inventory\0")
    digest.update(_canonical_json(inventory).encode())
    digest.update(b"\0roles\0")
    digest.update(roles_digest(roles_dir).encode())
    return digest.hexdigest()


def roles_digest(roles_dir: Path) -> str:
    """sha256 over the relative paths and contents of the files under `roles_dir` (the roles' version)."""
    roles_dir = Path(roles_dir)
    if not roles_dir.is_dir():
        raise BaremetalRunError(f"{roles_dir} is not a directory of Ansible roles")
    digest = hashlib.sha256()
    for path in sorted(_content_files(roles_dir)):
        digest.update(path.relative_to(roles_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _content_files(root: Path) -> Iterable[Path]:
    # Caches (.ansible/ from ansible-lint, __pycache__) are not part of what the roles do.
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") or part == "__pycache__" for part in relative):
            continue
        if path.is_file():
            yield path


def _canonical_json(value: Any, *, indent: int | None = None) -> str:
    try:
        return json.dumps(value, sort_keys=True, indent=indent, separators=None if indent else (",", ":"))
    except TypeError as error:
        raise BaremetalRunError(f"the inventory holds a value that is not plain data: {error}") from None


def _ansible_environment(playbooks_dir: Path) -> dict[str, str]:
    _require_ansible_playbook()
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {
        # ansible-runner turns host key checking off unless told otherwise: bare-metal hosts are
        # long-lived and their keys are known, so a changed key must stop the run.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        # The playbooks' own settings, wherever the toolkit is started from.
        "ANSIBLE_CONFIG": str(playbooks_dir / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(playbooks_dir / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        # ansible-playbook's helpers (and the podman/ssh it calls) come from this interpreter's tree first.
        "PATH": bin_dir if not path else f"{bin_dir}{os.pathsep}{path}",
    }


def require_ansible() -> None:
    """Fail before starting anything, with the fix, when ansible-runner or ansible-playbook is missing."""
    if importlib.util.find_spec("ansible_runner") is None:
        raise BaremetalRunError("ansible-runner is not installed in this Python: run ./scripts/setup")
    _require_ansible_playbook()


def _require_ansible_playbook() -> None:
    beside_python = Path(sys.executable).parent / "ansible-playbook"
    if not beside_python.is_file() and shutil.which("ansible-playbook") is None:
        raise BaremetalRunError("ansible-playbook (ansible-core) is not installed: run ./scripts/setup")


# Environment variables whose values are kept in the artifacts' record of the run; others (which may be
# tokens or passphrases of the calling process) are recorded by name only.
_RECORDED_ENV_PREFIXES = ("ANSIBLE_", "RUNNER_", "AWX_")
_RECORDED_ENV_NAMES = frozenset({"PATH", "HOME", "PWD", "CONTAINERS_CONF", "VIRTUAL_ENV"})


def _redact_recorded_environment(artifact_dir: Path) -> None:
    """ansible-runner writes the whole process environment to artifacts/<ident>/command: keep only
    Ansible's own settings there, so secrets in the caller's environment do not end up on disk."""
    command_file = artifact_dir / "command"
    if not command_file.is_file():
        return
    record = json.loads(command_file.read_text(encoding="utf-8"))
    env = record.get("env") or {}
    record["env"] = {
        name: value
        if name in _RECORDED_ENV_NAMES or name.startswith(_RECORDED_ENV_PREFIXES)
        else "<redacted>"
        for name, value in env.items()
    }
    command_file.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    command_file.chmod(0o600)


class _ProgressStream:
    """ansible-runner's event handler: forwards progress and keeps what the result needs."""

    def __init__(self, handler: ProgressHandler | None) -> None:
        self._handler = handler
        self.failed_messages: list[str] = []
        self.reported: dict[str, Any] = {}
        self.stats: dict[str, Any] | None = None

    def __call__(self, event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        name = event.get("event", "")
        progress = self._progress(name, data)
        if progress is not None and self._handler is not None:
            self._handler(progress)
        return True  # keep the event in the artifacts

    def _progress(self, name: str, data: dict[str, Any]) -> ProgressEvent | None:
        play, task, host = data.get("play", ""), data.get("task", ""), data.get("host", "")
        result = data.get("res") or {}
        if name == "playbook_on_play_start":
            return ProgressEvent("play", play=play)
        if name == "playbook_on_task_start":
            return ProgressEvent("task", play=play, task=task)
        if name == "runner_on_ok":
            return ProgressEvent("changed" if result.get("changed") else "ok", play, task, host)
        if name == "runner_on_skipped":
            return ProgressEvent("skipped", play, task, host)
        if name == "runner_on_failed":
            message = failure_message(result)
            if data.get("ignore_errors"):
                return ProgressEvent("ok", play, task, host, message)
            self.failed_messages.append(f"{host}: {task}: {message}")
            return ProgressEvent("failed", play, task, host, message)
        if name == "runner_on_unreachable":
            message = failure_message(result)
            self.failed_messages.append(f"{host}: unreachable: {message}")
            return ProgressEvent("unreachable", play, task, host, message)
        if name == "playbook_on_stats":
            self.stats = data
            self.reported = dict(data.get("artifact_data") or {})
        return None


def failure_message(result: Mapping[str, Any]) -> str:
    """The useful part of a failed task's result: its message, argument errors or failed loop items."""
    parts: list[str] = []
    message = str(result.get("msg", "")).strip()
    if message:
        parts.append(message)
    for error in result.get("argument_errors") or ():
        parts.append(str(error))
    for item in result.get("results") or ():
        if isinstance(item, Mapping) and item.get("failed"):
            parts.append(failure_message(item))
    stderr = str(result.get("stderr", "")).strip()
    if stderr and stderr not in message:
        # A command's or validator's own complaint says more than "non-zero return code".
        parts.append(" | ".join(line.strip() for line in stderr.splitlines()[-3:]))
    return "; ".join(part for part in parts if part) or "failed without a message"


def _result(playbook: str, runner: Any, artifact_dir: Path, progress: _ProgressStream) -> PlaybookResult:
    stats = runner.stats or {}
    counts = {
        "ok": stats.get("ok") or {},
        "changed": stats.get("changed") or {},
        "failed": stats.get("failures") or {},
        "unreachable": stats.get("dark") or {},
        "skipped": stats.get("skipped") or {},
    }
    names = sorted(
        {name for per_host in counts.values() for name in per_host} | set(stats.get("processed") or {})
    )
    hosts = {
        name: HostResult(**{kind: int(per_host.get(name, 0)) for kind, per_host in counts.items()})
        for name in names
    }
    messages = list(progress.failed_messages)
    if runner.status != "successful" and not messages:
        # Ansible stopped before any task (syntax error, missing role, bad inventory): its last words say why.
        messages.append(_stdout_tail(artifact_dir))
    return PlaybookResult(
        playbook=playbook,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        hosts=hosts,
        failed_messages=tuple(messages),
        artifact_dir=artifact_dir,
        reported=progress.reported,
    )


def _stdout_tail(artifact_dir: Path, lines: int = 8) -> str:
    stdout = artifact_dir / "stdout"
    if not stdout.is_file():
        return f"ansible-playbook failed before writing any output; see {artifact_dir}"
    tail = [line for line in stdout.read_text(errors="replace").splitlines() if line.strip()][-lines:]
    return "\n".join(tail) or f"ansible-playbook failed without output; see {artifact_dir}"
