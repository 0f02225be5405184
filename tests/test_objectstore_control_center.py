"""The control center's object store wiring as pure data: Vault-sourced credentials, one access per consumer.

No server: `plan_object_store_access` and the providers' input checks. The real reads from Vault are in
tests/test_objectstore_vault.py (OpenBao + SeaweedFS) and tests/test_objectstore_minio_admin.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from mojaloop_iac.objectstore import S3Connection, VaultKvField
from mojaloop_iac.objectstore.admin import ConsumerAccess, ConsumerAccessProvider, consumer_access_props
from mojaloop_iac.objectstore.control_center import (
    UngeneratedSecret,
    VaultSource,
    plan_object_store_access,
)
from mojaloop_iac.planners.control_center import (
    ControlCenterServicesInput,
    GitLabInput,
    IssuerRef,
    ObjectStorageInput,
    RegistryMirrorInput,
    TlsSettings,
    plan_control_center_services,
)
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery

CC = "cc"
DOMAIN = "int.cc.example.com"
VAULT = VaultSource("https://vault.int.cc.example.com", kv_mount="mojaloop")
ISSUER = IssuerRef("cc-ca")


def services(profile: str = "full"):
    gitlab = (
        GitLabInput(
            CC,
            DOMAIN,
            TlsSettings("gitlab-tls", ISSUER),
            "local-path",
            f"https://s3.{DOMAIN}",
            VAULT.address,
            "operators",
        )
        if profile == "full"
        else None
    )
    return plan_control_center_services(
        ControlCenterServicesInput(
            profile,
            ObjectStorageInput(
                CC, f"s3.{DOMAIN}", TlsSettings("minio-tls", ISSUER), "local-path", environments=("dev", "qa")
            ),
            RegistryMirrorInput(CC, f"mirror.{DOMAIN}", TlsSettings("zot-tls", ISSUER), "local-path"),
            gitlab,
        )
    )


def generated(plan):
    return plan_secret_delivery(CC, VAULT.address, VAULT.kv_mount, plan.secret_needs).generated


@pytest.mark.parametrize(
    ("profile", "users"),
    [
        ("minimal", {"pulumi", "control-center", "env-dev", "env-qa"}),
        ("full", {"pulumi", "control-center", "env-dev", "env-qa", "gitlab"}),
    ],
)
def test_every_consumer_gets_its_secret_from_the_vault_path_its_secret_delivery_generates(profile, users):
    plan = services(profile)

    access = plan_object_store_access(plan, VAULT, generated(plan))

    assert {spec.consumer.user for spec in access.consumers} == users
    generated_paths = {spec.path for spec in generated(plan)}
    for spec in access.consumers:
        assert spec.secret_key.path == spec.consumer.secret_key.path
        assert spec.secret_key.path in generated_paths
        assert (spec.secret_key.mount, spec.secret_key.field) == ("mojaloop", spec.consumer.secret_key.key)
        assert spec.secret_key.address == VAULT.address and spec.secret_key.token_env == "VAULT_TOKEN"


def test_each_consumer_comes_after_exactly_the_buckets_its_policy_covers():
    plan = services("full")

    buckets = {
        spec.consumer.user: spec.buckets
        for spec in plan_object_store_access(plan, VAULT, generated(plan)).consumers
    }

    assert buckets["env-dev"] == ("backups", "env-dev")
    assert buckets["pulumi"] == ("pulumi-state",)
    assert buckets["gitlab"] and all(name.startswith("gitlab-") for name in buckets["gitlab"])
    for user, names in buckets.items():
        policy = next(c.policy for c in plan.object_store_consumers if c.user == user)
        covered = {arn.split(":::")[1].split("/")[0] for s in policy["Statement"] for arn in s["Resource"]}
        assert covered == set(names), user


def test_the_root_connection_names_the_root_user_and_the_vault_path_of_its_password():
    plan = services("minimal")

    connection = plan_object_store_access(plan, VAULT, generated(plan)).connection

    storage = plan.object_storage
    assert connection.endpoint == storage.connection.endpoint and connection.secure
    assert connection.access_key == storage.root_user
    assert connection.secret_key_vault == VaultKvField(
        VAULT.address, storage.root_password.path, "rootPassword", mount="mojaloop"
    )
    # Only the Vault source travels: no environment variable names to confuse an operator.
    assert set(connection.to_props()) == {"endpoint", "secure", "region", "access_key", "secret_key_vault"}
    assert S3Connection.from_props(connection.to_props()) == connection


def test_a_consumer_whose_secret_vault_does_not_generate_is_refused_naming_its_path():
    plan = services("full")
    gitlab_key = next(c.secret_key for c in plan.object_store_consumers if c.user == "gitlab")
    without = [spec for spec in generated(plan) if spec.path != gitlab_key.path]

    with pytest.raises(
        UngeneratedSecret, match=f"consumer 'gitlab' at mojaloop/{gitlab_key.path} key 'secretKey'"
    ):
        plan_object_store_access(plan, VAULT, without)


def test_a_missing_root_password_is_refused_too():
    plan = services("minimal")
    root = plan.object_storage.root_password
    without = [spec for spec in generated(plan) if spec.path != root.path]

    with pytest.raises(UngeneratedSecret, match="MinIO root password at mojaloop/.*minio-root-password"):
        plan_object_store_access(plan, VAULT, without)


def test_access_key_and_secret_key_vault_go_together():
    with pytest.raises(ValueError, match="access_key and secret_key_vault go together"):
        S3Connection("minio:9000", access_key="root")
    with pytest.raises(ValueError, match="access_key and secret_key_vault go together"):
        S3Connection("minio:9000", secret_key_vault=VaultKvField(VAULT.address, "a/b", "c"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "../escape"}, "invalid segment"),
        ({"field": "a b"}, "invalid"),
        ({"address": "vault:8200"}, "is not a Vault address"),
        ({"token_env": "1TOKEN"}, "not an environment variable name"),
    ],
)
def test_a_bad_vault_location_is_refused_naming_what_is_wrong(change, message):
    with pytest.raises(ValueError, match=message):
        VaultKvField(**{"address": VAULT.address, "path": "environments/cc/minio/x", "field": "k", **change})


CONNECTION = S3Connection(
    "minio:9000",
    access_key="root",
    secret_key_vault=VaultKvField(VAULT.address, "environments/cc/minio/minio-root-password", "rootPassword"),
)
SECRET = VaultKvField(VAULT.address, "environments/cc/minio/minio-consumer-env-dev", "secretKey")
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::env-dev/*"]}],
}


def test_check_refuses_a_secret_version_next_to_the_vault_source():
    news = consumer_access_props(
        "env-dev", "p", POLICY, CONNECTION, secret_version=3, secret_key_vault=SECRET
    )

    failures = ConsumerAccessProvider().check({}, news).failures

    assert [(f.property, f.reason) for f in failures] == [
        ("secret_version", "comes from Vault's KV version when secret_key_vault is given: leave it out")
    ]


@pytest.mark.parametrize("sources", [{}, {"secret_key_env": "X", "secret_key_vault": SECRET.to_props()}])
def test_check_wants_exactly_one_secret_source(sources):
    news = {
        **consumer_access_props("env-dev", "p", POLICY, CONNECTION, secret_key_env="X"),
        "secret_key_env": None,
    }

    failures = ConsumerAccessProvider().check({}, {**news, **sources}).failures

    assert [f.property for f in failures] == ["secret_key_vault"]
    assert "exactly one of secret_key_vault" in failures[0].reason


def test_the_resource_refuses_both_or_neither_source_before_registering():
    with pytest.raises(ValueError, match="exactly one of secret_key_vault and secret_key_env"):
        ConsumerAccess("x", "env-dev", "p", POLICY, CONNECTION)
    with pytest.raises(ValueError, match="secret_version comes from Vault"):
        ConsumerAccess("x", "env-dev", "p", POLICY, CONNECTION, secret_version=2, secret_key_vault=SECRET)


def test_vault_inputs_hold_locations_only_and_round_trip():
    props = consumer_access_props(
        "env-dev",
        "p",
        POLICY,
        replace(CONNECTION, region="eu-1"),
        secret_version=None,
        secret_key_vault=SECRET,
    )

    checked = ConsumerAccessProvider().check({}, props)

    assert checked.failures == [] and checked.inputs == props
    assert "secret_version" not in props and "secret_key_env" not in props
    assert props["secret_key_vault"] == {
        "address": VAULT.address,
        "mount": "mojaloop",
        "path": SECRET.path,
        "field": "secretKey",
        "token_env": "VAULT_TOKEN",
    }
