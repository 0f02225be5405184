"""The in-cluster hub (AWS) for real: its key pair generated into a real OpenBao, its planned pod program run
in a network namespace with real wg-quick and wireguard-go, and two environment peers handshaking with it.

What the pod does, done here the same way: the init container's exact command switches forwarding on in
the hub's namespace; the ConfigMap's exact text becomes the wg-quick file; the private key is read from
Vault's KV as External Secrets reads it and written where the Secret volume puts it; the container's exact
program brings the interface up and, on SIGTERM, down. Only the mount points differ (a temporary directory
instead of /etc/wireguard-hub*), and the interface is named per lab because wireguard-go's control sockets
are shared between namespaces. The peers' configurations are the `wireguardPeerConfigs` an AWS control
center exports, rendered with the public key the Vault resource output.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mojaloop_iac.config.models import WireGuardMesh
from mojaloop_iac.planners.control_center.wireguard_hub import (
    CONFIG_FILE,
    KEY_FILE,
    WireGuardHubInput,
    WireGuardHubPlan,
    plan_wireguard_hub,
    probe_script,
    start_script,
)
from mojaloop_iac.planners.mesh import KEY_PATH, peer_configs, plan_hub_side, plan_wireguard_mesh
from mojaloop_iac.vault.paths import secret_path
from mojaloop_iac.vault.providers import KvV2MountProvider
from mojaloop_iac.wireguard import PeerHealth, generate_keypair, hub_peer_health, parse_latest_handshakes
from mojaloop_iac.wireguard.vault_key import WireGuardKeyProvider
from tests.support.netns import (
    WIREGUARD_SOCKET_DIR,
    Namespace,
    NetnsLab,
    TrackedProcess,
    run,
    wg_quick_up,
)
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

MESH_CIDR = "10.247.0.0/24"
HUB_UNDERLAY = "10.246.0.1"
UNDERLAY_PREFIX = 24
PORT = 51820
PEERS = {"env-a": "10.246.0.2", "env-b": "10.246.0.3"}
ROUTED_BEHIND_A = "10.245.1.0/24"
HOST_BEHIND_A = "10.245.1.1"
CONTROL_CENTER = "cc-test"
TIMEOUT = 10.0


@dataclass
class Hub:
    namespace: Namespace
    interface: str
    pod: TrackedProcess
    plan: WireGuardHubPlan
    public_key: str


@dataclass
class Lab:
    lab: NetnsLab
    mesh: WireGuardMesh
    hub: Hub
    peers: dict[str, tuple[Namespace, str]]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def write_private(path: Path, text: str) -> Path:
    """As the pod's volumes hold them: owned by root, mode 0400 (defaultMode of both volumes)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    return path


def mesh_config(peer_keys: dict[str, str]) -> WireGuardMesh:
    """An AWS control center's mesh: no hub host, no hub public key."""
    return WireGuardMesh.model_validate(
        {
            "cidr": MESH_CIDR,
            "hub": {"endpoint": f"{HUB_UNDERLAY}:{PORT}", "listenPort": PORT},
            "peers": {
                name: {"kind": "environment", "publicKey": key,
                       **({"allowedIps": [ROUTED_BEHIND_A]} if name == "env-a" else {})}
                for name, key in peer_keys.items()
            },
        }
    )


def vault_generated_hub_key(server: OpenBaoServer, workdir: Path) -> tuple[str, Path]:
    """The hub key pair through WireGuardKeyInVault; the private key fetched as External Secrets does."""
    path = secret_path(CONTROL_CENTER, "wireguard", "wireguard-hub-key")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAULT_TOKEN", server.root_token)
        KvV2MountProvider().create({"address": server.address, "path": "mojaloop"})
        public_key = WireGuardKeyProvider().create({"address": server.address, "path": path}).outs["public_key"]
    answer = server.client().secrets.kv.v2.read_secret_version(
        path, mount_point="mojaloop", raise_on_deleted_version=True
    )
    data = answer["data"]["data"]
    secret_dir = workdir / "wireguard-hub-key"
    secret_dir.mkdir()
    return public_key, write_private(secret_dir / "private-key", data["private-key"])


def userspace_launcher(lab: NetnsLab, interface: str) -> tuple[dict[str, str], Path, Path]:
    """wg-quick's fallback without the kernel module, recording wireguard-go's PID for adoption."""
    pid_file, log = lab.workdir / f"wireguard-go-{interface}.pid", lab.workdir / f"wireguard-go-{interface}.log"
    launcher = lab.workdir / f"launcher-{interface}.sh"
    launcher.write_text(
        "#!/bin/sh\nset -eu\n"
        f'WG_PROCESS_FOREGROUND=1 wireguard-go -f "$1" </dev/null >>{shlex.quote(str(log))} 2>&1 &\n'
        f"echo $! >{shlex.quote(str(pid_file))}\n"
        f'while [ ! -S "{WIREGUARD_SOCKET_DIR}/$1.sock" ]; do sleep 0.05; done\n'
    )
    launcher.chmod(0o700)
    return {**os.environ, "WG_QUICK_USERSPACE_IMPLEMENTATION": str(launcher)}, pid_file, log


def start_hub(
    lab: NetnsLab, namespace: Namespace, plan: WireGuardHubPlan, key_file: Path, public_key: str
) -> Hub:
    pod = next(m for m in plan.manifests if m["kind"] == "Deployment")["spec"]["template"]["spec"]
    [init], [container] = pod["initContainers"], pod["containers"]
    # The init container, as planned: forwarding on in the pod's (here: the hub's) network namespace.
    namespace.run(*init["command"])
    interface = lab.interface_name("wghub")
    config = write_private(lab.workdir / f"{interface}.conf", plan.config.replace(KEY_FILE, str(key_file)))
    assert container["command"] == ["/bin/bash", "-ec"] and container["args"] == [start_script()]
    program = container["args"][0].replace(CONFIG_FILE, str(config))
    assert program == start_script(str(config))
    env, pid_file, log = userspace_launcher(lab, interface)
    with lab.adopting_orphans():
        process = lab.start(namespace, [*container["command"], program], description="hub-pod", env=env)
        wait_for(pid_file.exists, "wg-quick to start wireguard-go")
        daemon_pid = int(pid_file.read_text())
        # The launcher exits once the socket exists: wireguard-go is then re-parented to this process.
        wait_for(lambda: _parent(daemon_pid) == os.getpid(), "wireguard-go to be adopted")
        lab.adopt(daemon_pid, f"wireguard-go-{interface}", log)
    return Hub(namespace, interface, process, plan, public_key)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def probe(hub: Hub) -> subprocess.CompletedProcess[str]:
    return hub.namespace.run("/bin/bash", "-c", probe_script(PORT, hub.interface), check=False)


def hub_health(built: Lab) -> dict[str, PeerHealth]:
    output = built.hub.namespace.run("wg", "show", built.hub.interface, "latest-handshakes").stdout
    plan = plan_wireguard_mesh(built.mesh, built.hub.public_key)
    return hub_peer_health(plan, parse_latest_handshakes(output, now=time.time()))


def ping_ttl(namespace: Namespace, destination: str) -> int:
    output = namespace.run("ping", "-c", "1", "-W", "3", destination).stdout
    match = re.search(r"ttl=(\d+)", output)
    assert match, output
    return int(match.group(1))


@pytest.fixture(scope="module")
def built(openbao: OpenBaoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:  # noqa: F811
    workdir = tmp_path_factory.mktemp("wireguard-hub-in-cluster")
    public_key, key_file = vault_generated_hub_key(openbao, workdir)
    peer_keys = {name: generate_keypair() for name in PEERS}
    mesh = mesh_config({name: pair.public_key for name, pair in peer_keys.items()})
    plan = plan_wireguard_hub(WireGuardHubInput(CONTROL_CENTER, plan_hub_side(mesh)))
    lab = NetnsLab(workdir / "lab", prefix="mojahub")
    try:
        hub_namespace = lab.namespace("hub")
        bridge = lab.bridge(hub_namespace, f"{HUB_UNDERLAY}/{UNDERLAY_PREFIX}")
        hub = start_hub(lab, hub_namespace, plan, key_file, public_key)
        wait_for(lambda: probe(hub).returncode == 0, "the hub's readiness probe")
        peers = {}
        configs = peer_configs(mesh, public_key)  # what wireguardPeerConfigs exports on AWS
        for name, pair in peer_keys.items():
            namespace = lab.namespace(name)
            lab.attach(hub.namespace, bridge, namespace, f"{PEERS[name]}/{UNDERLAY_PREFIX}")
            interface = lab.interface_name(f"wg{name[-1]}")
            key = write_private(lab.workdir / f"{interface}.key", pair.private_key + "\n")
            config = write_private(lab.workdir / f"{interface}.conf", configs[name].replace(KEY_PATH, str(key)))
            wg_quick_up(lab, namespace, config)
            peers[name] = (namespace, interface)
        peers["env-a"][0].run("ip", "address", "add", f"{HOST_BEHIND_A}/32", "dev", "lo")
        result = Lab(lab, mesh, hub, peers)
        wait_for(lambda: set(hub_health(result).values()) == {PeerHealth.HEALTHY}, "both peers to handshake")
        yield result
    finally:
        lab.close()


def test_the_running_hub_holds_the_key_vault_generated_and_the_planned_peers(built: Lab) -> None:
    hub = built.hub
    live_public = hub.namespace.run("wg", "show", hub.interface, "public-key").stdout.strip()
    assert live_public == hub.public_key
    assert hub.namespace.run("wg", "show", hub.interface, "listen-port").stdout.strip() == str(PORT)
    peers = hub.namespace.run("wg", "show", hub.interface, "peers").stdout.split()
    assert sorted(peers) == sorted(str(p.public_key) for p in built.mesh.peers.values())
    assert "PrivateKey" not in hub.plan.config and hub.public_key not in hub.plan.config


def test_the_readiness_probe_passes_on_the_running_hub(built: Lab) -> None:
    assert probe(built.hub).returncode == 0
    # The same probe against an interface that does not exist fails: it is not vacuous.
    missing = built.hub.namespace.run("/bin/bash", "-c", probe_script(PORT, "wgnone"), check=False)
    assert missing.returncode != 0


def test_every_peer_is_healthy_by_handshake_age(built: Lab) -> None:
    assert hub_health(built) == {"env-a": PeerHealth.HEALTHY, "env-b": PeerHealth.HEALTHY}


def test_the_hub_forwards_between_peers_thanks_to_the_init_container(built: Lab) -> None:
    plan = plan_wireguard_mesh(built.mesh, built.hub.public_key)
    b_namespace = built.peers["env-b"][0]
    assert built.hub.namespace.run("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    assert ping_ttl(b_namespace, str(plan.peer("env-a").address)) == 63
    assert ping_ttl(b_namespace, HOST_BEHIND_A) == 63
    assert ping_ttl(b_namespace, str(plan.hub.address)) == 64


def test_stopping_the_pod_takes_the_interface_down(built: Lab) -> None:
    """Last in the module: the kubelet's SIGTERM runs the program's trap, wg-quick down."""
    pod = built.hub.pod
    assert pod.popen is not None
    os.kill(pod.pid, signal.SIGTERM)
    assert pod.popen.wait(timeout=TIMEOUT) == 0, pod.log()
    gone = built.hub.namespace.run("ip", "link", "show", built.hub.interface, check=False)
    assert gone.returncode != 0
    assert run(["test", "-e", str(WIREGUARD_SOCKET_DIR / f"{built.hub.interface}.sock")], check=False).returncode != 0
