"""The control center's part in QA environments (controlCenter.qa): the CI logins its Vault bootstrap
configures, the QA read policy of shared QA clusters, and the configuration refused with its key."""

from __future__ import annotations

import copy

import pytest

from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from mojaloop_iac.planners.control_center_stack import plan_ci_logins
from mojaloop_iac.vault.bootstrap_plan import VaultBootstrapPlan


def control_center(**qa: object) -> dict:
    config = copy.deepcopy(read_stack_file("control-center").config["mojaloop:controlCenter"])
    if qa:
        config["qa"] = qa
    return config


def problems(config: dict) -> list[str]:
    try:
        validate_namespace({"controlCenter": config})
    except ConfigError as error:
        return [str(issue) for issue in error.issues]
    return []


def test_the_example_control_center_trusts_gitlab_and_github_for_qa_only():
    cc = validate_namespace({"controlCenter": control_center()}).config.control_center
    gitlab, github = plan_ci_logins(cc)
    assert (gitlab.mount, gitlab.bound_issuer, gitlab.jwks_url) == (
        "gitlab-ci", "https://gitlab.mojaloop.example", "https://gitlab.mojaloop.example/oauth/discovery/keys"
    )
    assert dict(gitlab.bound_claims) == {"project_path": ("hub/config",), "ref": ("*",)}
    assert dict(github.bound_claims) == {"ref": ("refs/heads/*", "refs/pull/*/merge"), "repository": ("mojaloop-hub/config",)}
    assert {gitlab.role, github.role} == {"qa-deployer"} and gitlab.bound_audiences == ("mojaloop-qa",)


def test_the_bootstrap_plan_carries_the_qa_logins_and_round_trips(tmp_path):
    from mojaloop_iac.plan.run import plan_stack

    record = plan_stack("control-center", None).record
    inputs = next(r for r in record.resources if r.type.endswith(":VaultBootstrap")).inputs
    plan = VaultBootstrapPlan.from_props(inputs)
    assert plan.qa is not None and [login.mount for login in plan.qa.logins] == ["gitlab-ci", "github-actions"]
    assert VaultBootstrapPlan.from_props(plan.to_props()) == plan
    policy = plan.qa.deployer_policy.text
    assert 'path "mojaloop/data/ephemeral/*"' in policy and "environments/cc/minio/minio-consumer-pulumi" in policy
    assert '"policies" = [["env-qa-cluster-qa-read"]]' in policy
    qa_cluster = next(e for e in plan.environments if e.name == "qa-cluster")
    assert qa_cluster.qa_read_policy is not None and qa_cluster.qa_read_policy.name == "env-qa-cluster-qa-read"
    assert "mojaloop/data/ephemeral/qa-cluster/" in qa_cluster.qa_read_policy.text
    assert all(e.qa_read_policy is None for e in plan.environments if e.name != "qa-cluster")


@pytest.mark.parametrize(
    "qa,expected",
    [
        ({"sharedClusters": ["nowhere"], "github": {"repositories": ["o/r"]}},
         "controlCenter.qa.sharedClusters[0]: 'nowhere' is not in environments"),
        ({"gitlab": {"projects": ["hub/config"]}}, "controlCenter.qa.gitlab.url: is required unless profile is full"),
        ({"sharedClusters": []}, "controlCenter.qa: names no CI login"),
        ({"gitlab": {"url": "https://gitlab.example.com", "projects": []}}, "controlCenter.qa.gitlab.projects:"),
        ({"github": {"repositories": ["o/r"]}, "tokenTtl": "forever"}, "controlCenter.qa.tokenTtl:"),
    ],
)
def test_bad_qa_access_is_refused_with_its_key(qa: dict, expected: str):
    config = control_center()
    config["qa"] = qa
    found = problems(config)
    assert any(problem.startswith(expected) for problem in found), found
