"""Vault-side configuration of an environment cluster against a real OpenBao: KV mount, password and
ACL policies, Kubernetes auth mount and roles, and namespace isolation enforced by Vault itself."""

import secrets
from collections.abc import Iterator

import hvac.exceptions
import pytest

from mojaloop_iac.vault.environment import plan_environment_vault
from mojaloop_iac.vault.errors import VaultOperationError
from mojaloop_iac.vault.paths import secret_path
from mojaloop_iac.vault.policies import environment_read_policy
from mojaloop_iac.vault.providers import (
    AclPolicyProvider,
    GeneratedSecretProvider,
    KubernetesAuthMountProvider,
    KubernetesAuthRoleProvider,
    KvV2MountProvider,
    PasswordPolicyProvider,
    TokenRoleProvider,
)
from tests.support.environment_vault import apply_environment_vault, namespace_login
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)
from tests.support.token_review import run_token_review_server

pytestmark = pytest.mark.slow

# A syntactically valid PEM block; Vault stores the cluster CA without contacting the cluster.
CLUSTER_CA = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVyLWNhQDE3MDAwMDAwMDAw\n"
    "-----END CERTIFICATE-----\n"
)


@pytest.fixture
def server(openbao: OpenBaoServer, monkeypatch: pytest.MonkeyPatch) -> OpenBaoServer:  # noqa: F811
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    return openbao


_GENERIC_HCL = (
    'length = 24\nrule "charset" {\n  charset = "abcdefghijklmnopqrstuvwxyz0123456789"\n  min-chars = 1\n}\n'
)


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


# --- KV v2 mount ------------------------------------------------------------------------------------


def test_kv_mount_is_created_as_version_2_and_a_second_create_converges(server):
    provider = KvV2MountProvider()
    props = {"address": server.address, "path": unique("kv"), "max_versions": 5, "description": "environment"}
    created = provider.create(props)
    again = provider.create({**props, "max_versions": 7})
    mount = server.client().adapter.get(f"/v1/sys/mounts/{props['path']}")["data"]
    config = server.client().secrets.kv.v2.read_configuration(mount_point=props["path"])["data"]
    assert (created.outs["adopted"], again.outs["adopted"]) == (False, True)
    assert mount["type"] == "kv" and mount["options"]["version"] == "2"
    assert config["max_versions"] == 7
    refreshed = provider.read(created.id, again.outs)
    assert (refreshed.outs["max_versions"], refreshed.outs["description"]) == (7, "environment")


def test_kv_mount_refuses_to_take_over_a_kv_version_1_mount(server):
    path = unique("kv")
    server.client().sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    with pytest.raises(
        VaultOperationError, match=r"already has a kv \(version 1\) secrets engine .* not KV v2"
    ):
        KvV2MountProvider().create({"address": server.address, "path": path})
    assert server.client().adapter.get(f"/v1/sys/mounts/{path}")["data"]["options"]["version"] == "1"


def test_kv_mount_delete_refuses_while_it_holds_secrets_unless_force_destroy(server):
    provider = KvV2MountProvider()
    props = {"address": server.address, "path": unique("kv")}
    created = provider.create(props)
    server.client().secrets.kv.v2.create_or_update_secret(
        "environments/dev/a", {"k": "v"}, mount_point=props["path"]
    )
    with pytest.raises(
        VaultOperationError, match=r"refusing to disable KV mount .* still holds secrets \(environments/\)"
    ):
        provider.delete(created.id, created.outs)
    assert f"{props['path']}/" in server.client().sys.list_mounted_secrets_engines()["data"]
    provider.delete(created.id, {**created.outs, "force_destroy": True})
    assert f"{props['path']}/" not in server.client().sys.list_mounted_secrets_engines()["data"]


def test_an_empty_kv_mount_is_deleted_and_reads_back_as_gone(server):
    provider = KvV2MountProvider()
    created = provider.create({"address": server.address, "path": unique("kv")})
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id == ""


# --- Password and ACL policies -----------------------------------------------------------------------


def test_password_policy_lifecycle_and_vault_rejects_an_impossible_policy(server):
    provider = PasswordPolicyProvider()
    name = unique("pw-")
    hcl = 'length = 24\nrule "charset" {\n  charset = "abcdef"\n  min-chars = 1\n}\n'
    created = provider.create({"address": server.address, "name": name, "policy": hcl})
    assert provider.read(created.id, created.outs).outs["policy"] == hcl
    updated = provider.update(created.id, created.outs, {**created.outs, "policy": hcl.replace("24", "30")})
    generated = server.client().adapter.get(f"/v1/sys/policies/password/{name}/generate")["data"]["password"]
    assert len(generated) == 30
    impossible = 'length = 24\nrule "charset" {\n  charset = "ab"\n  min-chars = 30\n}\n'
    with pytest.raises(VaultOperationError, match=f"rejected the request on sys/policies/password/{name}"):
        provider.update(created.id, updated.outs, {**updated.outs, "policy": impossible})
    provider.delete(created.id, updated.outs)
    assert provider.read(created.id, updated.outs).id == ""


def test_acl_policy_lifecycle(server):
    provider = AclPolicyProvider()
    name = unique("acl-")
    hcl = 'path "mojaloop/data/x/*" {\n  capabilities = ["read"]\n}\n'
    created = provider.create({"address": server.address, "name": name, "policy": hcl})
    assert server.client().sys.read_acl_policy(name)["data"]["policy"] == hcl
    assert provider.read(created.id, created.outs).outs["policy"] == hcl
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id == ""


@pytest.mark.parametrize("name", ["root", "default"])
def test_builtin_acl_policies_are_never_managed(server, name):
    result = AclPolicyProvider().check({}, {"address": server.address, "name": name, "policy": 'path "x" {}'})
    assert [failure.property for failure in result.failures] == ["name"]


# --- Kubernetes auth ---------------------------------------------------------------------------------


def test_kubernetes_auth_mount_is_configured_and_read_back(server):
    provider = KubernetesAuthMountProvider()
    props = {
        "address": server.address,
        "path": unique("kubernetes-"),
        "kubernetes_host": "https://10.0.0.1:6443",
        "kubernetes_ca_cert": CLUSTER_CA,
        "disable_local_ca_jwt": True,
    }
    created = provider.create(props)
    again = provider.create(props)
    config = server.client().auth.kubernetes.read_config(mount_point=props["path"])
    assert (created.outs["adopted"], again.outs["adopted"]) == (False, True)
    assert config["kubernetes_host"] == "https://10.0.0.1:6443"
    assert config["kubernetes_ca_cert"] == CLUSTER_CA
    assert config["disable_local_ca_jwt"] is True
    refreshed = provider.read(created.id, created.outs)
    assert provider.diff(created.id, refreshed.outs, props).changes is False
    moved = {**props, "kubernetes_host": "https://10.0.0.2:6443"}
    assert provider.diff(created.id, refreshed.outs, moved).replaces == []
    provider.update(created.id, refreshed.outs, moved)
    assert server.client().auth.kubernetes.read_config(mount_point=props["path"])["kubernetes_host"] == (
        "https://10.0.0.2:6443"
    )


def test_token_reviewer_jwt_comes_from_the_environment_and_never_reaches_outputs(server, monkeypatch):
    jwt = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(48)
    monkeypatch.setenv("REVIEWER_JWT_FOR_TEST", jwt)
    props = {
        "address": server.address,
        "path": unique("kubernetes-"),
        "kubernetes_host": "https://10.0.0.1:6443",
        "kubernetes_ca_cert": CLUSTER_CA,
        "disable_local_ca_jwt": True,
        "token_reviewer_jwt_env": "REVIEWER_JWT_FOR_TEST",
    }
    provider = KubernetesAuthMountProvider()
    created = provider.create(props)
    refreshed = provider.read(created.id, created.outs)
    assert (
        server.client().auth.kubernetes.read_config(mount_point=props["path"])["token_reviewer_jwt_set"]
        is True
    )
    assert refreshed.outs["token_reviewer_jwt_set"] is True
    assert jwt not in repr(created.outs) + repr(refreshed.outs)
    monkeypatch.delenv("REVIEWER_JWT_FOR_TEST")
    with pytest.raises(
        VaultOperationError, match="environment variable REVIEWER_JWT_FOR_TEST holds no"
    ) as error:
        provider.update(created.id, created.outs, props)
    assert jwt not in str(error.value)


def test_configuring_kubernetes_auth_outside_a_pod_without_disable_local_ca_jwt_says_so(server):
    props = {
        "address": server.address,
        "path": unique("kubernetes-"),
        "kubernetes_host": "https://10.0.0.1:6443",
    }
    with pytest.raises(
        VaultOperationError, match="set disable_local_ca_jwt=True and pass kubernetes_ca_cert"
    ):
        KubernetesAuthMountProvider().create(props)


def test_kubernetes_auth_mount_refuses_to_take_over_another_auth_method(server):
    path = unique("userpass-")
    server.client().sys.enable_auth_method("userpass", path=path)
    with pytest.raises(VaultOperationError, match=f"already has a userpass auth method at '{path}/'"):
        KubernetesAuthMountProvider().create(
            {"address": server.address, "path": path, "kubernetes_host": "https://10.0.0.1:6443"}
        )


def test_kubernetes_role_is_bound_to_one_namespace_and_read_back(server):
    mount = KubernetesAuthMountProvider().create(
        {
            "address": server.address,
            "path": unique("kubernetes-"),
            "kubernetes_host": "https://10.0.0.1:6443",
            "kubernetes_ca_cert": CLUSTER_CA,
            "disable_local_ca_jwt": True,
        }
    )
    provider = KubernetesAuthRoleProvider()
    props = {
        "address": server.address,
        "mount": mount.id,
        "role": "ns-mojaloop",
        "bound_service_account_names": ["mojaloop-secrets"],
        "bound_service_account_namespaces": ["mojaloop"],
        "policies": ["env-dev-ns-mojaloop-read"],
        "ttl": "1h",
    }
    created = provider.create(props)
    role = server.client().auth.kubernetes.read_role("ns-mojaloop", mount_point=mount.id)
    assert role["bound_service_account_names"] == ["mojaloop-secrets"]
    assert role["bound_service_account_namespaces"] == ["mojaloop"]
    assert role["token_policies"] == ["env-dev-ns-mojaloop-read"]
    assert role["token_ttl"] == 3600
    refreshed = provider.read(created.id, created.outs)
    assert provider.diff(created.id, refreshed.outs, {**props, "ttl": 3600.0}).changes is False
    provider.update(created.id, refreshed.outs, {**props, "ttl": "30m"})
    assert server.client().auth.kubernetes.read_role("ns-mojaloop", mount_point=mount.id)["token_ttl"] == 1800
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id == ""


def test_deleting_a_role_after_its_auth_mount_is_gone_succeeds(server):
    mount_provider = KubernetesAuthMountProvider()
    mount = mount_provider.create(
        {
            "address": server.address,
            "path": unique("kubernetes-"),
            "kubernetes_host": "https://10.0.0.1:6443",
            "kubernetes_ca_cert": CLUSTER_CA,
            "disable_local_ca_jwt": True,
        }
    )
    role_provider = KubernetesAuthRoleProvider()
    role = role_provider.create(
        {
            "address": server.address,
            "mount": mount.id,
            "role": "ns-a",
            "bound_service_account_names": ["a"],
            "bound_service_account_namespaces": ["a"],
            "policies": ["env-dev-ns-a-read"],
        }
    )
    mount_provider.delete(mount.id, mount.outs)
    assert role_provider.read(role.id, role.outs).id == ""
    role_provider.delete(role.id, role.outs)


def test_deleting_a_secret_whose_mount_was_force_destroyed_succeeds(server):
    mount_provider = KvV2MountProvider()
    mount = mount_provider.create({"address": server.address, "path": unique("kv"), "force_destroy": True})
    secret_provider = GeneratedSecretProvider()
    PasswordPolicyProvider().create(
        {"address": server.address, "name": "cluster-config-generic", "policy": _GENERIC_HCL}
    )
    secret = secret_provider.create(
        {
            "address": server.address,
            "mount": mount.id,
            "path": secret_path("dev", "mojaloop", "app"),
            "keys": {"password": "cluster-config-generic"},
            "retain_on_delete": False,
        }
    )
    mount_provider.delete(mount.id, mount.outs)
    secret_provider.delete(secret.id, secret.outs)
    assert f"{mount.id}/" not in server.client().sys.list_mounted_secrets_engines()["data"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bound_service_account_names", ["*"]),
        ("bound_service_account_namespaces", ["mojaloop-*"]),
        ("bound_service_account_namespaces", ["*mojaloop"]),
        ("policies", ["root"]),
        ("bound_service_account_names", []),
    ],
)
def test_kubernetes_role_refuses_wildcards_and_root(server, field, value):
    props = {
        "address": server.address,
        "mount": "kubernetes-dev",
        "role": "ns-mojaloop",
        "bound_service_account_names": ["mojaloop-secrets"],
        "bound_service_account_namespaces": ["mojaloop"],
        "policies": ["env-dev-ns-mojaloop-read"],
        field: value,
    }
    result = KubernetesAuthRoleProvider().check({}, props)
    assert [failure.property for failure in result.failures] == [field]


def test_any_namespace_is_spelled_as_a_lone_wildcard_for_a_templated_role(server):
    props = {
        "address": server.address,
        "mount": "kubernetes-dev",
        "role": "secrets-reader",
        "bound_service_account_names": ["vault-secrets-reader"],
        "bound_service_account_namespaces": ["*"],
        "policies": ["env-dev-read"],
    }
    assert KubernetesAuthRoleProvider().check({}, props).failures == []


def test_token_role_lifecycle_caps_its_tokens_and_refuses_root(server):
    provider = TokenRoleProvider()
    props = {"address": server.address, "name": unique("env-x-deployer"), "allowed_policies": ["env-x-deploy"],
             "max_ttl": "8h"}
    created = provider.create(props)
    live = server.client().adapter.get(f"/v1/auth/token/roles/{created.id}")["data"]
    assert (live["allowed_policies"], live["orphan"], live["token_explicit_max_ttl"]) == (["env-x-deploy"], True, 28800)
    refreshed = provider.read(created.id, created.outs)
    assert provider.diff(created.id, refreshed.outs, props).changes is False
    token = server.client().auth.token.create(role_name=created.id)["auth"]
    assert sorted(token["policies"]) == ["default", "env-x-deploy"] and token["lease_duration"] <= 28800
    with pytest.raises(hvac.exceptions.InvalidRequest):
        server.client().auth.token.create(role_name=created.id, policies=["operator-admin"])
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id == ""
    for bad in ({"allowed_policies": ["root"]}, {"max_ttl": 0}):
        assert provider.check({}, {**props, **bad}).failures


def test_a_templated_policy_needs_its_auth_mount_and_says_so(server):
    with pytest.raises(VaultOperationError, match="templated on auth mount 'kubernetes-nowhere/'"):
        AclPolicyProvider().create(
            {"address": server.address, "name": unique("p"), "policy": environment_read_policy("dev"),
             "auth_accessor_of": "kubernetes-nowhere"}
        )


def test_configuring_a_mount_the_control_center_never_enabled_says_where_to_declare_it(server):
    props = {"address": server.address, "path": unique("kubernetes-"), "kubernetes_host": "https://10.0.0.1:6443",
             "kubernetes_ca_cert": CLUSTER_CA, "disable_local_ca_jwt": True, "enable": False}
    with pytest.raises(VaultOperationError, match="Add the environment to the control center's `environments`"):
        KubernetesAuthMountProvider().create(props)
    assert KubernetesAuthMountProvider().read("x", props).id == ""


def test_an_environment_leaves_the_control_centers_mount_in_place_when_deleted(server):
    path = unique("kubernetes-")
    server.client().sys.enable_auth_method("kubernetes", path=path)
    props = {"address": server.address, "path": path, "kubernetes_host": "https://10.0.0.1:6443",
             "kubernetes_ca_cert": CLUSTER_CA, "disable_local_ca_jwt": True, "enable": False}
    created = KubernetesAuthMountProvider().create(props)
    assert server.client().auth.kubernetes.read_config(mount_point=path)["kubernetes_host"] == "https://10.0.0.1:6443"
    KubernetesAuthMountProvider().delete(created.id, created.outs)
    assert f"{path}/" in server.client().sys.list_auth_methods()["data"]


# --- A whole environment: namespace A can never read namespace B -------------------------------------


@pytest.fixture
def environment(server, tmp_path) -> Iterator[dict]:
    """An environment planned and applied through the providers, with a secret in each namespace, its
    auth mount pointed at a stand-in TokenReview API so namespaces log in through OpenBao's real code."""
    environment = unique("e")
    kv_mount = unique("kv")
    plan = plan_environment_vault(environment, kv_mount=kv_mount)
    with run_token_review_server(tmp_path / "apiserver") as apiserver:
        connection = apply_environment_vault(server, plan, apiserver)
        for namespace in ("mojaloop", "mojaloop-b"):
            GeneratedSecretProvider().create(
                {
                    **connection,
                    "mount": plan.kv_mount,
                    "path": secret_path(environment, namespace, "app"),
                    "keys": {"password": "mojaloop-generic"},
                }
            )

        def login(namespace: str) -> str:
            return namespace_login(server, plan, namespace).token

        yield {"plan": plan, "login": login}


def test_a_namespace_login_reads_its_own_secrets_and_is_denied_the_other_namespace(server, environment):
    plan = environment["plan"]
    # `mojaloop-b` shares the prefix `mojaloop`: the policy must still keep it out.
    client = server.client(environment["login"]("mojaloop"))
    own = client.secrets.kv.v2.read_secret_version(
        secret_path(plan.environment, "mojaloop", "app"),
        mount_point=plan.kv_mount,
        raise_on_deleted_version=True,
    )
    assert set(own["data"]["data"]) == {"password"}
    listing = client.secrets.kv.v2.list_secrets(
        f"environments/{plan.environment}/mojaloop", mount_point=plan.kv_mount
    )
    assert listing["data"]["keys"] == ["app"]
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(
            secret_path(plan.environment, "mojaloop-b", "app"),
            mount_point=plan.kv_mount,
            raise_on_deleted_version=True,
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.create_or_update_secret(
            secret_path(plan.environment, "mojaloop", "app"), {"password": "x"}, mount_point=plan.kv_mount
        )


def test_the_provider_reports_the_denied_path_and_capability_for_a_namespace_login(
    server, environment, monkeypatch
):
    plan = environment["plan"]
    token = environment["login"]("mojaloop")
    monkeypatch.setenv("NAMESPACE_A_TOKEN", token)
    foreign = secret_path(plan.environment, "mojaloop-b", "app")
    with pytest.raises(VaultOperationError) as error:
        GeneratedSecretProvider().create(
            {
                "address": server.address,
                "token_env": "NAMESPACE_A_TOKEN",
                "mount": plan.kv_mount,
                "path": foreign,
                "keys": {"password": "mojaloop-generic"},
            }
        )
    expected_path = f"{plan.kv_mount}/metadata/{foreign}"
    assert str(error.value).startswith(f"token in $NAMESPACE_A_TOKEN lacks 'read' on {expected_path}")
    assert error.value.path == expected_path
    assert token not in str(error.value)
