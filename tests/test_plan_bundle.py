"""The offline plan: deterministic bundle, no secret values, valid Kubernetes objects."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from mojaloop_iac.plan.run import plan_stack
from tests.support.manifests import bundle_manifests, is_core, validate_core, validate_custom
from tests.support.stacks import copy_stack

KUBECONFIG_SECRET = "token: kubeconfig-secret-value-4d9f"


def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    plan_stack("demo", out)
    return out


def test_bundle_has_the_documented_layout(demo_bundle):
    files = files_of(demo_bundle)
    assert {"plan.json", "summary.md"} <= set(files)
    assert "manifests/_cluster/Namespace-mojaloop.yaml" in files
    assert {"helm/moja/release.yaml", "helm/moja/values.yaml"} <= set(files)
    release = yaml.safe_load(files["helm/moja/release.yaml"])
    assert (release["chart"], release["version"], release["namespace"]) == ("mojaloop", "15.2.0", "mojaloop")
    assert release["repo"] == "https://mojaloop.github.io/helm/repo"


def test_plan_json_records_every_resource_sorted(demo_bundle):
    plan = json.loads((demo_bundle / "plan.json").read_text())
    urns = [r["urn"] for r in plan["resources"]]
    assert urns == sorted(urns) and len(urns) == len(set(urns))
    for resource in plan["resources"]:
        assert set(resource) >= {"urn", "type", "name", "parent", "dependencies", "provider", "inputs"}
    # Every in-cluster resource goes through an explicit provider built from the cluster's kubeconfig,
    # never the ambient one.
    providers = {r["urn"] for r in plan["resources"] if r["type"] == "pulumi:providers:kubernetes"}
    in_cluster = [r for r in plan["resources"] if r["type"].startswith("kubernetes:")]
    assert in_cluster and all(r["provider"] in providers for r in in_cluster)
    assert all(
        r["inputs"]["kubeconfig"] == "[secret]" for r in plan["resources"] if r["type"] == "pulumi:providers:kubernetes"
    )


def test_same_input_gives_a_byte_identical_bundle_in_process(demo_bundle, tmp_path):
    plan_stack("demo", tmp_path)
    assert files_of(tmp_path) == files_of(demo_bundle)


def test_same_input_gives_a_byte_identical_bundle_across_processes(tmp_path):
    """Separate interpreters with different hash seeds, as two machines would run it."""
    bundles = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "mojaloop_iac.cli", "plan", "demo", "--out", str(out), "--quiet"],
            check=True, env=env, capture_output=True,
        )
        bundles.append(files_of(out))
    assert bundles[0] == bundles[1]


def test_bundle_holds_no_secret_value(tmp_path):
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    # An encrypted kubeconfig, as `pulumi config set --secret` writes it (a clear one is refused).
    stack["config"]["mojaloop:kubeconfig"] = {"secure": "v1:" + base64.b64encode(KUBECONFIG_SECRET.encode()).decode()}
    stack_file = tmp_path / "Pulumi.secretive.yaml"
    stack_file.write_text(yaml.safe_dump(stack))
    out = tmp_path / "bundle"
    result = plan_stack(str(stack_file), out)
    for name, content in files_of(out).items():
        assert b"kubeconfig-secret-value" not in content, f"secret value in {name}"
        assert base64.b64encode(KUBECONFIG_SECRET.encode()) not in content, f"ciphertext in {name}"
    provider = next(r for r in json.loads((out / "plan.json").read_text())["resources"]
                    if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert any("mojaloop:kubeconfig is encrypted" in warning for warning in result.warnings)


def test_a_kubeconfig_in_clear_in_the_stack_file_is_refused(tmp_path, capsys):
    from mojaloop_iac import cli

    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    stack["config"]["mojaloop:kubeconfig"] = f"apiVersion: v1\nusers:\n- name: u\n  user:\n    {KUBECONFIG_SECRET}\n"
    stack_file = tmp_path / "Pulumi.secretive.yaml"
    stack_file.write_text(yaml.safe_dump(stack))
    for command in ("validate", "plan"):
        assert cli.main([command, str(stack_file)]) == 2
        err = capsys.readouterr().err
        assert "mojaloop:kubeconfig: is in clear" in err and "kubeconfig-secret-value" not in err


def test_every_object_in_the_demo_bundle_validates(demo_bundle):
    version = "1.28"
    checked = 0
    for path, document in bundle_manifests(demo_bundle):
        if is_core(document):
            validate_core(document, version)
        else:
            validate_custom(document)
        checked += 1
    assert checked > 0


def test_summary_lists_releases_and_component_tree(demo_bundle):
    summary = (demo_bundle / "summary.md").read_text()
    assert "| moja | mojaloop | 15.2.0 | mojaloop |" in summary
    assert "```mermaid" in summary and "KubernetesCluster" in summary
    assert "## Warnings" in summary


def test_manifest_checks_reject_an_invalid_object():
    """The checks above are not vacuous: an unknown field or a bad custom resource fails."""
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_core({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "bogus": 1}, "1.28")
    with pytest.raises(jsonschema.ValidationError):
        validate_custom({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                         "metadata": {"name": "x"}, "spec": {"mtls": {"mode": "SOMETIMES"}}})


def _credential_literals(value, path=()):
    """Keys that name a password/secret holding a literal string instead of a Secret reference."""
    if isinstance(value, dict):
        for key, item in value.items():
            lowered = str(key).lower()
            if isinstance(item, str) and item and any(w in lowered for w in ("password", "secretkey", "token")) \
                    and not lowered.startswith("existing"):
                yield ".".join((*path, str(key)))
            yield from _credential_literals(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _credential_literals(item, (*path, str(index)))


def test_no_helm_value_carries_a_password(demo_bundle):
    for values_file in sorted((demo_bundle / "helm").glob("*/values.yaml")):
        literals = list(_credential_literals(yaml.safe_load(values_file.read_text())))
        assert literals == [], f"{values_file}: {literals}"


def test_backend_reads_its_passwords_from_the_shared_secret_definitions(demo_bundle):
    from mojaloop_iac.planners.secrets import BACKEND_SECRETS

    values = yaml.safe_load((demo_bundle / "helm" / "backend" / "values.yaml").read_text())
    referenced = set()

    def walk(node):
        if isinstance(node, dict):
            for key, item in node.items():
                if key == "existingSecret" and item:
                    referenced.add(item)
                walk(item)

    walk(values)
    assert referenced and referenced <= {need.name for need in BACKEND_SECRETS.values()}


def _external_secret_keys(bundle: Path) -> set[tuple[str, str, str]]:
    produced = set()
    for path in (bundle / "manifests").rglob("ExternalSecret-*.yaml"):
        external = yaml.safe_load(path.read_text())
        for item in external["spec"]["data"]:
            produced.add((external["metadata"]["namespace"], external["spec"]["target"]["name"], item["secretKey"]))
    return produced


def test_every_secret_key_the_values_reference_is_produced_by_an_external_secret(demo_bundle):
    from mojaloop_iac.planners.secrets import BACKEND_SECRETS

    produced = _external_secret_keys(demo_bundle)
    namespace = yaml.safe_load((demo_bundle / "helm" / "moja" / "release.yaml").read_text())["namespace"]
    referenced = set()

    def walk(node, backend):
        if isinstance(node, dict):
            if set(node) == {"name", "key"} and all(isinstance(v, str) for v in node.values()):
                referenced.add((namespace, node["name"], node["key"]))
            for key, item in node.items():
                if backend and key == "existingSecret" and item:
                    need = next(n for n in BACKEND_SECRETS.values() if n.name == item)
                    referenced.update((namespace, item, secret_key) for secret_key in need.keys)
                walk(item, backend)
        elif isinstance(node, list):
            for item in node:
                walk(item, backend)

    walk(yaml.safe_load((demo_bundle / "helm" / "moja" / "values.yaml").read_text()), backend=False)
    walk(yaml.safe_load((demo_bundle / "helm" / "backend" / "values.yaml").read_text()), backend=True)
    assert ("mojaloop", "mysqldb", "mysql-password") in referenced
    assert ("mojaloop", "mysqldb", "mysql-root-password") in referenced
    assert referenced <= produced, referenced - produced


def test_vault_resources_carry_paths_and_policy_names_only(tmp_path):
    # The demo with a Vault of its own (no control center administering its access).
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    env = stack["config"]["mojaloop:environment"]
    assert "controlCenterStack" not in env and env["vault"]["address"]
    stack_file = tmp_path / "Pulumi.demo.yaml"
    stack_file.write_text(yaml.safe_dump(stack))
    plan_stack(str(stack_file), tmp_path / "bundle")
    resources = json.loads((tmp_path / "bundle" / "plan.json").read_text())["resources"]
    generated = [r for r in resources if r["type"].endswith("mojaloop-vault:GeneratedSecret")]
    paths = {r["inputs"]["path"] for r in generated}
    assert {f"environments/demo/mojaloop/{name}" for name in ("mysqldb", "cl-mongodb", "ttk-mongodb")} <= paths
    assert all(path.startswith("environments/demo/") for path in paths)
    for resource in generated:
        assert all(policy.startswith("mojaloop-") for policy in resource["inputs"]["keys"].values())
        assert resource["inputs"]["token_env"] == "VAULT_TOKEN" and "token" not in resource["inputs"]
    # The demo administers its own Vault: one reader role whose policy is templated on the login's
    # namespace, so every namespace (the gateway's for its client CA, ...) reads only its own path.
    (role,) = [r["inputs"] for r in resources if r["type"].endswith("mojaloop-vault:KubernetesAuthRole")]
    assert (role["role"], role["bound_service_account_names"]) == ("secrets-reader", ["vault-secrets-reader"])
    assert role["policies"] == ["env-demo-read"]
    (policy,) = [r["inputs"] for r in resources if r["type"].endswith("mojaloop-vault:AclPolicy")]
    assert policy["name"] == "env-demo-read" and policy["auth_accessor_of"] == "kubernetes-demo"
    assert "{{identity.entity.aliases.@auth-mount-accessor@.metadata.service_account_namespace}}" in policy["policy"]


def test_an_allowed_upgrade_lists_its_ordered_steps_in_the_summary(tmp_path):
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    env = stack["config"]["mojaloop:environment"]
    env["mojaloop"].update({"installedRelease": "16.0.0", "release": "17.0.0"})
    env["kubernetes"]["version"] = "1.32"
    stack_file = tmp_path / "Pulumi.upgrading.yaml"
    stack_file.write_text(yaml.safe_dump(stack))
    summary = plan_stack(str(stack_file), tmp_path / "bundle").summary
    section = summary.split("## Upgrade steps", 1)[1].split("\n## ", 1)[0]
    assert section.index("**backend** example-mojaloop-backend 15.0.0 → 17.0.0") < section.index(
        "**umbrella** mojaloop 16.0.0 → 17.0.0"
    )
    release = yaml.safe_load((tmp_path / "bundle" / "helm" / "moja" / "release.yaml").read_text())
    assert release["version"] == "17.0.0" and any(dep.endswith("demo-mojaloop-backend") for dep in release["dependsOn"])


def _stack_with_values_file(tmp_path, overrides: dict) -> str:
    # Next to the stack file: paths in a stack are relative to its directory.
    values = tmp_path / "overrides.yaml"
    values.write_text(yaml.safe_dump(overrides))
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    stack["config"]["mojaloop:environment"]["mojaloop"]["valuesFile"] = "overrides.yaml"
    stack_file = tmp_path / "Pulumi.overridden.yaml"
    stack_file.write_text(yaml.safe_dump(stack))
    return str(stack_file)


def test_the_users_values_file_is_merged_last(tmp_path):
    stack = _stack_with_values_file(tmp_path, {"global": {"custom": "from-file"}, "ml-api-adapter": {"enabled": False}})
    plan_stack(stack, tmp_path / "bundle")
    values = yaml.safe_load((tmp_path / "bundle" / "helm" / "moja" / "values.yaml").read_text())
    assert values["global"]["custom"] == "from-file" and values["ml-api-adapter"]["enabled"] is False


def test_a_password_in_the_values_file_is_refused_cleanly(tmp_path, capsys):
    from mojaloop_iac import cli

    stack = _stack_with_values_file(tmp_path, {"centralledger": {"centralledger-service": {"config": {"db_password": "x" * 12}}}})
    code = cli.main(["plan", stack, "--out", str(tmp_path / "bundle"), "--quiet"])
    err = capsys.readouterr().err
    # Refused by the stack key, before anything is planned, and never echoed.
    assert code == 2 and "environment.mojaloop.valuesFile" in err and "x" * 12 not in err
    assert "centralledger.centralledger-service.config.db_password" in err


STACK_KUBERNETES = {"demo": "1.28", "aws-dev": "1.32", "control-center": "1.33", "control-center-aws": "1.33"}


@pytest.fixture(scope="module", params=sorted(STACK_KUBERNETES))
def any_bundle(request, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(request.param)
    plan_stack(request.param, out)
    return request.param, out


def test_every_object_of_every_example_stack_validates_for_its_kubernetes_version(any_bundle):
    stack, bundle = any_bundle
    for path, document in bundle_manifests(bundle):
        try:
            validate_core(document, STACK_KUBERNETES[stack]) if is_core(document) else validate_custom(document)
        except Exception as error:
            raise AssertionError(f"{path.relative_to(bundle)}: {error}") from error


def test_no_helm_value_of_any_example_stack_carries_a_password(any_bundle):
    _, bundle = any_bundle
    for values_file in sorted((bundle / "helm").glob("*/values.yaml")):
        assert list(_credential_literals(yaml.safe_load(values_file.read_text()))) == [], values_file


def test_aws_dev_runs_on_eks_with_a_node_group_per_pool(tmp_path):
    plan_stack("aws-dev", tmp_path)
    resources = json.loads((tmp_path / "plan.json").read_text())["resources"]
    groups = {r["inputs"]["labels"]["mojaloop.io/node-pool"]: r["inputs"]
              for r in resources if r["type"] == "aws:eks/nodeGroup:NodeGroup"}
    assert set(groups) == {"core", "kafka", "rdbms"}
    assert groups["core"]["scalingConfig"] == {"desiredSize": 3, "maxSize": 6, "minSize": 2}
    kafka = groups["kafka"]
    assert kafka["taints"] == [{"effect": "NO_SCHEDULE", "key": "moja-enabled", "value": "true"}]
    assert kafka["labels"]["workload-class.mojaloop.io/KAFKA-DATA-PLANE"] == "enabled"
    cluster = next(r for r in resources if r["type"] == "aws:eks/cluster:Cluster")
    assert cluster["options"].get("protect") is True
    assert cluster["inputs"]["encryptionConfig"]["resources"] == ["secrets"]
    provider = next(r for r in resources if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"


def test_istio_policies_select_pods_the_gateway_releases_label(any_bundle):
    """Gateways, JWT rules and ext-authz policies come from different planners: they must select real pods."""
    _, bundle = any_bundle
    labelled = set()
    for values_file in (bundle / "helm").glob("*/values.yaml"):
        release = yaml.safe_load((values_file.parent / "release.yaml").read_text())
        if release["chart"] == "gateway":
            labelled.add(yaml.safe_load(values_file.read_text())["labels"]["istio"])
    selected = set()
    for path, document in bundle_manifests(bundle):
        if document["apiVersion"].startswith(("networking.istio.io", "security.istio.io")):
            selector = document["spec"].get("selector") or {}
            selector = selector.get("matchLabels", selector)
            if "istio" in selector:
                selected.add(selector["istio"])
    assert selected <= labelled, selected - labelled


def test_the_control_center_profiles(tmp_path):
    minimal = plan_stack("control-center", tmp_path / "minimal")
    full_file = copy_stack("control-center", tmp_path, "cc-full", full_profile)
    full = plan_stack(str(full_file), tmp_path / "full")

    def charts(result):
        return {r.inputs["chart"] for r in result.record.resources if r.type == "kubernetes:helm.sh/v3:Release"}

    assert {"vault", "minio", "zot", "cert-manager", "external-secrets"} <= charts(minimal)
    assert "gitlab" not in charts(minimal) and {"gitlab", "gitlab-runner"} <= charts(full)
    outputs = minimal.record.outputs
    assert outputs["vaultAddress"] == "https://vault.int.cc.mojaloop.example"
    assert {"objectStorageUrl", "registryMirror", "vaultCaCert", "wireguardHubPublicKey", "wireguardLedger"} <= set(outputs)
    # The CA certificate (never its key) is read from cert-manager's Secret once cert-manager issued it.
    [ca] = [r for r in minimal.record.resources if r.type.endswith("mojaloop-kubeapi:ClusterCaCertificate")]
    assert "cc-cert-manager-certificate-cert-manager-internal-ca" in {r.name for r in minimal.record.resources
                                                                       if r.urn in ca.dependencies}
    buckets = {r.inputs["bucket"] for r in minimal.record.resources if r.type.endswith("mojaloop-objectstore:Bucket")}
    assert buckets == {"pulumi-state", "backups", "env-aws-dev", "env-qa-cluster"}
    # One ConsumerAccess per consumer, after its buckets and the secrets Vault generates; Vault paths only.
    def accesses(result):
        return {r.inputs["user"]: r for r in result.record.resources if r.type.endswith("objectstore:ConsumerAccess")}

    assert set(accesses(minimal)) == {"pulumi", "control-center", "env-aws-dev", "env-qa-cluster"}
    assert set(accesses(full)) == set(accesses(minimal)) | {"gitlab"}
    for result in (minimal, full):
        names = {r.urn: r.name for r in result.record.resources}
        generated = {r.inputs["path"] for r in result.record.resources if r.type.endswith("vault:GeneratedSecret")}
        for access in accesses(result).values():
            secret, root = access.inputs["secret_key_vault"], access.inputs["connection"]["secret_key_vault"]
            assert {secret["path"], root["path"]} <= generated and secret["mount"] == root["mount"] == "mojaloop"
            assert access.inputs["connection"]["access_key"] == "mojaloop-root"
            assert not {"secret_key_env", "secret_version"} & {k for k, v in access.inputs.items() if v is not None}
            after = {names[urn] for urn in access.dependencies if urn in names}
            assert "cc-secrets-minio-minio-root-password" in after
            assert any(name.startswith("cc-bucket-") for name in after)
    env_aws_dev = accesses(minimal)["env-aws-dev"].dependencies
    assert {"cc-bucket-env-aws-dev", "cc-bucket-backups"} <= {r.name for r in minimal.record.resources if r.urn in env_aws_dev}
    # Each declared environment's Vault access is part of the bootstrap, and exported for its stack.
    bootstrap = next(r for r in minimal.record.resources if r.type.endswith("VaultBootstrap"))
    assert [e["name"] for e in bootstrap.inputs["environments"]] == ["aws-dev", "qa-cluster"]
    assert outputs["vaultEnvironments"]["aws-dev"] == {
        "kubernetesAuthMount": "kubernetes-aws-dev", "readerRole": "secrets-reader", "deployerTokenRole": "env-aws-dev-deployer",
    }
    init = next(r for r in minimal.record.resources if r.type.endswith("VaultInitialization"))
    assert [o["name"] for o in init.inputs["operators"]] == ["alice", "bob", "carol"] and init.inputs["threshold"] == 2
    for path, document in bundle_manifests(tmp_path / "full"):
        validate_core(document, "1.33") if is_core(document) else validate_custom(document)


@pytest.mark.parametrize("stack", ["control-center", "control-center-aws"])
def test_the_control_center_is_reached_through_its_passthrough_gateway(stack, tmp_path):
    result = plan_stack(stack, tmp_path)
    resources = result.record.resources
    name = "cc" if stack == "control-center" else "cc-aws"
    [ingress] = [r for r in resources if r.type == "mojaloop:platform:PlatformLayer" and r.name == f"{name}-ingress"]
    charts = [r.inputs["chart"] for r in resources if r.type == "kubernetes:helm.sh/v3:Release" and r.parent == ingress.urn]
    assert sorted(charts) == ["base", "gateway", "istiod"]
    # Vault is initialised (and everything after it talks to the services) through vault.<domain>: the gateway first.
    [init] = [r for r in resources if r.type.endswith("VaultInitialization")]
    # Depending on a component is depending on everything in it: the releases, the Gateway, the VirtualServices.
    children = {r.urn for r in resources if r.parent == ingress.urn}
    assert len(children) == 7 and children <= set(init.dependencies)
    files = {str(p.relative_to(tmp_path / "manifests")) for p in (tmp_path / "manifests").rglob("*.yaml")}
    assert {"istio-ingress-int/Gateway-istio-internal-ingress-gw.yaml", "istio-ingress-int/VirtualService-vault.yaml",
            "istio-ingress-int/VirtualService-object-storage.yaml",
            "istio-ingress-int/VirtualService-registry-mirror.yaml"} <= files
    # No wildcard certificate for gateways that terminate nothing (nor for the environments' external gateway).
    assert not [f for f in files if f.startswith(("istio-ingress-ext/", "istio-ingress-int/Certificate-"))]
    gateway = yaml.safe_load((tmp_path / "manifests" / "istio-ingress-int" / "Gateway-istio-internal-ingress-gw.yaml").read_text())
    assert [server["tls"] for server in gateway["spec"]["servers"]] == [{"mode": "PASSTHROUGH"}]


def full_profile(stack: dict) -> None:
    stack["config"]["mojaloop:controlCenter"]["profile"] = "full"


def test_planning_leaves_the_pickle_module_as_it_found_it(tmp_path):
    """pulumi.dynamic wraps pickle's _batch_setitems on every provider it serializes and never unwraps it;
    left alone, a process that plans many stacks (this suite, `mojactl qa`) hits the recursion limit."""
    import pickle

    from mojaloop_iac.plan.run import plan_stack

    before = (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)
    plan_stack("demo", None)
    plan_stack("demo", None)
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before


def test_planning_skips_pulumis_source_positions_and_puts_the_walk_back(tmp_path, monkeypatch):
    """The plan keeps no source positions, so it skips Pulumi's stack walk per resource (a benchmark
    saving), and leaves the SDK as it found it for whatever runs next in the process."""
    from pulumi.runtime import resource as runtime_resource

    from mojaloop_iac.plan.run import plan_stack

    walks = []
    original = runtime_resource._get_stack_trace
    monkeypatch.setattr(runtime_resource, "_get_stack_trace", lambda: walks.append(1) or original())
    counting = runtime_resource._get_stack_trace
    planned = plan_stack("demo", None)
    assert planned.record.resources and walks == []
    assert runtime_resource._get_stack_trace is counting
