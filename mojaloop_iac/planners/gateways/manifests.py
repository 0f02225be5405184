"""Istio resources the stack creates itself: mesh-wide mutual TLS and the three gateways' `Gateway`s.

Each `Gateway` is named after its contract gateway and lives in that gateway's namespace, so the
VirtualServices' `<namespace>/<name>` (mojaloop_iac/contract.py) refers to it.
"""

from __future__ import annotations

from typing import Any, Final

from mojaloop_iac import contract
from mojaloop_iac.planners.gateways.inputs import HTTP_PORT, HTTPS_PORT, IngressGateway

NETWORKING_API: Final = "networking.istio.io/v1"
SECURITY_API: Final = "security.istio.io/v1"
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "mojaloop-iac"}
# Older TLS versions are broken; Envoy's default minimum is the same, stated so no default can lower it.
MIN_TLS_VERSION: Final = "TLSV1_2"


def mesh_wide_strict_mtls(istio_root_namespace: str) -> dict[str, Any]:
    """In Istio's root namespace and without a selector, a PeerAuthentication applies to the whole mesh:
    sidecars and gateways accept only mutual-TLS traffic from other mesh workloads."""
    return {
        "apiVersion": SECURITY_API,
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": istio_root_namespace, "labels": dict(MANAGED_BY)},
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def internal_gateway(gateway: IngressGateway, domain: str, tls_secret: str) -> dict[str, Any]:
    """Hub operators and portals: server TLS only; who may do what is the ext-authz provider's call."""
    return _ingress_gateway(gateway, domain, {"mode": "SIMPLE", "credentialName": tls_secret})


def external_gateway(
    gateway: IngressGateway,
    domain: str,
    tls_secret: str,
    client_ca_secret: str,
    *,
    explicit_ca_credential: bool = True,
) -> dict[str, Any]:
    """The FSPIOP interop API: every DFSP presents a client certificate signed by the client CA.

    The client CA Secret is `<credentialName>-cacert`, which every Istio release reads before the server
    certificate's own `ca.crt` (cert-manager writes the server certificate's issuer there, not the CA that
    signs DFSPs). `caCertCredentialName` (Istio 1.28 and later, `explicit_ca_credential`) also names it.
    """
    tls = {"mode": "MUTUAL", "credentialName": tls_secret}
    if explicit_ca_credential:
        tls["caCertCredentialName"] = client_ca_secret
    return _ingress_gateway(gateway, domain, tls)


def egress_gateway() -> dict[str, Any]:
    """Callbacks to DFSPs leave the mesh through the egress gateway.

    The Gateway accepts only Istio mutual TLS (ISTIO_MUTUAL): only mesh workloads, with their mesh
    identity, can send through it, so it is no open relay. It lists every host because DFSPs' callback
    hosts are known only at onboarding: what it forwards, and how (TLS origination with the hub's client
    certificate), is decided per DFSP by a ServiceEntry, a VirtualService bound to
    `egress-gateway/callback-egress-gateway` and a DestinationRule, made when the DFSP is onboarded.
    Without those a host has no route here.
    """
    return _gateway(
        contract.EGRESS_GATEWAY_NAME,
        contract.EGRESS_GATEWAY_NAMESPACE,
        [
            {
                "port": {"number": HTTPS_PORT[1], "name": "https-callbacks", "protocol": "HTTPS"},
                "hosts": ["*"],
                "tls": {"mode": "ISTIO_MUTUAL"},
            }
        ],
    )


def tenant_gateway(name: str, gateway: IngressGateway, domain: str, tls_secret: str) -> dict[str, Any]:
    """A Gateway of its own for an environment sharing `gateway`'s pods (a QA environment on a shared QA
    cluster): its hosts, its certificate, in the gateway's namespace where the pods read Secrets."""
    return _ingress_gateway(gateway, domain, {"mode": "SIMPLE", "credentialName": tls_secret}, name=name)


def _ingress_gateway(
    gateway: IngressGateway, domain: str, tls: dict[str, Any], *, name: str | None = None
) -> dict[str, Any]:
    hosts = [f"*.{domain}"]
    servers = [
        {
            "port": {"number": HTTPS_PORT[1], "name": "https", "protocol": "HTTPS"},
            "hosts": hosts,
            "tls": {**tls, "minProtocolVersion": MIN_TLS_VERSION},
        },
        {
            "port": {"number": HTTP_PORT[1], "name": "http", "protocol": "HTTP"},
            "hosts": hosts,
            # Plain HTTP only ever answers with a redirect to HTTPS.
            "tls": {"httpsRedirect": True},
        },
    ]
    return _gateway(name or gateway.name, gateway.namespace, servers, selector=gateway.name)


def _gateway(name: str, namespace: str, servers: list[dict[str, Any]], *, selector: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": NETWORKING_API,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        # The gateway chart labels its pods `istio: <release name>` (planners/gateways/releases.py).
        "spec": {"selector": {"istio": selector or name}, "servers": servers},
    }
