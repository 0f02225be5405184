"""A stand-in CI token issuer on loopback: a JWKS endpoint and RS256 job tokens shaped like GitLab's
`id_tokens` (claims project_path, ref, user_login, ...), so a real OpenBao JWT auth mount can log jobs in.

Only the issuer is a stand-in; validating the signature against the JWKS, the audience, the issuer and
the bound claims is OpenBao's own code.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_ID = "ci-stand-in"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class CiIssuer:
    url: str
    """The JWKS document's URL."""
    key: rsa.RSAPrivateKey

    def token(self, issuer: str, audience: str, claims: Mapping[str, Any], lifetime: int = 300) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
        payload = {"iss": issuer, "aud": audience, "iat": now, "nbf": now - 5, "exp": now + lifetime,
                   "sub": f"project_path:{claims.get('project_path')}:ref_type:branch:ref:{claims.get('ref')}",
                   **claims}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


@contextmanager
def run_ci_issuer() -> Iterator[CiIssuer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    jwks = json.dumps({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID,
                                 "n": _b64_int(numbers.n), "e": _b64_int(numbers.e)}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield CiIssuer(f"http://127.0.0.1:{server.server_port}/oauth/discovery/keys", key)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
