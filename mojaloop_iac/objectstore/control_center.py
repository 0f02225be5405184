"""The control center's object store resources: its buckets and one `ConsumerAccess` per consumer.

Every credential comes from the control center's Vault, where its secret delivery generated it: MinIO's
root password (the connection's secret key, the root *user* being plain configuration) and each
consumer's secret key. `plan_object_store_access` is pure: it turns the services plan into the Vault
locations the resources read, and refuses a consumer whose secret the secret delivery would not
generate (the MinIO user would otherwise fail at apply time, after the buckets were made).
`build_object_store` only wires the planned data into resources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import pulumi

from mojaloop_iac.objectstore.admin import ConsumerAccess
from mojaloop_iac.objectstore.bucket import Bucket
from mojaloop_iac.objectstore.client import S3Connection
from mojaloop_iac.objectstore.vault_source import VaultKvField
from mojaloop_iac.planners.control_center.object_storage import ObjectStoreConsumer, VaultValue
from mojaloop_iac.planners.control_center.services import ControlCenterServicesPlan
from mojaloop_iac.planners.secret_delivery import GeneratedSecretSpec, plan_secret_delivery
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.vault.client import DEFAULT_TOKEN_ENV
from mojaloop_iac.vault.paths import DEFAULT_KV_MOUNT


class UngeneratedSecret(ValueError):
    """An object store credential points at a Vault path the secret delivery does not generate."""


@dataclass(frozen=True)
class VaultSource:
    """The control center's Vault as the object store resources reach it (no token: its variable name)."""

    address: str
    kv_mount: str = DEFAULT_KV_MOUNT
    token_env: str = DEFAULT_TOKEN_ENV
    ca_cert: str | None = None
    """PEM text or file path of the CA that signed Vault's certificate; None trusts the system's CAs."""

    def field(self, value: VaultValue) -> VaultKvField:
        return VaultKvField(
            address=self.address,
            path=value.path,
            field=value.key,
            mount=self.kv_mount,
            token_env=self.token_env,
            ca_cert=self.ca_cert,
        )


@dataclass(frozen=True)
class ConsumerAccessSpec:
    consumer: ObjectStoreConsumer
    secret_key: VaultKvField
    buckets: tuple[str, ...]
    """The buckets the consumer's policy covers: its user is made after them."""


@dataclass(frozen=True)
class ObjectStoreAccessPlan:
    connection: S3Connection
    """Root connection: the root user from config, its password read from Vault per operation."""
    consumers: tuple[ConsumerAccessSpec, ...]


def generated_fields(generated: Iterable[GeneratedSecretSpec]) -> frozenset[tuple[str, str]]:
    """(KV path, key) of every value the secret delivery generates."""
    return frozenset((spec.path, key) for spec in generated for key in spec.keys)


def plan_object_store_access(
    services: ControlCenterServicesPlan,
    vault: VaultSource,
    generated: Iterable[GeneratedSecretSpec],
) -> ObjectStoreAccessPlan:
    """The Vault-sourced root connection and one consumer spec per `services.object_store_consumers`."""
    storage = services.object_storage
    available = generated_fields(generated)
    wanted = {"MinIO root password": storage.root_password} | {
        f"consumer {consumer.user!r}": consumer.secret_key for consumer in services.object_store_consumers
    }
    missing = [
        f"{what} at {vault.kv_mount}/{value.path} key {value.key!r}"
        for what, value in wanted.items()
        if (value.path, value.key) not in available
    ]
    if missing:
        raise UngeneratedSecret(
            "object store credentials that the control center's secret delivery does not generate: "
            + "; ".join(missing)
            + ". Add their SecretNeed to the service's secret_needs so Vault generates them"
        )
    users = [consumer.user for consumer in services.object_store_consumers]
    repeated = sorted({user for user in users if users.count(user) > 1})
    if repeated:
        raise ValueError(f"object store consumers planned twice: {repeated}")
    connection = replace(
        storage.connection, access_key=storage.root_user, secret_key_vault=vault.field(storage.root_password)
    )
    consumers = tuple(
        ConsumerAccessSpec(
            consumer=consumer,
            secret_key=vault.field(consumer.secret_key),
            buckets=tuple(
                spec.name
                for spec in services.buckets
                if any(grant.consumer == consumer.user for grant in spec.grants)
            ),
        )
        for consumer in services.object_store_consumers
    )
    return ObjectStoreAccessPlan(connection, consumers)


@dataclass(frozen=True)
class ObjectStoreResources:
    buckets: Mapping[str, Bucket]
    consumers: Mapping[str, ConsumerAccess]


def build_object_store(
    name: str,
    services: ControlCenterServicesPlan,
    secret_needs: Mapping[str, tuple[SecretNeed, ...]],
    vault: VaultSource,
    opts: pulumi.ResourceOptions,
    ca_cert: pulumi.Input[str] | None = None,
) -> ObjectStoreResources:
    """Buckets and consumers of the control center `name`; `secret_needs` is what its secret delivery got.

    `opts` should make everything wait for MinIO's release and for the secret delivery. `ca_cert` (the
    control center's CA, which signed both MinIO's and Vault's certificates) is what they trust.
    """
    delivery = plan_secret_delivery(name, vault.address, vault.kv_mount, secret_needs)
    access = plan_object_store_access(services, vault, delivery.generated)
    buckets = {
        spec.name: Bucket(
            f"{name}-bucket-{spec.name}",
            spec,
            access.connection,
            # Object lock cannot be added to an existing bucket and versions hold every state file: keep them.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True)),
            ca_cert=ca_cert,
        )
        for spec in services.buckets
    }
    consumers = {
        spec.consumer.user: ConsumerAccess(
            f"{name}-objectstore-consumer-{spec.consumer.user}",
            spec.consumer.user,
            spec.consumer.policy_name,
            spec.consumer.policy,
            access.connection,
            secret_key_vault=spec.secret_key,
            ca_cert=ca_cert,
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[buckets[bucket] for bucket in spec.buckets])
            ),
        )
        for spec in access.consumers
    }
    return ObjectStoreResources(buckets, consumers)
