"""Ory for hub operators: Kratos holds their identities (signed in through Keycloak's `hub-operators`
realm), Keto their permissions, and Oathkeeper decides, as Istio's external authorizer, whether a request
to a hub-operator API may pass: Kratos session cookie -> Keto check -> `X-User` header upstream.

Every request to a hub-operator host goes to Oathkeeper; one that matches no access rule is refused, so a
new API path is closed until a rule opens it. The rules are plan data: the chart writes them into its own
rules ConfigMap (`managedAccessRules`), which Oathkeeper watches. Not Maester, which would copy `Rule`
objects into that ConfigMap: Oathkeeper's pods mount it, Maester makes it only once a Rule exists, and the
Rules need the chart's CRD, so a first install waited for a ConfigMap that could only come after it (and
Maester's chart grants itself every ConfigMap of the cluster). Permissions are Keto relation tuples
`hub-operator-apis:<api id>#<read|write>@<Kratos identity id>`, granted by an administrator through
Keto's write API (not planned here: they are data, not infrastructure).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mojaloop_iac import contract
from mojaloop_iac.planners.identity.credentials import IdentitySecret
from mojaloop_iac.planners.identity.inputs import HUB_OPERATOR_REALM, KETO, KRATOS, OATHKEEPER, SecretKeyRef
from mojaloop_iac.planners.identity.keycloak import KRATOS_CLIENT_ID, MANAGED_BY, realm_issuer
from mojaloop_iac.planners.placement import Scheduling

EXTERNAL_SECRETS_API: Final = "external-secrets.io/v1"

KRATOS_PUBLIC_SERVICE: Final = f"{KRATOS}-public"
KETO_READ_SERVICE: Final = f"{KETO}-read"
OATHKEEPER_API_SERVICE: Final = f"{OATHKEEPER}-api"
OATHKEEPER_API_PORT: Final = 4456
SERVICE_PORT: Final = 80  # Kratos' and Keto's Services

SESSION_COOKIE: Final = "ory_kratos_session"
IDENTITY_SCHEMA_ID: Final = "hub-operator"
IDENTITY_SCHEMA_FILE: Final = "identity.hub-operator.schema.json"
OIDC_PROVIDER_ID: Final = "keycloak"
KETO_API_NAMESPACE: Final = "hub-operator-apis"
# Relation per kind of access; a write permission does not imply read (grant both tuples).
ACCESS_METHODS: Final = {"read": ("GET", "HEAD"), "write": ("POST", "PUT", "PATCH", "DELETE")}
USER_HEADER: Final = "X-User"

# Oathkeeper's config enables exactly these handlers, the only ones the access rules name.
AUTHENTICATORS: Final = ("cookie_session",)
AUTHORIZERS: Final = ("remote_json",)
MUTATORS: Final = ("header",)

# Kratos must be given an SMTP URI once the chart renders a `courier` section, although no flow here
# sends mail (verification and recovery are off): an unresolvable host (RFC 2606) and no credentials.
NO_MAIL_SERVER: Final = "smtps://mail.invalid:465/"

# Maps the hub-operators realm's ID-token claims onto the identity traits below.
_CLAIMS_MAPPER = """local claims = std.extVar('claims');
{
  identity: {
    traits: {
      email: claims.email,
      [if 'name' in claims then 'name' else null]: claims.name,
    },
  },
}
"""

_IDENTITY_SCHEMA = {
    "$id": "https://mojaloop.io/schemas/identity/hub-operator.schema.json",
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Hub operator",
    "type": "object",
    "properties": {
        "traits": {
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email", "title": "E-mail"},
                "name": {"type": "string", "title": "Name"},
            },
            "required": ["email"],
            "additionalProperties": False,
        }
    },
}

# The ExternalSecret that copies the Kratos client secret from Keycloak's namespace into Ory's.
KRATOS_CLIENT_READER: Final = "kratos-client-secret-reader"
KEYCLOAK_SECRETS_STORE: Final = "keycloak-namespace"
OIDC_PROVIDERS_SECRET: Final = "kratos-oidc-providers"
OIDC_PROVIDERS_KEY: Final = "providers"
_CLIENT_SECRET_TEMPLATE_KEY: Final = "clientSecret"


@dataclass(frozen=True)
class HubOperatorApi:
    id: str  # a tool host id of config/mojaloop-values.yaml
    host: str


def service_url(service: str, namespace: str, port: int = SERVICE_PORT, path: str = "") -> str:
    return f"http://{service}.{namespace}.svc.cluster.local:{port}{path}"


def _scheduling_values(scheduling: Scheduling | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if scheduling is None:
        return {}, []
    return dict(scheduling.affinity), [dict(t) for t in scheduling.tolerations]


def _registry_values(registry: str | None) -> dict[str, Any]:
    # The Ory charts prefix every image (Ory's, busybox) with `global.imageRegistry` instead of docker.io.
    return {"global": {"imageRegistry": registry}} if registry else {}


def kratos_values(
    *,
    namespace: str,
    internal_domain: str,
    auth_url: str,
    keycloak_url: str,
    return_hosts: tuple[str, ...],
    secret: IdentitySecret,
    providers_ref: SecretKeyRef,
    scheduling: Scheduling | None,
    registry: str | None,
) -> dict[str, Any]:
    affinity, tolerations = _scheduling_values(scheduling)
    for key in ("dsn", "secretsDefault", "secretsCookie", "secretsCipher", "smtpConnectionURI"):
        secret.ref(key)  # the chart reads these keys from the Secret it is pointed at
    return {
        **_registry_values(registry),
        # The chart would generate its own secrets and DSN; it reads ours instead (keys above).
        "secret": {"enabled": False, "nameOverride": secret.name},
        "courier": {"enabled": False},
        "kratos": {
            "automigration": {"enabled": True, "type": "initContainer"},
            "identitySchemas": {IDENTITY_SCHEMA_FILE: json.dumps(_IDENTITY_SCHEMA, indent=2, sort_keys=True)},
            "config": {
                "serve": {
                    "public": {"base_url": f"{auth_url}/", "cors": {"enabled": False}},
                    "admin": {"base_url": service_url(f"{KRATOS}-admin", namespace, path="/")},
                },
                "identity": {
                    "default_schema_id": IDENTITY_SCHEMA_ID,
                    "schemas": [
                        {"id": IDENTITY_SCHEMA_ID, "url": f"file:///etc/config/{IDENTITY_SCHEMA_FILE}"}
                    ],
                },
                "selfservice": {
                    "default_browser_return_url": f"{auth_url}/",
                    "allowed_return_urls": [f"{auth_url}/", *(f"https://{host}/" for host in return_hosts)],
                    # Hub operators sign in through Keycloak only; Kratos holds no passwords.
                    "methods": {"password": {"enabled": False}, "oidc": {"enabled": True}},
                    "flows": {
                        "login": {"ui_url": f"{auth_url}/ui/login", "lifespan": "10m"},
                        # A first sign-in through Keycloak registers the identity, then logs it in.
                        "registration": {
                            "enabled": True,
                            "ui_url": f"{auth_url}/ui/registration",
                            "lifespan": "10m",
                            "after": {"oidc": {"hooks": [{"hook": "session"}]}},
                        },
                        "settings": {"ui_url": f"{auth_url}/ui/settings"},
                        "error": {"ui_url": f"{auth_url}/ui/error"},
                        "verification": {"enabled": False},
                        "recovery": {"enabled": False},
                        "logout": {
                            "after": {
                                "default_browser_return_url": (
                                    f"{realm_issuer(keycloak_url, HUB_OPERATOR_REALM)}"
                                    "/protocol/openid-connect/logout"
                                )
                            }
                        },
                    },
                },
                # The cookie covers every hub-operator host on the internal domain, nothing outside it.
                "session": {
                    "lifespan": "8h",
                    "cookie": {"domain": internal_domain, "same_site": "Lax", "persistent": False},
                },
                "cookies": {"domain": internal_domain, "same_site": "Lax"},
                "ciphers": {"algorithm": "xchacha20-poly1305"},
                "courier": {"smtp": {"connection_uri": NO_MAIL_SERVER}},
                "log": {"level": "info", "format": "json", "leak_sensitive_values": False},
            },
        },
        "deployment": {
            "affinity": affinity,
            "tolerations": tolerations,
            # The OIDC provider list holds the client secret: it comes from a Secret, as an env variable.
            "extraEnv": [
                {
                    "name": "SELFSERVICE_METHODS_OIDC_CONFIG_PROVIDERS",
                    "valueFrom": {"secretKeyRef": {"name": providers_ref.name, "key": providers_ref.key}},
                }
            ],
        },
        "job": {"tolerations": tolerations},
    }


def oidc_providers_template(keycloak_url: str) -> str:
    """Kratos' OIDC provider list, as External Secrets template text around the copied client secret."""
    mapper = base64.b64encode(_CLAIMS_MAPPER.encode()).decode()
    providers = [
        {
            "id": OIDC_PROVIDER_ID,
            "provider": "generic",
            "label": "Hub operator sign-in",
            "client_id": KRATOS_CLIENT_ID,
            "client_secret": "{{ ." + _CLIENT_SECRET_TEMPLATE_KEY + " }}",
            "issuer_url": realm_issuer(keycloak_url, HUB_OPERATOR_REALM),
            "mapper_url": f"base64://{mapper}",
            "scope": ["openid", "profile", "email"],
        }
    ]
    return json.dumps(providers, separators=(",", ":"))


def keto_values(
    *, secret: IdentitySecret, scheduling: Scheduling | None, registry: str | None
) -> dict[str, Any]:
    affinity, tolerations = _scheduling_values(scheduling)
    secret.ref("dsn")
    return {
        **_registry_values(registry),
        "secret": {"enabled": False, "nameOverride": secret.name},
        "keto": {
            "automigration": {"enabled": True, "type": "initContainer"},
            "config": {
                "namespaces": [{"id": 0, "name": KETO_API_NAMESPACE}],
                "log": {"level": "info", "format": "json"},
            },
        },
        # Oathkeeper calls Keto's REST API over HTTP/1.1: name the ports so the mesh does not take them
        # for gRPC (the chart's default), which would break those calls.
        "service": {
            "read": {"name": "http-read", "appProtocol": "http"},
            "write": {"name": "http-write", "appProtocol": "http"},
        },
        "deployment": {"affinity": affinity, "tolerations": tolerations},
        "job": {"tolerations": tolerations},
    }


def keto_check_url(namespace: str) -> str:
    return service_url(KETO_READ_SERVICE, namespace, path="/relation-tuples/check")


def _keto_payload(object_id: str, relation: str) -> str:
    # Oathkeeper renders `{{ print .Subject }}` (the Kratos identity id); the rest is fixed per Rule.
    return json.dumps(
        {
            "namespace": KETO_API_NAMESPACE,
            "object": object_id,
            "relation": relation,
            "subject_id": "{{ print .Subject }}",
        },
        sort_keys=True,
    )


def oathkeeper_values(
    *,
    namespace: str,
    auth_url: str,
    access_rules: list[dict[str, Any]],
    scheduling: Scheduling | None,
    registry: str | None,
) -> dict[str, Any]:
    affinity, tolerations = _scheduling_values(scheduling)
    handler_config = {
        "authenticators": {
            "cookie_session": {
                "enabled": True,
                "config": {
                    "check_session_url": service_url(
                        KRATOS_PUBLIC_SERVICE, namespace, path="/sessions/whoami"
                    ),
                    "preserve_path": True,
                    "only": [SESSION_COOKIE],
                    "subject_from": "identity.id",
                    "extra_from": "@this",
                },
            }
        },
        "authorizers": {
            # Each Rule sets its own payload; this default asks about nothing and so is never allowed.
            "remote_json": {
                "enabled": True,
                "config": {"remote": keto_check_url(namespace), "payload": _keto_payload("none", "none")},
            }
        },
        "mutators": {
            "header": {"enabled": True, "config": {"headers": {USER_HEADER: "{{ print .Subject }}"}}}
        },
    }
    return {
        **_registry_values(registry),
        "oathkeeper": {
            # The chart owns the rules ConfigMap, with the planned rules: it exists from the first install.
            "managedAccessRules": True,
            "accessRules": json.dumps(access_rules, indent=2, sort_keys=True),
            "config": {
                "log": {"level": "info", "format": "json"},
                "access_rules": {
                    "matching_strategy": "regexp",
                    "repositories": ["file:///etc/rules/access-rules.json"],
                },
                "serve": {
                    "proxy": {"port": 4455},
                    "api": {"port": OATHKEEPER_API_PORT},
                    "prometheus": {"port": 9000},
                },
                **handler_config,
                "errors": {
                    "fallback": ["json"],
                    "handlers": {
                        "json": {"enabled": True, "config": {"verbose": False}},
                        # A browser without a session is sent to sign in, and back afterwards.
                        "redirect": {
                            "enabled": True,
                            "config": {
                                "to": f"{auth_url}/self-service/login/browser",
                                "return_to_query_param": "return_to",
                                "when": [
                                    {
                                        "error": ["unauthorized"],
                                        "request": {"header": {"accept": ["text/html"]}},
                                    }
                                ],
                            },
                        },
                    },
                },
            },
        },
        "maester": {"enabled": False},
        "deployment": {"tolerations": tolerations},
        "affinity": affinity,
    }


def oathkeeper_access_rules(namespace: str, apis: tuple[HubOperatorApi, ...]) -> list[dict[str, Any]]:
    """One rule per API and kind of access (Oathkeeper's access rule format)."""
    rules = []
    for api in apis:
        for relation, methods in ACCESS_METHODS.items():
            rules.append(
                {
                    "id": f"{api.id}-{relation}",
                    # Regexp strategy: only the parts in <> are patterns, the host is literal.
                    "match": {"url": f"<https|http>://{api.host}/<.*>", "methods": list(methods)},
                    "authenticators": [{"handler": "cookie_session"}],
                    "authorizer": {
                        "handler": "remote_json",
                        "config": {"remote": keto_check_url(namespace), "payload": _keto_payload(api.id, relation)},
                    },
                    "mutators": [{"handler": "header"}],
                }
            )
    return rules


def kratos_virtual_service(namespace: str, auth_host: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": KRATOS_PUBLIC_SERVICE, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "hosts": [auth_host],
            "gateways": [contract.INTERNAL_GATEWAY],
            "http": [
                {
                    "name": "kratos-public",
                    "route": [
                        {
                            "destination": {
                                "host": f"{KRATOS_PUBLIC_SERVICE}.{namespace}.svc.cluster.local",
                                "port": {"number": SERVICE_PORT},
                            }
                        }
                    ],
                }
            ],
        },
    }


def kratos_client_copy(
    *, ory_namespace: str, keycloak_namespace: str, client_secret: IdentitySecret, keycloak_url: str
) -> tuple[list[dict[str, Any]], SecretKeyRef]:
    """Objects that give Kratos the client secret Vault generates in Keycloak's namespace.

    Vault hands each namespace only its own secrets, and the realm import reads the client secret in
    Keycloak's namespace. So that one key is copied: a service account of Ory's namespace may `get`
    exactly that Secret there (nothing else), and an ExternalSecret with the Kubernetes provider renders
    Kratos' OIDC provider list around it.
    """
    source = client_secret.ref("client-secret")
    store_spec = {
        "provider": {
            "kubernetes": {
                "remoteNamespace": keycloak_namespace,
                "server": {
                    "url": "https://kubernetes.default.svc",
                    "caProvider": {"type": "ConfigMap", "name": "kube-root-ca.crt", "key": "ca.crt"},
                },
                "auth": {"serviceAccount": {"name": KRATOS_CLIENT_READER}},
            }
        }
    }
    manifests: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": KRATOS_CLIENT_READER,
                "namespace": ory_namespace,
                "labels": dict(MANAGED_BY),
            },
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {
                "name": KRATOS_CLIENT_READER,
                "namespace": keycloak_namespace,
                "labels": dict(MANAGED_BY),
            },
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": [source.name],
                    "verbs": ["get"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {
                "name": KRATOS_CLIENT_READER,
                "namespace": keycloak_namespace,
                "labels": dict(MANAGED_BY),
            },
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": KRATOS_CLIENT_READER,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": KRATOS_CLIENT_READER, "namespace": ory_namespace}
            ],
        },
        {
            "apiVersion": EXTERNAL_SECRETS_API,
            "kind": "SecretStore",
            "metadata": {
                "name": KEYCLOAK_SECRETS_STORE,
                "namespace": ory_namespace,
                "labels": dict(MANAGED_BY),
            },
            "spec": store_spec,
        },
        {
            "apiVersion": EXTERNAL_SECRETS_API,
            "kind": "ExternalSecret",
            "metadata": {
                "name": OIDC_PROVIDERS_SECRET,
                "namespace": ory_namespace,
                "labels": dict(MANAGED_BY),
            },
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": KEYCLOAK_SECRETS_STORE, "kind": "SecretStore"},
                "target": {
                    "name": OIDC_PROVIDERS_SECRET,
                    "creationPolicy": "Owner",
                    "deletionPolicy": "Retain",
                    "template": {
                        "engineVersion": "v2",
                        "data": {OIDC_PROVIDERS_KEY: oidc_providers_template(keycloak_url)},
                    },
                },
                "data": [
                    {
                        "secretKey": _CLIENT_SECRET_TEMPLATE_KEY,
                        "remoteRef": {"key": source.name, "property": source.key},
                    }
                ],
            },
        },
    ]
    return manifests, SecretKeyRef(ory_namespace, OIDC_PROVIDERS_SECRET, OIDC_PROVIDERS_KEY)


def kratos_assembled(dsn: str) -> Mapping[str, str]:
    return {"dsn": dsn, "smtpConnectionURI": NO_MAIL_SERVER}
