"""hvac clients built at operation time, and Vault errors a user can act on.

Credentials never travel through resource inputs or state: a resource names the environment variable
that holds the token (`VAULT_TOKEN` by default) and the token is read only while an operation runs.
Every call goes through `VaultSession.call`, which names the Vault address, the ACL path and the
capability the call needed, so a failure says what to fix instead of "permission denied".
"""

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from mojaloop_iac.tls import requests_verify
from mojaloop_iac.vault.errors import InvalidInput, VaultOperationError

DEFAULT_TOKEN_ENV = "VAULT_TOKEN"
DEFAULT_TIMEOUT_SECONDS = 10.0

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^https?://[^/\s]+/?$")

T = TypeVar("T")

# A KV mount enabled (or moved to version 2) a moment ago upgrades its storage in the background and
# refuses requests meanwhile with this message; it resumes by itself within seconds.
_KV_UPGRADING = "Upgrading from non-versioned to versioned data"
KV_UPGRADE_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class VaultConnection:
    """Where Vault is and how to authenticate; holds the token's variable name, never the token."""

    address: str
    token_env: str = DEFAULT_TOKEN_ENV
    # A path to a PEM file or the PEM text itself (CA certificates are public, so state may hold them).
    ca_cert: str | None = None
    # Vault Enterprise / OpenBao namespace; None means the root namespace.
    namespace: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not isinstance(self.address, str) or not _ADDRESS.match(self.address):
            raise InvalidInput(
                "address",
                f"address {self.address!r} is not a Vault address: use http(s)://host[:port], "
                "for example https://vault.example.org:8200",
            )
        if not isinstance(self.token_env, str) or not _ENV_NAME.match(self.token_env):
            raise InvalidInput(
                "token_env",
                f"token_env {self.token_env!r} is not an environment variable name "
                "(letters, digits and '_', not starting with a digit)",
            )
        if self.ca_cert is not None and (not isinstance(self.ca_cert, str) or not self.ca_cert.strip()):
            raise InvalidInput("ca_cert", "ca_cert must be a path to a PEM file or PEM text, or be left out")
        if self.namespace is not None and (
            not isinstance(self.namespace, str) or not self.namespace.strip("/")
        ):
            raise InvalidInput(
                "namespace", f"namespace {self.namespace!r} is empty: leave it out for the root namespace"
            )

    @property
    def base_address(self) -> str:
        return self.address.rstrip("/")

    @classmethod
    def from_inputs(cls, props: Mapping[str, Any]) -> "VaultConnection":
        """Read the connection fields every Vault resource shares from its inputs or outputs."""
        return cls(
            address=props.get("address"),  # type: ignore[arg-type]  # validated in __post_init__
            token_env=props.get("token_env") or DEFAULT_TOKEN_ENV,
            ca_cert=props.get("ca_cert") or None,
            namespace=props.get("namespace") or None,
        )

    def to_outputs(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "token_env": self.token_env,
            "ca_cert": self.ca_cert,
            "namespace": self.namespace,
        }


def read_token(connection: VaultConnection) -> str:
    """The token from the environment variable the connection names, read now (not at plan time)."""
    token = os.environ.get(connection.token_env, "").strip()
    if not token:
        raise VaultOperationError(
            f"environment variable {connection.token_env} holds no token for Vault at "
            f"{connection.base_address}: export a token with the needed policies before running",
            address=connection.base_address,
        )
    return token


@contextmanager
def _ca_bundle(ca_cert: str | None) -> Iterator[str | bool]:
    try:
        with requests_verify(ca_cert, "ca_cert") as verify:
            yield verify
    except ValueError as error:
        raise InvalidInput("ca_cert", str(error)) from None


def _waiting_out_kv_upgrade(operation: Callable[[], T]) -> T:
    """`operation()`, repeated while a fresh KV version 2 mount is still upgrading its storage."""
    deadline = time.monotonic() + KV_UPGRADE_WAIT_SECONDS
    pause = 0.1
    while True:
        try:
            return operation()
        except hvac.exceptions.InvalidRequest as error:
            if not any(_KV_UPGRADING in str(message) for message in (error.errors or [])):
                raise
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


class VaultSession:
    """An hvac client bound to one address; `call` turns every failure into a VaultOperationError."""

    def __init__(self, client: hvac.Client, connection: VaultConnection) -> None:
        self.client = client
        self.connection = connection

    @property
    def address(self) -> str:
        return self.connection.base_address

    def call(self, capabilities: tuple[str, ...], path: str, operation: Callable[[], T]) -> T:
        """Run `operation`, which needs `capabilities` on ACL `path`; any failure is explained."""
        return self._run(capabilities, path, operation, absent_if=None)  # type: ignore[return-value]

    def call_or_none(
        self,
        capabilities: tuple[str, ...],
        path: str,
        operation: Callable[[], T],
        absent_if: Callable[[hvac.exceptions.VaultError], bool],
    ) -> T | None:
        """Like `call`, but None when `absent_if` says the error only means "it is not there"."""
        return self._run(capabilities, path, operation, absent_if=absent_if)

    def _run(
        self,
        capabilities: tuple[str, ...],
        path: str,
        operation: Callable[[], T],
        absent_if: Callable[[hvac.exceptions.VaultError], bool] | None,
    ) -> T | None:
        try:
            return _waiting_out_kv_upgrade(operation)
        except hvac.exceptions.VaultError as error:
            if absent_if is not None and absent_if(error):
                return None
            raise self._explain(error, capabilities, path) from error
        except requests.exceptions.SSLError as error:
            raise VaultOperationError(
                f"TLS verification of Vault at {self.address} failed while accessing {path}: "
                "pass the CA certificate that signed its server certificate as ca_cert",
                address=self.address,
                path=path,
                capabilities=capabilities,
            ) from error
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            raise VaultOperationError(
                f"cannot reach Vault at {self.address} (needed to access {path}): {_network_reason(error)}; "
                "check the address, that Vault is running and that this machine can reach it",
                address=self.address,
                path=path,
                capabilities=capabilities,
            ) from error

    def _explain(
        self, error: hvac.exceptions.VaultError, capabilities: tuple[str, ...], path: str
    ) -> VaultOperationError:
        vault_says = "; ".join(_clean(message) for message in (error.errors or []) if _clean(message))

        def fail(message: str) -> VaultOperationError:
            return VaultOperationError(message, address=self.address, path=path, capabilities=capabilities)

        if isinstance(error, hvac.exceptions.Forbidden):
            return fail(self._explain_forbidden(capabilities, path))
        if isinstance(error, hvac.exceptions.VaultDown):
            if "sealed" in vault_says.lower():
                return fail(
                    f"Vault at {self.address} is sealed (while accessing {path}): unseal it with "
                    "`bao operator unseal` / `vault operator unseal` and re-run"
                )
            return fail(
                f"Vault at {self.address} is unavailable while accessing {path}: {vault_says or '503'}"
            )
        if isinstance(error, hvac.exceptions.VaultNotInitialized):
            return fail(f"Vault at {self.address} is not initialized: run `operator init` first")
        if "check-and-set" in vault_says:
            return fail(
                f"check-and-set failed on {path} at Vault {self.address}: the secret changed since it was "
                "read, so nothing was written; run `pulumi refresh` and retry"
            )
        if "no handler for route" in vault_says:
            return fail(
                f"Vault at {self.address} has no mount serving {path}: create the secrets engine or "
                "auth method first"
            )
        if isinstance(error, hvac.exceptions.InvalidPath):
            return fail(
                f"nothing exists at {path} on Vault {self.address}"
                + (f": {vault_says}" if vault_says else "")
            )
        if isinstance(error, hvac.exceptions.InvalidRequest):
            return fail(
                f"Vault at {self.address} rejected the request on {path}: {vault_says or 'invalid request'}"
            )
        return fail(
            f"Vault at {self.address} failed on {path} ({type(error).__name__}): {vault_says or 'no details'}"
        )

    def _explain_forbidden(self, capabilities: tuple[str, ...], path: str) -> str:
        needed = " and ".join(f"'{capability}'" for capability in capabilities) or "access"
        token_env = self.connection.token_env
        # Ask Vault which capabilities the token really has, so the message names exactly what is missing.
        try:
            answer = self.client.adapter.post("/v1/sys/capabilities-self", json={"paths": [path]})
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
            return (
                f"Vault at {self.address} denied {needed} on {path}, and the token in ${token_env} cannot "
                "look up its own capabilities: it is expired, revoked, issued by another Vault, or lacks the "
                "default policy"
            )
        granted = set(_capabilities_of(answer, path))
        missing = [capability for capability in capabilities if capability not in granted] or list(
            capabilities
        )
        missing_text = " and ".join(f"'{capability}'" for capability in missing) or "access"
        return (
            f"token in ${token_env} lacks {missing_text} on {path} at Vault {self.address}: "
            "add it to one of the token's policies"
        )


def _capabilities_of(answer: Any, path: str) -> list[str]:
    if isinstance(answer, Mapping):
        data = answer.get("data")
        if isinstance(data, Mapping) and isinstance(data.get(path), list):
            return list(data[path])
        if isinstance(answer.get(path), list):
            return list(answer[path])
    return []


def _clean(message: str) -> str:
    """Vault wraps messages as '1 error occurred:\\n\\t* text\\n\\n'; keep the text."""
    text = re.sub(r"^\d+ errors? occurred:\s*", "", str(message).strip())
    return " ".join(part.strip(" *\t") for part in text.splitlines() if part.strip(" *\t"))


def _network_reason(error: requests.exceptions.RequestException) -> str:
    if isinstance(error, requests.exceptions.Timeout):
        return "the connection timed out"
    found = re.search(r"\[Errno -?\d+\] ([^')\]]+)", str(error))
    return found.group(1).strip().lower() if found else "the connection failed"


def is_missing_secret(error: hvac.exceptions.VaultError) -> bool:
    """KV v2 answers 404 with no error text when a path holds no secret (a missing mount has text)."""
    return isinstance(error, hvac.exceptions.InvalidPath) and not any(_clean(m) for m in (error.errors or []))


def is_missing_route(error: hvac.exceptions.VaultError) -> bool:
    """404 "no handler for route": the mount (secrets engine or auth method) itself is gone."""
    text = " ".join(str(message) for message in (error.errors or []))
    return isinstance(error, hvac.exceptions.InvalidPath) and "no handler for route" in text


def is_missing_object(error: hvac.exceptions.VaultError) -> bool:
    """A plain 404 on a named object (policy, role, config)."""
    return isinstance(error, hvac.exceptions.InvalidPath)


def is_missing_mount(error: hvac.exceptions.VaultError) -> bool:
    """`GET sys/mounts/<path>` / `sys/auth/<path>` answer 400 with this text when nothing is mounted there."""
    text = " ".join(str(message) for message in (error.errors or []))
    return isinstance(error, hvac.exceptions.InvalidRequest | hvac.exceptions.InvalidPath) and (
        "No secret engine mount at" in text or "No auth engine at" in text
    )


@contextmanager
def open_session(connection: VaultConnection) -> Iterator[VaultSession]:
    """An authenticated session for one operation; the token is read now and dropped afterwards."""
    with _session(connection, read_token(connection)) as session:
        yield session


@contextmanager
def open_unauthenticated_session(connection: VaultConnection) -> Iterator[VaultSession]:
    """A session without a token, for the endpoints Vault serves to anyone (init and seal status)."""
    with _session(connection, None) as session:
        yield session


@contextmanager
def _session(connection: VaultConnection, token: str | None) -> Iterator[VaultSession]:
    with _ca_bundle(connection.ca_cert) as verify:
        client = hvac.Client(
            url=connection.base_address,
            token=token,
            verify=verify,
            timeout=connection.timeout_seconds,
            namespace=connection.namespace,
        )
        try:
            yield VaultSession(client, connection)
        finally:
            client.adapter.close()
