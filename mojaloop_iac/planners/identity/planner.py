"""`plan_identity`: Keycloak, Ory and their Istio policies for one environment, as plain data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.identity import databases, istio, keycloak, ory
from mojaloop_iac.planners.identity.credentials import (
    GENERIC_POLICY,
    MYSQL_POLICY,
    ROOT_PASSWORD,
    URL_SAFE_POLICY,
    USER_PASSWORD,
    DatabaseAccount,
    IdentitySecret,
    KeyRequirement,
    check_password_policies,
    database_keys,
)
from mojaloop_iac.planners.identity.inputs import (
    AUTH_HOST,
    DFSP_REALM,
    KETO,
    KEYCLOAK_EXTERNAL_HOST,
    KEYCLOAK_HOST,
    KRATOS,
    OATHKEEPER,
    IdentityError,
    IdentityInput,
    IdentityPlan,
    SecretKeyRef,
)
from mojaloop_iac.planners.mojaloop_values.data import MojaloopValuesData, load_values_data
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.vault.policies import PasswordPolicySpec, load_password_policies

# The hub's tool hosts (config/mojaloop-values.yaml) that hub operators reach through Oathkeeper: the admin
# APIs and the Testing Toolkit's UI and API (which can send transfers as any simulated DFSP).
HUB_OPERATOR_API_IDS: Final = (
    "central-ledger-admin", "account-lookup-admin", "central-settlement", "ttk-ui", "ttk-api",
)

# Pin names in config/charts/identity.yaml.
OPERATOR_PIN: Final = "keycloak-operator"
MYSQL_PINS: Final = {"keycloak": "keycloak-mysql", KRATOS: "kratos-mysql", KETO: "keto-mysql"}

# Keycloak's first admin: the name is fixed (a Secret key the operator reads), the password generated.
BOOTSTRAP_ADMIN: Final = "temp-admin"
KRATOS_CIPHER_LENGTH: Final = 32  # xchacha20-poly1305 keys: Kratos refuses any other length


def plan_identity(
    inp: IdentityInput,
    *,
    pins: Mapping[str, Mapping[str, Any]] | None = None,
    password_policies: Mapping[str, PasswordPolicySpec] | None = None,
    values_data: MojaloopValuesData | None = None,
) -> IdentityPlan:
    """Plan Keycloak (realms `dfsps`, `hub-operators`), Kratos, Keto, Oathkeeper and their databases.

    `pins`, `password_policies` and `values_data` default to config/charts/, config/password-policies.yaml
    and config/mojaloop-values.yaml.
    """
    pins = dict(chart_pins() if pins is None else pins)
    data = load_values_data() if values_data is None else values_data
    keycloak_ns, ory_ns = _identity_namespaces(pins)

    def host(template: str) -> str:
        return template.format(internalDomain=inp.internal_domain, externalDomain=inp.external_domain)

    keycloak_url, auth_url = f"https://{host(KEYCLOAK_HOST)}", f"https://{host(AUTH_HOST)}"
    apis = _hub_operator_apis(data, host)
    fspiop_hosts = tuple(host(spec.host) for spec in data.fspiop_hosts if spec.gateway == "external")
    if not fspiop_hosts:
        raise IdentityError("config/mojaloop-values.yaml names no FSPIOP host on the external gateway")
    internal_fspiop = tuple(host(spec.host) for spec in data.fspiop_hosts if spec.gateway == "internal")

    accounts = {
        "keycloak": _account(inp, "keycloak", keycloak_ns),
        KRATOS: _account(inp, KRATOS, ory_ns),
        KETO: _account(inp, KETO, ory_ns),
    }
    secrets = _secrets(keycloak_ns, ory_ns, accounts)
    check_password_policies(
        secrets.values(), load_password_policies() if password_policies is None else password_policies
    )

    keycloak_image = _mirrored(f"{pins[OPERATOR_PIN]['image']}:{pins[OPERATOR_PIN]['version']}", inp.registry)
    providers_manifests, providers_ref = ory.kratos_client_copy(
        ory_namespace=ory_ns,
        keycloak_namespace=keycloak_ns,
        client_secret=secrets["kratos-client"],
        keycloak_url=keycloak_url,
    )
    issuer = keycloak.realm_issuer(keycloak_url, DFSP_REALM)
    manifests = [
        keycloak.keycloak(
            keycloak_ns,
            keycloak_url,
            accounts["keycloak"],
            secrets["keycloak-db"],
            secrets["keycloak-admin"],
            inp.scheduling,
            keycloak_image,
        ),
        keycloak.dfsp_realm_import(keycloak_ns),
        keycloak.hub_operator_realm_import(keycloak_ns, auth_url, secrets["kratos-client"]),
        *keycloak.virtual_services(keycloak_ns, host(KEYCLOAK_HOST), host(KEYCLOAK_EXTERNAL_HOST)),
        ory.kratos_virtual_service(ory_ns, host(AUTH_HOST)),
        istio.dfsp_jwt_authentication(issuer, keycloak.jwks_uri(keycloak_ns, DFSP_REALM)),
        istio.dfsp_jwt_required(issuer, fspiop_hosts),
        istio.hub_operator_ext_authz(tuple(api.host for api in apis)),
        # Over each gateway namespace's deny-by-default, every host the gateways serve has its rule: the
        # FSPIOP API takes a DFSP token on both gateways, the operators' tools pass Oathkeeper first (above),
        # the sign-in and token endpoints are open (they authenticate their callers themselves).
        istio.gateway_allow("external", "allow-fspiop-with-dfsp-token", fspiop_hosts, issuer),
        istio.gateway_allow("external", "allow-dfsp-token-endpoint", (host(KEYCLOAK_EXTERNAL_HOST),)),
        *(
            (
                istio.dfsp_jwt_authentication(issuer, keycloak.jwks_uri(keycloak_ns, DFSP_REALM), "internal"),
                istio.dfsp_jwt_required(issuer, internal_fspiop, "internal"),
                istio.gateway_allow("internal", "allow-fspiop-with-dfsp-token", internal_fspiop, issuer),
            )
            if internal_fspiop
            else ()
        ),
        istio.gateway_allow("internal", "allow-hub-operator-tools", tuple(api.host for api in apis)),
        istio.gateway_allow("internal", "allow-sign-in", (host(KEYCLOAK_HOST), host(AUTH_HOST))),
    ]

    releases = [
        *(
            _mysql_release(pins, service, accounts[service], secrets[secret], inp)
            for service, secret in (("keycloak", "keycloak-db"), (KRATOS, KRATOS), (KETO, KETO))
            if accounts[service].dedicated
        ),
        _ory_release(
            pins,
            KRATOS,
            ory.kratos_values(
                namespace=ory_ns,
                internal_domain=inp.internal_domain,
                auth_url=auth_url,
                keycloak_url=keycloak_url,
                return_hosts=tuple(api.host for api in apis),
                secret=secrets[KRATOS],
                providers_ref=providers_ref,
                scheduling=inp.scheduling,
                registry=inp.registry,
            ),
        ),
        _ory_release(
            pins,
            KETO,
            ory.keto_values(secret=secrets[KETO], scheduling=inp.scheduling, registry=inp.registry),
        ),
        _ory_release(
            pins,
            OATHKEEPER,
            ory.oathkeeper_values(
                namespace=ory_ns,
                auth_url=auth_url,
                access_rules=ory.oathkeeper_access_rules(ory_ns, apis),
                scheduling=inp.scheduling,
                registry=inp.registry,
            ),
        ),
    ]
    dependencies = {
        KRATOS: (MYSQL_PINS[KRATOS],) if accounts[KRATOS].dedicated else (),
        KETO: (MYSQL_PINS[KETO],) if accounts[KETO].dedicated else (),
        OATHKEEPER: (KRATOS, KETO),  # it calls both on every decision
    }
    return IdentityPlan(
        namespaces=(
            NamespaceSpec(
                keycloak_ns, "baseline", "Keycloak operator, Keycloak (realms dfsps, hub-operators)"
            ),
            NamespaceSpec(ory_ns, "baseline", "Ory Kratos, Keto and Oathkeeper (hub operators)"),
        ),
        operator_manifests=(keycloak.operator_source(dict(pins[OPERATOR_PIN])),),
        releases=tuple(releases),
        release_dependencies={release.name: dependencies.get(release.name, ()) for release in releases},
        manifests=tuple(manifests),
        # Kratos reads the Secret the ExternalSecret makes: it must exist before Kratos is installed.
        prerequisites=tuple(providers_manifests),
        mesh_extension_providers=(istio.oathkeeper_extension_provider(ory_ns),),
        secret_needs={
            namespace: tuple(s.need for s in secrets.values() if s.namespace == namespace)
            for namespace in (keycloak_ns, ory_ns)
        },
        external_secret_templates={
            (s.namespace, s.name): template
            for s in secrets.values()
            if (template := s.template()) is not None
        },
        secret_refs=frozenset(_secret_refs(secrets, accounts, providers_ref)),
        notes=_notes(inp, keycloak_ns, ory_ns, keycloak_url, auth_url, secrets, accounts),
    )


def _identity_namespaces(pins: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    missing = [
        name for name in (OPERATOR_PIN, KRATOS, KETO, OATHKEEPER, *MYSQL_PINS.values()) if name not in pins
    ]
    if missing:
        raise IdentityError(f"config/charts/identity.yaml lacks the pins {', '.join(missing)}")
    keycloak_ns = pins[OPERATOR_PIN]["namespace"]
    ory_ns = pins[KRATOS]["namespace"]
    expected = {
        KETO: ory_ns,
        OATHKEEPER: ory_ns,
        MYSQL_PINS["keycloak"]: keycloak_ns,
        MYSQL_PINS[KRATOS]: ory_ns,
        MYSQL_PINS[KETO]: ory_ns,
    }
    wrong = [
        f"{name} is in {pins[name]['namespace']!r}, not {ns!r}"
        for name, ns in expected.items()
        if pins[name]["namespace"] != ns
    ]
    if wrong:
        # Vault gives each namespace its own secrets only: a database and its user must share one.
        raise IdentityError(f"identity pins must share their service's namespace: {'; '.join(wrong)}")
    if keycloak_ns == ory_ns:
        raise IdentityError(f"Keycloak and Ory need namespaces of their own (both are {keycloak_ns!r})")
    return keycloak_ns, ory_ns


def _hub_operator_apis(
    data: MojaloopValuesData, host: Callable[[str], str]
) -> tuple[ory.HubOperatorApi, ...]:
    tools = {spec.id: spec for spec in data.tool_hosts}
    unknown = [api for api in HUB_OPERATOR_API_IDS if api not in tools or tools[api].gateway != "internal"]
    if unknown:
        raise IdentityError(
            f"hub-operator APIs {', '.join(unknown)} are not internal tool hosts "
            "of config/mojaloop-values.yaml"
        )
    return tuple(ory.HubOperatorApi(api, host(tools[api].host)) for api in HUB_OPERATOR_API_IDS)


def _account(inp: IdentityInput, service: str, namespace: str) -> DatabaseAccount:
    if inp.database is None:
        release = MYSQL_PINS[service]
        return DatabaseAccount(
            databases.mysql_host(release, namespace), databases.MYSQL_PORT, service, service, True
        )
    return DatabaseAccount(inp.database.host, inp.database.port, service, service, False)


def _secrets(
    keycloak_ns: str, ory_ns: str, accounts: Mapping[str, DatabaseAccount]
) -> dict[str, IdentitySecret]:
    in_dsn = KeyRequirement(url_safe=True, why="it sits unescaped in the service's DSN")
    kratos, keto = accounts[KRATOS], accounts[KETO]
    return {
        "keycloak-db": IdentitySecret(
            keycloak_ns,
            SecretNeed(
                "keycloak-db", database_keys(accounts["keycloak"], MYSQL_POLICY), "Keycloak's MySQL user"
            ),
            # Keycloak reads even the user name from a Secret.
            assembled={"username": accounts["keycloak"].user},
        ),
        "keycloak-admin": IdentitySecret(
            keycloak_ns,
            SecretNeed(
                "keycloak-bootstrap-admin", {"password": GENERIC_POLICY}, "Keycloak's first (temporary) admin"
            ),
            assembled={"username": BOOTSTRAP_ADMIN},
        ),
        "kratos-client": IdentitySecret(
            keycloak_ns,
            SecretNeed(
                "hub-operators-kratos-client",
                {"client-secret": GENERIC_POLICY},
                "Client secret of Kratos in the hub-operators realm (also copied to Kratos)",
            ),
        ),
        KRATOS: IdentitySecret(
            ory_ns,
            SecretNeed(
                KRATOS,
                {
                    **database_keys(kratos, URL_SAFE_POLICY),
                    "secretsDefault": GENERIC_POLICY,
                    "secretsCookie": GENERIC_POLICY,
                    "secretsCipher": URL_SAFE_POLICY,
                },
                "Kratos' database user and its signing, cookie and cipher secrets",
            ),
            assembled=ory.kratos_assembled(kratos.mysql_dsn(USER_PASSWORD)),
            requirements={
                USER_PASSWORD: in_dsn,
                "secretsCipher": KeyRequirement(
                    exact_length=KRATOS_CIPHER_LENGTH, why="Kratos' cipher secret"
                ),
            },
        ),
        KETO: IdentitySecret(
            ory_ns,
            SecretNeed(KETO, database_keys(keto, URL_SAFE_POLICY), "Keto's database user"),
            assembled={"dsn": keto.mysql_dsn(USER_PASSWORD)},
            requirements={USER_PASSWORD: in_dsn},
        ),
    }


def _mysql_release(
    pins: Mapping[str, Mapping[str, Any]],
    service: str,
    account: DatabaseAccount,
    secret: IdentitySecret,
    inp: IdentityInput,
) -> HelmReleaseSpec:
    return databases.mysql_release(
        release=MYSQL_PINS[service],
        pin=dict(pins[MYSQL_PINS[service]]),
        user=account.user,
        database=account.database,
        secret=secret,
        scheduling=inp.scheduling,
        registry=inp.registry,
        storage_class=inp.storage_class,
    )


def _ory_release(
    pins: Mapping[str, Mapping[str, Any]], chart: str, values: dict[str, Any]
) -> HelmReleaseSpec:
    pin = pins[chart]
    return HelmReleaseSpec(
        name=chart,
        chart=chart,
        repo=pin["repo"],
        version=pin["version"],
        namespace=pin["namespace"],
        values=values,
        timeout_seconds=600,
    )


def _mirrored(image: str, registry: str | None) -> str | None:
    """The image through the registry mirror (same repository path), or None for the operator's default."""
    if registry is None:
        return None
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first):  # drop the original registry host
        image = rest
    return f"{registry}/{image}"


def _secret_refs(
    secrets: Mapping[str, IdentitySecret], accounts: Mapping[str, DatabaseAccount], providers: SecretKeyRef
) -> list[SecretKeyRef]:
    refs = [
        secrets["keycloak-db"].ref("username"),
        secrets["keycloak-db"].ref(USER_PASSWORD),
        secrets["keycloak-admin"].ref("username"),
        secrets["keycloak-admin"].ref("password"),
        secrets["kratos-client"].ref("client-secret"),
        *(
            secrets[KRATOS].ref(key)
            for key in ("dsn", "secretsDefault", "secretsCookie", "secretsCipher", "smtpConnectionURI")
        ),
        secrets[KETO].ref("dsn"),
        providers,
    ]
    for service, secret in (("keycloak", "keycloak-db"), (KRATOS, KRATOS), (KETO, KETO)):
        if accounts[service].dedicated:
            refs += [secrets[secret].ref(ROOT_PASSWORD), secrets[secret].ref(USER_PASSWORD)]
    return refs


def _notes(
    inp: IdentityInput,
    keycloak_ns: str,
    ory_ns: str,
    keycloak_url: str,
    auth_url: str,
    secrets: Mapping[str, IdentitySecret],
    accounts: Mapping[str, DatabaseAccount],
) -> tuple[str, ...]:
    notes = [
        (
            f"Keycloak's first admin '{BOOTSTRAP_ADMIN}' is temporary (password: Vault secret "
            f"'{keycloak_ns}/{secrets['keycloak-admin'].name}'): create a permanent admin, then delete it."
        ),
        (
            f"Kratos sends browsers to {auth_url}/ui/login, /ui/registration, /ui/settings and /ui/error: "
            "deploy a sign-in UI there (none is planned)."
        ),
        (
            f"Kratos discovers Keycloak at {keycloak_url}: pods must resolve the internal domain to the "
            "internal gateway and trust its certificate."
        ),
        (
            "Hub operators get access through Keto relation tuples "
            f"'{ory.KETO_API_NAMESPACE}:<api>#read|write@<Kratos identity id>' (APIs: "
            f"{', '.join(HUB_OPERATOR_API_IDS)}); none is granted by this plan."
        ),
        "Realm imports only create realms: a change to them does not reach an existing realm.",
        (
            f"istiod fetches the {DFSP_REALM} realm's keys from "
            f"{keycloak.jwks_uri(keycloak_ns, DFSP_REALM)}: "
            "keep that port open without mutual TLS (PERMISSIVE) if the Keycloak namespace joins the mesh."
        ),
    ]
    if inp.registry is not None:
        notes.append(
            "The Keycloak operator's own image comes from its upstream manifests (quay.io), "
            "not from the registry mirror."
        )
    if inp.database is not None:
        users = ", ".join(
            f"'{account.user}' on database '{account.database}' with the password in Vault secret "
            f"'{secret.namespace}/{secret.name}' key '{USER_PASSWORD}'"
            for account, secret in (
                (accounts["keycloak"], secrets["keycloak-db"]),
                (accounts[KRATOS], secrets[KRATOS]),
                (accounts[KETO], secrets[KETO]),
            )
        )
        notes.append(f"The MySQL server {inp.database.host}:{inp.database.port} must have the users {users}.")
    return tuple(notes)
