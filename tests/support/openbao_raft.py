"""A production-like OpenBao for tests: raft storage, a declared file audit device, real init and unseal.

Unlike the dev server (tests/support/openbao.py), this one starts uninitialised and sealed, exactly like a
freshly installed control-center Vault. Its configuration file is rendered by the same function the server
planner uses for the Helm chart (`render_server_config`), only with loopback addresses and temporary paths.
The server listens on free loopback ports, keeps everything in a temporary directory and is stopped by PID.

`OperatorKeyring` plays the key holders: throwaway RSA OpenPGP keys in a temporary GNUPGHOME (Debian's
`gpg`), exported the way operators hand them over, and used to decrypt what Vault encrypted to them.
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import hvac

from mojaloop_iac.planners.vault_server import AuditFileDevice, ServerConfig, render_server_config
from tests.support.openbao import _free_port_pair, _log_tail, _stop, bao_binary

_STARTUP_ATTEMPTS = 4
# The raft leader election after init and unseal takes about a second with performance_multiplier 1.
ACTIVE_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class RaftServer:
    address: str
    pid: int
    workdir: Path
    config_path: Path
    log_path: Path
    audit_device: AuditFileDevice
    ca_file: Path | None = None

    def client(self, token: str | None = None) -> hvac.Client:
        verify: str | bool = str(self.ca_file) if self.ca_file else True
        return hvac.Client(url=self.address, token=token, verify=verify, timeout=10)

    def seal_status(self) -> dict:
        return self.client().sys.read_seal_status()

    def unseal(self, clear_shares: list[str]) -> None:
        """Submit key shares as the operators would, then wait until the node is the active leader."""
        client = self.client()
        for share in clear_shares:
            client.sys.submit_unseal_key(share)
        self.wait_active()

    def wait_active(self, timeout: float = ACTIVE_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.address}/v1/sys/health", timeout=1, context=context):
                    return  # 200: initialised, unsealed and active
            except (urllib.error.HTTPError, OSError):
                time.sleep(0.05)
        raise TimeoutError(f"OpenBao at {self.address} did not become active:\n{_log_tail(self.log_path)}")


def raft_config(workdir: Path, port: int, audit_device: AuditFileDevice) -> str:
    """The planner's renderer with loopback addresses, no TLS and temporary paths."""
    return render_server_config(
        ServerConfig(
            listener_address=f"127.0.0.1:{port}",
            cluster_listener_address=f"127.0.0.1:{port + 1}",
            raft_path=str(workdir / "raft"),
            tls=None,
            audit_devices=(audit_device,),
            node_id="node-0",
            api_addr=f"http://127.0.0.1:{port}",
            cluster_addr=f"https://127.0.0.1:{port + 1}",
        )
    )


def _wait_serving(
    address: str, process: subprocess.Popen[bytes], deadline: float, context: ssl.SSLContext | None
) -> bool:
    """True once the API answers (an uninitialised server answers seal-status); False if it died."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{address}/v1/sys/seal-status", timeout=1, context=context):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"OpenBao at {address} not serving in time")


@contextmanager
def run_openbao_raft(
    workdir: Path,
    *,
    extra_config: str = "",
    config: Callable[[int], str] | None = None,
    ca_file: Path | None = None,
    timeout: float = 15.0,
) -> Iterator[RaftServer]:
    """Start an uninitialised single-node raft OpenBao.

    By default the configuration is `raft_config` plus `extra_config` (e.g. a seal stanza); `config` replaces
    it with any text for the chosen port (which the server listens on, with TLS when `ca_file` is given:
    its API is then reached as https and verified against that CA).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "raft").mkdir(exist_ok=True)
    (workdir / "audit").mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(workdir)
    audit_device = AuditFileDevice("file", str(workdir / "audit" / "audit.log"))
    for attempt in range(_STARTUP_ATTEMPTS):
        port = _free_port_pair()
        address = f"{'https' if ca_file else 'http'}://127.0.0.1:{port}"
        config_path = workdir / f"server-{port}.hcl"
        text = config(port) if config else raft_config(workdir, port, audit_device) + extra_config
        config_path.write_text(text, encoding="utf-8")
        log_path = workdir / f"bao-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(bao_binary()), "server", f"-config={config_path}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
            )
        try:
            context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
            if not _wait_serving(address, process, time.monotonic() + timeout, context):
                if attempt + 1 < _STARTUP_ATTEMPTS and "address already in use" in _log_tail(log_path):
                    continue
                raise RuntimeError(
                    f"bao server exited with code {process.returncode}:\n{_log_tail(log_path)}"
                )
            yield RaftServer(address, process.pid, workdir, config_path, log_path, audit_device, ca_file)
            return
        finally:
            _stop(process)
    raise RuntimeError("bao server could not bind a free port")


class OperatorKeyring:
    """Throwaway OpenPGP keys of the key holders, in their own GNUPGHOME; its gpg-agent is stopped on close."""

    def __init__(self, home: Path) -> None:
        if shutil.which("gpg") is None or shutil.which("gpgconf") is None:
            raise FileNotFoundError(
                "gpg is needed to play the operators: install it with `apt-get install gnupg`"
            )
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home = home
        self.fingerprints: dict[str, str] = {}

    def _gpg(self, *args: str, stdin: bytes | None = None) -> bytes:
        result = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(self.home),
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                *args,
            ],
            input=stdin,
            capture_output=True,
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def create(self, name: str) -> str:
        """A new key pair for `name`; returns its fingerprint."""
        uid = f"{name} <{name}@operators.invalid>"
        self._gpg("--quick-gen-key", uid, "rsa2048", "cert", "never")
        listing = self._gpg("--with-colons", "--list-keys", f"<{name}@operators.invalid>").decode()
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        self._gpg("--quick-add-key", fingerprint, "rsa2048", "encr", "never")
        self.fingerprints[name] = fingerprint
        return fingerprint

    def public_key_base64(self, name: str) -> str:
        return base64.b64encode(self._gpg("--export", self.fingerprints[name])).decode()

    def public_key_armored(self, name: str) -> str:
        return self._gpg("--armor", "--export", self.fingerprints[name]).decode()

    def decrypt(self, encrypted_base64: str) -> str:
        """What an operator does with their share: `base64 -d | gpg -dq`."""
        return self._gpg("--quiet", "--decrypt", stdin=base64.b64decode(encrypted_base64)).decode().strip()

    def can_decrypt(self, encrypted_base64: str) -> bool:
        try:
            self.decrypt(encrypted_base64)
        except RuntimeError:
            return False
        return True

    def close(self) -> None:
        subprocess.run(
            ["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"], check=False, timeout=30
        )
