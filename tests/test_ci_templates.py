"""The CI templates: valid against GitHub's and GitLab's own schemas, shaped as the QA flow needs, and the
GitLab template's plan job run for real with gitlab-ci-local (shell executor, offline, in a work tree of
its own)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.paths import REPO_ROOT

GITLAB_TEMPLATE = REPO_ROOT / "ci/gitlab/qa-environment.gitlab-ci.yml"
WORKFLOWS = REPO_ROOT / ".github/workflows"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
GITLAB_CI_LOCAL = REPO_ROOT / ".tools/gitlab-ci-local/node_modules/.bin/gitlab-ci-local"


class _GitlabLoader(yaml.SafeLoader):
    """GitLab's `!reference [job, key]` as a plain list, to read the template's structure."""


_GitlabLoader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))


def gitlab_template() -> dict:
    return yaml.load(GITLAB_TEMPLATE.read_text(), Loader=_GitlabLoader)  # noqa: S506 (SafeLoader subclass)


def workflow(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    if not CHECK_JSONSCHEMA.is_file():
        raise FileNotFoundError(f"{CHECK_JSONSCHEMA} is missing: ./scripts/setup test installs it")
    return subprocess.run([str(CHECK_JSONSCHEMA), *args], capture_output=True, text=True, check=False, timeout=120)


def test_github_workflows_validate_against_githubs_schema():
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    assert len(files) == 3
    done = check_jsonschema("--builtin-schema", "vendor.github-workflows", *files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_gitlab_template_validates_against_gitlabs_schema():
    done = check_jsonschema("--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", str(GITLAB_TEMPLATE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_template_is_caught_by_the_schema(tmp_path):
    broken = tmp_path / "broken.gitlab-ci.yml"
    broken.write_text(GITLAB_TEMPLATE.read_text().replace("auto_stop_in: 4 hours", "auto_stop_in: [4, hours]"))
    done = check_jsonschema("--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", str(broken))
    assert done.returncode != 0


def test_gitlab_template_has_the_environment_lifecycle_and_jwt_login():
    template = gitlab_template()
    deploy, stop, plan = template["qa:deploy"], template["qa:stop"], template["qa:plan"]
    assert deploy["environment"] == {
        "name": "qa/$CI_MERGE_REQUEST_IID", "on_stop": "qa:stop", "auto_stop_in": "4 hours"
    }
    assert stop["environment"] == {"name": "qa/$CI_MERGE_REQUEST_IID", "action": "stop"}
    assert any("qa down" in line for line in stop["script"])
    # Torn down after the tests whatever their result (or kept until auto_stop_in with QA_KEEP=true).
    assert [rule["when"] for rule in stop["rules"]] == ["manual", "always"]
    # The plan is a merge-request check that needs no credentials.
    assert ".qa-rules" in plan["extends"]
    assert template[".qa-rules"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert "id_tokens" not in plan and ".qa-deployer" not in plan["extends"]
    deployer = template[".qa-deployer"]
    assert deployer["id_tokens"] == {"QA_VAULT_ID_TOKEN": {"aud": "mojaloop-qa"}}
    assert any("qa vault-login --jwt-env QA_VAULT_ID_TOKEN" in line for line in deployer["before_script"])
    assert "junit" in template["qa:test"]["artifacts"]["reports"]
    assert template["qa:reap"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule" && $QA_REAP == "true"'}]
    # No secret in the template's variables: Vault hands out everything at run time.
    assert not any(word in key for key in template["variables"] for word in ("TOKEN", "PASSWORD", "SECRET_KEY"))


def test_github_reusable_workflow_and_its_callers():
    reusable = workflow("qa-environment.yml")
    assert "workflow_call" in reusable["on"]
    assert reusable["permissions"]["id-token"] == "write"
    steps = reusable["jobs"]["qa"]["steps"]
    teardown = steps[-1]
    assert teardown["if"] == "always()" and "qa down" in teardown["run"]
    assert any("GITHUB_STEP_SUMMARY" in step.get("run", "") for step in steps)
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "qa-junit.xml"
    assert any(step.get("uses", "").startswith("aws-actions/configure-aws-credentials") for step in steps)
    assert any("--mount" in step.get("run", "") and "vault-login" in step.get("run", "") for step in steps)
    caller = workflow("qa-pull-request.yml")
    assert "pull_request" in caller["on"]
    assert caller["concurrency"]["group"] == "qa-pr-${{ github.event.pull_request.number }}"
    assert caller["jobs"]["qa"]["uses"] == "./.github/workflows/qa-environment.yml"
    assert caller["permissions"]["id-token"] == "write"
    reaper = workflow("qa-reaper.yml")
    assert "schedule" in reaper["on"] and "qa reap" in reaper["jobs"]["reap"]["steps"][-1]["run"]


@pytest.fixture
def work_tree(tmp_path: Path) -> Path:
    """A git work tree of its own: the project's files plus a .gitlab-ci.yml including the template, as an
    adopting project would (gitlab-ci-local copies tracked files with rsync, so they are committed)."""
    tree = tmp_path / "project"
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for name in listed:
        source = REPO_ROOT / name
        if source.is_file() and not name.startswith("tests/tools/"):
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (tree / ".gitlab-ci.yml").write_text(
        "include:\n  - local: ci/gitlab/qa-environment.gitlab-ci.yml\nvariables:\n  QA_TEMPLATE: demo\n"
    )
    git = ["git", "-c", "user.email=qa@example.invalid", "-c", "user.name=qa", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "merge request under test"]):
        subprocess.run([*git, *command], cwd=tree, check=True, capture_output=True)
    return tree


def test_gitlab_plan_job_runs_for_real_with_gitlab_ci_local(work_tree: Path):
    if not GITLAB_CI_LOCAL.is_file():
        raise FileNotFoundError(f"{GITLAB_CI_LOCAL} is missing: scripts/install-gitlab-ci-local installs it")
    variables = {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "42",
        "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.example.com/hub/config",
        "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITLAB_USER_LOGIN": "alice",
        "CI_PIPELINE_CREATED_AT": "2025-06-01T12:00:00Z",
        # Offline: the job uses the toolkit installed here (this interpreter, the work tree's own package)
        # instead of installing it.
        "QA_SETUP": "true",
        "MOJACTL": f"{sys.executable} -m mojaloop_iac.cli",
    }
    command = [str(GITLAB_CI_LOCAL), "--shell-executor-no-image", "--shell-isolation", "--color=false",
               *(f"--variable={key}={value}" for key, value in variables.items()), "qa:plan"]
    environment = {**os.environ, "HOME": str(work_tree.parent)}
    done = subprocess.run(command, cwd=work_tree, capture_output=True, text=True, timeout=600, env=environment,
                          check=False)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "PASS  qa:plan" in log
    # Its artifacts: the bundle (a merge-request check reviewers open) and the derived stack file.
    bundle = work_tree / "qa-plan"
    plan = json.loads((bundle / "plan.json").read_text())
    assert plan["stack"] == "demo-mr-42"
    assert not [r for r in plan["resources"] if r["options"].get("protect") or r["options"].get("retainOnDelete")]
    assert "Modelled time to verdict" in (bundle / "summary.md").read_text()
    derived = yaml.safe_load((work_tree / "out/qa/Pulumi.demo-mr-42.yaml").read_text())
    origin = derived["config"]["mojaloop:environment"]["qa"]
    assert origin["source"] == "https://gitlab.example.com/hub/config/-/merge_requests/42"
    assert origin["owner"] == "alice" and origin["commit"].startswith("0123456")
