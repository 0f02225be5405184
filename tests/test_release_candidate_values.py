"""What the 15.x -> 16.x values change really needs, checked against the one 16.0.0 chart that renders here.

The published 16.0.0 chart is not obtainable; its release candidate of 2024-01-29 is (../shared/charts,
version 16.0.0-rc.20240129). What rendering it showed:

- it still has one quoting-service chart where the published 16.0.0 splits it into an API and a handler,
  so the planner's 16.x quoting keys (inferred from the release notes) are the only keys it does not know;
- it predates mojaloop/helm#600: it takes the JWS signing key only inline and refuses signing without one,
  so the 16.x `jwsSigningKeySecret` (from the release notes) is inferred too. With signing switched off
  as for 15.x, it renders, and every Secret its workloads read is one the plan delivers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mojaloop_iac.charts import ChartRef, ChartRepositories, RenderFailed, chart_facts, render_chart
from mojaloop_iac.config.load import validate_stack_file
from mojaloop_iac.catalog import load_catalog
from mojaloop_iac.planners.free_form import free_form_paths
from mojaloop_iac.planners.mojaloop_release import mojaloop_release_specs
from mojaloop_iac.render.checks.values_keys import unknown_keys
from mojaloop_iac.render.checks.workloads import pod_spec, references
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401

CANDIDATE = "16.0.0-rc.20240129"


def signing_off(values):
    """The 15.x form of the JWS settings: no Secret reference, signing off."""
    if isinstance(values, dict):
        if "jwsSigningKeySecret" in values:
            return {**{k: v for k, v in values.items() if k != "jwsSigningKeySecret"}, "jwsSign": False}
        return {key: signing_off(value) for key, value in values.items()}
    return values


@pytest.fixture(scope="module")
def candidate(chart_repository: ChartRepository, helm: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811
    env = validate_stack_file("demo")[1].config.environment
    env = env.model_copy(
        update={"mojaloop": env.mojaloop.model_copy(update={"release": "16.0.0"}),
                "kubernetes": env.kubernetes.model_copy(update={"version": "1.29"})}
    )
    specs = mojaloop_release_specs(env, load_catalog().get("16.0.0"))
    repositories = ChartRepositories(tmp_path_factory.mktemp("charts"), mirror=chart_repository.url)
    chart = repositories.fetch(ChartRef(specs.umbrella.repo, "mojaloop", CANDIDATE))
    values = json.loads(json.dumps(specs.umbrella.values))
    return specs, values, chart, helm


def test_the_candidate_predates_the_jws_signing_key_secret(candidate):
    _, values, chart, helm = candidate
    with pytest.raises(RenderFailed, match="JWS signing enabled but no jwsSigningKey provided"):
        render_chart(helm, chart.path, "moja", "mojaloop", values, "1.29")


@pytest.fixture(scope="module")
def rendered(candidate):
    _, values, chart, helm = candidate
    return render_chart(helm, chart.path, "moja", "mojaloop", signing_off(values), "1.29")


def test_the_only_keys_the_candidate_does_not_know_are_the_quoting_split_it_predates(candidate):
    _, values, chart, _ = candidate
    unknown = dict(unknown_keys(signing_off(values), chart_facts(chart).shape, free_form_paths("mojaloop")))
    # The API's and the handler's sub-trees, whole: the candidate's quoting chart has neither.
    assert set(unknown) == {"quoting-service.quoting-service", "quoting-service.quoting-service-handler"}


def test_every_secret_the_candidates_workloads_read_is_one_the_plan_delivers(candidate, rendered):
    specs = candidate[0]
    delivered = {ref.name for ref in specs.secret_refs} | {"mysqldb", "cl-mongodb", "ttk-mongodb"}
    made_by_chart = {o.body["metadata"]["name"] for o in rendered.objects if o.body["kind"] in ("Secret", "ConfigMap")}
    missing = set()
    for obj in rendered.objects:
        spec = pod_spec(obj.body)
        if spec is None:
            continue
        for ref in references(spec):
            if not ref.optional and ref.name not in made_by_chart | delivered | {"kube-root-ca.crt"}:
                missing.add((obj.body["metadata"]["name"], ref.kind, ref.name, ref.where))
    assert missing == set()
