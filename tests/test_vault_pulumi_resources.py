"""The Pulumi side of the Vault resources: what gets registered, and that providers survive the pickling
Pulumi applies to them (without carrying a token along). No Pulumi engine runs here: mocks only."""

import base64

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from mojaloop_iac.vault.providers import (
    AclPolicyProvider,
    GeneratedSecretProvider,
    KubernetesAuthMountProvider,
    KubernetesAuthRoleProvider,
    KvV2MountProvider,
    PasswordPolicyProvider,
)

PROVIDERS = [
    GeneratedSecretProvider,
    KvV2MountProvider,
    PasswordPolicyProvider,
    AclPolicyProvider,
    KubernetesAuthMountProvider,
    KubernetesAuthRoleProvider,
]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered.append(args)
        return [f"{args.name}-id", {**args.inputs, "version": 1, "key_names": ["mysql-password"]}]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.mark.parametrize("provider_type", PROVIDERS)
def test_providers_round_trip_through_pulumis_pickling_without_the_token(provider_type, monkeypatch):
    token = "hvs.token-that-must-not-be-pickled"
    monkeypatch.setenv("VAULT_TOKEN", token)
    serialized = serialize_provider(provider_type())
    raw = base64.b64decode(serialized)
    assert token.encode() not in raw
    restored = dill.loads(raw)
    assert type(restored) is provider_type


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, preview=False)
    return recording


def _unwrap(value):
    # Mocks see secrets wrapped in Pulumi's secret envelope.
    if isinstance(value, dict) and "value" in value and len(value) <= 2:
        return value["value"]
    return value


@pulumi.runtime.test
def test_generated_secret_registers_path_keys_and_provider_but_no_value(mocks):
    from mojaloop_iac.vault.resources import GeneratedSecret

    secret = GeneratedSecret(
        "mysqldb",
        {
            "address": "https://vault.example.org:8200",
            "path": "environments/dev/mojaloop/mysqldb",
            "keys": {"mysql-password": "mojaloop-mysql"},
            "rotation": 1,
            "retain_on_delete": False,
        },
    )

    def check(values):
        urn, version, key_names = values
        registered = mocks.registered[-1]
        assert registered.typ == "pulumi-python:dynamic/mojaloop-vault:GeneratedSecret", urn
        assert registered.inputs["path"] == "environments/dev/mojaloop/mysqldb"
        assert registered.inputs["keys"] == {"mysql-password": "mojaloop-mysql"}
        assert registered.inputs["retain_on_delete"] is False
        # Only the *name* of the token's variable may ever be an input, never a token.
        assert [key for key in registered.inputs if "token" in key or "jwt" in key] == []
        provider = dill.loads(base64.b64decode(_unwrap(registered.inputs["__provider"])))
        assert isinstance(provider, GeneratedSecretProvider)
        assert (version, key_names) == (1, ["mysql-password"])

    return pulumi.Output.all(secret.urn, secret.version, secret.key_names).apply(check)


@pulumi.runtime.test
def test_kubernetes_auth_resources_register_under_the_vault_module(mocks):
    from mojaloop_iac.vault.resources import KubernetesAuthMount, KubernetesAuthRole

    mount = KubernetesAuthMount(
        "kubernetes-dev",
        {
            "address": "https://vault.example.org:8200",
            "path": "kubernetes-dev",
            "kubernetes_host": "https://10.0.0.1:6443",
            "disable_local_ca_jwt": True,
            "token_reviewer_jwt_env": "REVIEWER_JWT",
        },
    )
    role = KubernetesAuthRole(
        "ns-mojaloop",
        {
            "address": "https://vault.example.org:8200",
            "mount": mount.path,
            "role": "ns-mojaloop",
            "bound_service_account_names": ["mojaloop-secrets"],
            "bound_service_account_namespaces": ["mojaloop"],
            "policies": ["env-dev-ns-mojaloop-read"],
        },
    )

    def check(_values):
        types = {args.name: args.typ for args in mocks.registered}
        assert types["kubernetes-dev"] == "pulumi-python:dynamic/mojaloop-vault:KubernetesAuthMount"
        assert types["ns-mojaloop"] == "pulumi-python:dynamic/mojaloop-vault:KubernetesAuthRole"
        mount_inputs = next(args.inputs for args in mocks.registered if args.name == "kubernetes-dev")
        assert mount_inputs["token_reviewer_jwt_env"] == "REVIEWER_JWT"
        role_inputs = next(args.inputs for args in mocks.registered if args.name == "ns-mojaloop")
        assert role_inputs["mount"] == "kubernetes-dev"

    return pulumi.Output.all(mount.urn, role.urn).apply(check)
