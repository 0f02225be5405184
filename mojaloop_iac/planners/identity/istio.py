"""Istio policies on the gateways: DFSP JWTs on the external one, Oathkeeper for hub operators on the
internal one, and the istiod extension provider that names Oathkeeper.

Gateway pods are selected by the label `istio: <gateway name>`, the label Mojaloop's own gateway
deployments carry (mojaloop/iac-modules gateway values), with the names from mojaloop_iac.contract.
"""

from __future__ import annotations

from typing import Any, Final

from mojaloop_iac import contract
from mojaloop_iac.planners.identity.inputs import OATHKEEPER_EXTENSION_PROVIDER
from mojaloop_iac.planners.identity.keycloak import MANAGED_BY
from mojaloop_iac.planners.identity.ory import OATHKEEPER_API_PORT, OATHKEEPER_API_SERVICE, USER_HEADER

SECURITY_API: Final = "security.istio.io/v1"
GATEWAY_POD_LABEL: Final = "istio"


def gateway_selector(gateway_name: str) -> dict[str, Any]:
    return {"matchLabels": {GATEWAY_POD_LABEL: gateway_name}}


def _host_patterns(hosts: tuple[str, ...]) -> list[str]:
    # A Host header may carry the port; match the name with and without one.
    return [pattern for host in hosts for pattern in (host, f"{host}:*")]


# The gateways by name: (namespace, gateway pods' `istio` label).
GATEWAYS: Final = {
    "external": (contract.EXTERNAL_GATEWAY_NAMESPACE, contract.EXTERNAL_GATEWAY_NAME),
    "internal": (contract.INTERNAL_GATEWAY_NAMESPACE, contract.INTERNAL_GATEWAY_NAME),
}


def dfsp_jwt_authentication(issuer: str, jwks_uri: str, gateway: str = "external") -> dict[str, Any]:
    """Validate DFSP tokens from the `dfsps` realm at a gateway serving the FSPIOP API."""
    namespace, name = GATEWAYS[gateway]
    return {
        "apiVersion": SECURITY_API,
        "kind": "RequestAuthentication",
        "metadata": {"name": "dfsp-jwt", "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "selector": gateway_selector(name),
            "jwtRules": [{"issuer": issuer, "jwksUri": jwks_uri}],
        },
    }


def gateway_allow(gateway: str, name: str, hosts: tuple[str, ...], issuer: str | None = None) -> dict[str, Any]:
    """What a gateway lets through, host by host, over its namespace's deny-by-default: every request to
    `hosts`, or (with `issuer`) only those carrying a valid token from it."""
    namespace, selector = GATEWAYS[gateway]
    rule: dict[str, Any] = {"to": [{"operation": {"hosts": _host_patterns(hosts)}}]}
    if issuer is not None:
        rule["from"] = [{"source": {"requestPrincipals": [f"{issuer}/*"]}}]
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {"selector": gateway_selector(selector), "action": "ALLOW", "rules": [rule]},
    }


def dfsp_jwt_required(issuer: str, fspiop_hosts: tuple[str, ...], gateway: str = "external") -> dict[str, Any]:
    """A RequestAuthentication alone lets requests without a token through: refuse those on the FSPIOP
    hosts (the Keycloak token endpoint on the same gateway stays reachable, or DFSPs could not get one)."""
    namespace, name = GATEWAYS[gateway]
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "dfsp-jwt-required", "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "selector": gateway_selector(name),
            "action": "DENY",
            "rules": [
                {
                    "from": [{"source": {"notRequestPrincipals": [f"{issuer}/*"]}}],
                    "to": [{"operation": {"hosts": _host_patterns(fspiop_hosts)}}],
                }
            ],
        },
    }


def hub_operator_ext_authz(api_hosts: tuple[str, ...]) -> dict[str, Any]:
    """Every request to a hub-operator API host is decided by Oathkeeper before it is routed."""
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {
            "name": "hub-operator-apis",
            "namespace": contract.INTERNAL_GATEWAY_NAMESPACE,
            "labels": dict(MANAGED_BY),
        },
        "spec": {
            "selector": gateway_selector(contract.INTERNAL_GATEWAY_NAME),
            "action": "CUSTOM",
            "provider": {"name": OATHKEEPER_EXTENSION_PROVIDER},
            "rules": [{"to": [{"operation": {"hosts": _host_patterns(api_hosts)}}]}],
        },
    }


def oathkeeper_extension_provider(ory_namespace: str) -> dict[str, Any]:
    """istiod's `meshConfig.extensionProviders` entry: Envoy asks Oathkeeper's decisions API."""
    return {
        "name": OATHKEEPER_EXTENSION_PROVIDER,
        "envoyExtAuthzHttp": {
            "service": f"{OATHKEEPER_API_SERVICE}.{ory_namespace}.svc.cluster.local",
            "port": OATHKEEPER_API_PORT,
            "pathPrefix": "/decisions",
            "timeout": "5s",
            # Closed on failure: an unreachable Oathkeeper refuses hub-operator requests.
            "failOpen": False,
            "statusOnError": "503",
            # Host, method and path go anyway; the session cookie and the scheme make the decision.
            "includeRequestHeadersInCheck": ["cookie", "x-forwarded-proto"],
            "headersToUpstreamOnAllow": [USER_HEADER.lower()],
            # Oathkeeper's error bodies, and its redirect of browsers to the sign-in page.
            "headersToDownstreamOnDeny": ["content-type", "location"],
        },
    }
