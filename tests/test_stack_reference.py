"""An environment reads the control center's outputs through a StackReference; offline, the plan answers it
from the control-center stack's own plan or from a fixture."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from mojaloop_iac import cli
from mojaloop_iac.plan.fakes import PLAN_CA_CERTIFICATE
from mojaloop_iac.plan.run import plan_stack


def referencing_stack(tmp_path: Path, reference: str, name: str = "demo") -> str:
    """The demo, served by the control center `reference` (as environment `name`)."""
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    env = stack["config"]["mojaloop:environment"]
    env.pop("vault", None)
    env["controlCenterStack"] = reference
    env["name"] = name
    path = tmp_path / "Pulumi.connected.yaml"
    path.write_text(yaml.safe_dump(stack))
    return str(path)


def secret_store_vault(bundle: Path) -> dict:
    store = yaml.safe_load((bundle / "manifests" / "mojaloop" / "SecretStore-vault.yaml").read_text())
    return store["spec"]["provider"]["vault"]


def secret_store_server(bundle: Path) -> str:
    return secret_store_vault(bundle)["server"]


def test_the_reference_is_answered_from_the_control_center_plan(tmp_path):
    plan_stack(referencing_stack(tmp_path, "organization/mojaloop/control-center"), tmp_path / "bundle")
    assert secret_store_server(tmp_path / "bundle") == "https://vault.int.cc.mojaloop.example"
    resources = json.loads((tmp_path / "bundle" / "plan.json").read_text())["resources"]
    generated = [r for r in resources if r["type"].endswith("GeneratedSecret")]
    assert {r["inputs"]["address"] for r in generated} == {"https://vault.int.cc.mojaloop.example"}
    # The control center administers this environment's Vault access: its stack writes no policy, role or
    # mount of its own, and only points the control center's auth mount at its cluster.
    kinds = {r["type"].rsplit(":", 1)[1] for r in resources if "/mojaloop-vault:" in r["type"]}
    assert kinds == {"GeneratedSecret", "KubernetesAuthMount"}
    (mount,) = [r["inputs"] for r in resources if r["type"].endswith("KubernetesAuthMount")]
    assert (mount["path"], mount["enable"]) == ("kubernetes-demo", False)


def test_the_environment_trusts_the_control_centers_ca(tmp_path):
    ca_pem = plan_stack("control-center", None).record.outputs["vaultCaCert"]
    assert ca_pem.startswith("-----BEGIN CERTIFICATE-----")
    plan_stack(referencing_stack(tmp_path, "organization/mojaloop/control-center"), tmp_path / "bundle")
    # External Secrets verifies Vault with it, and so does this stack's every Vault connection.
    assert secret_store_vault(tmp_path / "bundle")["caBundle"] == base64.b64encode(ca_pem.encode()).decode()
    resources = json.loads((tmp_path / "bundle" / "plan.json").read_text())["resources"]
    vault_resources = [r for r in resources if "/mojaloop-vault:" in r["type"]]
    assert vault_resources and {r["inputs"]["ca_cert"] for r in vault_resources} == {ca_pem}


def test_a_ca_file_in_the_stack_wins_over_the_control_centers_ca(tmp_path):
    stack = yaml.safe_load(Path(referencing_stack(tmp_path, "organization/mojaloop/control-center")).read_text())
    stack["config"]["mojaloop:environment"]["vault"] = {"caCertFile": "certs/vault-ca.pem"}
    # Relative to the stack file's directory; its certificate (never a path) reaches the Vault resources.
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "vault-ca.pem").write_text(PLAN_CA_CERTIFICATE)
    path = tmp_path / "Pulumi.own-ca.yaml"
    path.write_text(yaml.safe_dump(stack))
    plan_stack(str(path), tmp_path / "bundle")
    resources = json.loads((tmp_path / "bundle" / "plan.json").read_text())["resources"]
    assert {r["inputs"]["ca_cert"] for r in resources if "/mojaloop-vault:" in r["type"]} == {PLAN_CA_CERTIFICATE}
    assert "caBundle" not in secret_store_vault(tmp_path / "bundle")


def test_a_missing_or_wrong_ca_file_is_refused_by_its_key(tmp_path, capsys):
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    (tmp_path / "not-a-cert.pem").write_text("hello\n")
    for name, problem in (("missing.pem", "does not exist"), ("not-a-cert.pem", "is not a PEM certificate")):
        stack["config"]["mojaloop:environment"].setdefault("vault", {})["caCertFile"] = name
        path = tmp_path / "Pulumi.ca.yaml"
        path.write_text(yaml.safe_dump(stack))
        for command in ("validate", "plan"):
            assert cli.main([command, str(path), *(["--out", str(tmp_path / "b")] if command == "plan" else [])]) == 2
            assert f"environment.vault.caCertFile: '{name}' {problem}" in capsys.readouterr().err.replace("\n", " ")


def test_the_reference_can_be_answered_from_a_fixture(tmp_path):
    fixture = tmp_path / "outputs.yaml"
    fixture.write_text(yaml.safe_dump({"org/mojaloop/prod-cc": {"vaultAddress": "https://vault.example.org"}}))
    stack = referencing_stack(tmp_path, "org/mojaloop/prod-cc")
    assert cli.main(["plan", stack, "--out", str(tmp_path / "bundle"), "--quiet", "--stack-outputs", str(fixture)]) == 0
    assert secret_store_server(tmp_path / "bundle") == "https://vault.example.org"
    # A control center from before `vaultCaCert`: no caBundle (warned about), rather than an empty one.
    assert "caBundle" not in secret_store_vault(tmp_path / "bundle")


def test_a_control_center_that_exports_no_ca_is_warned_about(tmp_path):
    outputs = {"org/mojaloop/prod-cc": {"vaultAddress": "https://vault.example.org"}}
    result = plan_stack(referencing_stack(tmp_path, "org/mojaloop/prod-cc"), None, stack_outputs=outputs)
    assert any("control center org/mojaloop/prod-cc exports no vaultCaCert" in w for w in result.warnings), result.warnings


def test_an_unanswerable_reference_is_invalid_input(tmp_path, capsys):
    stack = referencing_stack(tmp_path, "org/mojaloop/nowhere")
    assert cli.main(["plan", stack, "--out", str(tmp_path / "bundle"), "--quiet"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "environment.controlCenterStack: 'org/mojaloop/nowhere' has no local stack file" in err
    # validate refuses it the same way, and accepts it once its outputs are given
    assert cli.main(["validate", stack]) == 2
    fixture = tmp_path / "outputs.yaml"
    fixture.write_text(yaml.safe_dump({"org/mojaloop/nowhere": {"vaultAddress": "https://vault.example.org"}}))
    assert cli.main(["validate", stack, "--stack-outputs", str(fixture)]) == 0


def test_an_environment_the_control_center_does_not_declare_is_warned_about(tmp_path):
    outputs = {"org/mojaloop/prod-cc": {
        "vaultAddress": "https://vault.example.org",
        "vaultEnvironments": {"prod": {"kubernetesAuthMount": "kubernetes-prod"}},
    }}
    result = plan_stack(referencing_stack(tmp_path, "org/mojaloop/prod-cc"), None, stack_outputs=outputs)
    undeclared = "environment 'demo' is not declared in control center org/mojaloop/prod-cc's environments (prod)"
    assert any(undeclared in warning for warning in result.warnings), result.warnings
    # The example control center declares aws-dev (and the QA cluster) among its environments.
    declared = plan_stack(referencing_stack(tmp_path, "organization/mojaloop/control-center", "aws-dev"), None)
    assert not any("is not declared in control center" in warning for warning in declared.warnings)
