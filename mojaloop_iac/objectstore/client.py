"""Connections to the object store, with credentials read at call time from Vault or the environment.

Two sources, one picked per connection (`S3Connection.credentials`):

- Vault: the access key is plain configuration (MinIO's root user name) and the secret key is one field
  of a KV v2 secret (`secret_key_vault`), read when an operation runs. This is what the control center
  uses: Vault generated MinIO's root password, so nobody has to copy it anywhere.
- Environment: the *names* of two environment variables (`access_key_env`, `secret_key_env`), whose
  values are read when an operation runs (for runs outside the control center stack, and the tests).

Either way only names, addresses and paths travel through resource inputs and state; the secret never
reaches Pulumi state, plan output or error messages.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.credentials import StaticProvider
from minio.minioadmin import MinioAdmin

from mojaloop_iac.objectstore.errors import MissingCredentials
from mojaloop_iac.objectstore.vault_source import VaultKvField, read_kv_field
from mojaloop_iac.tls import is_pem

DEFAULT_ACCESS_KEY_ENV = "MINIO_ROOT_USER"
DEFAULT_SECRET_KEY_ENV = "MINIO_ROOT_PASSWORD"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Connection:
    """Where the S3 API is and where its credentials come from (Vault or environment variables)."""

    endpoint: str  # host:port, no scheme
    secure: bool = True
    region: str = DEFAULT_REGION
    access_key_env: str = DEFAULT_ACCESS_KEY_ENV
    secret_key_env: str = DEFAULT_SECRET_KEY_ENV
    # Vault source: the access key (e.g. MinIO's root user, plain config) and where its secret lives.
    # Both or neither; when given, the two *_env fields are not used.
    access_key: str | None = None
    secret_key_vault: VaultKvField | None = None
    # PEM text or a PEM file of the CA that signed the endpoint's certificate (public data); None: the
    # system's trust store.
    ca_cert: str | None = None

    def __post_init__(self) -> None:
        if not self.endpoint or "://" in self.endpoint or "/" in self.endpoint:
            raise ValueError(
                f"endpoint {self.endpoint!r} must be host:port without scheme or path; use secure= for TLS"
            )
        if not self.region:
            raise ValueError("region must not be empty (MinIO defaults to us-east-1)")
        for field_name in ("access_key_env", "secret_key_env"):
            if not getattr(self, field_name):
                raise ValueError(f"{field_name} must name an environment variable")
        if (self.access_key is None) != (self.secret_key_vault is None):
            raise ValueError(
                "access_key and secret_key_vault go together: give both to read the secret key from Vault, "
                "or neither to read both credentials from access_key_env/secret_key_env"
            )
        if self.access_key is not None and not self.access_key:
            raise ValueError("access_key must not be empty")

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    @property
    def reads_vault(self) -> bool:
        return self.secret_key_vault is not None

    def to_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {"endpoint": self.endpoint, "secure": self.secure, "region": self.region}
        if self.ca_cert is not None:
            props["ca_cert"] = self.ca_cert
        if self.secret_key_vault is not None:
            return {
                **props,
                "access_key": self.access_key,
                "secret_key_vault": self.secret_key_vault.to_props(),
            }
        return {**props, "access_key_env": self.access_key_env, "secret_key_env": self.secret_key_env}

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "S3Connection":
        known = {key: props[key] for key in cls.__dataclass_fields__ if props.get(key) is not None}
        vault = known.get("secret_key_vault")
        if vault is not None:
            if not isinstance(vault, Mapping):
                raise ValueError(f"secret_key_vault must be an object, got {type(vault).__name__}")
            known["secret_key_vault"] = VaultKvField.from_props(vault)
        return cls(**known)

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
        """(access key, secret key) from Vault or the environment; errors name where, never values."""
        if self.secret_key_vault is not None:
            assert self.access_key is not None  # checked in __post_init__
            secret = read_kv_field(
                self.secret_key_vault, f"the secret key of {self.access_key!r} for {self.url}"
            )
            return self.access_key, secret.value
        env = os.environ if environ is None else environ
        missing = [name for name in (self.access_key_env, self.secret_key_env) if not env.get(name)]
        if missing:
            raise MissingCredentials(
                f"object store credentials are not set: export {', '.join(missing)} "
                f"(for example from Vault) before running against {self.url}"
            )
        return env[self.access_key_env], env[self.secret_key_env]


def trusting(connection_props: Mapping[str, Any], ca_cert: Any) -> dict[str, Any]:
    """Connection props whose S3 endpoint and Vault source both trust `ca_cert`: PEM text, or a Pulumi Output
    of it (a resource's inputs may hold one; the engine resolves it before the provider reads the props)."""
    props = dict(connection_props)
    if ca_cert is None:
        return props
    props["ca_cert"] = ca_cert
    if isinstance(props.get("secret_key_vault"), Mapping):
        props["secret_key_vault"] = {**props["secret_key_vault"], "ca_cert": ca_cert}
    return props


def _http_client(connection: S3Connection) -> urllib3.PoolManager | None:
    """None (the client's default, trusting the system's CAs) unless the connection names its CA."""
    if connection.ca_cert is None:
        return None
    pem = connection.ca_cert
    trust = {"ca_cert_data": pem} if is_pem(pem) else {"ca_certs": str(Path(pem))}
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=10, read=120),
        cert_reqs="CERT_REQUIRED",
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        **trust,
    )


def s3_client(connection: S3Connection, environ: Mapping[str, str] | None = None) -> Minio:
    """A `minio.Minio` client for `connection`. The region is passed so no location lookup is made."""
    access_key, secret_key = connection.credentials(environ)
    return Minio(
        connection.endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=connection.secure,
        region=connection.region,
        http_client=_http_client(connection),
    )


def admin_client(connection: S3Connection, environ: Mapping[str, str] | None = None) -> MinioAdmin:
    """A MinIO admin API client (users, policies); only MinIO itself serves that API."""
    access_key, secret_key = connection.credentials(environ)
    return MinioAdmin(
        endpoint=connection.endpoint,
        credentials=StaticProvider(access_key, secret_key),
        region=connection.region,
        secure=connection.secure,
        http_client=_http_client(connection),
    )
