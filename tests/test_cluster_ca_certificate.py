"""The control center's CA certificate is read from one key of a Secret through the Kubernetes API.

No Kubernetes API server can run on these machines (no k3s, kind or kube-apiserver; see
shared/reference/test-infra.md). So the provider's real code, with the real `kubernetes` client and a
kubeconfig file the test writes, talks to a stand-in: a small HTTPS server on loopback answering
`GET /api/v1/namespaces/<ns>/secrets/<name>` the way the API server does (Secret JSON with base64
`data`, a `Status` body and code for a missing Secret or a refused user), authenticating a bearer token
or a client certificate. The Secret holds `ca.crt`, `tls.crt` and `tls.key` as cert-manager writes them.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import re
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pulumi.runtime import rpc

from mojaloop_iac.kubeapi.ca_certificate import (
    CaCertificateError,
    CaCertificateUnavailable,
    ClusterCaCertificateProvider,
    InvalidReference,
    SecretKeyRef,
    ca_certificates_pem,
    internal_ca_ref,
    read_ca_certificate,
)

TOKEN = "stand-in-bearer-token-7c1e"
SECRET_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets/([^/?]+)$")
REF = SecretKeyRef("cert-manager", "internal-ca", "ca.crt")


# --------------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()


def issue(
    common_name: str,
    *,
    ca: bool,
    signer: Issued | None = None,
    ip: str | None = None,
    client: bool = False,
    days: float = 1,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer.certificate.subject if signer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False)
    if client:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
    return Issued(builder.sign(signer.key if signer else key, hashes.SHA256()), key)


def cert_manager_secret(ca: Issued) -> dict[str, str]:
    """What cert-manager writes for a self-signed CA Certificate: the CA is its own tls.crt."""
    return {"ca.crt": ca.pem, "tls.crt": ca.pem, "tls.key": ca.key_pem}


# --------------------------------------------------------------------------------------------------
# The stand-in API server
# --------------------------------------------------------------------------------------------------


@dataclass
class StandInApi:
    url: str
    server_ca: Issued
    client_ca: Issued
    secrets: dict[tuple[str, str], dict[str, str]]
    """(namespace, name) -> the Secret's keys and values (plain; served base64 as the API does)."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    forbidden_namespaces: set[str] = field(default_factory=set)
    missing_for_requests: int = 0
    """Answer 404 to this many GETs first, as before cert-manager issued the Secret."""


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code}


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def _answer(self, code: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        api: StandInApi = self.server.api  # type: ignore[attr-defined]
        api.requests.append(("GET", self.path))
        authenticated = self.headers.get("Authorization") == f"Bearer {TOKEN}" or bool(self.connection.getpeercert())
        if not authenticated:
            self._answer(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        match = SECRET_PATH.match(self.path)
        if not match:
            self._answer(404, _status(404, "NotFound", "the server could not find the requested resource"))
            return
        namespace, name = match.groups()
        if namespace in api.forbidden_namespaces:
            message = f'secrets "{name}" is forbidden: User "plan" cannot get resource "secrets" in "{namespace}"'
            self._answer(403, _status(403, "Forbidden", message))
            return
        data = api.secrets.get((namespace, name))
        if data is None or api.missing_for_requests > 0:
            api.missing_for_requests -= 1
            self._answer(404, _status(404, "NotFound", f'secrets "{name}" not found'))
            return
        self._answer(
            200,
            {
                "kind": "Secret",
                "apiVersion": "v1",
                "metadata": {"name": name, "namespace": namespace},
                "type": "kubernetes.io/tls",
                "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
            },
        )

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def stand_in_api(workdir: Path) -> Iterator[StandInApi]:
    server_ca = issue("kube-apiserver (stand-in)", ca=True, ip="127.0.0.1")
    client_ca = issue("k3s-client-ca (stand-in)", ca=True)
    (workdir / "server.crt").write_text(server_ca.pem)
    (workdir / "server.key").write_text(server_ca.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(workdir / "server.crt", workdir / "server.key")
    # As the API server: a client certificate from the cluster's client CA authenticates, else a token.
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cadata=client_ca.pem)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    api = StandInApi(f"https://127.0.0.1:{server.server_port}", server_ca, client_ca, {})
    server.api = api  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def api(tmp_path) -> Iterator[StandInApi]:
    with stand_in_api(tmp_path) as running:
        yield running


def write_kubeconfig(path: Path, api: StandInApi, user: dict, *, server_ca_pem: str | None = None) -> str:
    """A kubeconfig file as k3s or `aws eks update-kubeconfig` writes one; returns its text."""
    ca_data = base64.b64encode((server_ca_pem or api.server_ca.pem).encode()).decode()
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stand-in", "cluster": {"server": api.url, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "admin"}}],
        "current-context": "stand-in",
        "users": [{"name": "admin", "user": user}],
    }
    path.write_text(yaml.safe_dump(document))
    return path.read_text()


def token_kubeconfig(tmp_path: Path, api: StandInApi, **kwargs) -> str:
    return write_kubeconfig(tmp_path / "kubeconfig-token.yaml", api, {"token": TOKEN}, **kwargs)


def props(kubeconfig: str, **extra) -> dict:
    return {"kubeconfig": kubeconfig, **REF.to_props(), "wait_seconds": 0, **extra}


# --------------------------------------------------------------------------------------------------
# Reading the CA: outputs
# --------------------------------------------------------------------------------------------------


def test_outputs_hold_exactly_the_ca_certificate_and_nothing_of_its_key(api, tmp_path):
    ca = issue("Mojaloop hub internal CA", ca=True)
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(ca)
    result = ClusterCaCertificateProvider().create(props(token_kubeconfig(tmp_path, api)))
    assert result.id == "cert-manager/internal-ca#ca.crt"
    assert result.outs == {"namespace": "cert-manager", "name": "internal-ca", "key": "ca.crt", "certificate": ca.pem}
    dumped = json.dumps(result.outs)
    key_body = "".join(ca.key_pem.splitlines()[1:-1])
    assert "PRIVATE KEY" not in dumped and key_body[:40] not in dumped
    assert base64.b64encode(ca.key_pem.encode()).decode()[:40] not in dumped
    assert TOKEN not in dumped and "kubeconfig" not in result.outs
    # One GET of the one Secret: nothing listed, nothing else read.
    assert api.requests == [("GET", "/api/v1/namespaces/cert-manager/secrets/internal-ca")]


def test_a_client_certificate_kubeconfig_works_as_on_k3s(api, tmp_path):
    ca = issue("Mojaloop hub internal CA", ca=True)
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(ca)
    client = issue("system:admin", ca=False, signer=api.client_ca, client=True)
    user = {
        "client-certificate-data": base64.b64encode(client.pem.encode()).decode(),
        "client-key-data": base64.b64encode(client.key_pem.encode()).decode(),
    }
    kubeconfig = write_kubeconfig(tmp_path / "k3s.yaml", api, user)
    assert read_ca_certificate(kubeconfig, REF, wait_seconds=0) == ca.pem


def test_the_client_writes_the_kubeconfigs_keys_to_files_it_removes_after_the_read(api, tmp_path, monkeypatch):
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(issue("CA", ca=True))
    client = issue("system:admin", ca=False, signer=api.client_ca, client=True)
    user = {
        "client-certificate-data": base64.b64encode(client.pem.encode()).decode(),
        "client-key-data": base64.b64encode(client.key_pem.encode()).decode(),
    }
    kubeconfig = write_kubeconfig(tmp_path / "k3s.yaml", api, user)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    read_ca_certificate(kubeconfig, REF, wait_seconds=0)
    read_ca_certificate(kubeconfig, REF, wait_seconds=0)  # and again, with the files gone
    assert list(scratch.rglob("*")) == []


def test_an_exec_plugin_kubeconfig_works_as_on_eks(api, tmp_path):
    """EKS kubeconfigs run `aws eks get-token`; this plugin prints an ExecCredential the same way."""
    ca = issue("Mojaloop hub internal CA", ca=True)
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(ca)
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": TOKEN},
    }
    plugin = tmp_path / "get_token.py"
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    kubeconfig = write_kubeconfig(tmp_path / "eks.yaml", api, user)
    assert read_ca_certificate(kubeconfig, REF, wait_seconds=0) == ca.pem


def test_a_ca_bundle_keeps_every_certificate_and_drops_anything_else():
    root, other = issue("root", ca=True), issue("other root", ca=True)
    data = (root.pem + root.key_pem + other.pem).encode()
    assert ca_certificates_pem(data, REF) == root.pem + other.pem


def test_it_waits_for_cert_manager_to_issue_the_secret(api, tmp_path):
    ca = issue("Mojaloop hub internal CA", ca=True)
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(ca)
    api.missing_for_requests = 2
    pem = read_ca_certificate(token_kubeconfig(tmp_path, api), REF, wait_seconds=10, poll_seconds=0.05)
    assert pem == ca.pem and len(api.requests) == 3


def test_a_secret_created_but_not_yet_filled_is_waited_for(api, tmp_path):
    api.secrets[("cert-manager", "internal-ca")] = {}
    with pytest.raises(CaCertificateUnavailable) as raised:
        read_ca_certificate(token_kubeconfig(tmp_path, api), REF, wait_seconds=0.2, poll_seconds=0.05)
    assert "has not issued its Certificate yet" in str(raised.value) and len(api.requests) > 1


# --------------------------------------------------------------------------------------------------
# Reading the CA: errors
# --------------------------------------------------------------------------------------------------


def test_a_missing_secret_is_waited_for_then_named(api, tmp_path):
    with pytest.raises(CaCertificateUnavailable) as raised:
        read_ca_certificate(token_kubeconfig(tmp_path, api), REF, wait_seconds=0.2, poll_seconds=0.05)
    message = str(raised.value)
    assert "Secret cert-manager/internal-ca key 'ca.crt' is not there yet: the Secret does not exist" in message
    assert "gave up after waiting 0.2 s" in message and "kubectl -n cert-manager describe certificates" in message
    assert len(api.requests) >= 2


def test_a_key_the_issued_secret_lacks_is_named_at_once(api, tmp_path):
    api.secrets[("cert-manager", "internal-ca")] = {"tls.crt": "x", "tls.key": "y"}
    with pytest.raises(CaCertificateError) as raised:
        read_ca_certificate(token_kubeconfig(tmp_path, api), REF, wait_seconds=30)
    assert str(raised.value) == (
        "Secret cert-manager/internal-ca key 'ca.crt' does not exist: the issued Secret holds tls.crt, tls.key; "
        "name one of those keys"
    )
    assert not isinstance(raised.value, CaCertificateUnavailable) and len(api.requests) == 1


def test_a_certificate_that_is_not_a_ca_is_refused(api, tmp_path):
    signer = issue("CA", ca=True)
    leaf = issue("vault.int.cc.mojaloop.example", ca=False, signer=signer)
    api.secrets[("cert-manager", "internal-ca")] = {"ca.crt": leaf.pem, "tls.crt": leaf.pem, "tls.key": leaf.key_pem}
    with pytest.raises(CaCertificateError) as raised:
        ClusterCaCertificateProvider().create(props(token_kubeconfig(tmp_path, api)))
    message = str(raised.value)
    assert "Secret cert-manager/internal-ca key 'ca.crt' holds a certificate that is not a CA" in message
    assert "CN=vault.int.cc.mojaloop.example" in message and "PRIVATE" not in message


def test_a_value_that_is_no_certificate_is_refused_without_quoting_it(api, tmp_path):
    ca = issue("CA", ca=True)
    api.secrets[("cert-manager", "internal-ca")] = {"ca.crt": ca.key_pem, "tls.crt": ca.pem, "tls.key": ca.key_pem}
    with pytest.raises(CaCertificateError) as raised:
        read_ca_certificate(token_kubeconfig(tmp_path, api), REF, wait_seconds=0)
    assert str(raised.value) == (
        "Secret cert-manager/internal-ca key 'ca.crt' holds no PEM certificate: it should hold the CA certificate "
        "cert-manager issued"
    )


def test_an_expired_ca_is_refused():
    expired = issue("old CA", ca=True, days=-1)
    with pytest.raises(CaCertificateError, match=r"holds the CA certificate 'CN=old CA', which expired on"):
        ca_certificates_pem(expired.pem.encode(), REF)


def test_a_user_without_access_is_told_at_once(api, tmp_path):
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(issue("CA", ca=True))
    api.forbidden_namespaces.add("cert-manager")
    with pytest.raises(CaCertificateError) as raised:
        read_ca_certificate(token_kubeconfig(tmp_path, api), REF, wait_seconds=30)
    assert "may not read Secret cert-manager/internal-ca key 'ca.crt' (403 Forbidden)" in str(raised.value)
    assert "needs `get` on secrets in namespace cert-manager" in str(raised.value)
    assert len(api.requests) == 1


def test_refused_credentials_are_told_at_once(api, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "wrong.yaml", api, {"token": "not-the-token"})
    with pytest.raises(CaCertificateError, match=r"refused the kubeconfig's credentials \(401 Unauthorized\)") as raised:
        read_ca_certificate(kubeconfig, REF, wait_seconds=30)
    assert "not-the-token" not in str(raised.value) and len(api.requests) == 1


def test_an_api_server_the_kubeconfig_does_not_trust_is_a_tls_error(api, tmp_path):
    kubeconfig = token_kubeconfig(tmp_path, api, server_ca_pem=issue("some other CA", ca=True).pem)
    with pytest.raises(CaCertificateError, match=r"TLS with the Kubernetes API at https://127\.0\.0\.1:\d+ failed"):
        read_ca_certificate(kubeconfig, REF, wait_seconds=30)


def test_a_kubeconfig_that_is_not_yaml_is_not_quoted():
    with pytest.raises(CaCertificateError) as raised:
        read_ca_certificate("users: [token: secret-7f3a\n  : :", REF, wait_seconds=0)
    assert "secret-7f3a" not in str(raised.value) and "not a YAML mapping" in str(raised.value)


# --------------------------------------------------------------------------------------------------
# The provider's check, diff and read
# --------------------------------------------------------------------------------------------------


def test_check_names_the_input_at_fault():
    provider = ClusterCaCertificateProvider()
    result = provider.check({}, {"kubeconfig": "", "namespace": "Cert_Manager", "name": "internal-ca", "wait_seconds": -1})
    assert {failure.property for failure in result.failures} == {"namespace", "kubeconfig", "wait_seconds"}
    # A kubeconfig known only once the cluster exists passes, as do identities known later.
    pending = provider.check({}, {"kubeconfig": rpc.UNKNOWN, "namespace": rpc.UNKNOWN, "name": "internal-ca"})
    assert pending.failures == []
    good = provider.check({}, {"kubeconfig": "apiVersion: v1", "namespace": "cert-manager", "name": "internal-ca"})
    assert good.failures == [] and good.inputs["key"] == "ca.crt"
    with pytest.raises(InvalidReference, match="key 'ca crt' is not a Secret key"):
        SecretKeyRef("cert-manager", "internal-ca", "ca crt")


def test_diff_reads_the_live_certificate(api, tmp_path):
    provider = ClusterCaCertificateProvider()
    ca = issue("Mojaloop hub internal CA", ca=True)
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(ca)
    news = props(token_kubeconfig(tmp_path, api))
    olds = provider.create(news).outs
    assert provider.diff("id", olds, news).changes is False
    # cert-manager renewed the CA: the next `pulumi up` updates the output and what trusts it.
    renewed = issue("Mojaloop hub internal CA", ca=True)
    api.secrets[("cert-manager", "internal-ca")] = cert_manager_secret(renewed)
    assert provider.diff("id", olds, news).changes is True
    assert provider.update("id", olds, news).outs["certificate"] == renewed.pem
    # Gone for now (re-issuing): an update, which waits for it.
    del api.secrets[("cert-manager", "internal-ca")]
    assert provider.diff("id", olds, news).changes is True


def test_diff_replaces_when_the_secret_or_key_changes_and_waits_for_an_unknown_kubeconfig():
    provider = ClusterCaCertificateProvider()
    olds = {**REF.to_props(), "certificate": "pem"}
    moved = provider.diff("id", olds, {**olds, "kubeconfig": "k", "name": "other-ca"})
    assert (moved.changes, moved.replaces) == (True, ["name"])
    unknown = provider.diff("id", olds, {**olds, "kubeconfig": "k", "key": rpc.UNKNOWN})
    assert unknown.replaces == ["key"]
    rebuilt = provider.diff("id", olds, {**olds, "kubeconfig": rpc.UNKNOWN})
    assert (rebuilt.changes, rebuilt.replaces) == (True, [])


def test_refresh_keeps_the_recorded_certificate():
    outs = {**REF.to_props(), "certificate": "pem"}
    assert ClusterCaCertificateProvider().read("cert-manager/internal-ca#ca.crt", outs).outs == outs


def test_the_internal_ca_is_where_the_certificates_plan_puts_it():
    from mojaloop_iac.planners.certificates import CertificatesInput, plan_certificates

    planned = plan_certificates(CertificatesInput("int.example.org", "example.org", "1.30", external_issuer="internal-ca"))
    ref = internal_ca_ref()
    assert f"{ref.namespace}/{ref.name}" == planned.internal_ca_secret and ref.key == "ca.crt"
    ca_certificate = next(m for m in planned.manifests if m["kind"] == "Certificate" and m["spec"].get("isCA"))
    assert ca_certificate["spec"]["secretName"] == ref.name
