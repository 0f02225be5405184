"""Stacks that reference other stacks: checked against the stack they name, as `mojactl plan` answers them.

A QA environment on a shared cluster must be that cluster's tenant (its environment, Kubernetes, domains
under the cluster's); references never run in a cycle nor out of the project; a QA environment's host slot
exists and fits. validate refuses what plan would, with the key, and nothing crashes.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from mojaloop_iac import cli
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import read_stack_file, validate_stack_file
from mojaloop_iac.paths import STACKS_DIR
from mojaloop_iac.qa.derive import QaRequest, SharedClusterStack, derive_qa_stack, parse_host_pool
from mojaloop_iac.yamlio import load_yaml

ENV = "mojaloop:environment"


@pytest.fixture
def now(monkeypatch) -> datetime:
    moment = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(moment.timestamp())))
    return moment


def shared_qa_stack(now: datetime) -> dict:
    """A QA environment on the shared cluster qa-cluster, as `mojactl qa stack --shared-cluster` writes it."""
    template = read_stack_file("demo")
    cluster = read_stack_file("qa-cluster")
    return derive_qa_stack(template.name, template.config, QaRequest("pr-1", now, ttl=timedelta(hours=4)),
                           shared_cluster=SharedClusterStack("qa-cluster", cluster.config)).document


def own_cluster_qa_stack(now: datetime, template: str = "demo") -> dict:
    pool = parse_host_pool(load_yaml((STACKS_DIR / "qa-host-pool.yaml").read_text(encoding="utf-8")), "pool")
    stack = read_stack_file(template)
    return derive_qa_stack(stack.name, stack.config, QaRequest("pr-2", now), host_pool=pool).document


def write(directory: Path, name: str, document: dict) -> Path:
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def refusals(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        validate_stack_file(str(path))
    return [str(issue) for issue in raised.value.issues]


def plan_exit_code(path: Path, out: Path) -> int:
    return cli.main(["plan", str(path), "--out", str(out), "--quiet"])


def test_the_derived_stacks_are_valid(tmp_path, now):
    validate_stack_file(str(write(tmp_path, "qa-shared", shared_qa_stack(now))))
    validate_stack_file(str(write(tmp_path, "qa-own", own_cluster_qa_stack(now))))


def test_a_cycle_of_stack_references_is_refused_naming_it_by_validate_and_plan(tmp_path, now, capsys):
    first, second = shared_qa_stack(now), shared_qa_stack(now)
    first["config"][ENV]["qa"]["sharedCluster"]["stack"] = "second"
    second["config"][ENV]["qa"]["sharedCluster"]["stack"] = "first"
    second["config"][ENV]["name"] = "demo-pr-9"
    path = write(tmp_path, "first", first)
    write(tmp_path, "second", second)
    found = refusals(path)
    assert found == ["environment.qa.sharedCluster.stack: 'second' closes a cycle of stack references "
                     "(first -> second -> first): a stack cannot read its own outputs, even through other stacks; "
                     "name a stack that does not lead back here"], found
    assert plan_exit_code(path, tmp_path / "bundle") == 2
    output = capsys.readouterr()
    assert "Internal error" not in output.out + output.err and "closes a cycle" in output.out + output.err


def test_a_stack_reaching_itself_through_a_link_is_a_cycle(tmp_path, now):
    stack = shared_qa_stack(now)
    stack["config"][ENV]["qa"]["sharedCluster"]["stack"] = "alias"
    path = write(tmp_path, "self", stack)
    (tmp_path / "Pulumi.alias.yaml").symlink_to(path)
    assert any("closes a cycle of stack references (self -> self)" in p for p in refusals(path))


def test_a_referenced_stack_file_outside_the_project_is_refused(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    (project / "Pulumi.yaml").write_text("name: mojaloop\nruntime: python\n")
    outside = tmp_path_factory.mktemp("outside")
    target = outside / "Pulumi.cc-outside.yaml"
    target.write_text((STACKS_DIR / "Pulumi.control-center.yaml").read_text())
    (project / "Pulumi.cc-outside.yaml").symlink_to(target)
    stack = {"config": copy.deepcopy(read_stack_file("aws-dev").config)}
    stack["config"][ENV]["controlCenterStack"] = "organization/mojaloop/cc-outside"
    path = write(project, "env", stack)
    found = refusals(path)
    assert any(p.startswith("environment.controlCenterStack: ") and "outside the project" in p for p in found), found


def test_the_shared_clusters_environment_must_be_the_clusters_own(tmp_path, now):
    stack = shared_qa_stack(now)
    stack["config"][ENV]["qa"]["sharedCluster"]["environment"] = "demo"
    found = refusals(write(tmp_path, "qa", stack))
    assert any(p.startswith("environment.qa.sharedCluster.environment: 'demo' is not the environment of "
                            "Pulumi.qa-cluster.yaml, which is 'qa-cluster'") for p in found), found


@pytest.mark.parametrize(("key", "value", "path", "fragment"), [
    ("kubernetes", {"version": "1.28"}, "environment.kubernetes.version", "Kubernetes 1.28, but the cluster runs 1.32"),
    ("network", {"podCidr": "10.60.0.0/16"}, "environment.network", "not the cluster's"),
])
def test_a_tenant_runs_on_the_shared_cluster_as_it_is(tmp_path, now, key, value, path, fragment):
    stack = shared_qa_stack(now)
    stack["config"][ENV][key] = value
    found = refusals(write(tmp_path, "qa", stack))
    assert any(p.startswith(f"{path}: ") and fragment in p for p in found), found


@pytest.mark.parametrize(("internal", "external", "path"), [
    ("int.qa.mojaloop.example", "pr-1.qa.mojaloop.example", "environment.domains.internal"),  # the cluster's own
    ("pr-1.int.qa.mojaloop.example", "mojaloop.example", "environment.domains.external"),  # contains the cluster's
])
def test_a_tenant_never_takes_the_shared_clusters_domains(tmp_path, now, internal, external, path):
    stack = shared_qa_stack(now)
    stack["config"][ENV]["domains"] = {"internal": internal, "external": external}
    found = refusals(write(tmp_path, "qa", stack))
    assert any(p.startswith(f"{path}: ") and "shared QA cluster's own" in p for p in found), found


def test_an_environment_must_keep_off_its_control_centers_mesh(tmp_path):
    stack = {"config": copy.deepcopy(read_stack_file("aws-dev").config)}
    stack["config"][ENV]["network"] = {"serviceCidr": "10.250.0.0/20"}
    found = refusals(write(tmp_path, "env", stack))
    assert any(p.startswith("environment.network.serviceCidr: 10.250.0.0/20 overlaps the WireGuard mesh") for p in found)


def test_a_host_slot_must_be_one_of_the_pool(tmp_path, now):
    stack = own_cluster_qa_stack(now)
    stack["config"][ENV]["qa"]["hostSlot"] = "qa-slot-9"
    found = refusals(write(tmp_path, "qa", stack))
    assert any(p.startswith("environment.qa.hostSlot: 'qa-slot-9' is not a slot of the host pool") for p in found)


def test_a_host_slot_must_hold_the_stacks_hosts(tmp_path, now):
    stack = own_cluster_qa_stack(now)
    slot = stack["config"][ENV]["qa"]["hostSlot"]
    stack["config"][ENV]["qa"]["hostSlot"] = next(s for s in ("qa-slot-1", "qa-slot-2") if s != slot)
    found = refusals(write(tmp_path, "qa", stack))
    assert any(p.startswith("environment.baremetal.hosts: are not the hosts of slot") for p in found), found


def test_a_host_slot_is_only_for_an_own_bare_metal_cluster(tmp_path, now):
    shared = shared_qa_stack(now)
    shared["config"][ENV]["qa"]["hostSlot"] = "qa-slot-1"
    assert any(p.startswith("environment.qa.hostSlot: is set together with sharedCluster")
               for p in refusals(write(tmp_path, "qa-shared", shared)))
    aws = own_cluster_qa_stack(now, "aws-dev")
    aws["config"][ENV]["qa"]["hostSlot"] = "qa-slot-1"
    assert any(p.startswith("environment.qa.hostSlot: is a bare-metal host-pool slot, but the substrate is aws")
               for p in refusals(write(tmp_path, "qa-aws", aws)))


def test_an_expiry_is_at_most_the_longest_qa_ttl_from_now(tmp_path, now):
    stack = shared_qa_stack(now)
    stack["config"][ENV]["expiresAt"] = (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    validate_stack_file(str(write(tmp_path, "qa", stack)))
    stack["config"][ENV]["expiresAt"] = (now + timedelta(days=7, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = refusals(write(tmp_path, "qa", stack))
    assert any(p.startswith("environment.expiresAt: ") and "more than 7 days from now" in p for p in found), found


def test_a_tenant_may_reach_the_shared_cluster_its_own_way_but_not_other_hosts(tmp_path, now):
    stack = shared_qa_stack(now)
    stack["config"][ENV]["baremetal"]["sshUser"] = "ci-runner"  # where the QA run happens: its own login
    validate_stack_file(str(write(tmp_path, "qa", stack)))
    stack["config"][ENV]["baremetal"]["hosts"][0]["address"] = "192.0.2.99"
    found = refusals(write(tmp_path, "qa", stack))
    assert any(p.startswith("environment.baremetal: is not the cluster's") for p in found), found


def test_qa_stack_with_a_pool_of_its_own_places_it_next_to_the_stack(tmp_path, now, monkeypatch, capsys):
    """`mojactl qa stack --host-pool FILE`: the stack's slot is checked against FILE, which goes next to it."""
    pool = tmp_path / "pool.yaml"
    pool.write_text("slots:\n  lab-1:\n    - {name: lab-node-1, address: 198.51.100.71, role: server}\n")
    out = tmp_path / "qa" / "Pulumi.demo-pr-5.yaml"
    assert cli.main(["qa", "stack", "demo", "--id", "pr-5", "--host-pool", str(pool), "--now",
                     now.strftime("%Y-%m-%dT%H:%M:%SZ"), "--out", str(out)]) == 0
    assert (out.parent / "qa-host-pool.yaml").read_text() == pool.read_text()
    assert validate_stack_file(str(out))[1].config.environment.qa.host_slot == "lab-1"
    other = tmp_path / "other.yaml"
    other.write_text("slots:\n  lab-2:\n    - {name: lab-node-2, address: 198.51.100.72, role: server}\n")
    assert cli.main(["qa", "stack", "demo", "--id", "pr-6", "--host-pool", str(other), "--now",
                     now.strftime("%Y-%m-%dT%H:%M:%SZ"), "--out", str(tmp_path / "qa" / "Pulumi.demo-pr-6.yaml")]) == 2
    assert "holds another host pool" in capsys.readouterr().err
