"""Buckets whose root credentials come from Vault: a real OpenBao and a real SeaweedFS S3 server.

Set up the way a control center is: its secret delivery's password policies and GeneratedSecrets make
Vault generate MinIO's root password at the planned path; the S3 server is then started with that
password (in a cluster External Secrets hands it to MinIO). The `Bucket` provider is given only the
Vault location (`plan_object_store_access(...).connection`) and reads the password per operation.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from minio.error import S3Error

from mojaloop_iac.objectstore import CredentialUnavailable, S3Connection
from mojaloop_iac.objectstore.bucket import BucketProvider, bucket_props
from mojaloop_iac.objectstore.bucket_policy import BucketPolicyProvider, bucket_policy_props
from mojaloop_iac.objectstore.control_center import VaultSource, plan_object_store_access
from mojaloop_iac.objectstore.policies import iam_user_arn, render_bucket_policy
from mojaloop_iac.planners.control_center import (
    ControlCenterServicesInput,
    ControlCenterServicesPlan,
    IssuerRef,
    ObjectStorageInput,
    RegistryMirrorInput,
    TlsSettings,
    plan_control_center_services,
)
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
from mojaloop_iac.vault.providers import GeneratedSecretProvider, KvV2MountProvider, PasswordPolicyProvider
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)
from tests.support.seaweedfs import ADMIN_ACTIONS, S3Identity, SeaweedS3Server, run_seaweedfs

pytestmark = pytest.mark.slow

MOUNT = "mojaloop"
ISSUER = IssuerRef("cc-ca")


@dataclass(frozen=True)
class ControlCenterStore:
    vault: OpenBaoServer
    s3: SeaweedS3Server
    services: ControlCenterServicesPlan
    connection: S3Connection
    root_password: str


def plan_services(name: str) -> ControlCenterServicesPlan:
    return plan_control_center_services(
        ControlCenterServicesInput(
            "minimal",
            ObjectStorageInput(
                name,
                "s3.int.example.com",
                TlsSettings("minio-tls", ISSUER),
                "local-path",
                environments=("dev",),
            ),
            RegistryMirrorInput(name, "mirror.int.example.com", TlsSettings("zot-tls", ISSUER), "local-path"),
        )
    )


def generate_secrets(openbao: OpenBaoServer, name: str, services: ControlCenterServicesPlan) -> Any:  # noqa: F811
    """What the control center's VaultSecretDelivery does for these needs: policies, then generated secrets."""
    connection = {"address": openbao.address}
    delivery = plan_secret_delivery(name, openbao.address, MOUNT, services.secret_needs)
    KvV2MountProvider().create({**connection, "path": MOUNT})
    for spec in delivery.vault.password_policies:
        PasswordPolicyProvider().create({**connection, "name": spec.name, "policy": spec.hcl})
    for spec in delivery.generated:
        GeneratedSecretProvider().create(
            {**connection, "mount": MOUNT, "path": spec.path, "keys": dict(spec.keys)}
        )
    return delivery


@pytest.fixture(scope="module")
def store(openbao: OpenBaoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlCenterStore]:  # noqa: F811
    name = f"cc{secrets.token_hex(3)}"
    services = plan_services(name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VAULT_TOKEN", openbao.root_token)
        delivery = generate_secrets(openbao, name, services)
        root = services.object_storage.root_password
        stored = openbao.client().secrets.kv.v2.read_secret_version(
            root.path, mount_point=MOUNT, raise_on_deleted_version=True
        )
        root_password = stored["data"]["data"][root.key]
        admin = S3Identity(
            services.object_storage.root_user, services.object_storage.root_user, root_password, ADMIN_ACTIONS
        )
        access = plan_object_store_access(services, VaultSource(openbao.address, MOUNT), delivery.generated)
        with run_seaweedfs(tmp_path_factory.mktemp("seaweedfs-vault"), [admin]) as s3:
            # The planned connection, pointed at the test server (plain HTTP on loopback).
            connection = replace(access.connection, endpoint=s3.endpoint, secure=False)
            yield ControlCenterStore(openbao, s3, services, connection, root_password)


@pytest.fixture
def vault_token(store: ControlCenterStore, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VAULT_TOKEN", store.vault.root_token)
    # The environment source must play no part: nothing is exported for it.
    monkeypatch.delenv("MINIO_ROOT_USER", raising=False)
    monkeypatch.delenv("MINIO_ROOT_PASSWORD", raising=False)
    return store.vault.root_token


def test_every_planned_bucket_converges_with_the_root_password_read_from_vault(store, vault_token):
    provider = BucketProvider()

    outs = {
        spec.name: provider.create(bucket_props(spec, store.connection)).outs
        for spec in store.services.buckets
    }
    again = {
        spec.name: provider.create(bucket_props(spec, store.connection)).outs
        for spec in store.services.buckets
    }

    names = {bucket.name for bucket in store.s3.client(store.s3.admin).list_buckets()}
    assert names == {"pulumi-state", "backups", "env-dev"} == set(outs)
    assert again == outs  # a second run adopts and reports the same state
    assert outs["pulumi-state"]["versioning"] is True and outs["pulumi-state"]["object_lock"] is True
    diff = provider.diff(
        "backups", outs["backups"], bucket_props(store.services.buckets[1], store.connection)
    )
    assert diff.changes is False


def test_outputs_and_state_hold_the_vault_location_but_no_credential(store, vault_token):
    spec = store.services.buckets[2]
    result = BucketProvider().create(bucket_props(spec, store.connection))
    read = BucketProvider().read(result.id, result.outs)

    for document in (result.outs, read.outs, bucket_props(spec, store.connection)):
        text = json.dumps(document)
        assert store.root_password not in text and vault_token not in text
        assert (
            document["connection"]["secret_key_vault"]["path"]
            == store.services.object_storage.root_password.path
        )
        assert "secret_key_env" not in document["connection"]


def test_a_bucket_policy_is_applied_with_the_same_vault_sourced_connection(store, vault_token):
    spec = store.services.buckets[2]
    BucketProvider().create(bucket_props(spec, store.connection))
    policy = render_bucket_policy(spec, {"env-dev": iam_user_arn("env-dev")})

    outs = BucketPolicyProvider().create(bucket_policy_props(spec.name, policy, store.connection)).outs

    assert outs["bucket"] == "env-dev" and store.root_password not in json.dumps(outs)


def with_secret(store: ControlCenterStore, **changes: str) -> S3Connection:
    assert store.connection.secret_key_vault is not None
    return replace(store.connection, secret_key_vault=replace(store.connection.secret_key_vault, **changes))


def test_a_missing_vault_path_fails_naming_the_path_before_touching_the_bucket(store, vault_token):
    missing = (
        f"environments/{store.services.object_storage.root_password.path.split('/')[1]}/minio/no-such-secret"
    )
    connection = with_secret(store, path=missing)

    with pytest.raises(CredentialUnavailable) as raised:
        BucketProvider().create(
            bucket_props(replace(store.services.buckets[2], name="never-made"), connection)
        )

    message = str(raised.value)
    assert f"nothing exists at {MOUNT}/data/{missing}" in message
    assert message.startswith(f"cannot read the secret key of 'mojaloop-root' for http://{store.s3.endpoint}")
    assert "never-made" not in {b.name for b in store.s3.client(store.s3.admin).list_buckets()}


def test_a_missing_field_names_the_path_the_field_and_the_fields_present(store, vault_token):
    connection = with_secret(store, field="rootpassword")

    with pytest.raises(CredentialUnavailable) as raised:
        BucketProvider().read("env-dev", bucket_props(store.services.buckets[2], connection))

    path = store.services.object_storage.root_password.path
    assert re.search(
        rf"{MOUNT}/data/{path} \(version 1\) .* holds no field 'rootpassword'", str(raised.value)
    )
    assert "fields present: ['rootPassword']" in str(raised.value)
    assert store.root_password not in str(raised.value)


def test_a_token_without_read_access_names_the_path_and_the_capability(store, vault_token, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", store.vault.create_token(["default"]))

    with pytest.raises(
        CredentialUnavailable, match=r"lacks 'read' on mojaloop/data/environments/.*/minio-root-password"
    ):
        BucketProvider().read("env-dev", bucket_props(store.services.buckets[2], store.connection))


def test_an_unset_token_variable_is_named(store, vault_token, monkeypatch):
    monkeypatch.delenv("VAULT_TOKEN")

    with pytest.raises(CredentialUnavailable, match="environment variable VAULT_TOKEN holds no token"):
        BucketProvider().read("env-dev", bucket_props(store.services.buckets[2], store.connection))


def test_a_wrong_root_password_in_vault_is_refused_by_the_server_not_leaked(store, vault_token):
    """A rotated-in-Vault password MinIO has not picked up yet: the S3 error, never the value."""
    path = f"environments/{secrets.token_hex(3)}/minio/minio-root-password"
    store.vault.client().secrets.kv.v2.create_or_update_secret(
        path, secret={"rootPassword": "not-the-server-password"}, mount_point=MOUNT
    )

    with pytest.raises(S3Error) as raised:
        BucketProvider().read(
            "env-dev", bucket_props(store.services.buckets[2], with_secret(store, path=path))
        )

    assert raised.value.code in ("AccessDenied", "SignatureDoesNotMatch")
    assert "not-the-server-password" not in str(raised.value)
