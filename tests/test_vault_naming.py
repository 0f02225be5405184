"""Naming in Vault (paths, policies, auth mounts, roles) and the per-environment plan: pure, no server."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mojaloop_iac.vault.environment import plan_environment_vault
from mojaloop_iac.vault.paths import (
    kubernetes_auth_mount,
    kv_data_path,
    namespace_policy_name,
    namespace_role_name,
    password_policy_name,
    require_relative_path,
    secret_path,
)
from mojaloop_iac.vault.policies import namespace_read_policy

dns_labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")


def test_secret_path_is_environments_env_namespace_name():
    assert secret_path("dev", "mojaloop", "mysqldb") == "environments/dev/mojaloop/mysqldb"
    assert kv_data_path("mojaloop", "environments/dev/mojaloop/mysqldb") == (
        "mojaloop/data/environments/dev/mojaloop/mysqldb"
    )


def test_derived_names_follow_the_environment_and_namespace():
    assert namespace_policy_name("dev", "mojaloop") == "env-dev-ns-mojaloop-read"
    assert kubernetes_auth_mount("dev") == "kubernetes-dev"
    assert namespace_role_name("mojaloop") == "ns-mojaloop"
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


def test_namespace_policy_grants_read_on_data_and_read_list_on_metadata_only():
    blocks = _policy_blocks(namespace_read_policy("dev", "mojaloop"))
    assert blocks == {
        "mojaloop/data/environments/dev/mojaloop/*": ["read"],
        "mojaloop/metadata/environments/dev/mojaloop/*": ["read", "list"],
    }


def _vault_glob_matches(pattern: str, path: str) -> bool:
    # Vault ACL paths: a trailing '*' is a prefix match, otherwise exact ('+' is unused here).
    return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern


@given(env=dns_labels, namespace=dns_labels, other=dns_labels, name=dns_labels)
def test_namespace_policy_never_covers_another_namespace(env, namespace, other, name):
    """Including namespaces that share a prefix (`ns` vs `ns-b`): the trailing '/' keeps them apart."""
    patterns = list(_policy_blocks(namespace_read_policy(env, namespace)))
    own = kv_data_path("mojaloop", secret_path(env, namespace, name))
    assert any(_vault_glob_matches(pattern, own) for pattern in patterns)
    if other != namespace:
        foreign_paths = [
            kv_data_path("mojaloop", secret_path(env, other, name)),
            f"mojaloop/metadata/{secret_path(env, other, name)}",
        ]
        for foreign in foreign_paths:
            assert not any(_vault_glob_matches(pattern, foreign) for pattern in patterns)


def test_environment_plan_gives_each_namespace_its_own_policy_and_role():
    plan = plan_environment_vault("dev", {"mojaloop": ["mojaloop-sa"], "ttk": ["ttk-backend", "ttk-backend"]})
    assert plan.kubernetes_auth_mount == "kubernetes-dev"
    assert plan.kv_mount == "mojaloop"
    assert {policy.consumer for policy in plan.password_policies} >= {
        "mysql",
        "mongodb",
        "kafka",
        "redis",
        "generic",
    }
    by_namespace = {access.namespace: access for access in plan.namespaces}
    assert set(by_namespace) == {"mojaloop", "ttk"}
    ttk = by_namespace["ttk"]
    assert ttk.policy.name == "env-dev-ns-ttk-read"
    assert ttk.role.role == "ns-ttk"
    assert ttk.role.mount == "kubernetes-dev"
    assert ttk.role.namespace == "ttk"
    assert ttk.role.service_accounts == ("ttk-backend",)
    assert ttk.role.policies == ("env-dev-ns-ttk-read",)
    assert "environments/dev/ttk/*" in ttk.policy.hcl
    assert "environments/dev/mojaloop" not in ttk.policy.hcl


def test_environment_plan_refuses_a_namespace_without_service_accounts():
    with pytest.raises(ValueError, match="namespace 'ttk' of environment 'dev' lists no service accounts"):
        plan_environment_vault("dev", {"ttk": []})
