"""`mojactl plan --render` against the real charts, served on loopback as a chart mirror.

The demo (Mojaloop 15.2.0), the control centers (bare metal, AWS, the full profile with GitLab, OpenBao)
render with zero errors; each check fails when what it guards is broken (a deleted ExternalSecret, an
unknown values key, a workload without a class, an image outside the registry mirror, an invalid object,
a mount only satisfiable after the release, a Secret generator racing Vault's).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.charts import ChartRepositories, find_helm, render_chart
from mojaloop_iac.cli import EXIT_FAILED, EXIT_INVALID, main
from mojaloop_iac.config.load import validate_stack_file
from mojaloop_iac.plan.engine import PlanRecord, RecordedResource
from mojaloop_iac.plan.run import plan_stack
from mojaloop_iac.render.plan_view import plan_view
from mojaloop_iac.render.renderer import RenderResult
from mojaloop_iac.render.run import RenderOptions, run_checks
from tests.support.chart_repo import ChartRepository, chart_repository, helm  # noqa: F401
from tests.support.stacks import copy_stack

EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


@pytest.fixture(scope="session")
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chart-cache")


@pytest.fixture(scope="session")
def options(chart_repository: ChartRepository, chart_cache: Path, helm: Path) -> RenderOptions:  # noqa: F811
    return RenderOptions(helm=helm, cache_dir=chart_cache, mirror=chart_repository.url)


def stack_file(tmp_path: Path, base: str, change) -> Path:
    def edit(document: dict) -> None:
        change(next(iter(v for k, v in document["config"].items() if k.startswith("mojaloop:"))))

    # Next to the operator keys the control centers name: paths in a stack are relative to its file.
    return copy_stack(base, tmp_path, f"{base}-variant", edit)


# The versions of the platform charts the mirror (../shared/charts) holds. The stacks pin, per Kubernetes
# minor, the newest Istio, cert-manager and External Secrets supporting it (config/platform-versions.yaml),
# which are older for the demo's 1.28; these variants pin the mirror's so every chart renders and every
# check runs (istio-cni aside: the mirror has no cni chart at all).
MIRRORED_PLATFORM = {"istio": "1.30.3", "cert-manager": "v1.21.1", "external-secrets": "2.9.0"}
PLATFORM_RELEASES = {"istio-base", "istiod", "istio-cni", "istio-internal-ingress-gw", "istio-external-ingress-gw",
                     "callback-egress-gateway", "cert-manager", "external-secrets"}


def mirrored_platform(settings: dict) -> None:
    settings["chartVersions"] = {**settings.get("chartVersions", {}), **MIRRORED_PLATFORM}


def full_profile(cc: dict) -> None:
    # GitLab 9.7.4 and its runner 0.84.2 (the pins) are not obtainable here; the mirror has 9.7.1/0.84.1.
    mirrored_platform(cc)
    cc.update(profile="full", chartVersions={**cc["chartVersions"], "gitlab": "9.7.1", "gitlab-runner": "0.84.1"})


def openbao(cc: dict) -> None:
    mirrored_platform(cc)
    cc["secretsStore"]["implementation"] = "openbao"


@pytest.fixture(scope="session")
def demo(options: RenderOptions, tmp_path_factory: pytest.TempPathFactory):
    """The demo with the mirror's platform versions: every release renders but istio-cni."""
    return plan_stack(str(stack_file(tmp_path_factory.mktemp("demo"), "demo", mirrored_platform)), None, None, options)


@pytest.fixture(scope="session")
def full_control_center(options: RenderOptions, tmp_path_factory: pytest.TempPathFactory):
    return plan_stack(str(stack_file(tmp_path_factory.mktemp("cc"), "control-center", full_profile)), None, None,
                      options)


def errors(result) -> list[str]:
    return [str(finding) for finding in result.render.findings]


# --- the stacks render with zero errors --------------------------------------------------------------------


def test_the_demo_renders_every_release_with_zero_errors(demo):
    report = demo.render
    assert errors(demo) == []
    assert set(report.result.not_rendered) == {"istio-cni"}
    assert set(report.result.rendered) == {r.name for r in plan_view(demo.record).releases} - {"istio-cni"} | {
        "keycloak-operator"
    }
    kinds = {obj.body["kind"] for obj in report.result.rendered["moja"].objects}
    assert {"Deployment", "StatefulSet", "Service", "ConfigMap"} <= kinds
    # The Keycloak operator's manifests came from the mirror, checked against their pinned sha256.
    crds = [o.body for o in report.result.rendered["keycloak-operator"].objects if o.body["kind"] == "CustomResourceDefinition"]
    assert {crd["spec"]["names"]["kind"] for crd in crds} == {"Keycloak", "KeycloakRealmImport"}


def test_the_shipped_demo_renders_with_zero_errors_and_names_each_chart_the_mirror_lacks(options):
    result = plan_stack("demo", None, None, options)
    assert errors(result) == []
    not_rendered = result.render.result.not_rendered
    assert set(not_rendered) == PLATFORM_RELEASES
    assert all(" is not in http://127.0.0.1:" in reason for reason in not_rendered.values())
    assert {"moja", "backend", "oathkeeper"} <= set(result.render.result.rendered)
    # Their CRDs were not rendered either: the objects of those API groups are said to be unchecked.
    assert "Not checked: the objects of API groups whose CRDs come from a release that was not rendered" in result.summary
    assert "istio-base: extensions.istio.io, networking.istio.io" in result.summary


@pytest.mark.parametrize("variant", ["control-center", "control-center-aws", "full", "openbao"])
def test_the_control_centers_render_with_zero_errors(variant, options, tmp_path, request):
    if variant == "full":
        result = request.getfixturevalue("full_control_center")
    elif variant == "openbao":
        result = plan_stack(str(stack_file(tmp_path, "control-center", openbao)), None, None, options)
    else:
        result = plan_stack(str(stack_file(tmp_path, variant, mirrored_platform)), None, None, options)
    assert errors(result) == []
    assert result.render.result.not_rendered == {}
    rendered = result.render.result.rendered
    assert ("gitlab" in rendered) == (variant == "full")
    secrets_store = rendered["vault"]
    assert secrets_store.chart.startswith("openbao " if variant == "openbao" else "vault ")
    servers = json.dumps([o.body for o in secrets_store.objects if o.body["kind"] == "StatefulSet"])
    assert ("openbao/openbao" in servers) == (variant == "openbao")


def test_the_cli_writes_rendered_objects_and_lists_objects_per_release(options, tmp_path, capsys):
    out = tmp_path / "bundle"
    code = main(["plan", "demo", "--out", str(out), "--render", "--chart-mirror", options.mirror,
                 "--chart-cache", str(options.cache_dir)])
    assert code == 0, capsys.readouterr().err
    deployment = out / "rendered" / "moja" / "mojaloop" / "Deployment-moja-centralledger-service.yaml"
    assert yaml.safe_load(deployment.read_text())["kind"] == "Deployment"
    assert deployment.read_text().startswith("# Source: mojaloop/charts/centralledger/")
    summary = (out / "summary.md").read_text()
    assert "## Rendered releases" in summary
    assert "| moja | mojaloop 15.2.0 |" in summary and "Deployment " in summary
    assert "### Errors\n\nNone." in summary


def test_a_release_whose_chart_is_not_obtainable_is_listed_with_the_reason_not_skipped(options):
    # aws-dev runs Mojaloop 17.0.0: no 17.x chart exists here (and its values are partly inferred).
    result = plan_stack("aws-dev", None, None, options)
    not_rendered = result.render.result.not_rendered
    assert {"moja", "backend"} <= set(not_rendered) <= {"moja", "backend"} | PLATFORM_RELEASES
    assert "mojaloop 17.0.0 is not in" in not_rendered["moja"] and "15.2.0" in not_rendered["moja"]
    assert "**moja**: mojaloop 17.0.0 is not in" in result.summary
    assert "Mojaloop 17.0.0: the values are partly inferred" in result.summary
    assert errors(result) == []  # not obtainable is reported, not an error


def test_without_helm_render_is_refused_with_what_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MOJACTL_HELM", "/bin/false")
    find_helm.cache_clear()
    try:
        code = main(["plan", "demo", "--out", str(tmp_path), "--render"])
    finally:
        find_helm.cache_clear()
    assert code == EXIT_INVALID
    assert "does not run" in capsys.readouterr().err


# --- the chart cache -----------------------------------------------------------------------------------------


def test_charts_are_cached_by_repository_name_and_version_and_checked_against_the_index_digest(
    chart_repository: ChartRepository, tmp_path: Path  # noqa: F811
):
    from mojaloop_iac.charts import ChartRef, ChartUnavailable

    repositories = ChartRepositories(tmp_path, mirror=chart_repository.url)
    ref = ChartRef("https://k8s.ory.com/helm/charts", "oathkeeper", "0.62.1")
    fetched = repositories.fetch(ref)
    assert fetched.source == chart_repository.url and fetched.path.is_file()
    index = yaml.safe_load((chart_repository.directory / "index.yaml").read_text())
    assert fetched.digest == index["entries"]["oathkeeper"][0]["digest"]
    # A cached archive that no longer matches its digest is fetched again.
    fetched.path.write_bytes(b"tampered")
    again = ChartRepositories(tmp_path, mirror=chart_repository.url).fetch(ref)
    assert again.path.read_bytes()[:2] == b"\x1f\x8b"
    # A warm cache needs no repository at all.
    offline = ChartRepositories(tmp_path, mirror="http://127.0.0.1:9")
    offline_key = ChartRepositories(tmp_path, mirror=chart_repository.url)
    assert offline_key.fetch(ref).path == again.path
    with pytest.raises(ChartUnavailable, match="cannot fetch"):
        offline.fetch(ref)
    with pytest.raises(ChartUnavailable, match=r"gitlab 9\.7\.4 is not in .* \(it has 9\.7\.1\)"):
        repositories.fetch(ChartRef("https://charts.gitlab.io", "gitlab", "9.7.4"))


def test_an_archive_whose_digest_differs_from_the_index_is_refused(chart_repository, tmp_path):  # noqa: F811
    import shutil

    from mojaloop_iac.charts import ChartRef, ChartUnavailable
    from tests.support.chart_repo import serve_charts

    repo = tmp_path / "repo"
    repo.mkdir()
    index = yaml.safe_load((chart_repository.directory / "index.yaml").read_text())
    entry = index["entries"]["zot"][0]
    shutil.copy(chart_repository.directory / entry["urls"][0], repo / entry["urls"][0])
    entry["digest"] = "0" * 64
    (repo / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {"zot": [entry]}}))
    with serve_charts(repo) as served:
        with pytest.raises(ChartUnavailable, match="expected 0000"):
            ChartRepositories(tmp_path / "cache", mirror=served.url).fetch(ChartRef("x", "zot", entry["version"]))


# --- each check fails when what it guards is broken ----------------------------------------------------------


def without(record: PlanRecord, keep) -> PlanRecord:
    return dataclasses.replace(record, resources=[r for r in record.resources if keep(r)])


def rerendered(result: RenderResult, record: PlanRecord, release: str, values: dict, options: RenderOptions,
               kube: str) -> RenderResult:
    """The render result with one release rendered again from changed values (through the render API)."""
    old = result.rendered[release]
    ref = next(r.chart for r in plan_view(record).releases if r.name == release)
    chart = ChartRepositories(options.cache_dir, options.mirror).fetch(ref)
    out = render_chart(options.helm, chart.path, release, old.namespace, values, kube, result.api_versions)
    changed = dict(result.rendered)
    changed[release] = dataclasses.replace(old, objects=out.objects, warnings=out.warnings)
    return dataclasses.replace(result, rendered=changed)


def checked(record: PlanRecord, config, result: RenderResult) -> list[str]:
    return [str(f) for f in run_checks(plan_view(record), result, config)]


def test_references_a_deleted_external_secret_is_reported_for_every_reader(demo):
    record = without(demo.record, lambda r: not (r.type == EXTERNAL_SECRET and r.inputs["metadata"]["name"] == "mysqldb"))
    found = checked(record, demo.validated.config, demo.render.result)
    assert any("moja: Deployment mojaloop/moja-centralledger-service: Secret mysqldb (env" in f
               and "nothing in the plan creates it" in f for f in found)
    assert any(f.startswith("[references] backend: StatefulSet mojaloop/mysqldb: Secret mysqldb") for f in found)


def with_values(record: PlanRecord, release: str, change) -> tuple[PlanRecord, dict]:
    resources, values = [], {}
    for resource in record.resources:
        if resource.type == "kubernetes:helm.sh/v3:Release" and resource.inputs.get("name") == release:
            inputs = copy.deepcopy(resource.inputs)
            change(inputs["values"])
            values = inputs["values"]
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    return dataclasses.replace(record, resources=resources), values


def test_values_an_unknown_key_and_a_list_for_a_map_are_reported(demo, options):
    def change(values):
        values["thirdparty"]["thirdparty-simulator"]["simulators"] = {"pisp": {"ingress": {"enabled": False}}}

    record, _ = with_values(demo.record, "moja", change)
    found = checked(record, demo.validated.config, demo.render.result)
    assert "[values] moja: values key thirdparty.thirdparty-simulator.simulators.pisp.ingress.enabled: the chart has no " \
           "such key (Helm ignores it)" in found

    def envs_as_list(values):  # what the plan gave oathkeeper-maester before
        values["oathkeeper-maester"] = {"deployment": {"envs": [{"name": "a", "value": "b"}]}}

    record, _ = with_values(demo.record, "oathkeeper", envs_as_list)
    found = checked(record, demo.validated.config, demo.render.result)
    assert any("oathkeeper-maester.deployment.envs: a list, where the chart's default is a map" in f for f in found)


def test_placement_a_workload_tolerating_the_dedicated_nodes_without_a_class_is_reported(demo, options):
    def no_affinity(values):
        del values["simulator"]["affinity"]

    record, values = with_values(demo.record, "moja", no_affinity)
    result = rerendered(demo.render.result, record, "moja", values, options, "1.28")
    found = checked(record, demo.validated.config, result)
    assert found == [
        "[placement] moja: Deployment mojaloop/moja-simulator: tolerates the dedicated-node taint "
        "moja-enabled=true:NoSchedule but has no required workload-class.mojaloop.io/<CLASS> node affinity: it "
        "may land on the Kafka or database nodes"
    ]


def test_images_with_a_registry_mirror_every_image_must_go_through_it(options, tmp_path):
    def mirror(env):
        env["baremetal"]["registryMirror"] = "mirror.int.cc.mojaloop.example"

    result = plan_stack(str(stack_file(tmp_path, "demo", mirror)), None, None, options)
    found = [f for f in errors(result) if f.startswith("[images]")]
    assert found == [f for f in errors(result)]  # nothing else breaks
    # Images from docker.io, quay.io, ghcr.io and registry.k8s.io go through the mirror; others do not.
    for finding in found:
        image = finding.split("image ", 1)[1].split(" ", 1)[0]
        assert not image.startswith(("docker.io/", "quay.io/", "ghcr.io/", "registry.k8s.io/", "mirror.int."))
        assert "which is not pulled through the registry mirror mirror.int.cc.mojaloop.example" in finding


def test_schemas_an_invalid_custom_resource_and_a_kind_no_crd_defines_are_reported(demo):
    resources = []
    for resource in demo.record.resources:
        if resource.type == "kubernetes:cert-manager.io/v1:Certificate":
            inputs = copy.deepcopy(resource.inputs)
            inputs["spec"]["secretNmae"] = inputs["spec"]["secretName"]
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    stray = dataclasses.replace(resources[0], urn=resources[0].urn + "-stray", type="kubernetes:example.com/v1:Thing",
                                custom=True, inputs={"apiVersion": "example.com/v1", "kind": "Thing",
                                                     "metadata": {"name": "stray", "namespace": "mojaloop"}})
    record = dataclasses.replace(demo.record, resources=[*resources, stray])
    found = checked(record, demo.validated.config, demo.render.result)
    assert any(f.startswith("[schemas] (plan): Certificate") and "secretNmae" in f for f in found)
    assert "[schemas] (plan): Thing mojaloop/stray: no CRD the stack installs defines example.com/v1 Thing" in found


def test_ordering_a_mount_only_satisfiable_after_the_release_is_a_deadlock(demo, options):
    """Oathkeeper as the plan had it: Maester writes the rules ConfigMap from Rules that depend on the
    atomic oathkeeper release, whose pods mount that ConfigMap."""

    def maester(values):
        values["oathkeeper"]["managedAccessRules"] = False
        values["oathkeeper"].pop("accessRules")
        values["maester"] = {"enabled": True}

    record, values = with_values(demo.record, "oathkeeper", maester)
    oathkeeper = next(r for r in record.resources if r.inputs.get("name") == "oathkeeper"
                      and r.type == "kubernetes:helm.sh/v3:Release")
    rule = RecordedResource(
        urn=oathkeeper.urn.replace("helm.sh/v3:Release", "oathkeeper.ory.sh/v1alpha1:Rule") + "-rule",
        type="kubernetes:oathkeeper.ory.sh/v1alpha1:Rule", name="rule", parent=oathkeeper.parent, custom=True,
        provider=None, dependencies=(oathkeeper.urn,), options={},
        inputs={"apiVersion": "oathkeeper.ory.sh/v1alpha1", "kind": "Rule",
                "metadata": {"name": "central-ledger-admin-read", "namespace": "ory"}, "spec": {}},
    )
    record = dataclasses.replace(record, resources=[*record.resources, rule])
    result = rerendered(demo.render.result, record, "oathkeeper", values, options, "1.28")
    found = checked(record, demo.validated.config, result)
    assert (
        "[ordering] oathkeeper: Deployment ory/oathkeeper: ConfigMap oathkeeper-rules (volume "
        "oathkeeper-rules-volume): deadlock: only Oathkeeper Maester of oathkeeper, from the plan's Rules creates "
        "it, after the release is ready; the first install waits for it, times out and rolls back"
    ) in found


def test_ordering_gitlabs_secret_generator_must_not_race_vaults_external_secrets(full_control_center):
    assert errors(full_control_center) == []
    resources = []
    for resource in full_control_center.record.resources:
        if resource.type == EXTERNAL_SECRET and resource.inputs["metadata"]["name"] == "gitlab-redis-password":
            inputs = copy.deepcopy(resource.inputs)
            inputs["metadata"].pop("annotations")  # not awaited: the release may start before the Secret exists
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    record = dataclasses.replace(full_control_center.record, resources=resources)
    found = checked(record, full_control_center.validated.config, full_control_center.render.result)
    assert len(found) == 1 and found[0].startswith(
        "[ordering] gitlab: Secret gitlab/gitlab-redis-password: gitlab's job generating Secrets "
        "(gitlab-shared-secrets) creates it when missing, and ExternalSecret gitlab/gitlab-redis-password creates "
        "it too: install order decides who wins"
    )


def test_invalid_rendered_objects_exit_3_with_the_errors_and_the_bundle_written(options, tmp_path, capsys):
    def broken(env):
        env["mojaloop"]["valuesFile"] = str(values_file)

    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump({"centralledger": {"centralledger-service": {"replicaCount": "many"}}}))
    stack = stack_file(tmp_path, "demo", broken)
    code = main(["plan", str(stack), "--out", str(tmp_path / "out"), "--render", "--chart-mirror", options.mirror,
                 "--chart-cache", str(options.cache_dir)])
    captured = capsys.readouterr()
    assert code == EXIT_FAILED, captured.err
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "- [schemas] moja: Deployment mojaloop/moja-centralledger-service: spec.replicas: 'many' is not of " \
           "type 'integer'" in summary
    assert (tmp_path / "out" / "rendered" / "moja").is_dir()


def test_the_stack_setting_chart_mirror_installs_every_chart_and_manifest_from_it(tmp_path):
    def mirrored(env):
        env["chartMirror"] = "https://charts.int.cc.mojaloop.example/helm"

    result = plan_stack(str(stack_file(tmp_path, "demo", mirrored)), None)
    repos = {r.chart.repo for r in plan_view(result.record).releases}
    assert repos == {"https://charts.int.cc.mojaloop.example/helm"}
    files = [m.url for m in plan_view(result.record).manifest_files]
    assert files and all(url.startswith("https://charts.int.cc.mojaloop.example/helm/manifests/keycloak-operator-26.0.0/")
                         for url in files)
    validated = validate_stack_file(str(stack_file(tmp_path, "demo", mirrored)))[1]
    assert validated.config.cluster.chart_mirror == "https://charts.int.cc.mojaloop.example/helm"


def test_the_plan_without_render_needs_no_helm(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("MOJACTL_HELM", "/nonexistent/helm")
    find_helm.cache_clear()
    try:
        assert main(["plan", "demo", "--out", str(tmp_path), "-q"]) == 0
    finally:
        find_helm.cache_clear()
    assert not (tmp_path / "rendered").exists()

