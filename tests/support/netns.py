"""Network namespaces, a bridged underlay and tracked processes for tests that need a real network.

A `NetnsLab` owns everything it creates: namespaces and interfaces carry a random per-lab token in
their names, and `close()` stops exactly the processes it started (by PID) and deletes exactly the
namespaces and links it created. Nothing is looked up or killed by name pattern, so labs of parallel
test runs do not touch each other. Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2.

WireGuard specifics (userspace wireguard-go, since there is no kernel module here):
`start_wireguard_go()` runs one in the foreground inside a namespace; `wg_quick_up()` lets the real
wg-quick start it and adopts the daemon so the lab can stop it.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

WIREGUARD_SOCKET_DIR = Path("/var/run/wireguard")
# Linux limits interface names to 15 characters (IFNAMSIZ - 1).
MAX_INTERFACE_NAME = 15
_PR_SET_CHILD_SUBREAPER = 36


class CommandError(RuntimeError):
    """A command exited non-zero; the message has the command line and its output (never stdin)."""


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `argv`, capturing output. `input` may hold secrets: it is never put into error messages."""
    result = subprocess.run(
        list(argv),
        check=False,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
    )
    if check and result.returncode != 0:
        raise CommandError(
            f"{shlex.join(argv)} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@dataclass(frozen=True)
class Namespace:
    """A network namespace by name; commands run in it through `ip netns exec`."""

    name: str

    def command(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self,
        *argv: str,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return run(self.command(*argv), input=input, env=env, timeout=timeout, check=check)

    def sysctl(self, key: str, value: str) -> None:
        # /proc/sys/net is per network namespace: this changes the namespace, not the host.
        self.run("sysctl", "-q", "-w", f"{key}={value}")


@dataclass
class TrackedProcess:
    """A process the lab started or adopted (always a child of this process); `stop()` ends and reaps it."""

    pid: int
    description: str
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    cleanup_paths: list[Path] = field(default_factory=list)
    _reaped: bool = False

    def alive(self) -> bool:
        if self._reaped:
            return False
        if self.popen is not None:
            return self.popen.poll() is None
        reaped_pid, _ = os.waitpid(self.pid, os.WNOHANG)
        if reaped_pid == self.pid:
            self._reaped = True
        return not self._reaped

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"

    def stop(self, timeout: float = 5.0) -> None:
        if self.alive():
            self._signal(signal.SIGTERM)
            if not self._wait(timeout):
                self._signal(signal.SIGKILL)
                self._wait(timeout)
        for path in self.cleanup_paths:
            path.unlink(missing_ok=True)

    def _signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass  # exited since alive() looked; it is still ours to reap, so the PID was not reused

    def _wait(self, timeout: float) -> bool:
        if self.popen is not None:
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


class NetnsLab:
    """Namespaces, links and processes for one test (or one fixture), all removed by `close()`."""

    def __init__(self, workdir: Path, prefix: str = "lab") -> None:
        self.token = secrets.token_hex(3)
        self.prefix = prefix
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.namespaces: list[Namespace] = []
        self.processes: list[TrackedProcess] = []
        self._root_links: list[str] = []
        self._link_count = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def namespace(self, role: str) -> Namespace:
        """A new namespace with loopback up."""
        namespace = Namespace(f"{self.prefix}-{self.token}-{role}")
        run(["ip", "netns", "add", namespace.name])
        self.namespaces.append(namespace)
        run(["ip", "-n", namespace.name, "link", "set", "lo", "up"])
        return namespace

    def interface_name(self, stem: str) -> str:
        """A name unique to this lab; WireGuard needs that across namespaces (its sockets are shared)."""
        name = f"{stem}{self.token}"
        if len(name) > MAX_INTERFACE_NAME:
            raise ValueError(f"interface stem {stem!r} is too long: {name!r} exceeds {MAX_INTERFACE_NAME}")
        return name

    def bridge(self, owner: Namespace, address: str) -> str:
        """A bridge in `owner` holding `address` (CIDR); returns its name for `attach()`."""
        bridge = self.interface_name("br")
        owner.run("ip", "link", "add", bridge, "type", "bridge")
        owner.run("ip", "address", "add", address, "dev", bridge)
        owner.run("ip", "link", "set", bridge, "up")
        return bridge

    def attach(self, owner: Namespace, bridge: str, member: Namespace, member_address: str) -> None:
        """A veth from `bridge` (in `owner`) to `member`, whose end gets `member_address` (CIDR)."""
        self._link_count += 1
        near, far = f"v{self.token}{self._link_count}a", f"v{self.token}{self._link_count}b"
        # Created in the root namespace first: remembered until both ends have moved away.
        self._root_links.append(near)
        run(["ip", "link", "add", near, "type", "veth", "peer", "name", far])
        run(["ip", "link", "set", near, "netns", owner.name])
        run(["ip", "link", "set", far, "netns", member.name])
        self._root_links.remove(near)
        owner.run("ip", "link", "set", near, "master", bridge, "up")
        member.run("ip", "address", "add", member_address, "dev", far)
        member.run("ip", "link", "set", far, "up")

    def start(
        self,
        namespace: Namespace,
        argv: Sequence[str],
        *,
        description: str,
        env: Mapping[str, str] | None = None,
    ) -> TrackedProcess:
        """Start `argv` in `namespace` in the background, output to a log file in the workdir."""
        log_path = self.workdir / f"{description}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                namespace.command(*argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
            )
        # `ip netns exec` execs the command in place, so this PID is the command's own.
        process = TrackedProcess(pid=popen.pid, description=description, log_path=log_path, popen=popen)
        self.processes.append(process)
        return process

    @contextmanager
    def adopting_orphans(self) -> Iterator[None]:
        """While inside, daemons started by our children are re-parented to us, so we can reap them."""
        _set_child_subreaper(True)
        try:
            yield
        finally:
            _set_child_subreaper(False)

    def adopt(self, pid: int, description: str, log_path: Path) -> TrackedProcess:
        """Track a daemon re-parented to this process by `adopting_orphans()`."""
        parent = _parent_pid(pid)
        if parent != os.getpid():
            raise RuntimeError(
                f"{description} (pid {pid}) is a child of {parent}, not of this process: it was not adopted"
            )
        process = TrackedProcess(pid=pid, description=description, log_path=log_path)
        self.processes.append(process)
        return process

    def close(self) -> None:
        """Stop processes (newest first), then delete links and namespaces; report every failure."""
        failures: list[str] = []
        for process in reversed(self.processes):
            try:
                process.stop()
            except OSError as error:
                failures.append(f"stopping {process.description} (pid {process.pid}): {error}")
        self.processes.clear()
        for link in self._root_links:
            result = run(["ip", "link", "del", link], check=False)
            if result.returncode != 0 and "Cannot find device" not in result.stderr:
                failures.append(f"deleting link {link}: {result.stderr.strip()}")
        self._root_links.clear()
        for namespace in reversed(self.namespaces):
            result = run(["ip", "netns", "del", namespace.name], check=False)
            if result.returncode != 0:
                failures.append(f"deleting namespace {namespace.name}: {result.stderr.strip()}")
        self.namespaces.clear()
        if failures:
            raise RuntimeError("lab teardown failed:\n" + "\n".join(failures))


def start_wireguard_go(
    lab: NetnsLab, namespace: Namespace, interface: str, timeout: float = 5.0
) -> TrackedProcess:
    """wireguard-go for `interface` in `namespace`, in the foreground; returns once its socket exists."""
    process = lab.start(
        namespace,
        ["wireguard-go", "-f", interface],
        description=f"wireguard-go-{interface}",
        env={**os.environ, "WG_PROCESS_FOREGROUND": "1"},
    )
    socket = WIREGUARD_SOCKET_DIR / f"{interface}.sock"
    # wireguard-go removes its socket on SIGTERM; after a SIGKILL the stale file must go too.
    process.cleanup_paths.append(socket)
    deadline = time.monotonic() + timeout
    while not socket.exists():
        if not process.alive():
            raise RuntimeError(f"wireguard-go for {interface} exited early:\n{process.log()}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"wireguard-go for {interface} created no socket in {timeout} s:\n{process.log()}"
            )
        time.sleep(0.02)
    return process


def wg_quick_up(lab: NetnsLab, namespace: Namespace, config_path: Path) -> TrackedProcess:
    """Run the real `wg-quick up CONFIG` in `namespace`; returns the wireguard-go daemon it started.

    wg-quick starts the userspace implementation itself and leaves it running in the background. The
    launcher given to it records the daemon's PID and the lab adopts the daemon, so teardown can stop
    it like any other process.
    """
    interface = config_path.stem
    pid_file = lab.workdir / f"wireguard-go-{interface}.pid"
    log_path = lab.workdir / f"wireguard-go-{interface}.log"
    launcher = lab.workdir / "wireguard-go-launcher.sh"
    launcher.write_text(
        "#!/bin/sh\n"
        "# Called by wg-quick as '$0 IFNAME'. wireguard-go runs detached from wg-quick's output pipes,\n"
        "# its PID is recorded for the test, and wg-quick continues once the control socket exists.\n"
        "set -eu\n"
        f'WG_PROCESS_FOREGROUND=1 wireguard-go -f "$1" </dev/null >>{shlex.quote(str(log_path))} 2>&1 &\n'
        f"echo $! >{shlex.quote(str(pid_file))}\n"
        "tries=0\n"
        f'while [ ! -S "{WIREGUARD_SOCKET_DIR}/$1.sock" ]; do\n'
        "  tries=$((tries + 1))\n"
        '  if [ "$tries" -gt 100 ]; then echo "wireguard-go created no socket" >&2; exit 1; fi\n'
        "  sleep 0.05\n"
        "done\n"
    )
    launcher.chmod(0o700)
    env = {**os.environ, "WG_QUICK_USERSPACE_IMPLEMENTATION": str(launcher)}
    daemon: TrackedProcess | None = None
    with lab.adopting_orphans():
        try:
            namespace.run("wg-quick", "up", str(config_path), env=env)
        finally:
            # Adopt even when wg-quick failed after starting the daemon, so teardown still stops it.
            if pid_file.exists():
                daemon = lab.adopt(int(pid_file.read_text()), f"wireguard-go-{interface}", log_path)
                daemon.cleanup_paths.append(WIREGUARD_SOCKET_DIR / f"{interface}.sock")
    if daemon is None:
        raise RuntimeError(f"wg-quick up {config_path} did not start wireguard-go through the launcher")
    return daemon


def _set_child_subreaper(enabled: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, int(enabled), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(errno)}")


def _parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may contain spaces and parentheses: fields after the last ')' are fixed.
    return int(stat.rsplit(")", 1)[1].split()[1])
