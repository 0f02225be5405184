"""A cluster's CA certificate, read from one key of a Kubernetes Secret; never the Secret's private key.

    ca = ClusterCaCertificate(
        "cc-internal-ca",
        {"kubeconfig": cluster.kubeconfig, **internal_ca_ref().to_props()},
        pulumi.ResourceOptions(depends_on=[cert_manager_layer]),
    )
    ca.certificate  # PEM, public: what clients of vault./s3./gitlab.<internal domain> trust

cert-manager keeps a CA in a Secret with three keys: `ca.crt`, `tls.crt` and `tls.key`.
`k8s.core.v1.Secret.get` would copy all three into Pulumi state, the CA's private key with them. This
resource GETs the Secret with the official `kubernetes` client (which handles every kubeconfig auth
variant: client certificates on k3s, the `aws eks get-token` exec plugin on EKS), keeps the one key it
was asked for, checks that it holds X.509 CA certificates and outputs them re-encoded as PEM. Nothing
else of the Secret leaves `_read_key`, and no error message quotes a value of the Secret or the kubeconfig.

- cert-manager issues the CA once its release is up: a Secret not there yet (or one cert-manager has not
  filled yet) is retried every `POLL_SECONDS` for `wait_seconds` (default `DEFAULT_WAIT_SECONDS`), then
  the error says what to look at. Permission and kubeconfig problems, a key the issued Secret does not
  have and a value that is no CA certificate fail at once.
- `diff` reads the live certificate again on every preview and `pulumi up`: a renewed CA updates the
  output, and with it every connection that trusts it. `read` (`pulumi refresh`) cannot: the kubeconfig
  is an input and never an output, so a refresh keeps the recorded certificate.
- Deleting the resource leaves the Secret alone: it is cert-manager's.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NotRequired, TypedDict

import pulumi
import pulumi.dynamic
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult
from pulumi.runtime import rpc

from mojaloop_iac.planners.certificates import CERT_MANAGER_PIN, INTERNAL_CA_SECRET
from mojaloop_iac.config.defaults import chart_pins

if TYPE_CHECKING:
    from kubernetes.client import CoreV1Api

DEFAULT_KEY: Final = "ca.crt"
DEFAULT_WAIT_SECONDS: Final = 300.0
POLL_SECONDS: Final = 5.0
# (connect, read) seconds for one GET; urllib3 retries a failed connection itself before that.
REQUEST_TIMEOUT: Final = (10.0, 30.0)
# cert-manager writes these next to ca.crt when it issues: their presence means "issued".
ISSUED_MARKERS: Final = ("tls.crt",)
IDENTITY: Final = ("namespace", "name", "key")
_MODULE = "mojaloop-kubeapi"

_log = logging.getLogger(__name__)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


class CaCertificateError(Exception):
    """The CA certificate cannot be read; the message names the Secret and says what to do, never a value."""


class CaCertificateUnavailable(CaCertificateError):
    """Not there (yet): the Secret or its key is missing, or the API cannot be reached. Worth waiting for."""


class InvalidReference(CaCertificateError, ValueError):
    """An input names no possible Secret key."""

    def __init__(self, property_: str, message: str) -> None:
        super().__init__(message)
        self.property = property_


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of one Secret: `namespace`/`name`, key `key`."""

    namespace: str
    name: str
    key: str = DEFAULT_KEY

    def __post_init__(self) -> None:
        rules = (
            (
                "namespace",
                _DNS_LABEL,
                63,
                "a namespace name (a DNS label: lowercase letters, digits and '-')",
            ),
            (
                "name",
                _DNS_SUBDOMAIN,
                253,
                "a Secret name (a DNS subdomain: lowercase letters, digits, '-', '.')",
            ),
            ("key", _SECRET_KEY, 253, "a Secret key (letters, digits, '-', '_' and '.')"),
        )
        for field, pattern, limit, what in rules:
            value = getattr(self, field)
            if not isinstance(value, str) or len(value) > limit or not pattern.match(value):
                raise InvalidReference(field, f"{field} {value!r} is not {what}")

    def __str__(self) -> str:
        return f"Secret {self.namespace}/{self.name} key {self.key!r}"

    @property
    def resource_id(self) -> str:
        return f"{self.namespace}/{self.name}#{self.key}"

    def to_props(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name, "key": self.key}

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> SecretKeyRef:
        return cls(props.get("namespace"), props.get("name"), props.get("key") or DEFAULT_KEY)  # type: ignore[arg-type]


def internal_ca_ref() -> SecretKeyRef:
    """The control center's internal CA (`CertificatesPlan.internal_ca_secret`, key `ca.crt`): the CA that
    signs the certificates of Vault, MinIO, zot and GitLab."""
    return SecretKeyRef(chart_pins()[CERT_MANAGER_PIN]["namespace"], INTERNAL_CA_SECRET, DEFAULT_KEY)


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def ca_certificates_pem(data: bytes, ref: SecretKeyRef, now: datetime.datetime | None = None) -> str:
    """The CA certificates in `data` (PEM), re-encoded: anything else in it (a key block) is dropped."""
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CaCertificateError(
            f"{ref} holds no PEM certificate: it should hold the CA certificate cert-manager issued"
        ) from None
    now = now or datetime.datetime.now(datetime.UTC)
    for certificate in certificates:
        subject = certificate.subject.rfc4514_string()
        try:
            is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise CaCertificateError(
                f"{ref} holds a certificate that is not a CA ({subject!r} lacks basicConstraints CA:TRUE): "
                "point the resource at the Secret of a CA Certificate (spec.isCA: true), whose ca.crt is the CA"
            )
        if certificate.not_valid_after_utc <= now:
            raise CaCertificateError(
                f"{ref} holds the CA certificate {subject!r}, which expired on "
                f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: cert-manager did not renew it; see "
                f"`kubectl -n {ref.namespace} describe certificates` and cert-manager's logs"
            )
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


@contextmanager
def kubernetes_api(kubeconfig: str) -> Iterator[tuple[CoreV1Api, str]]:
    """A CoreV1Api for the kubeconfig's current context, and the API server's URL.

    The client writes the kubeconfig's embedded certificates and keys to files for urllib3; they live in
    a private temporary directory removed when the block ends, not until the process exits.
    """
    # Imported here: loading the client's models takes a while, and only this resource needs them.
    from kubernetes import client, config
    from kubernetes.config import kube_config

    try:
        document = yaml.safe_load(kubeconfig) if isinstance(kubeconfig, str) else None
    except yaml.YAMLError:
        # The parser's message quotes the offending line, which may hold a token: not repeated here.
        document = None
    if not isinstance(document, Mapping):
        raise CaCertificateError("the cluster's kubeconfig is not a YAML mapping (a kubeconfig document)")
    with tempfile.TemporaryDirectory(prefix="mojaloop-kubeapi-") as workdir:
        try:
            try:
                api_client = config.new_client_from_config_dict(
                    dict(document), persist_config=False, temp_file_path=workdir
                )
            except config.ConfigException as error:
                raise CaCertificateError(f"the cluster's kubeconfig cannot be used: {error}") from None
            try:
                yield client.CoreV1Api(api_client), str(api_client.configuration.host)
            finally:
                api_client.close()
        finally:
            # The client caches the files it wrote keyed by their content (key material): drop those entries.
            cached = getattr(kube_config, "_temp_files", {})
            for content in [content for content, path in cached.items() if str(path).startswith(workdir)]:
                del cached[content]


def _read_key(core: CoreV1Api, host: str, ref: SecretKeyRef) -> bytes:
    """One GET of the Secret; only the value of `ref.key` is kept, decoded."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError, MaxRetryError, SSLError

    try:
        response = core.read_namespaced_secret(
            ref.name, ref.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
        document = json.loads(response.data)
    except ApiException as error:
        raise _refusal(ref, host, error.status, error.reason) from None
    except MaxRetryError as error:
        if isinstance(error.reason, SSLError):
            raise CaCertificateError(
                f"TLS with the Kubernetes API at {host} failed while reading {ref}: {error.reason}. Check the "
                "kubeconfig's certificate-authority-data (and client certificate)"
            ) from None
        raise CaCertificateUnavailable(
            f"the Kubernetes API at {host} cannot be reached to read {ref} ({type(error.reason).__name__})"
        ) from None
    except HTTPError as error:
        raise CaCertificateUnavailable(
            f"the Kubernetes API at {host} cannot be reached to read {ref} ({type(error).__name__})"
        ) from None
    except ValueError:
        raise CaCertificateError(
            f"the Kubernetes API at {host} answered the GET of {ref} with no JSON"
        ) from None
    data = document.get("data") if isinstance(document, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    encoded = data.get(ref.key)
    present = sorted(str(key) for key in data)  # names only
    del document, data  # nothing else of the Secret is kept
    if not encoded:
        if not any(marker in present for marker in ISSUED_MARKERS):
            raise CaCertificateUnavailable(
                f"{ref} is not there yet: the Secret holds {', '.join(present) or 'no keys'}, so cert-manager "
                "has not issued its Certificate yet"
            )
        raise CaCertificateError(
            f"{ref} does not exist: the issued Secret holds {', '.join(present)}; name one of those keys"
        )
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise CaCertificateError(f"{ref} is not base64 as the Kubernetes API encodes Secret data") from None


def _refusal(ref: SecretKeyRef, host: str, status: int | None, reason: str | None) -> CaCertificateError:
    """The error for an API answer other than 200; the answer's body is never repeated."""
    if status == 404:
        return CaCertificateUnavailable(
            f"{ref} is not there yet: the Secret does not exist (cert-manager creates it when it issues the "
            "Certificate that names it)"
        )
    if status == 401:
        return CaCertificateError(
            f"the Kubernetes API at {host} refused the kubeconfig's credentials (401 {reason}) while reading "
            f"{ref}: the token or client certificate is expired or not the cluster's"
        )
    if status == 403:
        return CaCertificateError(
            f"the kubeconfig's user may not read {ref} (403 {reason}): it needs `get` on secrets in namespace "
            f"{ref.namespace}"
        )
    if status is not None and (status == 429 or status >= 500):
        return CaCertificateUnavailable(
            f"the Kubernetes API at {host} answered {status} {reason} reading {ref}"
        )
    return CaCertificateError(f"the Kubernetes API at {host} answered {status} {reason} reading {ref}")


def read_ca_certificate(
    kubeconfig: str,
    ref: SecretKeyRef,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """The CA certificates in `ref` as PEM, waiting up to `wait_seconds` for cert-manager to issue them."""
    deadline = clock() + wait_seconds
    with kubernetes_api(kubeconfig) as (core, host):
        while True:
            try:
                return ca_certificates_pem(_read_key(core, host, ref), ref)
            except CaCertificateUnavailable as pending:
                remaining = deadline - clock()
                if remaining <= 0:
                    raise CaCertificateUnavailable(
                        f"{pending}; gave up after waiting {wait_seconds:g} s. See whether cert-manager issued "
                        f"it: `kubectl -n {ref.namespace} get certificates,secrets` and `kubectl -n "
                        f"{ref.namespace} describe certificates`"
                    ) from None
                _log.info("%s; retrying for %.0f s more", pending, remaining)
                sleep(min(poll_seconds, remaining))


# --------------------------------------------------------------------------------------------------
# The Pulumi resource
# --------------------------------------------------------------------------------------------------


def _is_unknown(value: Any) -> bool:
    """During preview, inputs computed from other resources (a new cluster's kubeconfig) arrive as this."""
    return isinstance(value, str) and value == rpc.UNKNOWN


def _identity(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "namespace": props.get("namespace"),
        "name": props.get("name"),
        "key": props.get("key") or DEFAULT_KEY,
    }


def _wait_seconds(props: Mapping[str, Any]) -> float:
    value = props.get("wait_seconds")
    return DEFAULT_WAIT_SECONDS if value is None else float(value)


def _outputs(ref: SecretKeyRef, certificate: str) -> dict[str, Any]:
    """Where the certificate was read and the certificate: no kubeconfig, nothing else of the Secret."""
    return {**ref.to_props(), "certificate": certificate}


class ClusterCaCertificateProvider(pulumi.dynamic.ResourceProvider):
    """Reads the CA certificate on create, update and diff; see the module docstring."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        props = {key: value for key, value in news.items() if value is not None}
        failures: list[CheckFailure] = []
        if not any(_is_unknown(props.get(field)) for field in IDENTITY):
            try:
                props.update(SecretKeyRef.from_props(props).to_props())
            except InvalidReference as error:
                failures.append(CheckFailure(error.property, str(error)))
        kubeconfig = props.get("kubeconfig")
        if not _is_unknown(kubeconfig) and (not isinstance(kubeconfig, str) or not kubeconfig.strip()):
            failures.append(
                CheckFailure("kubeconfig", "kubeconfig must be the cluster's kubeconfig (YAML text)")
            )
        wait = props.get("wait_seconds")
        if (
            wait is not None
            and not _is_unknown(wait)
            and (isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0)
        ):
            failures.append(
                CheckFailure("wait_seconds", f"wait_seconds {wait!r} must be a number of seconds >= 0")
            )
        return CheckResult(props, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = _identity(olds), _identity(news)
        moved = [field for field in IDENTITY if _is_unknown(new[field]) or new[field] != old[field]]
        if moved:
            return DiffResult(changes=True, replaces=moved, delete_before_replace=False)
        if _is_unknown(news.get("kubeconfig")) or _is_unknown(news.get("wait_seconds")):
            # A cluster being rebuilt: read again once its kubeconfig is known.
            return DiffResult(changes=True, replaces=[], delete_before_replace=False)
        try:
            live = read_ca_certificate(news["kubeconfig"], SecretKeyRef.from_props(news), wait_seconds=0)
        except CaCertificateUnavailable:
            # Gone for now (cert-manager re-issuing, API unreachable): the update waits for it and says why.
            return DiffResult(changes=True, replaces=[], delete_before_replace=False)
        return DiffResult(changes=live != olds.get("certificate"), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        ref = SecretKeyRef.from_props(props)
        certificate = read_ca_certificate(props["kubeconfig"], ref, wait_seconds=_wait_seconds(props))
        return CreateResult(ref.resource_id, _outputs(ref, certificate))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        ref = SecretKeyRef.from_props(news)
        return UpdateResult(
            _outputs(ref, read_ca_certificate(news["kubeconfig"], ref, wait_seconds=_wait_seconds(news)))
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # The recorded outputs hold no kubeconfig to reach the cluster with: keep them (see the docstring).
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leaves the Secret alone: it belongs to cert-manager."""


class ClusterCaCertificateArgs(TypedDict):
    kubeconfig: pulumi.Input[str]
    """The cluster's kubeconfig (KubernetesCluster.kubeconfig); kept secret, never an output."""
    namespace: pulumi.Input[str]
    """Namespace of the Secret, e.g. `cert-manager`."""
    name: pulumi.Input[str]
    """Name of the Secret cert-manager writes the CA to, e.g. `internal-ca`."""
    key: NotRequired[pulumi.Input[str]]
    """The Secret's key holding the CA certificate (default `ca.crt`); the only key ever read."""
    wait_seconds: NotRequired[pulumi.Input[float]]
    """How long to wait for cert-manager to issue it (default 300)."""


class ClusterCaCertificate(pulumi.dynamic.Resource, module=_MODULE, name="ClusterCaCertificate"):
    """The PEM CA certificate in one key of a Secret; the Secret's other keys never reach Pulumi."""

    certificate: pulumi.Output[str]
    """The CA certificate(s), PEM: public, for clients of the services the CA signed."""
    namespace: pulumi.Output[str]
    name: pulumi.Output[str]
    key: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: ClusterCaCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Cluster-admin credentials on bare metal: secret in state, whichever way they arrive.
        props = {"certificate": None, **dict(args), "kubeconfig": pulumi.Output.secret(args["kubeconfig"])}
        super().__init__(ClusterCaCertificateProvider(), resource_name, props, opts)


__all__ = [
    "DEFAULT_KEY",
    "CaCertificateError",
    "CaCertificateUnavailable",
    "ClusterCaCertificate",
    "ClusterCaCertificateArgs",
    "ClusterCaCertificateProvider",
    "InvalidReference",
    "SecretKeyRef",
    "ca_certificates_pem",
    "internal_ca_ref",
    "kubernetes_api",
    "read_ca_certificate",
]
