"""Podman containers with systemd as PID 1, used as Ansible targets by the bare-metal tests.

The image `localhost/mojaloop-iac-target:bookworm` is built from a debootstrap minbase tree (no image
registry is reachable) plus the Containerfile in tests/images/target, by `python -m tests.support.podman`
(scripts/test runs it before the suite: building downloads Debian packages, which tests never do). The
tests only check that the image matches the Containerfile (its sha256 is a label of the image).

Containers run rootful with `--systemd=always` on an internal podman network the test creates, so they
reach each other but nothing outside the machine. The host reaches each container's sshd through a port
on 127.0.0.1 that leads into the container's own loopback (tests.support.netns_forward), so no test
connection depends on bridge routing; every address handed to ssh passes the route guard first
(tests.support.network_guard). Every container, network and forward a `TargetPool` creates is removed by it.

Rootful podman here needs a containers.conf (runc, ulimits the default cannot set in this VM, and the
netavark network backend named, so a machine that also has the CNI plugins behaves the same);
`podman_env` writes one to a temporary directory and points CONTAINERS_CONF at it for the session, which
the Ansible podman connection inherits through ansible-runner.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mojaloop_iac.paths import REPO_ROOT
from tests.support.netns_forward import NamespacePortForward
from tests.support.network_guard import INSTALL_HINT, require_local_route

TARGET_IMAGE = "localhost/mojaloop-iac-target:bookworm"
BASE_IMAGE = "localhost/mojaloop-iac-bookworm-minbase:latest"
TARGET_IMAGE_DIR = REPO_ROOT / "tests" / "images" / "target"
CONTAINERFILE_LABEL = "io.mojaloop-iac.containerfile-sha256"
DEBIAN_MIRROR = "http://deb.debian.org/debian"

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
"""
BUILD_COMMAND = "scripts/test (or: .venv/bin/python -m tests.support.podman)"


class PodmanError(RuntimeError):
    """A podman (or debootstrap) command failed; the message carries its output."""


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run(["podman", *args], timeout=timeout, check=check)


def _run(
    command: Sequence[str], *, timeout: float, check: bool, stdin: Any = None
) -> subprocess.CompletedProcess[str]:
    if shutil.which(command[0]) is None:
        raise PodmanError(f"{command[0]} is not installed: run scripts/install-system-tools ({INSTALL_HINT})")
    completed = subprocess.run(
        list(command), capture_output=True, text=True, timeout=timeout, check=False, stdin=stdin
    )
    if check and completed.returncode != 0:
        raise PodmanError(
            f"{' '.join(command)} exited {completed.returncode}:\n{completed.stdout[-2000:]}{completed.stderr[-4000:]}"
        )
    return completed


def write_containers_conf(directory: Path) -> Path:
    path = Path(directory) / "containers.conf"
    path.write_text(CONTAINERS_CONF)
    return path


def containerfile_digest() -> str:
    return hashlib.sha256((TARGET_IMAGE_DIR / "Containerfile").read_bytes()).hexdigest()


def image_label(image: str, label: str) -> str | None:
    """The label's value, or None when the image does not exist."""
    if podman("image", "exists", image, check=False).returncode != 0:
        return None
    return podman("image", "inspect", "--format", f'{{{{ index .Labels "{label}" }}}}', image).stdout.strip()


def ensure_base_image() -> None:
    """Import a debootstrap minbase bookworm tree as BASE_IMAGE unless it is there (~25 s)."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return
    with tempfile.TemporaryDirectory(prefix="mojaloop-iac-debootstrap-") as tree:
        _run(["debootstrap", "--variant=minbase", "bookworm", tree, DEBIAN_MIRROR], timeout=900, check=True)
        tar = subprocess.Popen(["tar", "-C", tree, "-c", "."], stdout=subprocess.PIPE)
        try:
            _run(["podman", "import", "-", BASE_IMAGE], timeout=300, check=True, stdin=tar.stdout)
        finally:
            assert tar.stdout is not None
            tar.stdout.close()
            if tar.wait(timeout=60) != 0:
                raise PodmanError("tar of the debootstrap tree failed")


def require_target_image() -> str:
    """TARGET_IMAGE if it was built from the current Containerfile; the tests never build it themselves."""
    found = image_label(TARGET_IMAGE, CONTAINERFILE_LABEL)
    if found != containerfile_digest():
        state = "is missing" if found is None else "was built from another Containerfile"
        raise PodmanError(f"{TARGET_IMAGE} {state}: build it with {BUILD_COMMAND}")
    return TARGET_IMAGE


def ensure_target_image() -> str:
    """Build TARGET_IMAGE unless an image built from the current Containerfile exists; returns its name."""
    digest = containerfile_digest()
    if image_label(TARGET_IMAGE, CONTAINERFILE_LABEL) == digest:
        return TARGET_IMAGE
    outdated = image_id(TARGET_IMAGE)
    ensure_base_image()
    podman(
        "build",
        "--network",
        "host",  # apt-get inside the build reaches the Debian mirror through the host
        "--label",
        f"{CONTAINERFILE_LABEL}={digest}",
        "-t",
        TARGET_IMAGE,
        "-f",
        str(TARGET_IMAGE_DIR / "Containerfile"),
        str(TARGET_IMAGE_DIR),
        timeout=900,
    )
    if outdated is not None and outdated != image_id(TARGET_IMAGE):
        # The image this build replaced, now untagged; still in use by a container it stays.
        podman("rmi", outdated, check=False)
    return TARGET_IMAGE


def image_id(image: str) -> str | None:
    if podman("image", "exists", image, check=False).returncode != 0:
        return None
    return podman("image", "inspect", "--format", "{{ .Id }}", image).stdout.strip()


@dataclass(frozen=True)
class Target:
    """A running container: `name` is its inventory host name, `container` the podman name.

    `address` is its address on the test's network (`network_interface` is that network's bridge); its
    sshd is reached at `ssh_host`:`ssh_port`, a port on 127.0.0.1 leading into the container.
    """

    name: str
    container: str
    container_id: str
    address: str
    network_interface: str
    ssh_host: str
    ssh_port: int

    def host_vars(self) -> dict[str, str]:
        """Inventory variables that reach the container through the Ansible podman connection."""
        return {
            "ansible_connection": "containers.podman.podman",
            "ansible_host": self.container,
            "ansible_python_interpreter": "/usr/bin/python3",
        }

    def exec(
        self, *command: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.container_id, *command, check=check, timeout=timeout)

    def shell(
        self, script: str, *, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return self.exec("bash", "-c", script, check=check, timeout=timeout)

    def file_text(self, path: str) -> str:
        return self.exec("cat", path).stdout

    def exists(self, path: str) -> bool:
        return self.exec("test", "-e", path, check=False).returncode == 0


@dataclass
class TargetPool:
    """Creates containers and networks and removes exactly those on `close()`."""

    image: str
    prefix: str = field(default_factory=lambda: f"baremetal-test-{os.getpid()}")
    _containers: list[str] = field(default_factory=list)
    _networks: list[str] = field(default_factory=list)
    _forwards: list[NamespacePortForward] = field(default_factory=list)

    def network(self, suffix: str) -> str:
        """An internal network: containers on it reach each other, not the outside world."""
        name = f"{self.prefix}-{suffix}"
        podman("network", "create", "--internal", name)
        self._networks.append(name)
        return name

    def network_interface(self, network: str) -> str:
        """The host-side bridge of `network`, which this pool created."""
        if network not in self._networks:
            raise ValueError(f"{network} was not created by this pool")
        return podman("network", "inspect", "--format", "{{ .NetworkInterface }}", network).stdout.strip()

    def start(
        self,
        names: Sequence[str],
        *,
        network: str,
        tun: bool = False,
        sysctls: Mapping[str, str] | None = None,
    ) -> list[Target]:
        """Start one container per name and wait until systemd has booted in each."""
        started = []
        for name in names:
            container = f"{self.prefix}-{name}"
            args = [
                "run",
                "-d",
                "--systemd=always",
                "--name",
                container,
                "--hostname",
                name,
                "--network",
                network,
            ]
            # NET_ADMIN: the firewall and WireGuard roles configure the container's own network namespace.
            args += ["--cap-add", "NET_ADMIN"]
            if tun:
                args += ["--device", "/dev/net/tun"]
            for key, value in (sysctls or {}).items():
                args += ["--sysctl", f"{key}={value}"]
            container_id = podman(*args, self.image).stdout.strip()
            self._containers.append(container_id)
            address, namespace = podman(
                "inspect",
                "--format",
                f'{{{{ (index .NetworkSettings.Networks "{network}").IPAddress }}}} {{{{ .NetworkSettings.SandboxKey }}}}',
                container_id,
            ).stdout.split()
            forward = NamespacePortForward(Path(namespace), 22, name=name)
            self._forwards.append(forward)
            started.append(
                Target(
                    name=name,
                    container=container,
                    container_id=container_id,
                    address=address,
                    network_interface=self.network_interface(network),
                    ssh_host="127.0.0.1",
                    ssh_port=forward.port,
                )
            )
        for target in started:
            _wait_for_systemd(target)
        return started

    def close(self) -> None:
        errors = []
        for forward in self._forwards:
            forward.close()
        self._forwards.clear()
        if self._containers:
            done = podman("rm", "--force", "--time", "0", *self._containers, check=False, timeout=120)
            if done.returncode != 0:
                errors.append(done.stderr)
            self._containers.clear()
        for network in self._networks:
            done = podman("network", "rm", network, check=False)
            if done.returncode != 0:
                errors.append(done.stderr)
        self._networks.clear()
        if errors:
            raise PodmanError("cleanup failed:\n" + "\n".join(errors))


@dataclass(frozen=True)
class SshAccess:
    """Key-based SSH as the image's `ansible` sudo user, the way Ansible reaches a bare-metal host.

    Host keys are pinned in a known_hosts file (host key checking stays on) and ControlPath points into
    `directory`, so `close()` can stop exactly the connection masters Ansible started.
    """

    directory: Path

    @property
    def private_key(self) -> Path:
        return self.directory / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @classmethod
    def create(cls, directory: Path) -> SshAccess:
        access = cls(Path(directory))
        _run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "mojaloop-iac-test",
                "-f",
                str(access.private_key),
            ],
            timeout=30,
            check=True,
        )
        access.known_hosts.touch()
        return access

    def authorize(self, target: Target) -> None:
        """Let the test key log in as `ansible` and pin the container's host key."""
        public_key = self.private_key.with_suffix(".pub").read_text()
        podman(
            "exec",
            target.container_id,
            "bash",
            "-c",
            "umask 077 && printf '%s' \"$1\" > /home/ansible/.ssh/authorized_keys "
            "&& chown ansible:ansible /home/ansible/.ssh/authorized_keys",
            "authorize",
            public_key,
        )
        host_key = target.exec("cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[:2]
        with self.known_hosts.open("a") as handle:
            handle.write(f"[{target.ssh_host}]:{target.ssh_port} {' '.join(host_key)}\n")

    def host_vars(self, target: Target) -> dict[str, Any]:
        """Inventory variables that reach the container over SSH; `node_address` is its own address."""
        require_local_route(target.ssh_host, [target.network_interface])
        options = [
            f"-o UserKnownHostsFile={self.known_hosts}",
            "-o StrictHostKeyChecking=yes",
            "-o IdentitiesOnly=yes",
            "-o BatchMode=yes",
            f"-o ControlPath={self.directory}/cp-%C",
        ]
        return {
            "ansible_host": target.ssh_host,
            "ansible_port": target.ssh_port,
            "node_address": target.address,
            "ansible_user": "ansible",
            "ansible_ssh_private_key_file": str(self.private_key),
            "ansible_ssh_common_args": " ".join(options),
            "ansible_python_interpreter": "/usr/bin/python3",
        }

    def ssh_argv(self, target: Target, options: Sequence[str] = (), command: Sequence[str] = ()) -> list[str]:
        """`ssh [OPTIONS] ansible@TARGET [COMMAND]` with the test's known_hosts, once the route guard allows it."""
        require_local_route(target.ssh_host, [target.network_interface])
        return [
            "ssh",
            "-p",
            str(target.ssh_port),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            *options,
            f"ansible@{target.ssh_host}",
            *command,
        ]

    def close(self, targets: Sequence[Target]) -> None:
        """Stop the SSH connection masters (ControlPersist) Ansible left for `targets`."""
        for target in targets:
            # No master left for this host means nothing to stop.
            _run(
                self.ssh_argv(target, ["-o", f"ControlPath={self.directory}/cp-%C", "-O", "exit"]),
                timeout=30,
                check=False,
            )


def _wait_for_systemd(target: Target, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = target.exec("systemctl", "is-system-running", check=False).stdout.strip()
        # "degraded": some unit failed, which a minimal container may well have; the manager is up.
        if state in ("running", "degraded"):
            return
        time.sleep(0.2)
    raise PodmanError(
        f"systemd in {target.container} did not finish booting within {timeout}s (state {state!r})"
    )


@pytest.fixture(scope="session")
def podman_env() -> Iterator[Path]:
    """CONTAINERS_CONF for the session (podman here needs runc and explicit ulimits)."""
    with (
        tempfile.TemporaryDirectory(prefix="mojaloop-iac-podman-") as directory,
        pytest.MonkeyPatch.context() as mp,
    ):
        conf = write_containers_conf(Path(directory))
        mp.setenv("CONTAINERS_CONF", str(conf))
        yield conf


@pytest.fixture(scope="session")
def target_image(podman_env: Path) -> str:
    return require_target_image()


def main() -> None:
    """Build the test image (downloads Debian packages: run before the suite, never from a test)."""
    with tempfile.TemporaryDirectory(prefix="mojaloop-iac-podman-") as directory:
        os.environ["CONTAINERS_CONF"] = str(write_containers_conf(Path(directory)))
        print(ensure_target_image())


if __name__ == "__main__":
    main()
