"""Naming in Vault (paths, policies, auth mounts, roles) and the per-environment plan: pure, no server."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mojaloop_iac.vault.environment import plan_environment_vault
from mojaloop_iac.vault.paths import (
    deployer_token_role_name,
    environment_deploy_policy_name,
    environment_read_policy_name,
    kubernetes_auth_mount,
    kv_data_path,
    password_policy_name,
    require_relative_path,
    secret_path,
)
from mojaloop_iac.vault.policies import (
    AUTH_ACCESSOR_PLACEHOLDER,
    environment_deploy_policy,
    environment_read_policy,
    render_auth_accessor,
)

dns_labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")


def test_secret_path_is_environments_env_namespace_name():
    assert secret_path("dev", "mojaloop", "mysqldb") == "environments/dev/mojaloop/mysqldb"
    assert kv_data_path("mojaloop", "environments/dev/mojaloop/mysqldb") == (
        "mojaloop/data/environments/dev/mojaloop/mysqldb"
    )


def test_derived_names_follow_the_environment():
    assert environment_read_policy_name("dev") == "env-dev-read"
    assert environment_deploy_policy_name("dev") == "env-dev-deploy"
    assert deployer_token_role_name("dev") == "env-dev-deployer"
    assert kubernetes_auth_mount("dev") == "kubernetes-dev"
    assert password_policy_name("mongodb") == "mojaloop-mongodb"


@pytest.mark.parametrize(
    ("environment", "namespace", "name", "bad_part"),
    [
        ("Dev", "mojaloop", "mysqldb", "environment 'Dev'"),
        ("dev", "moja_loop", "mysqldb", "namespace 'moja_loop'"),
        ("dev", "mojaloop", "mysql/db", "secret name 'mysql/db'"),
        ("dev", "-mojaloop", "mysqldb", "namespace '-mojaloop'"),
        ("dev", "mojaloop", "x" * 64, "secret name 'xxxx"),
        ("", "mojaloop", "mysqldb", "environment ''"),
    ],
)
def test_invalid_path_parts_are_rejected_naming_the_part(environment, namespace, name, bad_part):
    with pytest.raises(ValueError, match=re.escape(bad_part)):
        secret_path(environment, namespace, name)


@pytest.mark.parametrize("path", ["", "/a", "a/", "a//b", "a/../b", "a/b c"])
def test_relative_paths_refuse_empty_and_traversing_segments(path):
    with pytest.raises(ValueError, match="path"):
        require_relative_path(path)


def _policy_blocks(hcl: str) -> dict[str, list[str]]:
    blocks = re.findall(r'path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}', hcl)
    return {path: re.findall(r'"([^"]+)"', capabilities) for path, capabilities in blocks}


ACCESSOR = "auth_kubernetes_0a1b2c3d"


def _as_vault_applies_it(template: str, login_namespace: str) -> str:
    """What the templated policy grants a token whose login came from `login_namespace` (Vault's rendering)."""
    rendered = render_auth_accessor(template, ACCESSOR)
    return rendered.replace(
        "{{identity.entity.aliases." + ACCESSOR + ".metadata.service_account_namespace}}", login_namespace
    )


def test_read_policy_is_templated_on_the_login_namespace_of_the_environments_auth_mount():
    template = environment_read_policy("dev")
    assert AUTH_ACCESSOR_PLACEHOLDER in template
    assert _policy_blocks(_as_vault_applies_it(template, "mojaloop")) == {
        "mojaloop/data/environments/dev/mojaloop/*": ["read"],
        "mojaloop/metadata/environments/dev/mojaloop/*": ["read", "list"],
    }


def test_an_accessor_is_checked_before_it_goes_into_a_policy():
    with pytest.raises(ValueError, match="not an auth mount accessor"):
        render_auth_accessor(environment_read_policy("dev"), 'x" {} path "*')


def _vault_glob_matches(pattern: str, path: str) -> bool:
    # Vault ACL paths: a trailing '*' is a prefix match, '+' one whole segment, otherwise exact.
    regex = "".join("[^/]+" if part == "+" else re.escape(part) for part in re.split(r"(\+)", pattern.rstrip("*")))
    return re.fullmatch(regex + (".*" if pattern.endswith("*") else ""), path) is not None


@given(env=dns_labels, namespace=dns_labels, other=dns_labels, name=dns_labels)
def test_a_login_never_reads_another_namespace(env, namespace, other, name):
    """Including namespaces that share a prefix (`ns` vs `ns-b`): the trailing '/' keeps them apart."""
    patterns = list(_policy_blocks(_as_vault_applies_it(environment_read_policy(env), namespace)))
    own = kv_data_path("mojaloop", secret_path(env, namespace, name))
    assert any(_vault_glob_matches(pattern, own) for pattern in patterns)
    if other != namespace:
        foreign_paths = [
            kv_data_path("mojaloop", secret_path(env, other, name)),
            f"mojaloop/metadata/{secret_path(env, other, name)}",
        ]
        for foreign in foreign_paths:
            assert not any(_vault_glob_matches(pattern, foreign) for pattern in patterns)


@given(env=dns_labels, other=dns_labels, namespace=dns_labels, name=dns_labels)
def test_the_deploy_policy_covers_its_environment_only_and_writes_no_policy_or_role(env, other, namespace, name):
    patterns = list(_policy_blocks(environment_deploy_policy(env, kubernetes_auth_mount(env))))
    assert any(_vault_glob_matches(p, kv_data_path("mojaloop", secret_path(env, namespace, name))) for p in patterns)
    assert any(_vault_glob_matches(p, "sys/policies/password/mojaloop-mysql/generate") for p in patterns)
    assert any(_vault_glob_matches(p, f"auth/kubernetes-{env}/config") for p in patterns)
    forbidden = [
        "sys/policies/acl/env-x-read",
        f"auth/kubernetes-{env}/role/secrets-reader",
        "auth/token/create",
        "sys/auth/kubernetes-x",
        "sys/policies/password/mojaloop-mysql",
    ]
    if other != env:
        forbidden += [kv_data_path("mojaloop", secret_path(other, namespace, name)), f"auth/kubernetes-{other}/config"]
    for path in forbidden:
        assert not any(_vault_glob_matches(p, path) for p in patterns), path


def test_environment_plan_derives_everything_from_the_environment_name():
    plan = plan_environment_vault("dev")
    assert plan.kubernetes_auth_mount == "kubernetes-dev"
    assert plan.kv_mount == "mojaloop"
    assert {policy.consumer for policy in plan.password_policies} >= {
        "mysql",
        "mongodb",
        "kafka",
        "redis",
        "generic",
    }
    assert plan.read_policy.name == "env-dev-read"
    assert plan.read_policy.auth_accessor_of == "kubernetes-dev"
    role = plan.reader_role
    assert (role.mount, role.role, role.service_accounts) == ("kubernetes-dev", "secrets-reader", ("vault-secrets-reader",))
    # Any namespace may log in: the templated policy is what confines it.
    assert role.namespaces == ("*",) and role.policies == ("env-dev-read",)
    assert plan.deploy_policy.name == "env-dev-deploy" and plan.deploy_policy.auth_accessor_of is None
    assert plan.deployer_token_role.name == "env-dev-deployer"
    assert plan.deployer_token_role.allowed_policies == ("env-dev-deploy",)
    assert 0 < plan.deployer_token_role.max_ttl_seconds <= 8 * 3600


def test_environment_plan_refuses_an_invalid_environment_name():
    with pytest.raises(ValueError, match="environment 'Dev'"):
        plan_environment_vault("Dev")
