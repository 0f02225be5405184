"""Connections to the object store, with credentials read from the environment at call time.

Only the *names* of the environment variables travel through resource inputs and state; the values
are read when an operation runs (the runner exports them from Vault), so they never reach Pulumi
state, plan output or error messages.
"""

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from minio import Minio
from minio.credentials import StaticProvider
from minio.minioadmin import MinioAdmin

DEFAULT_ACCESS_KEY_ENV = "MINIO_ROOT_USER"
DEFAULT_SECRET_KEY_ENV = "MINIO_ROOT_PASSWORD"
DEFAULT_REGION = "us-east-1"


class MissingCredentials(RuntimeError):
    """The environment variables that should hold the object store credentials are unset or empty."""


@dataclass(frozen=True)
class S3Connection:
    """Where the S3 API is and which environment variables hold its credentials."""

    endpoint: str  # host:port, no scheme
    secure: bool = True
    region: str = DEFAULT_REGION
    access_key_env: str = DEFAULT_ACCESS_KEY_ENV
    secret_key_env: str = DEFAULT_SECRET_KEY_ENV

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

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    def to_props(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "S3Connection":
        known = {key: props[key] for key in cls.__dataclass_fields__ if key in props}
        return cls(**known)

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
        """(access key, secret key) from the environment; raises naming the variables, never values."""
        env = os.environ if environ is None else environ
        missing = [name for name in (self.access_key_env, self.secret_key_env) if not env.get(name)]
        if missing:
            raise MissingCredentials(
                f"object store credentials are not set: export {', '.join(missing)} "
                f"(for example from Vault) before running against {self.url}"
            )
        return env[self.access_key_env], env[self.secret_key_env]


def s3_client(connection: S3Connection, environ: Mapping[str, str] | None = None) -> Minio:
    """A `minio.Minio` client for `connection`. The region is passed so no location lookup is made."""
    access_key, secret_key = connection.credentials(environ)
    return Minio(
        connection.endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=connection.secure,
        region=connection.region,
    )


def admin_client(connection: S3Connection, environ: Mapping[str, str] | None = None) -> MinioAdmin:
    """A MinIO admin API client (users, policies); only MinIO itself serves that API."""
    access_key, secret_key = connection.credentials(environ)
    return MinioAdmin(
        endpoint=connection.endpoint,
        credentials=StaticProvider(access_key, secret_key),
        region=connection.region,
        secure=connection.secure,
    )
