"""Nulls in planned Helm values (chart defaults to delete) reach Helm.

Pulumi's Python SDK drops None from a resource's maps (pulumi/pulumi#12178), so a planned
`jwsSigningKey: None`, meant to delete a chart's example private key, silently vanished from the release.
components/helm.py now sends the nulls in a values file (what the Kubernetes provider documents for this);
the plan records it and the bundle shows the nulls where Helm applies them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from mojaloop_iac.charts import ChartRef, ChartRepositories
from mojaloop_iac.plan.engine import STRING_ASSET
from mojaloop_iac.plan.run import plan_stack
from mojaloop_iac.planners.helm import split_deletions, with_deletions
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401

leaves = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2))
trees = st.recursive(leaves, lambda inner: st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=4),
                     max_leaves=20)


def nulls_in(values: dict) -> list[str]:
    return [key for key, value in values.items() if value is None] + [
        f"{key}.{inner}" for key, value in values.items() if isinstance(value, dict) for inner in nulls_in(value)
    ]


@given(st.dictionaries(st.text(min_size=1, max_size=4), trees, max_size=5))
def test_splitting_out_the_nulls_and_putting_them_back_gives_the_same_values(values):
    kept, deleted = split_deletions(values)
    assert nulls_in(kept) == []  # nothing left where the SDK would drop it
    assert with_deletions(kept, deleted) == values


def test_the_plan_sends_the_demos_null_jws_keys_in_a_values_file(tmp_path: Path):
    result = plan_stack("demo", tmp_path)
    (release,) = [r for r in result.record.resources
                  if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["name"] == "moja"]
    (document,) = release.inputs["valueYamlFiles"]
    deleted = yaml.safe_load(document[STRING_ASSET])
    assert deleted["quoting-service"]["config"]["endpointSecurity"] == {"jwsSigningKey": None}
    assert "jwsSigningKey" not in json.dumps(release.inputs["values"])  # what the SDK would drop anyway
    shown = yaml.safe_load((tmp_path / "helm" / "moja" / "values.yaml").read_text())
    assert shown["quoting-service"]["config"]["endpointSecurity"]["jwsSigningKey"] is None


def test_helm_deletes_the_charts_example_key_from_the_file_as_the_provider_passes_it(
    tmp_path: Path, chart_repository: ChartRepository, helm: Path  # noqa: F811
):
    """The 16.0.0 candidate signs with whatever jwsSigningKey holds: its example key unless deleted. Given the
    two files the provider merges (the nulls, then the values), Helm deletes it and refuses to sign with none."""
    from mojaloop_iac.catalog import load_catalog
    from mojaloop_iac.config.load import validate_stack_file
    from mojaloop_iac.planners.mojaloop_release import mojaloop_release_specs

    env = validate_stack_file("demo")[1].config.environment
    env = env.model_copy(update={"mojaloop": env.mojaloop.model_copy(update={"release": "16.0.0"}),
                                 "kubernetes": env.kubernetes.model_copy(update={"version": "1.29"})})
    values, deleted = split_deletions(mojaloop_release_specs(env, load_catalog().get("16.0.0")).umbrella.values)
    chart = ChartRepositories(tmp_path / "charts", mirror=chart_repository.url).fetch(
        ChartRef("https://mojaloop.github.io/helm/repo", "mojaloop", "16.0.0-rc.20240129"))
    (tmp_path / "deleted.yaml").write_text(yaml.safe_dump(deleted))
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))

    def template(*files: str) -> subprocess.CompletedProcess[str]:
        arguments = [part for name in files for part in ("-f", str(tmp_path / name))]
        return subprocess.run([str(helm), "template", "moja", str(chart.path), "-n", "mojaloop", "--kube-version",
                               "1.29", *arguments], capture_output=True, text=True, timeout=300, check=False,
                              env={"HELM_CACHE_HOME": str(tmp_path / "h"), "HELM_CONFIG_HOME": str(tmp_path / "h"),
                                   "HELM_DATA_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"})

    without_nulls = template("values.yaml")
    assert without_nulls.returncode == 0  # signing on, with the chart's example key: what the SDK alone gave
    with_nulls = template("deleted.yaml", "values.yaml")
    assert with_nulls.returncode != 0 and "no jwsSigningKey provided" in with_nulls.stderr
