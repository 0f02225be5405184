"""Vault for QA environments, against a real OpenBao: QA environments side by side on a shared cluster
cannot read each other's secrets; an ephemeral environment leaves nothing behind; CI logs in with its job
token and gets a QA deployer token that can do exactly what a QA run needs and nothing more."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hvac
import hvac.exceptions
import pytest

from mojaloop_iac.planners.vault_server import AuditFileDevice
from mojaloop_iac.qa.vault_login import VaultLoginError, ci_login
from mojaloop_iac.vault.bootstrap import BootstrapInputs, _Run
from mojaloop_iac.vault.bootstrap_plan import QA_DEPLOYER_POLICY_NAME, CiLogin, plan_vault_bootstrap
from mojaloop_iac.vault.client import open_session
from mojaloop_iac.vault.environment import EnvironmentVaultPlan, plan_environment_vault, plan_qa_tenant_vault
from mojaloop_iac.vault.paths import READER_SERVICE_ACCOUNT, secret_path
from mojaloop_iac.vault.providers import (
    AclPolicyProvider,
    GeneratedSecretProvider,
    KubernetesAuthMountProvider,
    KubernetesAuthRoleProvider,
)
from tests.support.ci_jwt import CiIssuer, run_ci_issuer
from tests.support.environment_vault import apply_environment_vault
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)
from tests.support.token_review import run_token_review_server, service_account_token

pytestmark = pytest.mark.slow

GITLAB = "https://gitlab.example.com"
PROJECT = "hub/config"


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def role_props(connection: dict, plan: EnvironmentVaultPlan) -> dict[str, Any]:
    role = plan.reader_role
    return {**connection, "mount": role.mount, "role": role.role, "policies": list(role.policies),
            "bound_service_account_names": list(role.service_accounts),
            "bound_service_account_namespaces": list(role.namespaces), "ttl": role.ttl_seconds}


def generate(connection: dict, plan: EnvironmentVaultPlan, namespace: str) -> dict[str, Any]:
    """A QA environment's secret as its stack generates it: removed with the environment."""
    props = {**connection, "mount": plan.kv_mount, "path": plan.secret_path(namespace, "mysqldb"),
             "keys": {"mysql-password": "mojaloop-mysql"}, "retain_on_delete": False}
    return GeneratedSecretProvider().create(props).outs


def login(server: OpenBaoServer, plan: EnvironmentVaultPlan, namespace: str) -> hvac.Client:
    answer = server.client().auth.kubernetes.login(
        plan.reader_role.role, service_account_token(namespace, READER_SERVICE_ACCOUNT), mount_point=plan.reader_role.mount
    )
    return server.client(answer["auth"]["client_token"])


def read(client: hvac.Client, plan: EnvironmentVaultPlan, namespace: str) -> dict:
    return client.secrets.kv.v2.read_secret_version(
        plan.secret_path(namespace, "mysqldb"), mount_point=plan.kv_mount, raise_on_deleted_version=True
    )["data"]["data"]


@dataclass
class SharedCluster:
    server: OpenBaoServer
    connection: dict
    cluster: str
    kv_mount: str
    tenants: dict[str, EnvironmentVaultPlan]


@pytest.fixture
def shared(openbao: OpenBaoServer, monkeypatch, tmp_path) -> Iterator[SharedCluster]:  # noqa: F811
    """A QA host cluster's Vault side (its own stack writes it) and two QA environments on it."""
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    cluster, kv_mount = unique("qac"), unique("kv")
    host = plan_environment_vault(cluster, kv_mount=kv_mount, qa_host=True)
    with run_token_review_server(tmp_path / "apiserver") as apiserver:
        connection = dict(apply_environment_vault(openbao, host, apiserver))
        qa_read = host.qa_read_policy
        assert qa_read is not None
        AclPolicyProvider().create({**connection, "name": qa_read.name, "policy": qa_read.hcl,
                                    "auth_accessor_of": qa_read.auth_accessor_of})
        tenants = {}
        for name in ("demo-pr-1", "demo-pr-2"):
            plan = plan_qa_tenant_vault(name, cluster, (name,), kv_mount=kv_mount)
            KubernetesAuthRoleProvider().create(role_props(connection, plan))
            generate(connection, plan, name)
            tenants[name] = plan
        yield SharedCluster(openbao, connection, cluster, kv_mount, tenants)


def test_side_by_side_qa_environments_cannot_read_each_others_secrets(shared: SharedCluster):
    one, two = shared.tenants["demo-pr-1"], shared.tenants["demo-pr-2"]
    assert one.secret_path("demo-pr-1", "mysqldb") == f"ephemeral/{shared.cluster}/demo-pr-1/mysqldb"
    first = login(shared.server, one, "demo-pr-1")
    assert set(read(first, one, "demo-pr-1")) == {"mysql-password"}
    with pytest.raises(hvac.exceptions.Forbidden):
        read(first, two, "demo-pr-2")
    # The other environment's namespace cannot even log in with this environment's role.
    with pytest.raises(hvac.exceptions.VaultError):
        login(shared.server, one, "demo-pr-2")
    second = login(shared.server, two, "demo-pr-2")
    with pytest.raises(hvac.exceptions.Forbidden):
        read(second, one, "demo-pr-1")
    # Nor can a persistent environment's secrets be reached through the QA read policy.
    with pytest.raises(hvac.exceptions.Forbidden):
        first.secrets.kv.v2.read_secret_version(
            secret_path(shared.cluster, "demo-pr-1", "mysqldb"), mount_point=shared.kv_mount,
            raise_on_deleted_version=True,
        )


def test_tearing_one_down_removes_its_role_and_secrets_and_leaves_the_other(shared: SharedCluster):
    one, two = shared.tenants["demo-pr-1"], shared.tenants["demo-pr-2"]
    root = shared.server.client()
    version = root.secrets.kv.v2.read_secret_metadata(one.secret_path("demo-pr-1", "mysqldb"),
                                                       mount_point=shared.kv_mount)["data"]["current_version"]
    # What `pulumi destroy` of the QA stack calls: its secrets (not retained), then its role.
    GeneratedSecretProvider().delete("", {**shared.connection, "mount": one.kv_mount, "path": one.secret_path(
        "demo-pr-1", "mysqldb"), "keys": {"mysql-password": "mojaloop-mysql"}, "retain_on_delete": False,
        "version": version})
    KubernetesAuthRoleProvider().delete("", role_props(shared.connection, one))
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_metadata(one.secret_path("demo-pr-1", "mysqldb"), mount_point=shared.kv_mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.auth.kubernetes.read_role(one.reader_role.role, mount_point=one.reader_role.mount)
    assert set(read(login(shared.server, two, "demo-pr-2"), two, "demo-pr-2")) == {"mysql-password"}


def test_an_ephemeral_environment_on_its_own_cluster_leaves_nothing_behind(openbao, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    name, kv_mount = unique("qa"), unique("kv")
    plan = plan_environment_vault(name, kv_mount=kv_mount, ephemeral=True)
    with run_token_review_server(tmp_path / "apiserver") as apiserver:
        connection = dict(apply_environment_vault(openbao, plan, apiserver))
        outs = generate(connection, plan, "demo-pr-9")
        assert outs["path"] == f"ephemeral/{name}/demo-pr-9/mysqldb"
        assert set(read(login(openbao, plan, "demo-pr-9"), plan, "demo-pr-9")) == {"mysql-password"}
        # Destroy, in the reverse order of creation: secrets, role, read policy, auth mount.
        GeneratedSecretProvider().delete("", outs)
        KubernetesAuthRoleProvider().delete("", role_props(connection, plan))
        AclPolicyProvider().delete("", {**connection, "name": plan.read_policy.name, "policy": plan.read_policy.hcl})
        KubernetesAuthMountProvider().delete("", {**connection, "path": plan.kubernetes_auth_mount,
                                                  "kubernetes_host": apiserver.url})
    root = openbao.client()
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.list_secrets(f"ephemeral/{name}", mount_point=kv_mount)
    assert plan.read_policy.name not in root.sys.list_acl_policies()["data"]["keys"]
    assert f"{plan.kubernetes_auth_mount}/" not in root.sys.list_auth_methods()["data"]


@dataclass
class CiVault:
    server: OpenBaoServer
    issuer: CiIssuer
    cluster: str
    kv_mount: str
    state_secret: str
    outcomes: list[str]


@pytest.fixture
def ci_vault(shared: SharedCluster, monkeypatch) -> Iterator[CiVault]:
    """The control center's bootstrap steps for CI (qa_logins): a JWT mount trusting a stand-in GitLab,
    the qa-deployer role bound to one project, its policy and the transit key."""
    server = shared.server
    state_secret = secret_path("cc", "minio", "minio-consumer-pulumi")
    server.client().secrets.kv.v2.create_or_update_secret(state_secret, {"secretKey": "s3-secret"},
                                                          mount_point=shared.kv_mount)
    with run_ci_issuer() as issuer:
        mount = unique("gitlab-ci")
        login = CiLogin(mount=mount, description="GitLab CI (test)", jwks_url=issuer.url, bound_issuer=GITLAB,
                        role="qa-deployer", bound_audiences=("mojaloop-qa",),
                        bound_claims=(("project_path", (PROJECT,)), ("ref", ("*",))), user_claim="user_login")
        plan = plan_vault_bootstrap(
            [shared.cluster], ["alice"], AuditFileDevice("file", "/tmp/audit.log"), True, kv_mount=shared.kv_mount,
            qa_shared_clusters=[shared.cluster], ci_logins=[login], state_backend_secret=state_secret,
        )
        inputs = BootstrapInputs.from_props({"address": server.address, "cli": "bao", **plan.to_props()})
        outcomes = []
        for _ in range(2):
            run = _Run(inputs, apply=True)
            with open_session(inputs.connection) as vault:
                run.qa_logins(vault)
            outcomes.append([outcome.line() for outcome in run.outcomes])
        yield CiVault(server, issuer, shared.cluster, shared.kv_mount, state_secret, outcomes)
        monkeypatch.setenv("VAULT_TOKEN", server.root_token)


def job_token(ci: CiVault, project: str = PROJECT, audience: str = "mojaloop-qa", issuer: str = GITLAB) -> str:
    return ci.issuer.token(issuer, audience, {"project_path": project, "ref": "feature-x", "user_login": "alice",
                                              "ref_type": "branch"})


def test_the_ci_login_is_configured_once_and_then_unchanged(ci_vault: CiVault):
    first, second = ci_vault.outcomes
    assert any(line.startswith("JWT auth mount") and line.endswith("enabled") for line in first)
    assert any("transit key 'transit/keys/qa-stacks': created" in line for line in first)
    assert all(line.endswith("unchanged") for line in second), second


def test_a_job_of_the_configured_project_gets_a_qa_deployer_token_and_the_state_credential(ci_vault: CiVault):
    mount = next(line.split("'")[1].rstrip("/") for line in ci_vault.outcomes[0] if line.startswith("JWT auth mount"))
    credentials = ci_login(ci_vault.server.address, job_token(ci_vault), mount=mount, role="qa-deployer",
                           state_secret=ci_vault.state_secret, kv_mount=ci_vault.kv_mount)
    looked_up = ci_vault.server.client(credentials.vault_token).auth.token.lookup_self()["data"]
    # Vault's `default` policy (the token looking itself up, renewing, revoking) and the QA deployer's.
    assert looked_up["policies"] == ["default", QA_DEPLOYER_POLICY_NAME]
    assert 0 < looked_up["ttl"] <= 2 * 3600
    assert credentials.state_backend_secret_key == "s3-secret"
    exports = credentials.shell_exports()
    assert "export AWS_ACCESS_KEY_ID=pulumi" in exports and "VAULT_TOKEN=" in exports
    for bad in (job_token(ci_vault, project="someone/else"), job_token(ci_vault, audience="other"),
                job_token(ci_vault, issuer="https://evil.example.com")):
        with pytest.raises(VaultLoginError, match="refused the job's token"):
            ci_login(ci_vault.server.address, bad, mount=mount, role="qa-deployer")


def test_the_qa_deployer_can_run_a_qa_environment_and_nothing_more(ci_vault: CiVault, monkeypatch):
    mount = next(line.split("'")[1].rstrip("/") for line in ci_vault.outcomes[0] if line.startswith("JWT auth mount"))
    token = ci_login(ci_vault.server.address, job_token(ci_vault), mount=mount, role="qa-deployer").vault_token
    monkeypatch.setenv("VAULT_TOKEN", token)
    connection = {"address": ci_vault.server.address}
    tenant = plan_qa_tenant_vault("demo-pr-77", ci_vault.cluster, ("demo-pr-77",), kv_mount=ci_vault.kv_mount)
    # What a QA stack on the shared cluster does: its role and its secrets, and then removes them.
    KubernetesAuthRoleProvider().create(role_props(connection, tenant))
    outs = generate(connection, tenant, "demo-pr-77")
    GeneratedSecretProvider().delete("", outs)
    KubernetesAuthRoleProvider().delete("", role_props(connection, tenant))
    client = ci_vault.server.client(token)
    client.secrets.transit.encrypt_data("qa-stacks", "c2VjcmV0")
    refused = {
        "a role carrying another policy": lambda: KubernetesAuthRoleProvider().create(
            {**role_props(connection, tenant), "role": "qa-escalate", "policies": ["operator-admin"]}),
        "a role for another service account": lambda: KubernetesAuthRoleProvider().create(
            {**role_props(connection, tenant), "role": "qa-other", "bound_service_account_names": ["default"]}),
        "a role not named qa-*": lambda: KubernetesAuthRoleProvider().create(
            {**role_props(connection, tenant), "role": "secrets-reader"}),
        "a persistent environment's secret": lambda: client.secrets.kv.v2.create_or_update_secret(
            secret_path(ci_vault.cluster, "mojaloop", "mysqldb"), {"x": "y"}, mount_point=ci_vault.kv_mount),
        "a policy": lambda: client.sys.create_or_update_acl_policy("qa-more", 'path "*" { capabilities = ["sudo"] }'),
        "an auth mount": lambda: client.sys.enable_auth_method("userpass", path=unique("up")),
    }
    for what, attempt in refused.items():
        with pytest.raises((hvac.exceptions.Forbidden, Exception)) as error:
            attempt()
        assert "denied" in str(error.value).lower() or "lacks" in str(error.value), what
