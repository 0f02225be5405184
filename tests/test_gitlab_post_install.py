"""The GitLab post-install resource: Vault login through GitLab (OIDC) and the runner's token.

Vault is a real OpenBao dev server. GitLab cannot run here (no container engine, no cluster, and no
registry ships it), so `FakeGitLab` stands in for it: a local HTTP(S) server that records every request
and answers the few calls the resource makes the way GitLab's REST API documents them (applications:
list, create, renew-secret, delete; runners: `POST /user/runners`, `GET /runners/:id`; 401 for an
unknown token, 403 for a non-administrator's). It also serves the OIDC discovery document and JWKS,
which OpenBao fetches itself whenever the OIDC auth config is written.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import itertools
import json
import re
import secrets
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dill
import pulumi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pulumi.dynamic.dynamic import serialize_provider

from mojaloop_iac.gitlab.api import GitLabError, open_gitlab
from mojaloop_iac.gitlab.inputs import PostInstallInputs, oidc_props, runner_props
from mojaloop_iac.gitlab.post_install import GitLabPostInstallProvider
from mojaloop_iac.plan.run import plan_stack
from mojaloop_iac.planners.control_center import GitLabInput, IssuerRef, TlsSettings
from mojaloop_iac.planners.control_center.gitlab import GitLabPlan, plan_gitlab
from mojaloop_iac.vault.bootstrap_plan import admin_policy_hcl
from mojaloop_iac.vault.errors import VaultOperationError
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)
from tests.support.stacks import copy_stack

ADMIN_TOKEN = "glpat-admin-" + secrets.token_hex(10)
USER_TOKEN = "glpat-user-" + secrets.token_hex(10)
VAULT_TOKEN_ENV = "POST_INSTALL_VAULT_TOKEN"
_names = itertools.count(1)


# --- a CA and a server certificate for 127.0.0.1 -----------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    ca_pem: str
    cert_file: Path
    key_file: Path


def make_tls(directory: Path) -> Tls:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test GitLab CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "gitlab.crt", directory / "gitlab.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Tls(ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file)


# --- the GitLab stand-in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: Any


def _jwks() -> dict[str, Any]:
    """One RSA signing key, as GitLab publishes at /oauth/discovery/keys."""
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {
        "keys": [
            {
                "kty": "RSA",
                "kid": "test",
                "use": "sig",
                "alg": "RS256",
                "n": b64(numbers.n),
                "e": b64(numbers.e),
            }
        ]
    }


class FakeGitLab:
    """GitLab's documented answers for the calls the resource makes; every request is recorded."""

    def __init__(self, tls: Tls | None = None) -> None:
        self.applications: dict[int, dict[str, Any]] = {}
        self.runners: dict[int, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.issued: list[str] = []
        """Every secret and token handed out, to look for in outputs."""
        self.renew_supported = True
        self.page_size = 100
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._jwks = _jwks()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert_file, tls.key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def writes(self) -> list[Recorded]:
        return [request for request in self.requests if request.method != "GET"]

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/oauth/authorize",
            "token_endpoint": f"{self.url}/oauth/token",
            "userinfo_endpoint": f"{self.url}/oauth/userinfo",
            "jwks_uri": f"{self.url}/oauth/discovery/keys",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["sub", "groups_direct"],
        }

    # -- API behaviour --------------------------------------------------------------------------------------

    def _secret(self, prefix: str) -> str:
        value = prefix + secrets.token_hex(32)
        self.issued.append(value)
        return value

    @staticmethod
    def _listed(app: dict[str, Any]) -> dict[str, Any]:
        return {
            key: app[key]
            for key in ("id", "application_id", "application_name", "callback_url", "confidential")
        }

    def answer(
        self, method: str, path: str, query: dict[str, str], token: str, body: Any
    ) -> tuple[int, Any, dict]:
        if path == "/.well-known/openid-configuration" and method == "GET":
            return 200, self.discovery(), {}
        if path == "/oauth/discovery/keys" and method == "GET":
            return 200, self._jwks, {}
        if not path.startswith("/api/v4/"):
            return 404, {"error": "404 Not Found"}, {}
        if token not in (ADMIN_TOKEN, USER_TOKEN):
            return 401, {"message": "401 Unauthorized"}, {}
        if token != ADMIN_TOKEN:  # every call below is for administrators only
            return 403, {"message": "403 Forbidden"}, {}
        route = path.removeprefix("/api/v4")
        with self._lock:
            if route == "/applications" and method == "GET":
                per_page = min(int(query.get("per_page", 20)), self.page_size)
                page = int(query.get("page", 1))
                items = [self._listed(app) for _, app in sorted(self.applications.items())]
                chunk = items[(page - 1) * per_page : page * per_page]
                more = page * per_page < len(items)
                return 200, chunk, {"X-Next-Page": str(page + 1) if more else ""}
            if route == "/applications" and method == "POST":
                missing = [key for key in ("name", "redirect_uri", "scopes") if not body.get(key)]
                if missing:
                    return 400, {"message": f"{missing[0]} is missing"}, {}
                app_id = next(self._ids)
                app = {
                    "id": app_id,
                    "application_id": secrets.token_hex(32),
                    "application_name": body["name"],
                    "callback_url": body["redirect_uri"],
                    "confidential": bool(body.get("confidential", True)),
                    "scopes": body["scopes"],
                    "secret": self._secret("gloas-"),
                }
                self.applications[app_id] = app
                return 201, {key: app[key] for key in app if key != "scopes"}, {}
            found = re.fullmatch(r"/applications/(\d+)(/renew-secret)?", route)
            if found:
                app = self.applications.get(int(found.group(1)))
                if found.group(2) and method == "POST" and self.renew_supported and app is not None:
                    app["secret"] = self._secret("gloas-")
                    return 201, {key: app[key] for key in app if key != "scopes"}, {}
                if not found.group(2) and method == "DELETE" and app is not None:
                    del self.applications[app["id"]]
                    return 204, None, {}
                return 404, {"message": "404 Not found"}, {}
            if route == "/user/runners" and method == "POST":
                if body.get("runner_type") not in ("instance_type", "group_type", "project_type"):
                    return 400, {"error": "runner_type does not have a valid value"}, {}
                runner_id = next(self._ids)
                self.runners[runner_id] = {"id": runner_id, "description": body.get("description", "")}
                return 201, {"id": runner_id, "token": self._secret("glrt-"), "token_expires_at": None}, {}
            found = re.fullmatch(r"/runners/(\d+)", route)
            if found and method == "GET":
                runner = self.runners.get(int(found.group(1)))
                return (200, runner, {}) if runner else (404, {"message": "404 Not found"}, {})
        return 404, {"error": "404 Not Found"}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                path, _, raw_query = self.path.partition("?")
                query = dict(part.split("=", 1) for part in raw_query.split("&") if "=" in part)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                if path.startswith("/api/"):
                    fake.requests.append(Recorded(self.command, path, body))
                status, answer, headers = fake.answer(
                    self.command, path, query, self.headers.get("PRIVATE-TOKEN", ""), body
                )
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    fake = FakeGitLab()
    try:
        yield fake
    finally:
        fake.close()


# --- plans and inputs ------------------------------------------------------------------------------------------


def gitlab_plan(control_center: str, mount: str = "gitlab") -> GitLabPlan:
    return plan_gitlab(
        GitLabInput(
            control_center=control_center,
            domain="int.cc.example.org",
            tls=TlsSettings("gitlab-tls", IssuerRef("internal-ca")),
            storage_class="local-path",
            object_storage_url="https://s3.int.cc.example.org",
            vault_address="https://vault.int.cc.example.org",
            vault_operators_group="platform/operators",
            oidc_mount=mount,
        )
    )


def inputs_for(
    plan: GitLabPlan, fake: FakeGitLab, vault_address: str, kv_mount: str, **changes: Any
) -> dict[str, Any]:
    """The checked inputs the engine would hand the provider; GitLab is the fake, at its own address."""
    oidc = replace(plan.oidc, discovery_url=changes.pop("discovery_url", fake.url))
    props = {
        "address": vault_address,
        "token_env": VAULT_TOKEN_ENV,
        "gitlab_url": fake.url,
        "admin_token_env": "GITLAB_TOKEN",
        "kv_mount": kv_mount,
        "oidc": oidc_props(oidc),
        "runner": runner_props(plan.runner_registration),
        "in_sync": True,
        **changes,
    }
    checked = GitLabPostInstallProvider().check({}, props)
    assert not checked.failures, checked.failures
    return checked.inputs


def test_inputs_round_trip_the_planned_data():
    plan = gitlab_plan("cc")
    props = {
        "address": "https://vault.int.cc.example.org",
        "gitlab_url": plan.url,
        "oidc": oidc_props(plan.oidc),
        "runner": runner_props(plan.runner_registration),
    }
    parsed = PostInstallInputs.from_props(props)
    assert parsed.oidc.application == plan.oidc.application
    assert parsed.oidc.role == plan.oidc.role
    assert parsed.oidc.role.payload("id") == plan.oidc.role.payload("id")
    assert parsed.oidc.config_payload("id", "s") == plan.oidc.config_payload("id", "s")
    assert parsed.runner == plan.runner_registration
    assert parsed.admin_token_env == "GITLAB_TOKEN" and parsed.kv_mount == "mojaloop"
    assert PostInstallInputs.from_props(parsed.to_props()) == parsed


@pytest.mark.parametrize(
    ("change", "prop", "says"),
    [
        (lambda p: p["oidc"].update(mount_path="Not_A_Label"), "oidc.mount_path", "DNS label"),
        (lambda p: p["oidc"]["role"].update(token_policies=[]), "oidc.role.token_policies", "at least one"),
        (lambda p: p["oidc"]["application"].pop("name"), "oidc.application.name", "is required"),
        (lambda p: p["runner"].update(token_path="/abs"), "runner.token_path", "invalid segment"),
        (lambda p: p.update(gitlab_url="gitlab.example.org"), "gitlab_url", "http(s)://"),
        (lambda p: p.update(admin_token_env="GITLAB TOKEN"), "admin_token_env", "environment variable"),
    ],
)
def test_check_names_the_offending_key(change, prop, says):
    plan = gitlab_plan("cc")
    props = {
        "address": "https://vault.int.cc.example.org",
        "gitlab_url": plan.url,
        "oidc": oidc_props(plan.oidc),
        "runner": runner_props(plan.runner_registration),
    }
    change(props)
    failures = GitLabPostInstallProvider().check({}, props).failures
    assert [failure.property for failure in failures] == [prop]
    assert says in failures[0].reason and prop in failures[0].reason


# --- GitLab API client against the stand-in (no Vault) ---------------------------------------------------------


def test_client_creates_lists_across_pages_renews_and_registers_runners(gitlab, monkeypatch):
    monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
    gitlab.page_size = 2
    request = {
        "name": "vault-x",
        "redirect_uri": "https://a/cb\nhttp://localhost:8250/oidc/callback",
        "scopes": "openid profile email",
        "confidential": True,
    }
    with open_gitlab(gitlab.url, "GITLAB_TOKEN") as client:
        created = [client.create_application({**request, "name": f"app-{n}"}) for n in range(5)]
        listed = client.applications()
        renewed = client.renew_secret(created[0].application)
        runner = client.create_runner({"runner_type": "instance_type", "description": "shared"})
        assert client.runner_exists(runner.id) and not client.runner_exists(runner.id + 100)
    assert [app.name for app in listed] == [f"app-{n}" for n in range(5)]  # three pages of two
    assert listed[0].redirect_uris == ("https://a/cb", "http://localhost:8250/oidc/callback")
    assert renewed.application.client_id == created[0].application.client_id
    assert renewed.secret != created[0].secret and renewed.secret == gitlab.applications[1]["secret"]
    assert gitlab.requests[0] == Recorded("POST", "/api/v4/applications", {**request, "name": "app-0"})
    # Secrets never show in a repr (tracebacks, logs).
    assert created[0].secret not in repr(created[0]) and runner.token not in repr(runner)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("glpat-wrong", "rejected the token in $GITLAB_TOKEN (HTTP 401"),
        (USER_TOKEN, "only administrators manage instance OAuth applications"),
    ],
)
def test_a_token_without_admin_rights_is_named_not_shown(gitlab, monkeypatch, token, says):
    monkeypatch.setenv("GITLAB_TOKEN", token)
    with open_gitlab(gitlab.url, "GITLAB_TOKEN") as client, pytest.raises(GitLabError) as raised:
        client.applications()
    assert says in str(raised.value) and "personal access token with scope `api`" in str(raised.value)
    assert token not in str(raised.value)


def test_unreachable_gitlab_and_old_gitlab_say_what_to_do(gitlab, monkeypatch):
    monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
    with open_gitlab("http://127.0.0.1:1", "GITLAB_TOKEN") as client, pytest.raises(GitLabError) as raised:
        client.applications()
    assert "cannot reach GitLab at http://127.0.0.1:1" in str(raised.value)
    assert "webservice pods are ready" in str(raised.value)
    gitlab.renew_supported = False
    with open_gitlab(gitlab.url, "GITLAB_TOKEN") as client:
        issued = client.create_application(
            {"name": "old", "redirect_uri": "https://a/cb", "scopes": "openid"}
        )
        with pytest.raises(
            GitLabError, match="renew-secret needs GitLab 16.11 or later. Delete the application"
        ):
            client.renew_secret(issued.application)


def test_tls_needs_gitlabs_ca(tmp_path, monkeypatch):
    tls = make_tls(tmp_path)
    fake = FakeGitLab(tls)
    monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
    try:
        with open_gitlab(fake.url, "GITLAB_TOKEN") as client, pytest.raises(GitLabError) as raised:
            client.applications()
        assert "pass the CA certificate that signed GitLab's certificate as gitlab_ca_cert" in str(
            raised.value
        )
        (tmp_path / "ca.pem").write_text(tls.ca_pem)
        for ca in (tls.ca_pem, str(tmp_path / "ca.pem")):
            with open_gitlab(fake.url, "GITLAB_TOKEN", ca) as client:
                assert client.applications() == []
    finally:
        fake.close()


def test_a_missing_admin_token_stops_the_run_before_any_request(gitlab, monkeypatch):
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    monkeypatch.setenv(VAULT_TOKEN_ENV, "unused")
    props = inputs_for(gitlab_plan("cc"), gitlab, "http://127.0.0.1:1", "mojaloop")
    with pytest.raises(GitLabError) as raised:
        GitLabPostInstallProvider().create(props)
    assert "environment variable GITLAB_TOKEN holds no GitLab admin token" in str(raised.value)
    assert gitlab.requests == []


def test_the_provider_pickles_without_any_token(monkeypatch):
    monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("VAULT_TOKEN", "s.vault-token-that-must-not-be-pickled")
    raw = base64.b64decode(serialize_provider(GitLabPostInstallProvider()))
    assert ADMIN_TOKEN.encode() not in raw and b"vault-token-that-must-not-be-pickled" not in raw
    assert type(dill.loads(raw)) is GitLabPostInstallProvider


# --- the resource in the program -------------------------------------------------------------------------------


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered.append(args)
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pulumi.runtime.test
def test_the_helper_registers_the_plan_and_names_of_tokens_only():
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    from mojaloop_iac.gitlab.resource import gitlab_post_install

    plan = gitlab_plan("cc")
    resource = gitlab_post_install(
        "cc-gitlab-post-install", plan, vault_address="https://vault.int.cc.example.org"
    )

    def check(_values):
        (registered,) = [args.inputs for args in mocks.registered if args.name == "cc-gitlab-post-install"]
        parsed = PostInstallInputs.from_props(registered)
        assert (
            parsed.gitlab_url == plan.url
            and parsed.oidc == plan.oidc
            and parsed.runner == plan.runner_registration
        )
        assert registered["admin_token_env"] == "GITLAB_TOKEN" and registered["token_env"] == "VAULT_TOKEN"
        assert not {"token", "secret", "client_secret"} & set(registered)

    return pulumi.Output.all(resource.urn).apply(check)


def test_the_full_profile_plans_the_resource_after_gitlab_and_vault(tmp_path):
    minimal = plan_stack("control-center", tmp_path / "minimal")

    def full_profile(stack: dict) -> None:
        stack["config"]["mojaloop:controlCenter"]["profile"] = "full"

    full = plan_stack(str(copy_stack("control-center", tmp_path, "cc-full", full_profile)), tmp_path / "full")
    kind = "pulumi-python:dynamic/mojaloop-gitlab:GitLabPostInstall"
    assert not [r for r in minimal.record.resources if r.type == kind]
    assert len([r for r in full.record.resources if r.type == kind]) == 1
    record = json.loads((tmp_path / "full" / "plan.json").read_text())
    (planned,) = [r for r in record["resources"] if r["type"] == kind]
    assert planned["inputs"]["gitlab_url"] == "https://gitlab.int.cc.mojaloop.example"
    assert planned["inputs"]["oidc"]["client_credentials_path"] == "control-centers/cc/gitlab-oidc-client"
    assert (
        planned["inputs"]["runner"]["token_path"] == "environments/cc/gitlab-runner/gitlab-runner-auth-token"
    )
    assert any("VaultBootstrap::cc-vault-bootstrap" in urn for urn in planned["dependencies"])
    assert any("Release::cc-services-gitlab" in urn for urn in planned["dependencies"])
    bundle = json.dumps(planned)
    assert not re.search(r"secret\"\s*:|glpat-|gloas-|glrt-", bundle)
    # GitLab's storage Secrets exist before its release waits for them; the runner, whose token only the
    # post-install resource writes, is installed after it, its token's ExternalSecret first.
    # (Releases in a layer are installed one after another, the layer's prerequisites before the first.)
    by_name = {r["name"]: r for r in record["resources"]}
    first_service = by_name["cc-services-minio"]
    assert {"cc-services-externalsecret-gitlab-gitlab-rails-storage", "cc-services-externalsecret-gitlab-gitlab-backup-storage"} <= {
        urn.rsplit("::", 1)[1] for urn in first_service["dependencies"]
    }
    runner_layer = by_name["cc-gitlab-runner"]
    assert any("GitLabPostInstall::cc-gitlab-post-install" in urn for urn in runner_layer["dependencies"])
    runner = by_name["cc-gitlab-runner-gitlab-runner"]
    assert runner["parent"] == runner_layer["urn"]
    assert any("ExternalSecret::cc-gitlab-runner-externalsecret-gitlab-runner-" in urn for urn in runner["dependencies"])


# --- against a real OpenBao -------------------------------------------------------------------------------------


@pytest.fixture
def bao(openbao: OpenBaoServer) -> OpenBaoServer:  # noqa: F811
    """The session's OpenBao dev server; each test keeps apart with its own mounts and names."""
    return openbao


@dataclass
class Setup:
    server: OpenBaoServer
    fake: FakeGitLab
    plan: GitLabPlan
    kv_mount: str
    props: dict[str, Any]

    @property
    def vault(self):
        return self.server.client()

    def kv(self, path: str) -> dict[str, Any] | None:
        try:
            return self.vault.secrets.kv.v2.read_secret_version(
                path, mount_point=self.kv_mount, raise_on_deleted_version=True
            )["data"]["data"]
        except Exception:  # noqa: BLE001  (absent)
            return None

    def read(self, path: str) -> dict[str, Any]:
        return self.vault.adapter.get(f"/v1/{path}")["data"]


def _setup(server: OpenBaoServer, fake: FakeGitLab, monkeypatch, **changes: Any) -> Setup:
    """A fresh control center name, KV mount and OIDC mount on the shared server; an administrator's token."""
    n = next(_names)
    kv_mount = f"kv-gitlab-{n}"
    root = server.client()
    root.sys.enable_secrets_engine("kv", path=kv_mount, options={"version": "2"})
    # The token the operators use after the bootstrap: the administrators' policy, not root.
    root.sys.create_or_update_policy(f"admin-{n}", admin_policy_hcl(kv_mount))
    monkeypatch.setenv(VAULT_TOKEN_ENV, server.create_token([f"admin-{n}"]))
    monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
    plan = gitlab_plan(f"cc{n}", mount=f"gitlab-{n}")
    return Setup(server, fake, plan, kv_mount, inputs_for(plan, fake, server.address, kv_mount, **changes))


def _no_secret_in(outputs: dict[str, Any], fake: FakeGitLab) -> None:
    text = json.dumps(outputs)
    assert fake.issued and not any(value in text for value in fake.issued)
    assert ADMIN_TOKEN not in text


@pytest.mark.slow
def test_first_run_configures_vault_login_and_the_runner_and_a_second_changes_nothing(
    bao: OpenBaoServer,
    gitlab: FakeGitLab,
    monkeypatch,
):
    setup = _setup(bao, gitlab, monkeypatch)
    oidc, mount = setup.plan.oidc, setup.plan.oidc.mount_path
    created = GitLabPostInstallProvider().create(setup.props)

    (app,) = gitlab.applications.values()
    (runner,) = gitlab.runners.values()
    assert [(r.method, r.path, r.body) for r in gitlab.writes()] == [
        ("POST", "/api/v4/applications", oidc.application.api_request()),
        ("POST", "/api/v4/user/runners", setup.plan.runner_registration.api_request()),
    ]
    assert app["confidential"] is True and app["scopes"] == "openid profile email"
    assert setup.kv(oidc.client_credentials_path) == {
        "client_id": app["application_id"],
        "client_secret": app["secret"],
    }
    token_path = setup.plan.runner_registration.token_path
    assert setup.kv(token_path.path) == {"token": gitlab.issued[-1], "runner_id": str(runner["id"])}
    assert setup.vault.adapter.get(f"/v1/sys/auth/{mount}")["data"]["type"] == "oidc"
    config = setup.read(f"auth/{mount}/config")
    assert config["oidc_discovery_url"] == gitlab.url == config["bound_issuer"]
    assert config["oidc_client_id"] == app["application_id"] and config["default_role"] == "operator"
    role = setup.read(f"auth/{mount}/role/operator")
    planned = oidc.role.payload(app["application_id"])
    for key in (
        "role_type",
        "bound_audiences",
        "allowed_redirect_uris",
        "user_claim",
        "groups_claim",
        "bound_claims",
        "oidc_scopes",
        "token_policies",
    ):
        assert role[key] == planned[key], key
    assert (role["token_ttl"], role["token_max_ttl"]) == (3600, 28800)
    assert role["bound_claims"] == {"groups_direct": ["platform/operators"]}

    outs = created.outs
    assert outs["application_id"] == app["id"] and outs["client_id"] == app["application_id"]
    assert (outs["oidc_mount"], outs["oidc_role"], outs["runner_id"]) == (mount, "operator", runner["id"])
    assert outs["changed"] is True and len(outs["actions"]) == 7
    _no_secret_in(outs, gitlab)

    versions = {
        path: setup.vault.secrets.kv.v2.read_secret_metadata(path, mount_point=setup.kv_mount)["data"][
            "current_version"
        ]
        for path in (oidc.client_credentials_path, token_path.path)
    }
    before = len(gitlab.requests)
    again = GitLabPostInstallProvider().update(created.id, created.outs, setup.props)
    assert again.outs["changed"] is False
    assert all(": unchanged" in line for line in again.outs["actions"]), again.outs["actions"]
    assert [r for r in gitlab.requests[before:] if r.method != "GET"] == []
    assert again.outs["runner_id"] == runner["id"] and again.outs["client_id"] == app["application_id"]
    for path, version in versions.items():
        assert (
            setup.vault.secrets.kv.v2.read_secret_metadata(path, mount_point=setup.kv_mount)["data"][
                "current_version"
            ]
            == version
        )
    refreshed = GitLabPostInstallProvider().read(created.id, again.outs)
    assert refreshed.outs["in_sync"] is True and refreshed.outs["drift"] == []
    _no_secret_in(refreshed.outs, gitlab)


@pytest.mark.slow
def test_a_drifted_role_and_config_are_reported_and_restored(
    bao: OpenBaoServer,
    gitlab: FakeGitLab,
    monkeypatch,
):
    setup = _setup(bao, gitlab, monkeypatch)
    provider = GitLabPostInstallProvider()
    created = provider.create(setup.props)
    mount = setup.plan.oidc.mount_path
    root = setup.vault
    root.adapter.post(
        f"/v1/auth/{mount}/role/operator", json={"token_policies": ["root"], "bound_claims": {}}
    )
    client_id = setup.read(f"auth/{mount}/config")["oidc_client_id"]
    root.adapter.post(
        f"/v1/auth/{mount}/config",
        json={
            "oidc_discovery_url": gitlab.url,
            "bound_issuer": gitlab.url,
            "oidc_client_id": client_id,
            "oidc_client_secret": "whatever",
            "default_role": "other",
        },
    )

    refreshed = provider.read(created.id, created.outs)
    assert refreshed.outs["in_sync"] is False
    drift = "\n".join(refreshed.outs["drift"])
    assert "OIDC role" in drift and "bound_claims" in drift and "token_policies" in drift
    assert "OIDC config" in drift and "default_role" in drift
    assert provider.diff(created.id, refreshed.outs, setup.props).changes is True

    before = len(gitlab.requests)
    updated = provider.update(created.id, refreshed.outs, setup.props)
    assert [r for r in gitlab.requests[before:] if r.method != "GET"] == []
    role = setup.read(f"auth/{mount}/role/operator")
    assert role["token_policies"] == ["operator-admin"]
    assert role["bound_claims"] == {"groups_direct": ["platform/operators"]}
    assert setup.read(f"auth/{mount}/config")["default_role"] == "operator"
    assert updated.outs["changed"] is True
    assert provider.read(created.id, updated.outs).outs["in_sync"] is True


@pytest.mark.slow
def test_lost_credentials_renew_the_secret_instead_of_a_new_application(
    bao: OpenBaoServer,
    gitlab: FakeGitLab,
    monkeypatch,
):
    setup = _setup(bao, gitlab, monkeypatch)
    provider = GitLabPostInstallProvider()
    created = provider.create(setup.props)
    path = setup.plan.oidc.client_credentials_path
    setup.vault.secrets.kv.v2.delete_metadata_and_all_versions(path, mount_point=setup.kv_mount)

    refreshed = provider.read(created.id, created.outs)
    assert any("secret: would be updated" in line for line in refreshed.outs["drift"])
    before = len(gitlab.requests)
    updated = provider.update(created.id, refreshed.outs, setup.props)
    (app,) = gitlab.applications.values()
    assert [(r.method, r.path) for r in gitlab.requests[before:] if r.method != "GET"] == [
        ("POST", f"/api/v4/applications/{app['id']}/renew-secret")
    ]
    assert setup.kv(path) == {"client_id": app["application_id"], "client_secret": app["secret"]}
    assert any("renewed" in line for line in updated.outs["actions"])
    _no_secret_in(updated.outs, gitlab)


@pytest.mark.slow
def test_drifted_redirect_uris_recreate_the_application_and_vault_follows(
    bao: OpenBaoServer,
    gitlab: FakeGitLab,
    monkeypatch,
):
    setup = _setup(bao, gitlab, monkeypatch)
    provider = GitLabPostInstallProvider()
    created = provider.create(setup.props)
    (old,) = gitlab.applications.values()
    old["callback_url"] = "https://somewhere.else/callback"

    updated = provider.update(created.id, created.outs, setup.props)
    (new,) = gitlab.applications.values()
    assert new["id"] != old["id"]
    assert ("DELETE", f"/api/v4/applications/{old['id']}") in [(r.method, r.path) for r in gitlab.requests]
    mount = setup.plan.oidc.mount_path
    assert setup.read(f"auth/{mount}/config")["oidc_client_id"] == new["application_id"]
    assert setup.read(f"auth/{mount}/role/operator")["bound_audiences"] == [new["application_id"]]
    assert setup.kv(setup.plan.oidc.client_credentials_path)["client_secret"] == new["secret"]
    recreated = [line for line in updated.outs["actions"] if "recreated" in line]
    assert recreated and "https://somewhere.else/callback" in recreated[0]
    assert updated.outs["application_id"] == new["id"]


@pytest.mark.slow
def test_a_runner_removed_from_gitlab_is_registered_again(
    bao: OpenBaoServer,
    gitlab: FakeGitLab,
    monkeypatch,
):
    setup = _setup(bao, gitlab, monkeypatch)
    provider = GitLabPostInstallProvider()
    created = provider.create(setup.props)
    gitlab.runners.clear()

    updated = provider.update(created.id, created.outs, setup.props)
    (runner,) = gitlab.runners.values()
    assert updated.outs["runner_id"] == runner["id"] != created.outs["runner_id"]
    token_path = setup.plan.runner_registration.token_path
    assert setup.kv(token_path.path) == {"token": gitlab.issued[-1], "runner_id": str(runner["id"])}
    assert any("no longer exists in GitLab" in line for line in updated.outs["actions"])


@pytest.mark.slow
def test_a_non_admin_token_changes_nothing_and_says_why(
    bao: OpenBaoServer,
    gitlab: FakeGitLab,
    monkeypatch,
):
    setup = _setup(bao, gitlab, monkeypatch)
    monkeypatch.setenv("GITLAB_TOKEN", USER_TOKEN)
    with pytest.raises(GitLabError, match=r"may not list the OAuth applications at GitLab \S+ \(HTTP 403\)"):
        GitLabPostInstallProvider().create(setup.props)
    assert gitlab.applications == {} and gitlab.writes() == []
    mount = setup.plan.oidc.mount_path
    assert f"{mount}/" not in setup.vault.sys.list_auth_methods()["data"]


@pytest.mark.slow
def test_vault_trusts_gitlabs_private_ca_for_discovery(
    bao: OpenBaoServer,
    tmp_path,
    monkeypatch,
):
    tls = make_tls(tmp_path)
    fake = FakeGitLab(tls)
    try:
        setup = _setup(bao, fake, monkeypatch, gitlab_ca_cert=tls.ca_pem)
        created = GitLabPostInstallProvider().create(setup.props)
        config = setup.read(f"auth/{setup.plan.oidc.mount_path}/config")
        assert fake.url.startswith("https://") and config["oidc_discovery_url"] == fake.url
        assert config["oidc_discovery_ca_pem"].strip() == tls.ca_pem.strip()
        assert created.outs["gitlab_ca_cert"] == tls.ca_pem  # a CA is public
        _no_secret_in(created.outs, fake)
    finally:
        fake.close()


@pytest.mark.slow
def test_vault_failing_to_fetch_discovery_is_explained_and_the_rerun_reuses_the_application(
    bao: OpenBaoServer,
    gitlab: FakeGitLab,
    monkeypatch,
):
    setup = _setup(bao, gitlab, monkeypatch, discovery_url="http://127.0.0.1:1")
    with pytest.raises(VaultOperationError) as raised:
        GitLabPostInstallProvider().create(setup.props)
    message = str(raised.value)
    assert "http://127.0.0.1:1/.well-known/openid-configuration" in message
    assert "Vault's pods must reach GitLab" in message
    assert not any(value in message for value in gitlab.issued)

    fixed = inputs_for(setup.plan, gitlab, bao.address, setup.kv_mount)
    GitLabPostInstallProvider().create(fixed)
    assert len(gitlab.applications) == 1  # adopted through the credentials Vault kept
    assert [r.path for r in gitlab.writes()].count("/api/v4/applications") == 1
