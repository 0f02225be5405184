"""A stand-in for a cluster's TokenReview API, so a real OpenBao can log service accounts in.

No Kubernetes API server runs on these machines. Vault's Kubernetes auth method validates a login by
posting the caller's JWT to `POST /apis/authentication.k8s.io/v1/tokenreviews` on the configured
`kubernetes_host` and trusting the answer's user (`system:serviceaccount:<namespace>:<name>`) and uid.
This server answers exactly that call over TLS (a throwaway CA, passed to Vault as the cluster CA), for
tokens minted by `service_account_token`, and refuses any other token as the API server would. Everything
after the review (role binding checks, entity aliases, templated policies) is OpenBao's real code.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def service_account_token(namespace: str, name: str) -> str:
    """A JWT shaped like a projected service-account token (the signature is the API server's concern)."""
    claims = {
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": f"uid-{namespace}-{name}"}},
    }
    return f"{_b64({'alg': 'RS256', 'kid': 'stand-in'})}.{_b64(claims)}.c2lnbmF0dXJl"


def _review(token: str) -> dict:
    try:
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        identity = claims["kubernetes.io"]
        namespace, name = identity["namespace"], identity["serviceaccount"]["name"]
    except (IndexError, KeyError, TypeError, ValueError):
        return {"authenticated": False, "error": "invalid bearer token"}
    return {
        "authenticated": True,
        "user": {
            "username": f"system:serviceaccount:{namespace}:{name}",
            "uid": f"uid-{namespace}-{name}",
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
        },
    }


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        if self.path != REVIEW_PATH:
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.reviews.append(body["spec"]["token"])  # type: ignore[attr-defined]
        answer = json.dumps(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": _review(body["spec"]["token"])}
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        pass


@dataclass(frozen=True)
class TokenReviewServer:
    url: str
    ca_pem: str
    reviews: list[str]
    """Every token reviewed, in order."""


def _self_signed(workdir: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver (stand-in)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    cert_path, key_path = workdir / "apiserver.crt", workdir / "apiserver.key"
    cert_path.write_text(pem)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path, pem


@contextmanager
def run_token_review_server(workdir: Path) -> Iterator[TokenReviewServer]:
    workdir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path, pem = _self_signed(workdir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.reviews = []  # type: ignore[attr-defined]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TokenReviewServer(f"https://127.0.0.1:{server.server_port}", pem, server.reviews)  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
