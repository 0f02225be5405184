"""The control center's Vault-API server as a Helm release: chart pins, HA raft, TLS, audit, unsealing,
Pod Security, and a real OpenBao started from the very configuration the chart receives."""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.planners.vault_server import (
    AuditFileDevice,
    ListenerTls,
    RaftPeer,
    VaultServerInput,
    VaultServerInputError,
    VaultServerPlan,
    plan_vault_server,
    render_server_config,
    vault_certificate,
)
from tests.support.manifests import validate_core, validate_custom
from tests.support.openbao import bao_binary
from tests.support.openbao_raft import run_openbao_raft

DOMAIN = "int.cc.example.org"
AWS = {
    "substrate": "aws",
    "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/0f2e6a9c-1b2d-4c3e-9f8a-7b6c5d4e3f2a",
    "aws_region": "eu-west-1",
    "service_account_role_arn": "arn:aws:iam::123456789012:role/cc-vault-kms",
}


def plan(**changes: Any) -> VaultServerPlan:
    return plan_vault_server(VaultServerInput(domain=DOMAIN, tls_secret_name="vault-tls", **changes))


def server_values(result: VaultServerPlan) -> dict[str, Any]:
    return result.release.values["server"]


# --- chart and layout --------------------------------------------------------------------------------------


def test_vault_is_the_default_with_its_chart_pinned_in_config():
    result = plan()
    pin = chart_pins()["vault"]
    assert (result.release.chart, result.release.repo) == ("vault", "https://helm.releases.hashicorp.com")
    assert (result.release.version, result.release.namespace) == (pin["version"], pin["namespace"])
    assert result.cli == "vault" and result.unseal == "shamir"


def test_openbao_is_selectable_with_its_own_chart_and_cli():
    result = plan(implementation="openbao")
    assert (result.release.chart, result.release.repo) == (
        "openbao",
        "https://openbao.github.io/openbao-helm",
    )
    assert result.release.version == chart_pins()["openbao"]["version"]
    assert result.cli == "bao"
    # Same Service names either way, so the address environments use does not depend on the choice.
    assert result.internal_address == plan().internal_address == "https://vault-active.vault.svc:8200"


@pytest.mark.parametrize("replicas", [3, 5])
def test_servers_form_an_ha_raft_cluster_where_every_pod_can_join_every_peer(replicas):
    result = plan(replicas=replicas)
    ha = server_values(result)["ha"]
    assert (ha["enabled"], ha["replicas"], ha["raft"]["enabled"], ha["raft"]["setNodeId"]) == (
        True,
        replicas,
        True,
        True,
    )
    assert ha["raft"]["config"] == result.server_config_hcl
    peers = re.findall(r'leader_api_addr = "([^"]+)"', result.server_config_hcl)
    assert peers == [f"https://vault-{index}.vault-internal:8200" for index in range(replicas)]
    assert (
        result.server_config_hcl.count('leader_ca_cert_file = "/vault/userconfig/vault-tls/ca.crt"')
        == replicas
    )
    assert (
        'storage "raft"' in result.server_config_hcl
        and "performance_multiplier = 1" in result.server_config_hcl
    )
    assert 'service_registration "kubernetes" {}' in result.server_config_hcl


@pytest.mark.parametrize("replicas", [0, 2, 4])
def test_an_even_or_empty_cluster_is_refused_because_raft_needs_a_majority(replicas):
    with pytest.raises(VaultServerInputError, match="odd number"):
        plan(replicas=replicas)


@pytest.mark.parametrize(("implementation", "home"), [("vault", "/vault"), ("openbao", "/openbao")])
def test_the_listener_serves_tls_from_the_cert_manager_secret(implementation, home):
    result = plan(implementation=implementation)
    values = server_values(result)
    assert result.release.values["global"]["tlsDisable"] is False
    assert values["extraVolumes"] == [{"type": "secret", "name": "vault-tls"}]
    assert f'tls_cert_file = "{home}/userconfig/vault-tls/tls.crt"' in result.server_config_hcl
    assert f'tls_key_file = "{home}/userconfig/vault-tls/tls.key"' in result.server_config_hcl
    assert "tls_disable" not in result.server_config_hcl
    assert list(values["extraEnvironmentVars"].values()) == [f"{home}/userconfig/vault-tls/ca.crt"]


def test_openbao_declares_the_file_audit_device_and_vault_leaves_it_to_the_bootstrap():
    openbao, vault = plan(implementation="openbao"), plan()
    assert openbao.audit_declared_in_server_config and not vault.audit_declared_in_server_config
    assert openbao.audit_device == AuditFileDevice("file", "/openbao/audit/audit.log")
    assert 'audit "file" "file" {' in openbao.server_config_hcl
    assert 'file_path = "/openbao/audit/audit.log"' in openbao.server_config_hcl
    assert "audit" not in vault.server_config_hcl.replace("/vault/audit", "")
    for result in (openbao, vault):
        storage = server_values(result)["auditStorage"]
        assert storage["enabled"] is True and result.audit_device.file_path.startswith(
            "/openbao/audit/" if result.cli == "bao" else "/vault/audit/"
        )


def test_volumes_use_the_given_storage_class_and_sizes():
    values = server_values(plan(storage_class="longhorn", data_storage_size="20Gi", audit_storage_size="5Gi"))
    assert values["dataStorage"] == {
        "enabled": True,
        "size": "20Gi",
        "storageClass": "longhorn",
        "accessMode": "ReadWriteOnce",
    }
    assert values["auditStorage"]["size"] == "5Gi" and values["auditStorage"]["storageClass"] == "longhorn"
    assert "storageClass" not in server_values(plan())["dataStorage"]  # the cluster's default class


def test_mlock_is_disabled_for_vault_and_not_mentioned_to_openbao_which_removed_it():
    assert "disable_mlock = true" in plan().server_config_hcl
    assert "mlock" not in plan(implementation="openbao").server_config_hcl


# --- unsealing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("implementation", ["vault", "openbao"])
def test_aws_auto_unseals_with_the_kms_key_and_gets_credentials_through_irsa(implementation):
    result = plan(implementation=implementation, **AWS)
    assert result.unseal == "awskms"
    assert (
        f'seal "awskms" {{\n  region = "eu-west-1"\n  kms_key_id = "{AWS["kms_key_id"]}"\n}}'
        in result.server_config_hcl
    )
    annotations = server_values(result)["serviceAccount"]["annotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": AWS["service_account_role_arn"]}
    flat = repr(result.release.values).lower()
    assert not any(word in flat for word in ("access_key", "secret_key", "aws_secret"))


def test_bare_metal_unseals_with_shamir_shares_and_refuses_kms_settings():
    result = plan()
    assert result.unseal == "shamir" and "seal " not in result.server_config_hcl
    assert "serviceAccount" not in server_values(result)
    with pytest.raises(VaultServerInputError, match="kms_key_id, aws_region apply to substrate 'aws' only"):
        plan(kms_key_id="alias/vault", aws_region="eu-west-1")


def test_aws_without_its_key_region_or_role_says_which_is_missing():
    with pytest.raises(VaultServerInputError, match="set aws_region, service_account_role_arn"):
        plan(substrate="aws", kms_key_id="alias/vault")
    with pytest.raises(VaultServerInputError, match="is not an IAM role ARN"):
        plan(**{**AWS, "service_account_role_arn": "cc-vault-kms"})


# --- what runs in the cluster --------------------------------------------------------------------------------


def test_no_injector_and_no_csi_provider_because_external_secrets_delivers():
    values = plan().release.values
    assert values["injector"] == {"enabled": False} and values["csi"] == {"enabled": False}


def _server_pod(result: VaultServerPlan) -> dict[str, Any]:
    """The server pod as both charts assemble it from these values (volumes, mounts, security contexts)."""
    values = server_values(result)
    home = "/openbao" if result.cli == "bao" else "/vault"
    security = values["statefulSet"]["securityContext"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "vault-0", "namespace": result.namespace.name},
        "spec": {
            "securityContext": security["pod"],
            "volumes": [
                {"name": "config", "configMap": {"name": "vault-config"}},
                *[
                    {
                        "name": f"userconfig-{v['name']}",
                        "secret": {"secretName": v["name"], "defaultMode": 420},
                    }
                    for v in values["extraVolumes"]
                ],
                {"name": "home", "emptyDir": {}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-vault-0"}},
                {"name": "audit", "persistentVolumeClaim": {"claimName": "audit-vault-0"}},
            ],
            "containers": [
                {
                    "name": "vault",
                    "image": "server:pinned-by-the-chart",
                    "securityContext": security["container"],
                    "env": [
                        {"name": name, "value": value}
                        for name, value in values["extraEnvironmentVars"].items()
                    ],
                    "volumeMounts": [
                        {"name": "config", "mountPath": f"{home}/config"},
                        {
                            "name": "userconfig-vault-tls",
                            "mountPath": f"{home}/userconfig/vault-tls",
                            "readOnly": True,
                        },
                        {"name": "home", "mountPath": "/home/vault"},
                        {"name": "data", "mountPath": f"{home}/data"},
                        {"name": "audit", "mountPath": f"{home}/audit"},
                    ],
                }
            ],
        },
    }


def _restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The checks of the `restricted` Pod Security level (Kubernetes' pod-security-admission)."""
    spec = pod["spec"]
    pod_context = spec.get("securityContext") or {}
    problems = []
    allowed_volumes = {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
    problems += [f"volume {v['name']}" for v in spec["volumes"] if not (set(v) - {"name"}) <= allowed_volumes]
    for container in spec["containers"]:
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation")
        if (context.get("capabilities") or {}).get("drop") != ["ALL"] or (
            context.get("capabilities") or {}
        ).get("add"):
            problems.append("capabilities")
        if not (context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))):
            problems.append("runAsNonRoot")
        if (context.get("runAsUser", pod_context.get("runAsUser")) or 0) == 0:
            problems.append("runAsUser 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append("seccompProfile")
    return problems


@pytest.mark.parametrize("implementation", ["vault", "openbao"])
def test_the_server_pods_meet_the_restricted_pod_security_level(implementation):
    result = plan(implementation=implementation)
    assert result.namespace.enforce == "restricted"
    assert result.namespace.labels("1.30")["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = _server_pod(result)
    validate_core(pod, "1.30")
    assert _restricted_violations(pod) == []


def test_the_certificate_covers_the_api_host_the_services_and_every_peer():
    result = plan(implementation="openbao")
    certificate = vault_certificate(result, "control-center-ca")
    validate_custom(certificate)
    assert certificate["spec"]["secretName"] == result.tls_secret_name == "vault-tls"
    names = certificate["spec"]["dnsNames"]
    assert {"vault.int.cc.example.org", "vault-active.vault.svc", "vault.vault.svc"} <= set(names)
    for peer in re.findall(r'leader_api_addr = "https://([^:]+):8200"', result.server_config_hcl):
        assert any(
            name == peer or (name.startswith("*.") and peer.split(".", 1)[1] == name[2:]) for name in names
        )


def test_openbao_needs_a_kubernetes_version_its_chart_supports():
    with pytest.raises(
        VaultServerInputError, match=r"requires Kubernetes 1.30 or later, the cluster runs 1.28"
    ):
        plan(implementation="openbao", kubernetes_version="1.28")
    assert plan(implementation="openbao", kubernetes_version="1.30").release.chart == "openbao"
    assert plan(kubernetes_version="1.28").release.chart == "vault"


def test_the_configuration_survives_the_charts_templating_and_placeholder_substitution():
    """Both charts run the configuration through `tpl` and replace HOSTNAME, POD_IP, HOST_IP... with sed."""
    for result in (plan(), plan(implementation="openbao", **AWS)):
        assert "{{" not in result.server_config_hcl
        assert not re.search(
            r"HOST_IP|POD_IP|HOSTNAME|API_ADDR|TRANSIT_ADDR|RAFT_ADDR", result.server_config_hcl
        )


def test_values_that_could_break_the_configuration_are_refused():
    with pytest.raises(VaultServerInputError, match="not a DNS name"):
        plan_vault_server(VaultServerInput(domain='cc"; ui = false', tls_secret_name="vault-tls"))
    with pytest.raises(VaultServerInputError, match="plain file name"):
        plan(audit_file_name="../../etc/passwd")


# --- a real server from the planned configuration -------------------------------------------------------------


def _validate_config(tmp_path: Path, hcl: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "server.hcl"
    path.write_text(hcl, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VAULT_", "BAO_"))}
    command = [str(bao_binary()), "operator", "validate-config", f"-config={path}"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=30, check=False)


@pytest.mark.parametrize("changes", [{}, AWS], ids=["baremetal", "aws"])
def test_openbaos_validator_accepts_the_planned_configuration_as_the_chart_receives_it(tmp_path, changes):
    done = _validate_config(tmp_path, plan(implementation="openbao", **changes).server_config_hcl)
    assert done.returncode == 0 and "success" in done.stdout, done.stdout + done.stderr


def test_the_vault_configuration_parses_and_differs_only_by_vaults_mlock_setting(tmp_path):
    """OpenBao's parser is Vault's, minus mlock: its one warning is the field Vault's raft guidance asks for."""
    done = _validate_config(tmp_path, plan(**AWS).server_config_hcl)
    warnings = [line for line in done.stdout.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "Unknown or unsupported field disable_mlock" in warnings[0], done.stdout


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1, standing in for cert-manager's Secret."""
    now = datetime.datetime.now(datetime.UTC)

    def build(
        subject: str, issuer: x509.Name, public_key: Any, signing_key: Any, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build(
        "test-ca",
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")]),
        ca_key.public_key(),
        ca_key,
        True,
    )
    server = build("vault", ca.subject, server_key.public_key(), ca_key, False)
    paths = (directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.mark.slow
def test_openbao_starts_from_the_planned_configuration_with_tls_retry_join_and_audit(tmp_path):
    """Only what must differ outside Kubernetes is changed: addresses and paths, no service registration, and
    api_addr/cluster_addr, which the charts pass as VAULT_API_ADDR/VAULT_CLUSTER_ADDR environment variables."""
    planned = plan(implementation="openbao")
    ca_file, cert_file, key_file = _tls_files(tmp_path)
    (tmp_path / "raft").mkdir()

    def local(port: int) -> str:
        config = replace(
            planned.server_config,
            listener_address=f"127.0.0.1:{port}",
            cluster_listener_address=f"127.0.0.1:{port + 1}",
            raft_path=str(tmp_path / "raft"),
            tls=ListenerTls(str(cert_file), str(key_file)),
            retry_join=(RaftPeer(f"https://127.0.0.1:{port}", str(ca_file)),),
            audit_devices=(replace(planned.audit_device, file_path=str(tmp_path / "audit.log")),),
            kubernetes_service_registration=False,
            api_addr=f"https://127.0.0.1:{port}",
            cluster_addr=f"https://127.0.0.1:{port + 1}",
        )
        return render_server_config(config)

    with run_openbao_raft(tmp_path / "server", config=local, ca_file=ca_file) as server:
        status = server.client().sys.read_seal_status()
        assert (status["initialized"], status["sealed"], status["type"]) == (False, True, "shamir")
        assert status["storage_type"] == "raft"
        # The planned readiness probe passes on this uninitialised, sealed server: Helm's wait completes.
        probe = server_values(planned)["readinessProbe"]["path"]
        assert server.client().adapter.get(probe, raise_exception=False).status_code == 204
        log = server.log_path.read_text(encoding="utf-8")
        assert "unknown or unsupported field" not in log, log
