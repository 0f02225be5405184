"""Stack configuration is validated once, every problem reported with its key path."""

from __future__ import annotations

import pydantic
import pytest

from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import read_stack_file, validate_namespace, validate_stack_file
from mojaloop_iac.paths import STACKS_DIR
from tests.config_corpus import CASES, TEXT_CASES, Case, TextCase, apply


def namespace_of(stack: str) -> dict:
    return read_stack_file(stack).namespace()


def problems(values: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        validate_namespace(values)
    return [str(issue) for issue in raised.value.issues]


@pytest.mark.parametrize("stack", ["demo", "control-center", "aws-dev"])
def test_example_stacks_are_valid(stack):
    validated = validate_namespace(namespace_of(stack))
    assert validated.config.cluster.name


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_invalid_configuration_names_the_offending_key(case: Case):
    found = problems(apply(namespace_of(case.base), case.ops))
    matching = [p for p in found if p.startswith(f"{case.path}: ")]
    assert matching, f"no problem names {case.path}; got {found}"
    assert any(case.fragment in p for p in matching), f"{case.fragment!r} not in {matching}"


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda case: case.id)
def test_invalid_stack_text_names_where(case: TextCase, tmp_path):
    stack = tmp_path / "Pulumi.text.yaml"
    stack.write_text(case.edit((STACKS_DIR / f"Pulumi.{case.base}.yaml").read_text()))
    with pytest.raises(ConfigError) as raised:
        validate_stack_file(str(stack))
    found = [str(issue) for issue in raised.value.issues]
    matching = [p for p in found if (p.startswith(f"{case.path}: ") if case.path else ": " not in p.split(" ")[0])]
    assert any(case.fragment in p for p in matching), f"{case.fragment!r} not under {case.path!r} in {found}"


def test_no_message_is_a_regular_expression():
    """Every refusal says what is allowed in words: no pattern, no pydantic wording."""
    for case in CASES:
        for problem in problems(apply(namespace_of(case.base), case.ops)):
            assert "pattern" not in problem and "Input should" not in problem and "^" not in problem, problem


def test_all_structural_problems_are_reported_together():
    broken = apply(
        namespace_of("demo"),
        (
            ("set", "environment.nodePools.kafka.taints.0.effect", "Sometimes"),
            ("set", "environment.substrate", "gcp"),
            ("set", "environment.baremetal.hosts.1.role", "worker"),
            ("set", "environment.kubernetes.flavour", "x"),
        ),
    )
    found = problems(broken)
    assert len(found) == 4, found


def test_all_rule_problems_are_reported_together():
    broken = apply(
        namespace_of("demo"),
        (
            ("set", "environment.mojaloop.helmReleaseName", "mojaloop-prod-1"),
            ("set", "environment.mojaloop.release", "15.4.0"),
            ("set", "environment.baremetal.hosts.1.pool", "kafak"),
            ("set", "environment.placement", {"tolerations": []}),
        ),
    )
    paths = {p.split(": ")[0] for p in problems(broken)}
    assert {
        "environment.mojaloop.helmReleaseName",
        "environment.mojaloop.release",
        "environment.baremetal.hosts[1].pool",
        "environment.nodePools.kafka.taints[0]",
        "environment.nodePools.rdbms.taints[0]",
    } <= paths


def test_newer_kubernetes_than_validated_is_a_warning_not_an_error(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1705312800")  # 2024-01-15: 15.2.0 was still supported
    values = apply(namespace_of("demo"), (("set", "environment.kubernetes.version", "1.30"),))
    validated = validate_namespace(values)
    assert [w.path for w in validated.warnings] == ["environment.kubernetes.version"]
    assert "newer than release 15.2.0 was validated on" in validated.warnings[0].message


def test_config_models_are_frozen():
    config = validate_namespace(namespace_of("demo")).config
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        config.environment.name = "other"  # type: ignore[misc]


def test_defaults_come_from_config_files():
    config = validate_namespace(namespace_of("demo")).config
    env = config.environment
    assert str(env.network.pod_cidr) == "10.42.0.0/16"
    assert env.mojaloop.helm_release_name == "moja"
    assert [str(t.key) for t in env.placement.tolerations] == ["moja-enabled"]


def test_the_aws_names_bounded_are_the_names_the_plan_gives():
    """The names rule derives what AWS names the cluster's IAM roles and node groups after: exactly the logical
    names the program gives them (Pulumi adds its suffix to these)."""
    from mojaloop_iac.config.cluster_rules import aws_logical_names
    from mojaloop_iac.plan.run import plan_stack

    result = plan_stack("aws-dev", None)
    planned = {r.type: set() for r in result.record.resources}
    for resource in result.record.resources:
        planned[resource.type].add(resource.name)
    derived = aws_logical_names(result.validated.config.cluster)
    assert set(derived["roles"]) == planned["aws:iam/role:Role"]
    assert set(derived["node_groups"]) == planned["aws:eks/nodeGroup:NodeGroup"]


def test_aws_names_within_the_limits_pass_and_longer_ones_name_the_key():
    values = apply(namespace_of("aws-dev"), (("set", "environment.name", "a" * 31),))
    assert validate_namespace(values).config.cluster.name == "a" * 31
    found = problems(apply(namespace_of("aws-dev"), (("set", "environment.name", "a" * 32),)))
    assert [p for p in found if p.startswith("environment.name: has 32 characters; on AWS at most 31")], found
    long_pool = apply(namespace_of("aws-dev"), (("set", "environment.name", "a" * 30),
                                                 ("set", "environment.nodePools.pool-with-a-long-name",
                                                  {"aws": {"instanceTypes": ["m6i.large"], "minSize": 1,
                                                           "maxSize": 1, "desiredSize": 1}})))
    found = problems(long_pool)
    assert [p for p in found if p.startswith("environment.nodePools.pool-with-a-long-name: names the managed node "
                                             "group")], found


def test_http_is_allowed_only_with_the_explicit_flag_and_then_warned():
    values = apply(namespace_of("demo"), (("set", "environment.vault", {
        "address": "http://vault.lab.example:8200", "insecureHttp": True}),
        ("set", "environment.baremetal.k3sInstallScriptUrl", "http://mirror.lab.example/install.sh"),
        ("set", "environment.baremetal.k3sInstallScriptSha256", "0" * 64),
        ("set", "environment.baremetal.insecureHttp", True)))
    warnings = {w.path: w.message for w in validate_namespace(values).warnings}
    assert "environment.vault.address" in warnings and "in clear" in warnings["environment.vault.address"]
    assert "anyone on the path could replace them" in warnings["environment.baremetal.k3sInstallScriptUrl"]


def test_a_control_center_stack_is_answered_offline_or_refused():
    """As the plan needs it: by --stack-outputs, else by a local stack file; the engine answers under pulumi up."""
    values = apply(namespace_of("aws-dev"), (("set", "environment.controlCenterStack", "org/mojaloop/prod-cc"),))
    found = problems(values)
    assert [p for p in found if p.startswith("environment.controlCenterStack: 'org/mojaloop/prod-cc' has no local "
                                             "stack file") and "--stack-outputs" in p], found
    assert validate_namespace(values, references=["org/mojaloop/prod-cc"]).config.environment is not None
    assert validate_namespace(values, references=None).config.environment is not None
