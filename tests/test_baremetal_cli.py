"""`mojactl baremetal STACK check|apply` end to end: the inventory comes from the stack file, the playbooks
run through ansible-runner against a podman container with systemd, results land in result.json.

k3s cannot run in a container: apply skips the `k3s_start` steps and uses the stand-in installer and
binary (tests/images/k3s-standin) through the air-gapped settings k3sInstallScriptPath/k3sBinaryPath.
"""

from __future__ import annotations

import hashlib

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mojaloop_iac import cli, contract
from mojaloop_iac.paths import REPO_ROOT
from tests.support.network_guard import require_local_route
from tests.support.podman import SshAccess, Target, TargetPool, podman_env, target_image  # noqa: F401

pytestmark = pytest.mark.slow

STANDIN_DIR = REPO_ROOT / "tests" / "images" / "k3s-standin"
K3S_VERSION = "v1.28.15+k3s1"


def host_entry(name: str, target: Target, *, ssh_port: int | None = None) -> dict:
    """The stack's host: its node address on the test network, SSH through the port on 127.0.0.1."""
    require_local_route(target.ssh_host, [target.network_interface])
    return {
        "name": name,
        "address": target.address,
        "sshHost": target.ssh_host,
        "sshPort": ssh_port or target.ssh_port,
        "role": "server",
        "pool": "core",
    }


def stack_file(path: Path, ssh: SshAccess, hosts: list[dict], work: Path) -> str:
    binary = work / f"k3s-{K3S_VERSION}"
    binary.write_text((STANDIN_DIR / "k3s.in").read_text().replace("@K3S_VERSION@", K3S_VERSION))
    binary.chmod(0o755)
    environment = {
        "name": "clitest",
        "substrate": "baremetal",
        "kubernetes": {"version": "1.28"},
        "domains": {"internal": "int.clitest.example", "external": "clitest.example"},
        "mojaloop": {"release": "15.2.0"},
        "vault": {"address": "https://vault.int.cc.mojaloop.example"},
        "nodePools": {
            "core": {
                "workloadClasses": list(contract.WORKLOAD_CLASSES),
                # PreferNoSchedule: on a one-pool cluster a NoSchedule taint would keep the cluster's own
                # services off every node, which validation refuses.
                "taints": [{"key": "moja-enabled", "value": "true", "effect": "PreferNoSchedule"}],
            }
        },
        "baremetal": {
            "hosts": hosts,
            "sshUser": "ansible",
            "sshPrivateKeyFile": str(ssh.private_key),
            "sshKnownHostsFile": str(ssh.known_hosts),
            "k3sInstallScriptPath": str(STANDIN_DIR / "install.sh"),
            "k3sInstallScriptSha256": hashlib.sha256((STANDIN_DIR / "install.sh").read_bytes()).hexdigest(),
            "k3sBinaryPath": str(binary),
        },
    }
    path.write_text(yaml.safe_dump({"config": {"mojaloop:environment": environment}}))
    return str(path)


@pytest.fixture(scope="module")
def host(target_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, SshAccess, Path]]:  # noqa: F811
    work = tmp_path_factory.mktemp("baremetal-cli")
    ssh = SshAccess.create(work)
    pool = TargetPool(target_image, prefix="baremetal-cli-test")
    targets: list[Target] = []
    try:
        targets = pool.start(["clitest-1"], network=pool.network("hosts"))
        ssh.authorize(targets[0])
        yield targets[0], ssh, work
    finally:
        ssh.close(targets)
        pool.close()


@pytest.fixture(autouse=True)
def no_lingering_ssh_masters(monkeypatch):
    """Each SSH connection ends with its task, so no process outlives the test."""
    monkeypatch.setenv("ANSIBLE_SSH_ARGS", "-o ControlMaster=no")


def result_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def test_check_reaches_the_stack_hosts_and_changes_nothing(host, capsys):
    target, ssh, work = host
    stack = stack_file(work / "Pulumi.clitest.yaml", ssh,
                       [host_entry("clitest-1", target)], work)
    code = cli.main(["baremetal", stack, "check", "--run-dir", str(work / "run-check")])
    output = capsys.readouterr()
    assert code == 0, output.err
    result = result_of(work / "run-check")
    assert result["succeeded"] and result["hosts"]["clitest-1"]["changed"] == 0
    assert "clitest-1: ok=" in output.out


def test_apply_prepares_the_host_with_the_stacks_labels_and_taints(host, capsys):
    target, ssh, work = host
    stack = stack_file(work / "Pulumi.clitest.yaml", ssh,
                       [host_entry("clitest-1", target)], work)
    code = cli.main(["baremetal", stack, "apply", "--run-dir", str(work / "run-apply"), "--skip-tag", "k3s_start"])
    output = capsys.readouterr()
    assert code == 0, output.err + output.out
    result = result_of(work / "run-apply")
    assert result["succeeded"] and result["hosts"]["clitest-1"]["changed"] > 0
    config = yaml.safe_load(target.file_text("/etc/rancher/k3s/config.yaml"))
    assert "workload-class.mojaloop.io/CENTRAL-LEDGER-SVC=enabled" in config["node-label"]
    assert "mojaloop.io/node-pool=core" in config["node-label"]
    assert config["node-taint"] == ["moja-enabled=true:PreferNoSchedule"]
    assert "traefik" in config["disable"] and "servicelb" in config["disable"]


def test_an_unreachable_host_fails_the_run_with_exit_3(host, capsys):
    target, ssh, work = host
    # A port on 127.0.0.1 that is bound and not listening: every connection to it is refused at once.
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        stack = stack_file(work / "Pulumi.unreachable.yaml", ssh,
                           [host_entry("ghost-1", target, ssh_port=closed_port.getsockname()[1])], work)
        code = cli.main(["baremetal", stack, "check", "--run-dir", str(work / "run-ghost")])
    output = capsys.readouterr()
    assert code == 3, output.err
    result = result_of(work / "run-ghost")
    assert not result["succeeded"] and result["hosts"]["ghost-1"]["unreachable"] >= 1
    assert "check failed" in output.err
