"""Files a stack names: resolved against the stack file's directory, kept inside the project unless the key
allows otherwise, and each of the kind its key expects (checked without echoing what is read)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from mojaloop_iac import cli
from mojaloop_iac.config.files import (
    CA_CERTIFICATE,
    K3S_BINARY,
    K3S_INSTALL_SCRIPT,
    KNOWN_HOSTS,
    PGP_PUBLIC_KEY,
    SSH_PRIVATE_KEY,
    VALUES_FILE,
    FileKind,
    StackLocation,
    resolve_file,
)
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from mojaloop_iac.paths import REPO_ROOT, STACKS_DIR
from mojaloop_iac.plan.fakes import PLAN_CA_CERTIFICATE
from tests.support.stacks import copy_stack

ALICE = STACKS_DIR / "operator-keys" / "alice.asc"


@pytest.fixture
def project(tmp_path: Path) -> StackLocation:
    """A project of its own: Pulumi.yaml at the top, the stack file one directory down."""
    (tmp_path / "Pulumi.yaml").write_text("name: test\n")
    (tmp_path / "stacks").mkdir()
    return StackLocation.of_stack_file(tmp_path / "stacks" / "Pulumi.test.yaml")


def refused(value: str, location: StackLocation, kind: FileKind) -> str:
    with pytest.raises(ValueError) as raised:
        resolve_file(value, location, kind)
    return str(raised.value)


def ssh_private_key() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )


def elf_header(machine: int) -> bytes:
    # ELF64, little-endian, version 1, an executable; e_machine at offset 18.
    return b"\x7fELF\x02\x01\x01" + bytes(9) + (2).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44)


def test_the_project_is_the_nearest_directory_with_a_pulumi_yaml(project, tmp_path):
    assert project.directory == tmp_path / "stacks" and project.project == tmp_path
    # Without one above it, a stack file's own directory is its project.
    alone = StackLocation.of_stack_file(tmp_path / "stacks" / "deeper" / "Pulumi.x.yaml")
    assert alone.project == tmp_path
    assert StackLocation.of_stack_file(STACKS_DIR / "Pulumi.demo.yaml").project == REPO_ROOT


def test_relative_paths_start_at_the_stack_files_directory(project, tmp_path):
    (tmp_path / "values").mkdir()
    (tmp_path / "values" / "umbrella.yaml").write_text("global: {}\n")
    assert resolve_file("../values/umbrella.yaml", project, VALUES_FILE) == str(tmp_path / "values" / "umbrella.yaml")


@pytest.mark.parametrize("value", ["../../etc/passwd", "/etc/passwd", "../../../../../../etc/shadow"])
def test_a_path_out_of_the_project_is_refused_where_the_key_keeps_files_inside(project, value):
    assert "outside the project" in refused(value, project, VALUES_FILE)


def test_a_symbolic_link_out_of_the_project_is_followed_and_refused(project, tmp_path):
    (tmp_path / "stacks" / "values.yaml").symlink_to("/etc/passwd")
    assert "resolves to /etc/passwd, outside the project" in refused("values.yaml", project, VALUES_FILE)


def test_keys_whose_files_live_elsewhere_may_point_outside(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("home-ssh")
    key = elsewhere / "id_ed25519"
    key.write_bytes(ssh_private_key())
    assert resolve_file(str(key), project, SSH_PRIVATE_KEY) == str(key)
    for kind in (SSH_PRIVATE_KEY, KNOWN_HOSTS, K3S_INSTALL_SCRIPT, K3S_BINARY):
        assert kind.outside_allowed, f"{kind.what} must say why it may live outside"
    for kind in (VALUES_FILE, PGP_PUBLIC_KEY, CA_CERTIFICATE):
        assert kind.outside_allowed is None


def test_the_home_directory_is_expanded(project, monkeypatch, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "known_hosts").write_text("192.0.2.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOx\n")
    monkeypatch.setenv("HOME", str(home))
    assert resolve_file("~/.ssh/known_hosts", project, KNOWN_HOSTS) == str(home / ".ssh" / "known_hosts")


@pytest.mark.parametrize("value", ["", "  ", "bad\x00path"])
def test_a_non_path_is_refused(project, value):
    assert "must name" in refused(value, project, VALUES_FILE) or "not a file path" in refused(value, project, VALUES_FILE)


def test_missing_files_directories_and_devices_are_refused(project, tmp_path):
    assert "does not exist" in refused("nothing.yaml", project, VALUES_FILE)
    assert "is not a regular file" in refused(".", project, VALUES_FILE)
    # A device never reaches a reader (it would never end): refused before reading.
    assert "is not a regular file" in refused("/dev/zero", project, SSH_PRIVATE_KEY)
    fifo = tmp_path / "stacks" / "pipe.yaml"
    os.mkfifo(fifo)
    assert "is not a regular file" in refused("pipe.yaml", project, VALUES_FILE)


def test_an_oversized_file_is_refused_unread(project, tmp_path):
    (tmp_path / "stacks" / "big.asc").write_bytes(b"x" * (PGP_PUBLIC_KEY.max_bytes + 1))
    assert "more than an OpenPGP public key ever needs" in refused("big.asc", project, PGP_PUBLIC_KEY)


def test_each_kind_is_checked(project, tmp_path):
    here = tmp_path / "stacks"
    (here / "alice.asc").write_text(ALICE.read_text())
    (here / "ca.pem").write_text(PLAN_CA_CERTIFICATE)
    (here / "id").write_bytes(ssh_private_key())
    (here / "known_hosts").write_text("# hosts\n|1|abc=|def= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOx\n")
    (here / "install.sh").write_text("#!/bin/sh\necho k3s\n")
    (here / "k3s").write_bytes(elf_header(62))
    for name, kind in (("alice.asc", PGP_PUBLIC_KEY), ("ca.pem", CA_CERTIFICATE), ("id", SSH_PRIVATE_KEY),
                       ("known_hosts", KNOWN_HOSTS), ("install.sh", K3S_INSTALL_SCRIPT), ("k3s", K3S_BINARY)):
        assert resolve_file(name, project, kind) == str(here / name)
    (here / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert "is not an OpenPGP public key" in refused("passwd", project, PGP_PUBLIC_KEY)
    assert "is not a PEM certificate" in refused("passwd", project, CA_CERTIFICATE)
    assert "is not an SSH private key" in refused("passwd", project, SSH_PRIVATE_KEY)
    assert "is not a known_hosts entry" in refused("passwd", project, KNOWN_HOSTS)
    assert "is not a script" in refused("passwd", project, K3S_INSTALL_SCRIPT)
    assert "is not an executable" in refused("passwd", project, K3S_BINARY)


def test_secret_material_in_the_wrong_place_is_refused_without_echo(project, tmp_path):
    here = tmp_path / "stacks"
    private = ssh_private_key()
    (here / "ca.pem").write_bytes(PLAN_CA_CERTIFICATE.encode() + private)
    assert "holds a private key" in refused("ca.pem", project, CA_CERTIFICATE)
    (here / "key.asc").write_text("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXXX\n-----END PGP PRIVATE KEY BLOCK-----\n")
    message = refused("key.asc", project, PGP_PUBLIC_KEY)
    assert "PRIVATE" in message and "lQOYBGXXX" not in message
    (here / "id.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOx me@host\n")
    assert "is a public key" in refused("id.pub", project, SSH_PRIVATE_KEY)


def test_an_arm_k3s_binary_is_refused(project, tmp_path):
    (tmp_path / "stacks" / "k3s-arm64").write_bytes(elf_header(183))  # EM_AARCH64
    assert "another architecture" in refused("k3s-arm64", project, K3S_BINARY)


def test_ssh_files_need_paths_ssh_options_can_carry(project, tmp_path):
    (tmp_path / "stacks" / "known hosts").write_text("h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOx\n")
    assert "characters SSH options cannot carry" in refused("known hosts", project, KNOWN_HOSTS)


def test_a_stack_elsewhere_resolves_its_files_next_to_it(tmp_path):
    """Through the CLI: a control center copied with its keys validates; without them, each key is named,
    and the other problems are still reported with them."""
    def odd_raft(stack: dict) -> None:
        stack["config"]["mojaloop:controlCenter"]["secretsStore"]["replicas"] = 4

    path = copy_stack("control-center", tmp_path, "cc")
    assert cli.main(["validate", str(path)]) == 0
    (tmp_path / "operator-keys" / "bob.asc").unlink()
    broken = copy_stack("control-center", tmp_path, "cc-broken", odd_raft)
    with pytest.raises(ConfigError) as raised:
        validate_namespace(read_stack_file(str(broken)).namespace(), location=StackLocation.of_stack_file(broken))
    paths = {issue.path for issue in raised.value.issues}
    assert paths == {"controlCenter.secretsStore.unseal.operatorPgpKeyFiles[1]", "controlCenter.secretsStore.replicas"}


def test_the_plan_reads_the_files_the_stack_names_next_to_it(tmp_path):
    def with_values(stack: dict) -> None:
        stack["config"]["mojaloop:environment"]["mojaloop"]["valuesFile"] = "values/umbrella.yaml"

    (tmp_path / "values").mkdir()
    (tmp_path / "values" / "umbrella.yaml").write_text(yaml.safe_dump({"global": {"marker": "next-to-the-stack"}}))
    path = copy_stack("demo", tmp_path, "near", with_values)
    assert cli.main(["plan", str(path), "--out", str(tmp_path / "bundle"), "--quiet"]) == 0
    values = yaml.safe_load((tmp_path / "bundle" / "helm" / "moja" / "values.yaml").read_text())
    assert values["global"]["marker"] == "next-to-the-stack"


def test_the_keys_that_move_with_a_stack_are_every_file_the_models_name():
    """rebase_file_paths rewrites exactly the keys whose values are files (drift between the two is a bug)."""
    import typing

    from pydantic import BaseModel

    from mojaloop_iac.config import syntax
    from mojaloop_iac.config.files import STACK_FILE_KEYS
    from mojaloop_iac.config.models import StackConfig

    file_types = {syntax.ValuesFile, syntax.PgpPublicKeyFile, syntax.CaCertificateFile, syntax.SshPrivateKeyFile,
                  syntax.KnownHostsFile, syntax.K3sInstallScriptFile, syntax.K3sBinaryFile}

    def names_a_file(annotation) -> bool:
        if annotation in file_types:
            return True
        if typing.get_origin(annotation) is typing.Annotated:
            return names_a_file(typing.get_args(annotation)[0])
        members = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, tuple) else ()
        return any(names_a_file(member) for member in members)

    def file_keys(model: type[BaseModel], prefix: str) -> set[str]:
        found = set()
        for name, field in model.model_fields.items():
            key = f"{prefix}{field.alias or name}"
            annotation = typing.Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            if names_a_file(annotation):
                found.add(key)
            nested = [a for a in (field.annotation, *typing.get_args(field.annotation))
                      if isinstance(a, type) and issubclass(a, BaseModel)]
            for inner in nested:
                found |= file_keys(inner, f"{key}.")
        return found

    for kind, field in StackConfig.model_fields.items():
        model = next(a for a in typing.get_args(field.annotation) if isinstance(a, type))
        assert file_keys(model, "") == set(STACK_FILE_KEYS[field.alias or kind]), kind


def test_rebased_paths_name_the_same_files(tmp_path):
    from mojaloop_iac.config.files import rebase_file_paths

    settings = {"mojaloop": {"valuesFile": "values/a.yaml"}, "vault": {"caCertFile": "/etc/ssl/ca.pem"},
                "baremetal": {"sshPrivateKeyFile": "~/.ssh/id", "k3sBinaryPath": "../mirror/k3s"}}
    rebased = rebase_file_paths("environment", settings, tmp_path / "stacks", tmp_path / "out" / "qa")
    assert rebased == {"mojaloop": {"valuesFile": "../../stacks/values/a.yaml"}, "vault": {"caCertFile": "/etc/ssl/ca.pem"},
                       "baremetal": {"sshPrivateKeyFile": "~/.ssh/id", "k3sBinaryPath": "../../mirror/k3s"}}
    assert settings["mojaloop"]["valuesFile"] == "values/a.yaml"  # the input is left alone
    cc = rebase_file_paths("controlCenter", {"secretsStore": {"unseal": {"operatorPgpKeyFiles": ["k/a.asc"]}}},
                           tmp_path / "stacks", tmp_path)
    assert cc["secretsStore"]["unseal"]["operatorPgpKeyFiles"] == ["stacks/k/a.asc"]
