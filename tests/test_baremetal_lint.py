"""The playbooks pass ansible-lint (production profile), and every role documents its arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.baremetal.runner import PLAYBOOKS
from mojaloop_iac.paths import PLAYBOOKS_DIR

ROLES = sorted(path.name for path in (PLAYBOOKS_DIR / "roles").iterdir() if path.is_dir())


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.is_file(), (
        f"{name} is not installed next to {sys.executable}: pip install ansible ansible-lint"
    )
    return str(path)


def test_ansible_lint_passes_with_the_production_profile():
    done = subprocess.run(
        [_tool("ansible-lint"), "--nocolor"],
        cwd=PLAYBOOKS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]
    assert "Profile 'production' was required, and it passed" in done.stderr + done.stdout


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_parses(playbook: str, tmp_path: Path):
    inventory = tmp_path / "hosts.yml"
    groups = {
        "k3s_servers": {"hosts": {"node1": {}}},
        "k3s_agents": {"hosts": {}},
        "control_center_hosts": {},
    }
    inventory.write_text(yaml.safe_dump({"all": {"children": groups}}))
    done = subprocess.run(
        [_tool("ansible-playbook"), "--syntax-check", "-i", str(inventory), playbook],
        cwd=PLAYBOOKS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"ANSIBLE_CONFIG": str(PLAYBOOKS_DIR / "ansible.cfg"), "PATH": str(Path(sys.executable).parent)},
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("role", ROLES)
def test_role_arguments_have_types_and_descriptions(role: str):
    specs = yaml.safe_load((PLAYBOOKS_DIR / "roles" / role / "meta" / "argument_specs.yml").read_text())
    entry_points = specs["argument_specs"]
    assert entry_points, f"{role} declares no entry point"
    for entry, spec in entry_points.items():
        assert spec.get("short_description"), f"{role}:{entry} has no short_description"
        for name, option in (spec.get("options") or {}).items():
            assert option.get("type"), f"{role}:{entry}: {name} has no type"
            assert option.get("description"), f"{role}:{entry}: {name} has no description"
            if "default" in option:
                assert not option.get("required"), f"{role}:{entry}: {name} is required and has a default"


def test_role_defaults_are_declared_in_the_argument_specs():
    for role in ROLES:
        defaults_file = PLAYBOOKS_DIR / "roles" / role / "defaults" / "main.yml"
        if not defaults_file.is_file():
            continue
        defaults = yaml.safe_load(defaults_file.read_text()) or {}
        specs = yaml.safe_load((PLAYBOOKS_DIR / "roles" / role / "meta" / "argument_specs.yml").read_text())
        declared = {name for spec in specs["argument_specs"].values() for name in (spec.get("options") or {})}
        assert set(defaults) <= declared, f"{role}: undocumented defaults {sorted(set(defaults) - declared)}"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_role_in_a_play_is_tagged(playbook: str):
    for play in yaml.safe_load((PLAYBOOKS_DIR / playbook).read_text()):
        for role in play.get("roles", []):
            assert role.get("tags"), (
                f"{playbook}: role {role.get('role')} in play {play['name']!r} has no tags"
            )
        for task in play.get("tasks", []):
            assert task.get("tags"), f"{playbook}: task {task['name']!r} in play {play['name']!r} has no tags"
