"""Deriving a QA stack from an environment stack: deterministic, complete, and bad input refused by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from mojaloop_iac.qa.derive import (
    QaRequest,
    SharedClusterStack,
    choose_slot,
    derive_qa_stack,
    parse_host_pool,
    parse_set,
    parse_ttl,
)
from mojaloop_iac.paths import STACKS_DIR
from mojaloop_iac.qa.names import QaInputError
from mojaloop_iac.yamlio import load_yaml

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
# Two slots of the project's host pool: validation checks a derived stack's slot against that pool.
POOL = parse_host_pool(load_yaml((STACKS_DIR / "qa-host-pool.yaml").read_text(encoding="utf-8")), "pool")[:2]


def derive(template: str = "demo", **request: object):
    stack = read_stack_file(template)
    shared = request.pop("shared_cluster", None)
    pool = request.pop("host_pool", POOL)
    return derive_qa_stack(stack.name, stack.config, QaRequest(**{"id": "pr-123", "now": NOW, **request}),
                           shared_cluster=shared, host_pool=pool)


def environment_of(derived) -> dict:
    return derived.document["config"]["mojaloop:environment"]


def validated(derived):
    return validate_namespace({"environment": environment_of(derived)}).config.environment


def test_same_inputs_give_the_same_file():
    assert derive().text("stacks/Pulumi.demo.yaml") == derive().text("stacks/Pulumi.demo.yaml")


def test_the_derived_stack_is_an_ephemeral_qa_environment_carrying_the_id():
    derived = derive(ttl=timedelta(hours=4), source="https://gitlab.example.com/hub/-/merge_requests/123",
                     commit="0123456789abcdef0123456789abcdef01234567", owner="alice", release="15.1.0")
    env = validated(derived)
    assert env.name == "demo-pr-123" and env.mojaloop.namespace == "demo-pr-123"
    assert env.domains.internal == "pr-123.int.demo.mojaloop.example"
    assert env.domains.external == "pr-123.demo.mojaloop.example"
    assert env.lifecycle.value == "ephemeral" and env.profile.value == "qa"
    assert env.expires_at == NOW + timedelta(hours=4)
    assert env.mojaloop.release == "15.1.0"
    assert (env.qa.id, env.qa.template, env.qa.owner) == ("pr-123", "demo", "alice")
    assert env.qa.source.endswith("/merge_requests/123") and env.qa.commit.startswith("0123456")


def test_own_bare_metal_cluster_takes_a_host_pool_slot_never_the_templates_hosts():
    derived = derive()
    env = validated(derived)
    template_hosts = {h.name for h in validate_namespace(
        {"environment": read_stack_file("demo").config["mojaloop:environment"]}).config.environment.baremetal.hosts}
    hosts = {h.name for h in env.baremetal.hosts}
    assert hosts.isdisjoint(template_hosts)
    assert env.qa.host_slot in {"qa-slot-1", "qa-slot-2"} and list(env.node_pools) == ["general"]
    assert derive(host_slot="qa-slot-2").host_slot == "qa-slot-2"


def test_bare_metal_without_a_host_pool_is_refused():
    with pytest.raises(QaInputError) as refused:
        derive(host_pool=())
    assert refused.value.key == "--host-pool" and "hosts of its own" in refused.value.message


def test_the_slot_is_stable_for_a_name_and_unknown_slots_are_refused():
    assert choose_slot(POOL, "demo-pr-1") == choose_slot(POOL, "demo-pr-1")
    with pytest.raises(QaInputError) as refused:
        choose_slot(POOL, "demo-pr-1", "slot-z")
    assert refused.value.key == "--host-slot"


def test_aws_template_gets_the_small_qa_layout_and_keeps_its_provider_settings():
    derived = derive("aws-dev")
    env = validated(derived)
    assert list(env.node_pools) == ["general"] and env.node_pools["general"].aws.desired_size == 2
    assert derived.document["config"]["aws:region"] == "eu-west-1"


def test_shared_cluster_mode_takes_the_clusters_settings_and_names():
    cluster = read_stack_file("qa-cluster")
    derived = derive(shared_cluster=SharedClusterStack("qa-cluster", cluster.config))
    env = validated(derived)
    assert env.qa.shared_cluster.stack == "qa-cluster" and env.qa.shared_cluster.environment == "qa-cluster"
    assert env.domains.internal == "demo-pr-123.int.qa.mojaloop.example"
    assert env.kubernetes.version == "1.32" and env.baremetal.hosts[0].name == "qa-cluster-1"
    assert env.mojaloop.release == "15.2.0"  # the template's


def test_a_cluster_that_does_not_host_qa_environments_is_refused():
    with pytest.raises(QaInputError) as refused:
        derive(shared_cluster=SharedClusterStack("demo", read_stack_file("demo").config))
    assert refused.value.key == "--shared-cluster" and "qaHost" in refused.value.message


def test_a_control_center_or_a_qa_stack_is_not_a_template():
    with pytest.raises(QaInputError) as refused:
        derive("control-center")
    assert refused.value.key == "TEMPLATE" and "control center" in refused.value.message
    derived = derive()
    with pytest.raises(QaInputError, match="itself an ephemeral"):
        derive_qa_stack("demo-pr-123", derived.document["config"], QaRequest("pr-9", NOW), host_pool=POOL)


def test_sets_apply_last_and_cannot_touch_what_the_derivation_decides():
    derived = derive(sets=(parse_set("mojaloop.features.bulk=true"), parse_set("vault.kvMount=qa")))
    env = validated(derived)
    assert env.mojaloop.features.bulk is True and env.vault.kv_mount == "qa"
    for forbidden in ("name=x", "lifecycle=persistent", "qa.id=x", "expiresAt=never"):
        with pytest.raises(QaInputError) as refused:
            parse_set(forbidden)
        assert refused.value.key == f"--set {forbidden.split('=')[0]}"
    with pytest.raises(QaInputError, match="KEY=VALUE"):
        parse_set("no-equals-sign")


@pytest.mark.parametrize("text,expected", [("4h", timedelta(hours=4)), ("90m", timedelta(minutes=90)),
                                           ("1d12h", timedelta(days=1, hours=12))])
def test_ttl(text: str, expected: timedelta):
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["", "4", "4x", "h", "-1h", "10m", "8d"])
def test_an_unparseable_or_out_of_range_ttl_is_refused_naming_the_flag(text: str):
    with pytest.raises(QaInputError) as refused:
        parse_ttl(text)
    assert refused.value.key == "--ttl"


def lifecycle_problems(**changes: object) -> list[str]:
    environment = {**read_stack_file("demo").config["mojaloop:environment"], **changes}
    try:
        validate_namespace({"environment": environment})
    except ConfigError as error:
        return [str(issue) for issue in error.issues]
    return []


def test_an_ephemeral_environment_must_carry_an_expiry():
    assert any(p.startswith("environment.expiresAt: is required when lifecycle is ephemeral")
               for p in lifecycle_problems(lifecycle="ephemeral"))
    assert lifecycle_problems(lifecycle="ephemeral", expiresAt="2025-06-01T12:00:00Z") == []


def test_lifecycle_rules_name_the_key():
    assert any(p.startswith("environment.expiresAt: is set but lifecycle is persistent")
               for p in lifecycle_problems(expiresAt="2025-06-01T12:00:00Z"))
    ephemeral = {"lifecycle": "ephemeral", "expiresAt": "2025-06-01T12:00:00Z"}
    assert any(p.startswith("environment.vault.retainSecretsOnDelete: must not be true")
               for p in lifecycle_problems(**ephemeral, vault={"address": "https://vault.example:8200",
                                                               "retainSecretsOnDelete": True}))
    assert any(p.startswith("environment.qa: describes a QA environment")
               for p in lifecycle_problems(qa={"id": "pr-1", "template": "demo"}))
    assert any(p.startswith("environment.qaHost: a cluster hosting QA environments")
               for p in lifecycle_problems(**ephemeral, qaHost=True))
    assert lifecycle_problems(**{**ephemeral, "expiresAt": "2025-06-01T12:00:00"}) == [
        "environment.expiresAt: must say its time zone, e.g. 2026-12-31T23:59:00Z (Z for UTC) or 2026-12-31T23:59:00+02:00"
    ]
    assert lifecycle_problems(lifecycle="sometimes") == ["environment.lifecycle: must be one of persistent, ephemeral"]


def test_a_derived_stack_names_the_templates_files_from_where_it_is_written(tmp_path):
    """Paths in a stack are relative to its file: out/qa/ is not stacks/, so they are rebased."""
    import yaml

    from mojaloop_iac.qa.cli import write_derived
    from tests.support.stacks import copy_stack

    def with_values(stack: dict) -> None:
        stack["config"]["mojaloop:environment"]["mojaloop"]["valuesFile"] = "values/umbrella.yaml"

    (tmp_path / "Pulumi.yaml").write_text("name: project\n")
    (tmp_path / "stacks" / "values").mkdir(parents=True)
    (tmp_path / "stacks" / "values" / "umbrella.yaml").write_text("global: {}\n")
    template = copy_stack("aws-dev", tmp_path / "stacks", "template", with_values)
    stack = read_stack_file(str(template))
    derived = derive_qa_stack(stack.name, stack.config, QaRequest(id="pr-7", now=NOW))
    written = write_derived(derived, template, tmp_path / "out" / "qa" / "Pulumi.qa.yaml")
    environment = yaml.safe_load(written.read_text())["config"]["mojaloop:environment"]
    assert environment["mojaloop"]["valuesFile"] == "../../stacks/values/umbrella.yaml"
