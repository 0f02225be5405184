"""Stack configuration is validated once, every problem reported with its key path."""

from __future__ import annotations

import pydantic
import pytest

from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from tests.config_corpus import CASES, Case, apply


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
