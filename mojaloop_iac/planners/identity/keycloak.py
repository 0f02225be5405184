"""Keycloak through its operator: the `Keycloak` resource, the two realms, and the routes to it.

Realm imports are create-only: the operator imports a realm that does not exist yet and never
overwrites one, so later edits made in Keycloak survive a re-run (and changes here do not reach an
existing realm). Neither realm carries a user or a password; the one client secret (Kratos') is a
placeholder the operator fills from a Vault-generated Secret.
"""

from __future__ import annotations

from typing import Any, Final

from mojaloop_iac import contract
from mojaloop_iac.charts.repository import PinnedFile
from mojaloop_iac.planners.identity.credentials import DatabaseAccount, IdentitySecret
from mojaloop_iac.planners.identity.inputs import (
    DFSP_REALM,
    HUB_OPERATOR_REALM,
    KEYCLOAK_HTTP_PORT,
    KEYCLOAK_NAME,
    ManifestSource,
)
from mojaloop_iac.planners.placement import Scheduling

KEYCLOAK_API: Final = "k8s.keycloak.org/v2alpha1"
ISTIO_NETWORKING_API: Final = "networking.istio.io/v1"
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "mojaloop-iac", "app.kubernetes.io/part-of": "identity"}

# The hub-operators realm's client that Kratos signs operators in with (OpenID Connect).
KRATOS_CLIENT_ID: Final = "kratos"
# Environment placeholder in the realm import, filled by the operator from `spec.placeholders`.
KRATOS_CLIENT_SECRET_PLACEHOLDER: Final = "KRATOS_CLIENT_SECRET"
# Access tokens live five minutes: a DFSP fetches a new one with its client credentials.
ACCESS_TOKEN_LIFESPAN_SECONDS: Final = 300
HUB_OPERATOR_PASSWORD_POLICY: Final = "length(14) and notUsername and notEmail and passwordHistory(5)"


OPERATOR_SOURCE: Final = "keycloak-operator"


def operator_source(pin: dict[str, Any]) -> ManifestSource:
    base, version = pin["repo"].rstrip("/"), pin["version"]
    files = tuple(
        PinnedFile(
            url=f"{base}/{version}/{file['path']}",
            sha256=file["sha256"],
            mirror_path=f"manifests/{OPERATOR_SOURCE}-{version}/{file['path'].rsplit('/', 1)[-1]}",
        )
        for file in pin["files"]
    )
    return ManifestSource(name=OPERATOR_SOURCE, namespace=pin["namespace"], version=version, files=files)


def service_host(namespace: str) -> str:
    return f"{KEYCLOAK_NAME}-service.{namespace}.svc.cluster.local"


def realm_issuer(keycloak_url: str, realm: str) -> str:
    """The `iss` of the realm's tokens: the frontend URL Keycloak is configured with."""
    return f"{keycloak_url}/realms/{realm}"


def jwks_uri(namespace: str, realm: str) -> str:
    """In-cluster: istiod fetches the keys straight from Keycloak, not through a gateway."""
    return (
        f"http://{service_host(namespace)}:{KEYCLOAK_HTTP_PORT}/realms/{realm}/protocol/openid-connect/certs"
    )


def keycloak(
    namespace: str,
    keycloak_url: str,
    database: DatabaseAccount,
    db_secret: IdentitySecret,
    admin_secret: IdentitySecret,
    scheduling: Scheduling | None,
    image: str | None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "instances": 1,
        "db": {
            "vendor": "mysql",
            "host": database.host,
            "port": database.port,
            "database": database.database,
            "usernameSecret": db_secret.selector("username"),
            "passwordSecret": db_secret.selector("mysql-password"),
        },
        # The operator reads `username` and `password` from this Secret for the first (temporary) admin.
        "bootstrapAdmin": {"user": {"secret": admin_secret.name}},
        # TLS ends at the Istio gateway; Keycloak trusts only its X-Forwarded-* headers.
        "http": {"httpEnabled": True, "httpPort": KEYCLOAK_HTTP_PORT},
        "proxy": {"headers": "xforwarded"},
        # Tokens always name the frontend URL as issuer; in-cluster callers may use the Service.
        "hostname": {"hostname": keycloak_url, "strict": True, "backchannelDynamic": True},
        "ingress": {"enabled": False},
    }
    if image is not None:
        spec["image"] = image
        # The stock image is not pre-built for MySQL: let it build at start, as the default image does.
        spec["startOptimized"] = False
    if scheduling is not None:
        spec["scheduling"] = {
            "affinity": dict(scheduling.affinity),
            "tolerations": [dict(t) for t in scheduling.tolerations],
        }
    return {
        "apiVersion": KEYCLOAK_API,
        "kind": "Keycloak",
        "metadata": {"name": KEYCLOAK_NAME, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


def _realm_defaults(realm: str, display_name: str) -> dict[str, Any]:
    return {
        "realm": realm,
        "displayName": display_name,
        "enabled": True,
        "sslRequired": "all",
        "registrationAllowed": False,
        "resetPasswordAllowed": False,
        "rememberMe": False,
        "editUsernameAllowed": False,
        "bruteForceProtected": True,
        "permanentLockout": False,
        "failureFactor": 5,
        "defaultSignatureAlgorithm": "RS256",
        "accessTokenLifespan": ACCESS_TOKEN_LIFESPAN_SECONDS,
        "revokeRefreshToken": True,
        "refreshTokenMaxReuse": 0,
    }


def dfsp_realm_import(namespace: str) -> dict[str, Any]:
    """DFSPs' realm: each DFSP gets a confidential client (client credentials) when it is onboarded."""
    realm = _realm_defaults(DFSP_REALM, "DFSPs")
    return _realm_import(namespace, realm, placeholders=None)


def hub_operator_realm_import(namespace: str, auth_url: str, client_secret: IdentitySecret) -> dict[str, Any]:
    """Hub operators' realm, with the client Kratos signs them in through (code flow, PKCE, confidential)."""
    realm = _realm_defaults(HUB_OPERATOR_REALM, "Hub operators")
    realm["passwordPolicy"] = HUB_OPERATOR_PASSWORD_POLICY
    realm["clients"] = [
        {
            "clientId": KRATOS_CLIENT_ID,
            "name": "Ory Kratos (hub operator sign-in)",
            "protocol": "openid-connect",
            "enabled": True,
            "publicClient": False,
            "clientAuthenticatorType": "client-secret",
            "secret": "${" + KRATOS_CLIENT_SECRET_PLACEHOLDER + "}",
            "standardFlowEnabled": True,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": False,
            "consentRequired": False,
            "fullScopeAllowed": False,
            # Kratos returns to the per-provider callback, or to the generic one when it uses PKCE.
            "redirectUris": [
                f"{auth_url}/self-service/methods/oidc/callback/keycloak",
                f"{auth_url}/self-service/methods/oidc/callback",
            ],
            "webOrigins": [auth_url],
            "attributes": {
                "pkce.code.challenge.method": "S256",
                "post.logout.redirect.uris": f"{auth_url}/*",
            },
        }
    ]
    placeholders = {KRATOS_CLIENT_SECRET_PLACEHOLDER: {"secret": client_secret.selector("client-secret")}}
    return _realm_import(namespace, realm, placeholders)


def _realm_import(
    namespace: str, realm: dict[str, Any], placeholders: dict[str, Any] | None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"keycloakCRName": KEYCLOAK_NAME, "realm": realm}
    if placeholders:
        spec["placeholders"] = placeholders
    return {
        "apiVersion": KEYCLOAK_API,
        "kind": "KeycloakRealmImport",
        "metadata": {"name": f"realm-{realm['realm']}", "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


def virtual_services(namespace: str, internal_host: str, external_host: str) -> list[dict[str, Any]]:
    destination = {"host": service_host(namespace), "port": {"number": KEYCLOAK_HTTP_PORT}}
    return [
        _virtual_service(
            "keycloak",
            namespace,
            internal_host,
            contract.INTERNAL_GATEWAY,
            [{"name": "keycloak", "route": [{"destination": destination}]}],
        ),
        # Only the DFSP realm's OpenID Connect endpoints (token, certs) face DFSPs; not the admin console.
        _virtual_service(
            "keycloak-dfsp-token",
            namespace,
            external_host,
            contract.EXTERNAL_GATEWAY,
            [
                {
                    "name": "dfsp-openid-connect",
                    "match": [{"uri": {"prefix": f"/realms/{DFSP_REALM}/protocol/openid-connect/"}}],
                    "route": [{"destination": destination}],
                }
            ],
        ),
    ]


def _virtual_service(
    name: str, namespace: str, host: str, gateway: str, http: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "apiVersion": ISTIO_NETWORKING_API,
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {"hosts": [host], "gateways": [gateway], "http": http},
    }
