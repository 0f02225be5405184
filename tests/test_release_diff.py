"""`mojactl release diff FROM TO`: both releases rendered with a stack's values, compared for an operator.

The real pair is the one the real charts allow: Mojaloop 15.2.0 and the 16.0.0 release candidate of
2024-01-29 (../shared/charts, served on loopback as the chart mirror), both with the demo stack's planned
values, rendered by the pinned Helm. What it shows there is what an operator of the demo hub would want to
know before upgrading: the new service versions, every Deployment that rolls, the central-ledger and
account-lookup migrations, the candidate's quoting chart ignoring the toolkit's 16.x quoting keys (so its
placement and the Ingress the toolkit disables come back), and JWS signing turned on with the chart's
own example keys. The rules themselves (credentials hidden, formatting-only changes, what nothing makes,
hooks, retyped keys) are checked on small hand-made sides.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.charts.facts import ANY, LIST, OPEN, SCALAR
from mojaloop_iac.cli import main
from mojaloop_iac.paths import STACKS_DIR
from mojaloop_iac.release.diff import HIDDEN, RenderedChart, RenderedSide, diff_markdown, diff_releases
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401

CANDIDATE = "16.0.0-rc.20240129"


@pytest.fixture(scope="module")
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chart-cache")


@pytest.fixture(scope="module")
def mirror(chart_repository: ChartRepository, chart_cache: Path) -> list[str]:  # noqa: F811
    return ["--chart-mirror", chart_repository.url, "--chart-cache", str(chart_cache)]


# --- the real charts ---------------------------------------------------------------------------------------


def test_15_2_0_to_the_16_0_0_candidate_prints_the_changed_images_and_workloads(mirror, capsys):
    assert main(["release", "diff", "15.2.0", CANDIDATE, *mirror]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"## Mojaloop 15.2.0 → {CANDIDATE}\n")
    assert "backend: example-mojaloop-backend 15.0.0 (unchanged); moja: mojaloop 15.2.0 → mojaloop " + CANDIDATE in out
    # Service versions, by image.
    assert "| `mojaloop/central-ledger` | v17.3.2 | v17.6.0 |" in out
    assert "| `mojaloop/account-lookup-service` | v15.0.0 | v15.2.1 |" in out
    # Every Deployment that rolls, and why.
    assert ("- changed **Deployment/moja-centralledger-service** (moja), changes in: image, pod annotations "
            "(configuration checksums)") in out
    # The candidate's quoting chart knows none of the 16.x quoting keys: its placement goes, its Ingress comes.
    assert "- changed **Deployment/moja-quoting-service** (moja), changes in: volume mounts, volumes, pod " \
           "annotations (configuration checksums), affinity, tolerations" in out
    assert "- added Ingress/moja-quoting-service (moja)" in out
    assert "`moja: quoting-service.quoting-service`" in out.split("unknown to the 16.0.0-rc.20240129 charts")[1]
    # JWS signing comes on, with keys the chart itself makes (its example keys).
    assert "| added | Secret `moja-quoting-service-jws-signing-key` | Deployment/moja-quoting-service (volume " \
           "jws-signing-key) | chart of moja |" in out
    assert "`ENDPOINT_SECURITY.JWS.JWS_SIGN`: false → true" in out
    # Database migrations run by the new images when they start.
    assert ("- migration **Deployment/moja-centralledger-service** container `run-migration`: "
            "`mojaloop/central-ledger:v17.3.2` → `mojaloop/central-ledger:v17.6.0`") in out
    # Chart keys in one release only: the new position batch handler, the renamed account-lookup caches.
    assert "`moja: centralledger.centralledger-handler-transfer-position-batch`" in out
    assert "`moja: account-lookup-service.account-lookup-service.config.end_point_cache`" in out.split(
        "In the charts of 15.2.0 only")[1]


def test_the_json_output_lists_images_and_workloads_and_nothing_else_is_on_stdout(mirror, capsys):
    assert main(["release", "diff", "15.2.0", CANDIDATE, *mirror, "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "mojaloop-iac/release-diff/v1"
    assert (document["stack"], document["from"]["release"], document["to"]["release"]) == ("demo", "15.2.0", CANDIDATE)
    images = {image["repository"]: image for image in document["images"]}
    assert (images["mojaloop/central-ledger"]["from"], images["mojaloop/central-ledger"]["to"]) == (["v17.3.2"], ["v17.6.0"])
    assert "Deployment/moja-centralledger-service" in images["mojaloop/central-ledger"]["workloads"]
    workloads = {(w["kind"], w["name"]): w for w in document["workloads"]}
    ledger = workloads[("Deployment", "moja-centralledger-service")]
    assert ledger["change"] == "changed" and ledger["detail"].startswith("image") and ledger["release"] == "moja"
    assert document["summary"]["workloadsChanged"] == sum(1 for w in document["workloads"] if w["change"] == "changed")
    assert {"workload": "Deployment/moja-centralledger-service", "container": "centralledger-service",
            "from": "mojaloop/central-ledger:v17.3.2", "to": "mojaloop/central-ledger:v17.6.0"} in document["containerImages"]
    references = {r["name"]: r for r in document["references"]}
    assert references["moja-quoting-service-jws-signing-key"]["madeByPlan"] is True
    assert document["valuesKeys"]["chart"]["added"] and document["migrations"]


def test_a_release_whose_chart_cannot_be_obtained_is_refused_with_the_reason(mirror, capsys):
    # The published 16.0.0 chart is not on the mirror (only its candidate is).
    assert main(["release", "diff", "16.0.0", CANDIDATE, *mirror]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    error = " ".join(captured.err.split())
    assert "Cannot diff: Mojaloop 16.0.0's release moja cannot be rendered: mojaloop 16.0.0 is not in http://127.0.0.1:" in error


def test_an_unknown_release_is_refused():
    assert main(["release", "diff", "15.2.0", "15.9.9", "--chart-mirror", "http://127.0.0.1:9"]) == 2


def test_a_release_helm_refuses_with_the_stacks_values_fails_the_diff(mirror, tmp_path, capsys):
    """The candidate's quoting chart signs with an inline key: a hub whose values file blanks it (as one
    would to keep the example key out) cannot install the candidate, and the diff says so with Helm's words."""
    values = tmp_path / "mojaloop-values.yaml"
    values.write_text(yaml.safe_dump({"quoting-service": {"config": {"endpointSecurity": {"jwsSigningKey": ""}}}}))
    document = yaml.safe_load((STACKS_DIR / "Pulumi.demo.yaml").read_text())
    # Named relative to the stack file, as users do: both sides' stacks must still find it.
    document["config"]["mojaloop:environment"]["mojaloop"]["valuesFile"] = values.name
    stack = tmp_path / "Pulumi.demo.yaml"
    stack.write_text(yaml.safe_dump(document))
    assert main(["release", "diff", "15.2.0", CANDIDATE, "--stack", str(stack), *mirror]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.demo.yaml", values.name]  # nothing left behind
    error = " ".join(capsys.readouterr().err.split())
    assert f"Helm refused to render Mojaloop {CANDIDATE}'s release moja with the values of stack demo" in error
    assert "JWS signing enabled but no jwsSigningKey provided" in error


def test_the_validation_dry_run_prints_the_release_diff_where_the_charts_are_available(mirror, capsys):
    assert main(["release", "validate", "--candidate", CANDIDATE, "--template", "demo", "--dry-run", *mirror]) == 0
    out = capsys.readouterr().out
    diff = out.split("### Release diff\n", 1)[1]
    assert diff.lstrip().startswith(f"#### Mojaloop 15.2.0 → {CANDIDATE}")
    assert "| `mojaloop/central-ledger` | v17.3.2 | v17.6.0 |" in diff and "##### Workloads" in diff


def test_the_dry_run_says_why_there_is_no_diff_and_still_succeeds(capsys, tmp_path):
    # A chart mirror nothing listens on (the cache is empty): no chart can be obtained.
    code = main(["release", "validate", "--candidate", CANDIDATE, "--template", "demo", "--dry-run",
                 "--chart-mirror", "http://127.0.0.1:9", "--chart-cache", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    diff = " ".join(out.split("### Release diff\n", 1)[1].split())
    assert diff.startswith("Not available: Mojaloop 15.2.0's release ")
    assert "cannot fetch the index of http://127.0.0.1:9" in diff


# --- the rules, on small sides -----------------------------------------------------------------------------


def deployment(name: str, image: str, *, env: list | None = None, volumes: list | None = None,
               init: list | None = None, annotations: dict | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"template": {"metadata": {}, "spec": {
                "initContainers": init or [],
                "containers": [{"name": name, "image": image, "env": env or []}],
                "volumes": volumes or []}}}}


def config_map(name: str, **files: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": files}


def side(version: str, objects: list[dict], made_by: dict | None = None, values: dict | None = None,
         shape: object = OPEN) -> RenderedSide:
    chart = RenderedChart("moja", "mojaloop", f"mojaloop {version}", "http://127.0.0.1:1", tuple(objects),
                          values or {}, shape)
    return RenderedSide(version, (chart,), made_by or {})


def test_settings_named_as_credentials_are_never_shown_and_formatting_alone_is_no_change():
    before = side("1.0.0", [config_map("svc", **{"default.json": json.dumps({"DB": {"PASSWORD": "old-one", "HOST": "a"}}),
                                                 "same.json": '{"A": 1, "B": [1, 2]}'})])
    after = side("2.0.0", [config_map("svc", **{"default.json": json.dumps({"DB": {"PASSWORD": "new-one", "HOST": "b"}}),
                                                "same.json": '{\n  "B": [1, 2],\n  "A": 1\n}'})])
    diff = diff_releases("demo", "1.29", before, after)
    [changed] = diff.config_files
    assert (changed.config_map, changed.file) == ("svc", "default.json")
    keys = {key.key: (key.before, key.after) for key in changed.keys}
    assert keys == {"DB.HOST": ('"a"', '"b"'), "DB.PASSWORD": (HIDDEN, HIDDEN)}
    text = diff_markdown(diff) + json.dumps(diff.to_json())
    assert "old-one" not in text and "new-one" not in text


def test_a_reference_nothing_in_the_plan_makes_is_flagged_and_a_dropped_one_says_who_still_makes_it():
    reads = [{"name": "NEW", "valueFrom": {"secretKeyRef": {"name": "fresh-secret", "key": "k"}}}]
    before = side("1.0.0", [deployment("svc", "img:1", volumes=[{"name": "c", "configMap": {"name": "old-config"}}])],
                  made_by={("ConfigMap", "mojaloop", "old-config"): ("chart of moja",)})
    after = side("2.0.0", [deployment("svc", "img:1", env=reads)],
                 made_by={("ConfigMap", "mojaloop", "old-config"): ("plan object ConfigMap mojaloop/old-config",)})
    diff = diff_releases("demo", "1.29", before, after)
    added, removed = diff.references
    assert (added.change, added.kind, added.name, added.made_by) == ("added", "Secret", "fresh-secret", ())
    assert diff.unmade_references == (added,)
    assert (removed.change, removed.made_by, removed.made_after) == (
        "removed", ("chart of moja",), ("plan object ConfigMap mojaloop/old-config",))
    text = diff_markdown(diff)
    assert "| added | Secret `fresh-secret` | Deployment/svc (env NEW) | **nothing in the plan makes it** |" in text
    assert [(w.change, w.detail) for w in diff.workloads] == [("changed", "environment, volumes")]


def test_hooks_jobs_and_migrations_added_are_listed_apart_from_the_workloads():
    hook = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "db-migrate", "annotations": {"helm.sh/hook": "pre-upgrade"}},
        "spec": {"template": {"spec": {"containers": [{"name": "migrate", "image": "ledger:2",
                                                       "command": ["npm", "run", "migrate"]}]}}}}
    before = side("1.0.0", [deployment("ledger", "ledger:1")])
    after = side("2.0.0", [deployment("ledger", "ledger:2"), hook,
                           deployment("handler", "ledger:2")])
    diff = diff_releases("demo", "1.29", before, after)
    assert [(h.change, h.label, h.detail) for h in diff.hooks] == [("added", "Job/db-migrate", "pre-upgrade")]
    assert [(w.change, w.label) for w in diff.workloads] == [("added", "Deployment/handler"),
                                                             ("changed", "Deployment/ledger")]
    assert [(m.workload, m.container, m.before, m.after) for m in diff.migrations] == [
        ("Job/db-migrate", "migrate", None, "ledger:2")]
    [image] = diff.images
    assert (image.repository, image.before, image.after) == ("ledger", ("1",), ("2",))
    assert "- migration **Job/db-migrate** container `migrate`: a new migration → `ledger:2`" in diff_markdown(diff)


def test_values_keys_of_the_charts_and_of_the_plan_in_one_release_only():
    before = side("1.0.0", [], values={"a": {"keep": 1, "old": 2}},
                  shape={"a": {"keep": SCALAR, "old": SCALAR}, "open": OPEN, "list": LIST, "free": ANY})
    after = side("2.0.0", [], values={"a": {"keep": 3, "new": {"x": 1}}, "stray": True},
                 shape={"a": {"keep": SCALAR, "new": {"x": SCALAR}}, "open": {"k": SCALAR}, "list": {"m": SCALAR},
                        "free": {"z": SCALAR}})
    keys = diff_releases("demo", "1.29", before, after).values_keys
    assert keys.chart_added == ("moja: a.new",) and keys.chart_removed == ("moja: a.old",)
    # An open map that gained known keys is still a map; below a null default anything goes.
    assert keys.chart_retyped == (("moja: list", "list", "map"),)
    assert (keys.plan_added, keys.plan_removed) == (("moja: a.new", "moja: stray"), ("moja: a.old",))
    assert keys.ignored_after == ("moja: stray",) and keys.ignored_before == ()
