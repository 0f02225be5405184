"""The object store's resources trust the CA they are given, not the machine's trust store: against a real
SeaweedFS serving S3 over TLS with a certificate from a throwaway CA (as MinIO presents the control center's)."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mojaloop_iac.objectstore import BucketSpec, S3Connection
from mojaloop_iac.objectstore.bucket import BucketProvider, bucket_props
from mojaloop_iac.objectstore.client import trusting
from tests.support.seaweedfs import ADMIN_ACTIONS, S3Identity, run_seaweedfs

pytestmark = pytest.mark.slow

ACCESS_KEY_ENV = "OBJECTSTORE_TLS_ACCESS_KEY"
SECRET_KEY_ENV = "OBJECTSTORE_TLS_SECRET_KEY"


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
                 ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = issuer if issuer else (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("seaweedfs-tls")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("object store test CA", ca_key, None, ca=True)
    server = _certificate("s3", server_key, (ca.subject, ca_key), ca=False)
    cert_file, key_file = workdir / "s3.crt", workdir / "s3.key"
    cert_file.write_text(_pem(server))
    key_file.write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    admin = S3Identity.generate("admin", ADMIN_ACTIONS)
    with run_seaweedfs(workdir / "run", [admin], tls=(cert_file, key_file)) as running, \
            pytest.MonkeyPatch.context() as env:
        env.setenv(ACCESS_KEY_ENV, admin.access_key)
        env.setenv(SECRET_KEY_ENV, admin.secret_key)
        yield running, _pem(ca), workdir


def _props(endpoint: str, name: str, ca_cert: str | None) -> dict:
    connection = S3Connection(endpoint, secure=True, access_key_env=ACCESS_KEY_ENV, secret_key_env=SECRET_KEY_ENV)
    props = bucket_props(BucketSpec(name), connection)
    props["connection"] = trusting(props["connection"], ca_cert)
    return props


def test_a_bucket_converges_over_tls_trusting_the_given_ca(tls_server):
    server, ca_pem, _ = tls_server
    outs = BucketProvider().create(_props(server.https_endpoint, "trusted", ca_pem)).outs
    assert outs["bucket"] == "trusted"
    assert server.client(server.admin).bucket_exists("trusted")


def test_the_ca_may_be_given_as_a_file(tls_server):
    server, ca_pem, workdir = tls_server
    ca_file = workdir / "ca.pem"
    ca_file.write_text(ca_pem)
    assert BucketProvider().create(_props(server.https_endpoint, "from-file", str(ca_file))).outs["bucket"] == "from-file"


def test_without_the_ca_the_certificate_is_refused(tls_server):
    server, _, _ = tls_server
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        BucketProvider().create(_props(server.https_endpoint, "untrusted", None))
    assert not server.client(server.admin).bucket_exists("untrusted")


def test_the_ca_reaches_the_vault_source_as_well():
    connection = {"endpoint": "s3.example:443", "secret_key_vault": {"address": "https://vault.example", "path": "p",
                                                                     "field": "f"}}
    props = trusting(connection, "PEM")
    assert props["ca_cert"] == props["secret_key_vault"]["ca_cert"] == "PEM"
    assert trusting(connection, None) == connection and "ca_cert" not in connection
