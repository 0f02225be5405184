"""Secrets reach the workloads from Vault only: one definition drives Vault, ExternalSecrets and values."""

from __future__ import annotations

import base64

import hvac
import pytest

from mojaloop_iac.planners.mojaloop_values import SecretRef
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery, with_ca_bundle
from mojaloop_iac.planners.secrets import ALL_SECRETS, BACKEND_SECRETS, JWS_SIGNING_KEY, MYSQL, secrets_needed
from mojaloop_iac.planners.vault_access import kubeconfig_ca_pem
from mojaloop_iac.vault.paths import READER_SERVICE_ACCOUNT
from mojaloop_iac.vault.providers import AclPolicyProvider, GeneratedSecretProvider
from tests.support.environment_vault import apply_environment_vault, namespace_login
from tests.support.manifests import is_core, validate_core, validate_custom
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)
from tests.support.token_review import run_token_review_server

ADDRESS = "https://vault.example:8200"


def demo_plan(namespaces=("mojaloop",)):
    return plan_secret_delivery("demo", ADDRESS, "mojaloop", {ns: ALL_SECRETS for ns in namespaces})


def by_kind(plan, kind):
    return [m for m in plan.manifests if m["kind"] == kind]


def test_every_manifest_validates_against_its_schema():
    for manifest in demo_plan(("mojaloop", "keycloak")).manifests:
        validate_core(manifest, "1.28") if is_core(manifest) else validate_custom(manifest)


def test_each_external_secret_reads_exactly_what_vault_generates_for_it():
    plan = demo_plan()
    generated = {(g.namespace, g.secret_name): g for g in plan.generated}
    for external in by_kind(plan, "ExternalSecret"):
        namespace, name = external["metadata"]["namespace"], external["metadata"]["name"]
        assert external["spec"]["target"]["name"] == name
        keys = {item["secretKey"] for item in external["spec"]["data"]}
        paths = {item["remoteRef"]["key"] for item in external["spec"]["data"]}
        assert paths == {f"environments/demo/{namespace}/{name}"}
        if name == JWS_SIGNING_KEY.name:
            assert (namespace, name) not in generated  # a key pair: written by the operator (a warning says so)
        else:
            assert keys == set(generated[(namespace, name)].keys)


def test_each_namespace_logs_in_with_its_own_service_account_through_the_reader_role():
    plan = demo_plan(("mojaloop", "keycloak"))
    stores = {m["metadata"]["namespace"]: m for m in by_kind(plan, "SecretStore")}
    accounts = {(m["metadata"]["namespace"], m["metadata"]["name"]) for m in by_kind(plan, "ServiceAccount")}
    assert set(stores) == {"mojaloop", "keycloak"}
    for namespace, store in stores.items():
        auth = store["spec"]["provider"]["vault"]["auth"]["kubernetes"]
        assert (auth["mountPath"], auth["role"]) == ("kubernetes-demo", plan.vault.reader_role.role)
        assert auth["serviceAccountRef"]["name"] == READER_SERVICE_ACCOUNT
        assert (namespace, READER_SERVICE_ACCOUNT) in accounts
    # One role for every namespace: its policy is templated on the namespace of the login.
    assert plan.vault.reader_role.service_accounts == (READER_SERVICE_ACCOUNT,)
    assert plan.vault.reader_role.policies == (plan.vault.read_policy.name,)


def test_key_pairs_are_reported_as_operator_supplied_not_generated():
    plan = demo_plan()
    assert len(plan.operator_supplied) == 1 and JWS_SIGNING_KEY.name in plan.operator_supplied[0]


def test_secrets_needed_are_the_backends_plus_what_the_values_reference():
    only_mysql = secrets_needed([SecretRef(MYSQL.name, "mysql-password")])
    assert {n.name for n in only_mysql} == {n.name for n in BACKEND_SECRETS.values()}
    with_jws = secrets_needed([SecretRef(JWS_SIGNING_KEY.name, "private.pem")])
    assert JWS_SIGNING_KEY in with_jws
    with pytest.raises(ValueError, match="nobody delivers"):
        secrets_needed([SecretRef("made-up", "key")])


def test_kubeconfig_ca_is_read_from_the_current_cluster():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    kubeconfig = f"""
clusters:
- name: other
  cluster: {{certificate-authority-data: {base64.b64encode(b"wrong").decode()}}}
- name: mine
  cluster: {{certificate-authority-data: {base64.b64encode(pem.encode()).decode()}}}
contexts:
- {{name: c, context: {{cluster: mine}}}}
current-context: c
"""
    assert kubeconfig_ca_pem(kubeconfig) == pem
    assert kubeconfig_ca_pem(None) is None


@pytest.mark.slow
def test_the_planned_vault_side_serves_each_namespace_its_own_secrets_only(openbao: OpenBaoServer, tmp_path, monkeypatch):  # noqa: F811
    """Apply the plan's Vault side to a real OpenBao as a self-administering environment stack does, log
    each namespace's reader in through Kubernetes auth (TokenReview answered by a stand-in API server) as
    its SecretStore does, read every ExternalSecret reference, and be refused the other namespace's."""
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    plan = plan_secret_delivery("e2e", openbao.address, "mojaloop",
                                {"mojaloop": ALL_SECRETS, "keycloak": [MYSQL]})
    vault = plan.vault
    with run_token_review_server(tmp_path / "apiserver") as apiserver:
        connection = apply_environment_vault(openbao, vault, apiserver)
        # Read back with the accessor turned into the placeholder again: an unchanged policy is no diff.
        policy = {**connection, "name": vault.read_policy.name, "policy": vault.read_policy.hcl,
                  "auth_accessor_of": vault.read_policy.auth_accessor_of}
        assert AclPolicyProvider().read("x", policy).outs["policy"] == vault.read_policy.hcl
        for spec in plan.generated:
            GeneratedSecretProvider().create(
                {**connection, "mount": vault.kv_mount, "path": spec.path, "keys": dict(spec.keys)}
            )
        readers = {namespace: namespace_login(openbao, vault, namespace) for namespace in ("mojaloop", "keycloak")}
        for external in by_kind(plan, "ExternalSecret"):
            namespace = external["metadata"]["namespace"]
            if external["metadata"]["name"] == JWS_SIGNING_KEY.name:
                continue
            for item in external["spec"]["data"]:
                data = readers[namespace].secrets.kv.v2.read_secret_version(
                    item["remoteRef"]["key"], mount_point="mojaloop", raise_on_deleted_version=True
                )["data"]["data"]
                assert data[item["remoteRef"]["property"]], item
            other = "keycloak" if namespace == "mojaloop" else "mojaloop"
            with pytest.raises(hvac.exceptions.Forbidden):
                readers[other].secrets.kv.v2.read_secret_version(
                    external["spec"]["data"][0]["remoteRef"]["key"], mount_point="mojaloop",
                    raise_on_deleted_version=True,
                )


def test_a_secret_store_trusts_the_ca_it_is_given_and_nothing_else():
    store = next(m for m in demo_plan().manifests if m["kind"] == "SecretStore")
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    trusted = with_ca_bundle(store["spec"], pem)
    assert base64.b64decode(trusted["provider"]["vault"]["caBundle"]).decode() == pem
    assert trusted["provider"]["vault"]["server"] == store["spec"]["provider"]["vault"]["server"]
    assert "caBundle" not in store["spec"]["provider"]["vault"]  # the plan itself is left alone
    assert with_ca_bundle(store["spec"], None) == store["spec"]
