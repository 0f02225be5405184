"""Secrets reach the workloads from Vault only: one definition drives Vault, ExternalSecrets and values."""

from __future__ import annotations

import base64

import hvac
import pytest

from mojaloop_iac.planners.mojaloop_values import SecretRef
from mojaloop_iac.planners.secret_delivery import READER_SERVICE_ACCOUNT, plan_secret_delivery
from mojaloop_iac.planners.secrets import ALL_SECRETS, BACKEND_SECRETS, JWS_SIGNING_KEY, MYSQL, secrets_needed
from mojaloop_iac.planners.vault_access import kubeconfig_ca_pem
from mojaloop_iac.vault.providers import (
    AclPolicyProvider,
    GeneratedSecretProvider,
    KvV2MountProvider,
    PasswordPolicyProvider,
)
from tests.support.manifests import is_core, validate_core, validate_custom
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)

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


def test_each_namespace_has_its_own_store_role_and_policy():
    plan = demo_plan(("mojaloop", "keycloak"))
    stores = {m["metadata"]["namespace"]: m for m in by_kind(plan, "SecretStore")}
    roles = {a.namespace: a.role for a in plan.vault.namespaces}
    for namespace, store in stores.items():
        auth = store["spec"]["provider"]["vault"]["auth"]["kubernetes"]
        assert auth["role"] == roles[namespace].role
        assert auth["serviceAccountRef"]["name"] == READER_SERVICE_ACCOUNT
        assert roles[namespace].namespace == namespace and roles[namespace].service_accounts == (READER_SERVICE_ACCOUNT,)
    for access in plan.vault.namespaces:
        other = "keycloak" if access.namespace == "mojaloop" else "mojaloop"
        assert f"environments/demo/{access.namespace}/" in access.policy.hcl
        assert f"environments/demo/{other}/" not in access.policy.hcl


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
def test_the_planned_vault_side_serves_each_namespace_its_own_secrets_only(openbao: OpenBaoServer, monkeypatch):  # noqa: F811
    """Apply the plan's Vault side to a real OpenBao, then read every ExternalSecret reference with the
    namespace's own policy (as its SecretStore would after logging in) and be refused the other's."""
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    plan = plan_secret_delivery("e2e", openbao.address, "mojaloop",
                                {"mojaloop": ALL_SECRETS, "keycloak": [MYSQL]})
    connection = {"address": openbao.address}
    KvV2MountProvider().create({**connection, "path": plan.vault.kv_mount})
    for spec in plan.vault.password_policies:
        PasswordPolicyProvider().create({**connection, "name": spec.name, "policy": spec.hcl})
    for access in plan.vault.namespaces:
        AclPolicyProvider().create({**connection, "name": access.policy.name, "policy": access.policy.hcl})
    for spec in plan.generated:
        GeneratedSecretProvider().create(
            {**connection, "mount": plan.vault.kv_mount, "path": spec.path, "keys": dict(spec.keys)}
        )
    policies = {a.namespace: a.policy.name for a in plan.vault.namespaces}
    for external in by_kind(plan, "ExternalSecret"):
        namespace = external["metadata"]["namespace"]
        if external["metadata"]["name"] == JWS_SIGNING_KEY.name:
            continue
        own = hvac.Client(openbao.address, token=openbao.create_token([policies[namespace]]))
        for item in external["spec"]["data"]:
            data = own.secrets.kv.v2.read_secret_version(item["remoteRef"]["key"], mount_point="mojaloop",
                                                         raise_on_deleted_version=True)["data"]["data"]
            assert data[item["remoteRef"]["property"]], item
        other = "keycloak" if namespace == "mojaloop" else "mojaloop"
        stranger = hvac.Client(openbao.address, token=openbao.create_token([policies[other]]))
        with pytest.raises(hvac.exceptions.Forbidden):
            stranger.secrets.kv.v2.read_secret_version(external["spec"]["data"][0]["remoteRef"]["key"],
                                                       mount_point="mojaloop", raise_on_deleted_version=True)
