"""ConsumerAccess (MinIO users and identity policies) against a recorded-response HTTP fake.

No MinIO server can run here and SeaweedFS does not speak MinIO's admin API, so the real
`minio.MinioAdmin` client talks to a loopback HTTP server that replays canned answers in the shape
MinIO's admin API (madmin) uses: empty 200s, JSON error bodies with a `Code`, and bodies encrypted
with the root secret for the calls that carry secrets. The fake records each request, decrypting
encrypted bodies with the root secret, so the tests see exactly what MinIO would receive.

The tests marked slow read the root password and the consumer's secret from a real OpenBao instead of
environment variables (the control center's way).
"""

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from minio.crypto import decrypt, encrypt

from mojaloop_iac.objectstore import (
    CredentialUnavailable,
    S3Connection,
    VaultKvField,
    plan_buckets,
    render_consumer_policy,
)
from mojaloop_iac.objectstore.admin import AdminApiError, ConsumerAccessProvider, consumer_access_props
from mojaloop_iac.objectstore.client import MissingCredentials
from mojaloop_iac.objectstore.policies import normalize_policy
from mojaloop_iac.vault.paths import secret_path
from mojaloop_iac.vault.providers import KvV2MountProvider
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)

ROOT_USER = "minio-root"
ROOT_PASSWORD = "root-password-from-vault-0123456789"
CONSUMER_SECRET = "consumer-secret-from-vault-abcdef"
SECRET_ENV = "OBJECTSTORE_TEST_ENV_DEV_SECRET"
PREFIX = "/minio/admin/v3/"
# Admin calls whose request bodies MinIO expects encrypted with the caller's secret key.
ENCRYPTED_REQUESTS = {"add-user", "idp/builtin/policy/attach", "idp/builtin/policy/detach"}


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = b""
    encrypted: bool = False

    def payload(self) -> bytes:
        raw = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        return encrypt(raw, ROOT_PASSWORD) if self.encrypted else raw


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"Code": code, "Message": message, "Resource": "/", "RequestId": "1", "HostId": ""})


OK = Reply(200)
ALREADY_APPLIED = error(
    400, "XMinioAdminPolicyChangeAlreadyApplied", "The specified policy change is already in effect."
)


def attached(policy: str, user: str) -> Reply:
    return Reply(
        200, {"updatedAt": "2025-01-01T00:00:00Z", "policiesAttached": [policy], "user": user}, encrypted=True
    )


def detached(policy: str, user: str) -> Reply:
    return Reply(
        200, {"updatedAt": "2025-01-01T00:00:00Z", "policiesDetached": [policy], "user": user}, encrypted=True
    )


@dataclass(frozen=True)
class Recorded:
    method: str
    command: str
    query: dict[str, list[str]]
    body: Any
    access_key: str


class _Body:
    """Enough of an HTTP response for `minio.crypto.decrypt` to read a request body."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        chunk, self._data = (self._data, b"") if size < 0 else (self._data[:size], self._data[size:])
        return chunk

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


@dataclass
class FakeMinioAdmin:
    endpoint: str
    script: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def expect(self, method: str, command: str, *replies: Reply) -> None:
        self.script.setdefault((method, command), []).extend(replies)

    def commands(self) -> list[tuple[str, str]]:
        return [(request.method, request.command) for request in self.requests]


def _handler(fake: FakeMinioAdmin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            command = url.path.removeprefix(PREFIX)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if command in ENCRYPTED_REQUESTS and raw:
                body: Any = json.loads(decrypt(_Body(raw), ROOT_PASSWORD))
            else:
                body = json.loads(raw) if raw else None
            credential = self.headers.get("Authorization", "").split("Credential=")[-1].split("/")[0]
            fake.requests.append(Recorded(self.command, command, parse_qs(url.query), body, credential))
            queue = fake.script.get((self.command, command)) or []
            reply = queue.pop(0) if queue else error(501, "NotScripted", f"{self.command} {command}")
            payload = reply.payload()
            self.send_response(reply.status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def admin_server() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fake(admin_server, monkeypatch) -> FakeMinioAdmin:
    server, endpoint = admin_server
    fake = FakeMinioAdmin(endpoint)
    server.RequestHandlerClass = _handler(fake)
    monkeypatch.setenv("MINIO_ROOT_USER", ROOT_USER)
    monkeypatch.setenv("MINIO_ROOT_PASSWORD", ROOT_PASSWORD)
    monkeypatch.setenv(SECRET_ENV, CONSUMER_SECRET)
    return fake


POLICY = render_consumer_policy("env-dev", plan_buckets("cc", ["dev"], 30))


def props(fake: FakeMinioAdmin, **changes: Any) -> dict[str, Any]:
    base = consumer_access_props(
        "env-dev", "env-dev-access", POLICY, S3Connection(fake.endpoint, secure=False), SECRET_ENV
    )
    return {**base, **changes}


def test_create_adds_the_user_with_its_vault_secret_the_policy_and_the_attachment(fake):
    fake.expect("PUT", "add-user", OK)
    fake.expect("PUT", "add-canned-policy", OK)
    fake.expect("POST", "idp/builtin/policy/attach", attached("env-dev-access", "env-dev"))

    result = ConsumerAccessProvider().create(props(fake))

    add_user, add_policy, attach = fake.requests
    assert fake.commands() == [
        ("PUT", "add-user"),
        ("PUT", "add-canned-policy"),
        ("POST", "idp/builtin/policy/attach"),
    ]
    assert (add_user.query, add_user.body) == (
        {"accessKey": ["env-dev"]},
        {"status": "enabled", "secretKey": CONSUMER_SECRET},
    )
    assert (add_policy.query, normalize_policy(add_policy.body)) == (
        {"name": ["env-dev-access"]},
        normalize_policy(POLICY),
    )
    assert attach.body == {"policies": ["env-dev-access"], "user": "env-dev"}
    assert {request.access_key for request in fake.requests} == {ROOT_USER}
    assert result.id == "env-dev"


def test_outputs_hold_neither_the_consumer_secret_nor_the_root_credentials(fake):
    fake.expect("PUT", "add-user", OK)
    fake.expect("PUT", "add-canned-policy", OK)
    fake.expect("POST", "idp/builtin/policy/attach", attached("env-dev-access", "env-dev"))

    outs = json.dumps(ConsumerAccessProvider().create(props(fake)).outs)

    assert CONSUMER_SECRET not in outs and ROOT_PASSWORD not in outs and ROOT_USER not in outs
    assert SECRET_ENV in outs


def test_a_second_create_treats_an_already_attached_policy_as_success(fake):
    fake.expect("PUT", "add-user", OK)
    fake.expect("PUT", "add-canned-policy", OK)
    fake.expect("POST", "idp/builtin/policy/attach", ALREADY_APPLIED)

    result = ConsumerAccessProvider().create(props(fake))

    assert result.outs == props(fake) | {"policy": normalize_policy(POLICY)}


def test_a_policy_change_updates_the_policy_without_resending_the_secret(fake):
    fake.expect("PUT", "add-canned-policy", OK)
    fake.expect("POST", "idp/builtin/policy/attach", ALREADY_APPLIED)
    narrower = {**POLICY, "Statement": POLICY["Statement"][:1]}
    provider = ConsumerAccessProvider()

    diff = provider.diff("env-dev", props(fake), props(fake, policy=narrower))
    provider.update("env-dev", props(fake), props(fake, policy=narrower))

    assert (diff.changes, diff.replaces) == (True, [])
    assert fake.commands() == [("PUT", "add-canned-policy"), ("POST", "idp/builtin/policy/attach")]
    assert normalize_policy(fake.requests[0].body) == normalize_policy(narrower)


def test_bumping_the_secret_version_pushes_the_rotated_secret(fake, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "rotated-secret-from-vault")
    fake.expect("PUT", "add-user", OK)
    fake.expect("POST", "idp/builtin/policy/attach", ALREADY_APPLIED)

    ConsumerAccessProvider().update("env-dev", props(fake), props(fake, secret_version=2.0))

    assert fake.commands() == [("PUT", "add-user"), ("POST", "idp/builtin/policy/attach")]
    assert fake.requests[0].body["secretKey"] == "rotated-secret-from-vault"


def test_renaming_the_user_or_the_policy_is_a_replacement(fake):
    diff = ConsumerAccessProvider().diff(
        "env-dev", props(fake), props(fake, user="env-dev2", policy_name="p2")
    )

    assert sorted(diff.replaces) == ["policy_name", "user"]


def test_delete_detaches_then_removes_user_and_policy_tolerating_ones_already_gone(fake):
    fake.expect("POST", "idp/builtin/policy/detach", detached("env-dev-access", "env-dev"))
    fake.expect(
        "DELETE", "remove-user", error(404, "XMinioAdminNoSuchUser", "The specified user does not exist.")
    )
    fake.expect("DELETE", "remove-canned-policy", OK)

    ConsumerAccessProvider().delete("env-dev", props(fake))

    assert fake.commands() == [
        ("POST", "idp/builtin/policy/detach"),
        ("DELETE", "remove-user"),
        ("DELETE", "remove-canned-policy"),
    ]
    assert fake.requests[2].query == {"name": ["env-dev-access"]}


def test_read_reports_the_stored_policy_or_that_it_is_gone(fake):
    fake.expect("GET", "info-canned-policy", Reply(200, {"PolicyName": "env-dev-access", "Policy": POLICY}))
    fake.expect(
        "GET",
        "info-canned-policy",
        error(404, "XMinioAdminNoSuchPolicy", "The canned policy does not exist."),
    )
    provider = ConsumerAccessProvider()

    present = provider.read("env-dev", props(fake))
    gone = provider.read("env-dev", props(fake))

    assert (present.id, present.outs["policy"]) == ("env-dev", normalize_policy(POLICY))
    assert gone.id == ""


def test_a_refused_request_raises_with_minios_code_and_no_secret(fake):
    fake.expect("PUT", "add-user", error(403, "AccessDenied", "Access Denied."))

    with pytest.raises(AdminApiError, match="add user 'env-dev' failed with HTTP 403 AccessDenied") as raised:
        ConsumerAccessProvider().create(props(fake))

    assert CONSUMER_SECRET not in str(raised.value) and ROOT_PASSWORD not in str(raised.value)
    assert raised.value.__cause__ is None  # the client's exception is not chained into tracebacks


def test_a_missing_consumer_secret_names_the_variable_and_sends_nothing(fake, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)

    with pytest.raises(MissingCredentials, match=SECRET_ENV):
        ConsumerAccessProvider().create(props(fake))

    assert fake.requests == []


def test_check_names_the_bad_property(fake):
    result = ConsumerAccessProvider().check({}, props(fake, secret_version=0))

    assert [(f.property, f.reason) for f in result.failures] == [
        ("secret_version", "must be at least 1, got 0")
    ]


# --- the consumer's secret and the root password read from Vault (real OpenBao) --------------------
#
# The admin API is still the recorded-response fake; the secrets come from a real OpenBao, written at
# the paths the control center's secret delivery generates them at. The environment variables the
# `fake` fixture exports are removed: everything below must come from Vault.

VAULT_MOUNT = "mojaloop"


@dataclass(frozen=True)
class VaultSecrets:
    server: OpenBaoServer
    root: VaultKvField
    consumer: VaultKvField

    def write(self, field: VaultKvField, value: str) -> int:
        answer = self.server.client().secrets.kv.v2.create_or_update_secret(
            field.path, secret={field.field: value}, mount_point=field.mount
        )
        return int(answer["data"]["version"])


@pytest.fixture
def vault(fake, openbao: OpenBaoServer, monkeypatch) -> VaultSecrets:  # noqa: F811
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    for variable in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", SECRET_ENV):
        monkeypatch.delenv(variable)
    KvV2MountProvider().create({"address": openbao.address, "path": VAULT_MOUNT})
    cc = f"cc{secrets.token_hex(3)}"  # a control center per test keeps KV versions apart
    root = VaultKvField(openbao.address, secret_path(cc, "minio", "minio-root-password"), "rootPassword")
    consumer = VaultKvField(openbao.address, secret_path(cc, "minio", "minio-consumer-env-dev"), "secretKey")
    store = VaultSecrets(openbao, root, consumer)
    store.write(root, ROOT_PASSWORD)
    store.write(consumer, CONSUMER_SECRET)
    return store


def vault_props(fake: FakeMinioAdmin, vault: VaultSecrets, **changes: Any) -> dict[str, Any]:
    """The inputs as the engine passes them after check: Vault locations, no secret, no version."""
    connection = S3Connection(fake.endpoint, secure=False, access_key=ROOT_USER, secret_key_vault=vault.root)
    news = consumer_access_props(
        "env-dev", "env-dev-access", POLICY, connection, secret_version=None, secret_key_vault=vault.consumer
    )
    checked = ConsumerAccessProvider().check({}, {**news, **changes})
    assert checked.failures == []
    return checked.inputs


def expect_create(fake: FakeMinioAdmin) -> None:
    fake.expect("PUT", "add-user", OK)
    fake.expect("PUT", "add-canned-policy", OK)
    fake.expect("POST", "idp/builtin/policy/attach", attached("env-dev-access", "env-dev"))


@pytest.mark.slow
def test_vault_source_create_pushes_the_secret_vault_holds_signed_with_the_vault_root_password(fake, vault):
    expect_create(fake)

    result = ConsumerAccessProvider().create(vault_props(fake, vault))

    add_user = fake.requests[0]
    # The fake decrypts the body with ROOT_PASSWORD: it reads only because the client used Vault's password.
    assert add_user.body == {"status": "enabled", "secretKey": CONSUMER_SECRET}
    assert {request.access_key for request in fake.requests} == {ROOT_USER}
    assert result.outs["secret_version"] == 1
    assert result.outs["secret_key_vault"]["path"] == vault.consumer.path


@pytest.mark.slow
def test_vault_source_outputs_carry_locations_and_the_kv_version_but_no_secret(fake, vault):
    expect_create(fake)
    fake.expect("GET", "info-canned-policy", Reply(200, {"PolicyName": "env-dev-access", "Policy": POLICY}))
    provider = ConsumerAccessProvider()

    created = provider.create(vault_props(fake, vault))
    refreshed = provider.read(created.id, created.outs)

    for outs in (created.outs, refreshed.outs):
        text = json.dumps(outs)
        assert CONSUMER_SECRET not in text and ROOT_PASSWORD not in text
        assert vault.server.root_token not in text
        assert "secret_key_env" not in text and "MINIO_ROOT" not in text


@pytest.mark.slow
def test_vault_source_without_rotation_diffs_clean_and_a_policy_change_keeps_the_secret(fake, vault):
    expect_create(fake)
    provider = ConsumerAccessProvider()
    created = provider.create(vault_props(fake, vault))
    fake.requests.clear()
    narrower = {**POLICY, "Statement": POLICY["Statement"][:1]}

    unchanged = provider.diff(created.id, created.outs, vault_props(fake, vault))
    changed = provider.diff(created.id, created.outs, vault_props(fake, vault, policy=narrower))
    fake.expect("PUT", "add-canned-policy", OK)
    fake.expect("POST", "idp/builtin/policy/attach", ALREADY_APPLIED)
    updated = provider.update(created.id, created.outs, vault_props(fake, vault, policy=narrower))

    assert unchanged.changes is False
    assert (changed.changes, changed.replaces) == (True, [])
    assert fake.commands() == [("PUT", "add-canned-policy"), ("POST", "idp/builtin/policy/attach")]
    assert updated.outs["secret_version"] == 1


@pytest.mark.slow
def test_a_rotation_in_vault_shows_as_a_diff_survives_a_refresh_and_the_update_pushes_it(fake, vault):
    expect_create(fake)
    provider = ConsumerAccessProvider()
    created = provider.create(vault_props(fake, vault))
    assert vault.write(vault.consumer, "rotated-in-vault-secret") == 2
    fake.expect("GET", "info-canned-policy", Reply(200, {"PolicyName": "env-dev-access", "Policy": POLICY}))

    # Refresh keeps the version MinIO was given, so the rotation is still pending afterwards.
    refreshed = provider.read(created.id, created.outs)
    diff = provider.diff(created.id, refreshed.outs, vault_props(fake, vault))
    fake.requests.clear()
    fake.expect("PUT", "add-user", OK)
    fake.expect("POST", "idp/builtin/policy/attach", ALREADY_APPLIED)
    updated = provider.update(created.id, refreshed.outs, vault_props(fake, vault))
    after = provider.diff(created.id, updated.outs, vault_props(fake, vault))

    assert refreshed.outs["secret_version"] == 1
    assert (diff.changes, diff.replaces) == (True, [])
    assert fake.commands() == [("PUT", "add-user"), ("POST", "idp/builtin/policy/attach")]
    assert fake.requests[0].body["secretKey"] == "rotated-in-vault-secret"
    assert updated.outs["secret_version"] == 2 and "rotated-in-vault-secret" not in json.dumps(updated.outs)
    assert after.changes is False


@pytest.mark.slow
def test_switching_from_the_environment_source_to_vault_pushes_vaults_secret(fake, vault, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "old-secret-from-the-environment")
    olds = props(fake)  # recorded under the environment source
    fake.expect("PUT", "add-user", OK)
    fake.expect("POST", "idp/builtin/policy/attach", ALREADY_APPLIED)
    provider = ConsumerAccessProvider()

    diff = provider.diff("env-dev", olds, vault_props(fake, vault))
    updated = provider.update("env-dev", olds, vault_props(fake, vault))

    assert diff.changes is True and diff.replaces == []
    assert fake.requests[0].body["secretKey"] == CONSUMER_SECRET
    assert updated.outs["secret_version"] == 1 and "secret_key_env" not in updated.outs


@pytest.mark.slow
def test_a_missing_vault_secret_names_its_path_and_nothing_reaches_minio(fake, vault):
    missing = replace(vault.consumer, path=vault.consumer.path.replace("env-dev", "env-gone"))
    news = vault_props(fake, vault, secret_key_vault=missing.to_props())

    with pytest.raises(CredentialUnavailable) as raised:
        ConsumerAccessProvider().create(news)

    assert str(raised.value).startswith("cannot read the secret key of object store consumer 'env-dev' from ")
    assert f"nothing exists at mojaloop/data/{missing.path}" in str(raised.value)
    assert fake.requests == []
