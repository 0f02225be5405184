"""Identity planner: Keycloak with the realms dfsps and hub-operators, Ory Kratos/Keto/Oathkeeper, the
Istio JWT and ext-authz policies, and Secrets that exist only as references.

What each chart reads from the Secret it is pointed at is written here from the charts themselves
(ory/k8s kratos and keto 0.62.1 templates, Bitnami mysql 9.19.1 statefulset, Keycloak operator 26.0.0
CRD descriptions), not read back from the planner, so a wrong key fails here.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mojaloop_iac import contract
from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.planners.identity import (
    DFSP_REALM,
    HUB_OPERATOR_API_IDS,
    HUB_OPERATOR_REALM,
    DatabaseEndpoint,
    IdentityError,
    IdentityInput,
    IdentityPlan,
    SecretKeyRef,
    plan_identity,
    with_templates,
)
from mojaloop_iac.planners.identity import ory as ory_module
from mojaloop_iac.planners.placement import Scheduling
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
from mojaloop_iac.vault.policies import load_password_policies
from mojaloop_iac.vault.providers import GeneratedSecretProvider
from tests.support.environment_vault import apply_environment_vault, namespace_login
from tests.support.manifests import (
    _without_k8s_extensions,
    crd_schemas,
    is_core,
    validate_core,
    validate_custom,
)
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)
from tests.support.token_review import run_token_review_server

INTERNAL = "int.qa1.example.com"
EXTERNAL = "qa1.example.com"
KEYCLOAK_CRDS = REPO_ROOT.parent / "shared" / "crds" / "keycloak-operator.yaml"

SCHEDULING = Scheduling(
    affinity={
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "identity.example/pool", "operator": "In", "values": ["on"]}
                        ]
                    }
                ]
            }
        }
    },
    tolerations=({"key": "moja-enabled", "operator": "Equal", "value": "true", "effect": "NoSchedule"},),
)

# Keys each chart reads from the Secret named in its values (see the module docstring for where from).
KRATOS_CHART_KEYS = {"dsn", "secretsDefault", "secretsCookie", "secretsCipher"}
KRATOS_SMTP_KEY = "smtpConnectionURI"  # read once `kratos.config.courier.smtp.connection_uri` is set
KETO_CHART_KEYS = {"dsn"}
MYSQL_CHART_KEYS = {"mysql-root-password", "mysql-password"}  # standalone: no replication password
KEYCLOAK_BOOTSTRAP_KEYS = {"username", "password"}

# Keys whose string value would be a credential if it were not a reference.
CREDENTIAL_KEY = re.compile(
    r"(password|passwd|secret|token|dsn|cipher|connection_uri|credential)s?$", re.IGNORECASE
)
# Values that only point at a credential: Go/ESO templates, Keycloak placeholders, or Secret names.
REFERENCE_VALUE = re.compile(r"^(\$\{[A-Z_]+\}|.*\{\{.*\}\}.*)$", re.DOTALL)
SECRET_NAME_KEYS = {"existingSecret", "nameOverride", "secret"}  # their value names a Secret object


def make_plan(**changes: Any) -> IdentityPlan:
    return plan_identity(dataclasses.replace(IdentityInput(INTERNAL, EXTERNAL), **changes))


def by_kind(plan: IdentityPlan, kind: str) -> list[dict[str, Any]]:
    return [m for m in (*plan.prerequisites, *plan.manifests) if m["kind"] == kind]


def release(plan: IdentityPlan, name: str):
    return next(r for r in plan.releases if r.name == name)


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, str(index)))


def validate(manifest: dict[str, Any]) -> None:
    validate_core(manifest, "1.28") if is_core(manifest) else validate_custom(manifest)


@functools.cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    group, _, version = api_version.rpartition("/")
    schema = _without_k8s_extensions(crd_schemas()[(group, version, kind)])
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_fast(manifest: dict[str, Any]) -> None:
    """What `validate` checks, with each CRD schema checked once instead of per document (for many plans)."""
    if is_core(manifest):
        validate_core(manifest, "1.28")
    else:
        _crd_validator(manifest["apiVersion"], manifest["kind"]).validate(manifest)


# --- manifests against their schemas ------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"scheduling": SCHEDULING, "registry": "mirror.cc.example.com:5000", "storage_class": "local-path"},
        {"database": DatabaseEndpoint("mysql.rds.example.com", 3307)},
    ],
    ids=["defaults", "scheduled-mirrored", "external-database"],
)
def test_every_manifest_validates_against_its_crd_or_the_core_schema(changes):
    plan = make_plan(**changes)
    assert plan.manifests
    for manifest in plan.manifests:
        validate(manifest)


def test_the_keycloak_crds_the_manifests_are_checked_against_are_the_pinned_operator_version():
    # shared/crds holds keycloak-k8s-resources 26.0.0; the operator installed must be that version.
    pin = chart_pins()["keycloak-operator"]
    assert pin["version"] == "26.0.0"
    kinds = {crd["spec"]["names"]["kind"] for crd in yaml.safe_load_all(KEYCLOAK_CRDS.read_text()) if crd}
    assert {"Keycloak", "KeycloakRealmImport"} <= kinds


def test_the_operator_comes_from_its_pinned_upstream_manifests_crds_first_in_namespace_keycloak():
    (source,) = make_plan().operator_manifests
    assert source.namespace == "keycloak"  # upstream's ClusterRoleBinding names this namespace
    base = "https://raw.githubusercontent.com/keycloak/keycloak-k8s-resources/26.0.0/kubernetes"
    assert source.urls == (
        f"{base}/keycloaks.k8s.keycloak.org-v1.yml",
        f"{base}/keycloakrealmimports.k8s.keycloak.org-v1.yml",
        f"{base}/kubernetes.yml",
    )


# --- Keycloak and the realms ---------------------------------------------------------------------


def test_realms_are_exactly_dfsps_and_hub_operators_on_the_one_keycloak():
    plan = make_plan()
    (keycloak,) = by_kind(plan, "Keycloak")
    imports = by_kind(plan, "KeycloakRealmImport")
    assert sorted(i["spec"]["realm"]["realm"] for i in imports) == sorted([DFSP_REALM, HUB_OPERATOR_REALM])
    assert {i["spec"]["keycloakCRName"] for i in imports} == {keycloak["metadata"]["name"]}
    assert {i["metadata"]["namespace"] for i in imports} == {keycloak["metadata"]["namespace"]}


def test_realm_imports_hold_no_user_and_the_client_secret_only_as_a_secret_placeholder():
    plan = make_plan()
    for realm_import in by_kind(plan, "KeycloakRealmImport"):
        realm = realm_import["spec"]["realm"]
        assert "users" not in realm and "federatedUsers" not in realm
        assert realm["registrationAllowed"] is False and realm["sslRequired"] == "all"
        for client in realm.get("clients", []):
            placeholder = re.fullmatch(r"\$\{([A-Z_]+)\}", client["secret"])
            assert placeholder, client["secret"]
            ref = realm_import["spec"]["placeholders"][placeholder.group(1)]["secret"]
            assert (
                SecretKeyRef(realm_import["metadata"]["namespace"], ref["name"], ref["key"])
                in plan.secret_refs
            )


def test_keycloak_is_served_on_the_internal_domain_and_reads_its_database_login_from_secrets():
    plan = make_plan()
    (keycloak,) = by_kind(plan, "Keycloak")
    spec = keycloak["spec"]
    assert spec["hostname"]["hostname"] == f"https://keycloak.{INTERNAL}"
    db = spec["db"]
    assert db["vendor"] == "mysql" and "url" not in db
    assert set(db["usernameSecret"]) == {"name", "key"} and set(db["passwordSecret"]) == {"name", "key"}
    assert db["host"] == "keycloak-mysql.keycloak.svc.cluster.local" and db["port"] == 3306
    assert spec["ingress"] == {"enabled": False}  # routed by Istio instead


def test_only_the_dfsp_realms_openid_endpoints_face_the_external_gateway():
    plan = make_plan()
    external = [
        vs for vs in by_kind(plan, "VirtualService") if vs["spec"]["gateways"] == [contract.EXTERNAL_GATEWAY]
    ]
    assert len(external) == 1
    (route,) = external[0]["spec"]["http"]
    assert route["match"] == [{"uri": {"prefix": f"/realms/{DFSP_REALM}/protocol/openid-connect/"}}]


# --- Istio ---------------------------------------------------------------------------------------


def api_host(api: str) -> str:
    """The tool host of config/mojaloop-values.yaml (the TTK UI is `ttk.`, the others are named as their id)."""
    return f"{'ttk' if api == 'ttk-ui' else api}.{INTERNAL}"


def test_every_host_the_gateways_serve_has_an_allow_rule_over_their_deny_by_default():
    plan = make_plan()
    allows = [p for p in by_kind(plan, "AuthorizationPolicy") if p["spec"].get("action") == "ALLOW"]
    allowed = {
        (p["metadata"]["namespace"], host, "requestPrincipals" in str(p["spec"]["rules"][0].get("from")))
        for p in allows
        for host in p["spec"]["rules"][0]["to"][0]["operation"]["hosts"]
        if not host.endswith(":*")
    }
    internal, external = contract.INTERNAL_GATEWAY_NAMESPACE, contract.EXTERNAL_GATEWAY_NAMESPACE
    assert (external, f"fspiop.{EXTERNAL}", True) in allowed  # a DFSP token is required
    assert (internal, f"fspiop.{INTERNAL}", True) in allowed
    assert (external, f"keycloak.{EXTERNAL}", False) in allowed  # the token endpoint itself
    assert {(internal, f"keycloak.{INTERNAL}", False), (internal, f"auth.{INTERNAL}", False)} <= allowed
    # The Testing Toolkit's UI and API are operators' tools: Oathkeeper decides first, as for the admin APIs.
    for api in HUB_OPERATOR_API_IDS:
        assert (internal, api_host(api), False) in allowed


def test_request_authentication_targets_the_external_gateway_and_the_dfsps_realm():
    plan = make_plan()
    authns = {a["metadata"]["namespace"]: a for a in by_kind(plan, "RequestAuthentication")}
    # The internal gateway serves the FSPIOP API too (fspiop.<internal domain>): the same token is required.
    assert set(authns) == {contract.EXTERNAL_GATEWAY_NAMESPACE, contract.INTERNAL_GATEWAY_NAMESPACE}
    authn = authns[contract.EXTERNAL_GATEWAY_NAMESPACE]
    assert authn["metadata"]["namespace"] == contract.EXTERNAL_GATEWAY_NAMESPACE
    assert authn["spec"]["selector"] == {"matchLabels": {"istio": contract.EXTERNAL_GATEWAY_NAME}}
    (rule,) = authn["spec"]["jwtRules"]
    assert rule["issuer"] == f"https://keycloak.{INTERNAL}/realms/{DFSP_REALM}"
    keycloak_service = "http://keycloak-service.keycloak.svc.cluster.local:8080"
    assert rule["jwksUri"] == f"{keycloak_service}/realms/{DFSP_REALM}/protocol/openid-connect/certs"


def test_fspiop_requests_without_a_dfsp_token_are_refused_at_the_external_gateway():
    plan = make_plan()
    (deny,) = [
        p
        for p in by_kind(plan, "AuthorizationPolicy")
        if p["metadata"]["namespace"] == contract.EXTERNAL_GATEWAY_NAMESPACE and p["spec"]["action"] == "DENY"
    ]
    assert deny["spec"]["action"] == "DENY"
    assert deny["spec"]["selector"] == {"matchLabels": {"istio": contract.EXTERNAL_GATEWAY_NAME}}
    (rule,) = deny["spec"]["rules"]
    (issuer,) = [r["issuer"] for r in by_kind(plan, "RequestAuthentication")[0]["spec"]["jwtRules"]]
    assert rule["from"] == [{"source": {"notRequestPrincipals": [f"{issuer}/*"]}}]
    assert rule["to"][0]["operation"]["hosts"] == [f"fspiop.{EXTERNAL}", f"fspiop.{EXTERNAL}:*"]


def test_hub_operator_apis_are_delegated_to_oathkeeper_by_name_of_the_extension_provider():
    plan = make_plan()
    (custom,) = [p for p in by_kind(plan, "AuthorizationPolicy") if p["spec"]["action"] == "CUSTOM"]
    (provider,) = plan.mesh_extension_providers
    assert custom["spec"]["provider"] == {"name": provider["name"]}
    assert custom["metadata"]["namespace"] == contract.INTERNAL_GATEWAY_NAMESPACE
    assert custom["spec"]["selector"] == {"matchLabels": {"istio": contract.INTERNAL_GATEWAY_NAME}}
    hosts = custom["spec"]["rules"][0]["to"][0]["operation"]["hosts"]
    assert hosts == [h for api in HUB_OPERATOR_API_IDS for h in (api_host(api), f"{api_host(api)}:*")]


def test_the_extension_provider_asks_oathkeepers_decisions_api_and_fails_closed():
    plan = make_plan()
    (provider,) = plan.mesh_extension_providers
    authz = provider["envoyExtAuthzHttp"]
    oathkeeper = release(plan, "oathkeeper")
    assert authz["service"] == f"oathkeeper-api.{oathkeeper.namespace}.svc.cluster.local"
    assert authz["port"] == oathkeeper.values["oathkeeper"]["config"]["serve"]["api"]["port"]
    assert authz["pathPrefix"] == "/decisions"
    assert authz["failOpen"] is False
    assert "cookie" in authz["includeRequestHeadersInCheck"]  # the Kratos session decides
    assert authz["headersToUpstreamOnAllow"] == ["x-user"]


# --- Oathkeeper, Kratos, Keto --------------------------------------------------------------------


def access_rules(plan) -> dict[str, dict]:
    oathkeeper = release(plan, "oathkeeper").values["oathkeeper"]
    return {rule["id"]: rule for rule in json.loads(oathkeeper["accessRules"])}


def test_each_hub_operator_api_has_a_read_and_a_write_rule_checked_by_keto_for_the_kratos_session():
    plan = make_plan()
    rules = access_rules(plan)
    assert set(rules) == {f"{api}-{access}" for api in HUB_OPERATOR_API_IDS for access in ("read", "write")}
    keto = release(plan, "keto")
    for name, spec in rules.items():
        api, _, access = name.rpartition("-")
        assert spec["match"]["url"] == f"<https|http>://{api_host(api)}/<.*>"
        assert set(spec["match"]["methods"]) == set(ory_module.ACCESS_METHODS[access])
        assert spec["authenticators"] == [{"handler": "cookie_session"}]
        authorizer = spec["authorizer"]
        assert authorizer["handler"] == "remote_json"
        assert (
            authorizer["config"]["remote"]
            == f"http://keto-read.{keto.namespace}.svc.cluster.local:80/relation-tuples/check"
        )
        payload = json.loads(authorizer["config"]["payload"])
        assert payload["namespace"] in [n["name"] for n in keto.values["keto"]["config"]["namespaces"]]
        assert (payload["object"], payload["relation"]) == (api, access)
        assert payload["subject_id"] == "{{ print .Subject }}"


def test_the_rules_use_exactly_the_handlers_oathkeeper_enables_and_the_chart_owns_them():
    plan = make_plan()
    oathkeeper = release(plan, "oathkeeper").values
    config = oathkeeper["oathkeeper"]["config"]
    rules = access_rules(plan).values()
    assert {a["handler"] for r in rules for a in r["authenticators"]} == {
        k for k, v in config["authenticators"].items() if v["enabled"]
    }
    assert {r["authorizer"]["handler"] for r in rules} == {k for k, v in config["authorizers"].items() if v["enabled"]}
    assert {m["handler"] for r in rules for m in r["mutators"]} == {
        k for k, v in config["mutators"].items() if v["enabled"]
    }
    # The chart writes the rules ConfigMap from the first install: no Maester (no Rule objects, no CRD, no
    # cluster-wide role) and nothing the oathkeeper pods wait for that comes after the release.
    assert oathkeeper["maester"]["enabled"] is False and oathkeeper["oathkeeper"]["managedAccessRules"] is True
    assert "oathkeeper-maester" not in oathkeeper
    assert not by_kind(plan, "Rule")


def test_the_session_cookie_authenticator_asks_kratos_and_the_cookie_covers_the_api_hosts():
    plan = make_plan()
    kratos, oathkeeper = release(plan, "kratos"), release(plan, "oathkeeper")
    cookie = oathkeeper.values["oathkeeper"]["config"]["authenticators"]["cookie_session"]["config"]
    assert (
        cookie["check_session_url"]
        == f"http://kratos-public.{kratos.namespace}.svc.cluster.local:80/sessions/whoami"
    )
    config = kratos.values["kratos"]["config"]
    assert config["session"]["cookie"]["domain"] == INTERNAL
    for api in HUB_OPERATOR_API_IDS:
        assert api_host(api).endswith(f".{config['session']['cookie']['domain']}")
        assert f"https://{api_host(api)}/" in config["selfservice"]["allowed_return_urls"]


def test_kratos_signs_in_only_through_keycloak_and_its_identity_schema_is_valid():
    kratos = release(make_plan(), "kratos").values["kratos"]
    methods = kratos["config"]["selfservice"]["methods"]
    assert methods == {"password": {"enabled": False}, "oidc": {"enabled": True}}
    for schema in kratos["identitySchemas"].values():
        jsonschema.Draft7Validator.check_schema(json.loads(schema))
    assert kratos["config"]["selfservice"]["flows"]["recovery"] == {"enabled": False}  # no mail server


def test_the_charts_read_our_secrets_instead_of_generating_their_own():
    plan = make_plan()
    for name in ("kratos", "keto"):
        values = release(plan, name).values
        assert values["secret"]["enabled"] is False
        assert values["secret"]["nameOverride"] in {
            n.name for n in plan.secret_needs[release(plan, name).namespace]
        }
        assert "dsn" not in values[name]["config"] and "secrets" not in values[name]["config"]


def test_keto_ports_are_named_http_so_the_mesh_passes_oathkeepers_rest_calls():
    service = release(make_plan(), "keto").values["service"]
    assert service["read"] == {"name": "http-read", "appProtocol": "http"}


# --- no secret values, and every reference delivered ----------------------------------------------


def _documents(plan: IdentityPlan) -> Iterator[tuple[str, Any]]:
    for spec in plan.releases:
        yield f"release {spec.name}", dict(spec.values)
    for manifest in plan.manifests:
        yield f"{manifest['kind']} {manifest['metadata']['name']}", manifest
    for provider in plan.mesh_extension_providers:
        yield "extension provider", provider
    for (namespace, name), template in plan.external_secret_templates.items():
        yield f"template {namespace}/{name}", template


@pytest.mark.parametrize("changes", [{}, {"database": DatabaseEndpoint("mysql.rds.example.com")}])
def test_no_password_or_other_credential_value_appears_anywhere(changes):
    for where, document in _documents(make_plan(**changes)):
        for path, value in walk(document):
            if not isinstance(value, str) or not path:
                continue
            key = path[-1]
            if CREDENTIAL_KEY.search(key) and key not in SECRET_NAME_KEYS:
                assert REFERENCE_VALUE.match(value) or value.startswith("smtps://mail.invalid"), (where, path)
            for url in re.findall(r"[a-z]+://[^\s\"']+", value):
                password = urllib.parse.urlsplit(url).password
                assert password is None or REFERENCE_VALUE.match(password), (where, path, url)


def _references(plan: IdentityPlan) -> set[SecretKeyRef]:
    """Every Secret key the values and manifests read, found by what each consumer is known to read."""
    refs: set[SecretKeyRef] = set()
    for spec in plan.releases:
        values, ns = spec.values, spec.namespace
        for path, node in walk(dict(values)):
            if path and path[-1] == "secretKeyRef":
                refs.add(SecretKeyRef(ns, node["name"], node["key"]))
        if spec.chart == "kratos":
            keys = KRATOS_CHART_KEYS | (
                {KRATOS_SMTP_KEY} if values["kratos"]["config"]["courier"]["smtp"] else set()
            )
            refs |= {SecretKeyRef(ns, values["secret"]["nameOverride"], key) for key in keys}
        if spec.chart == "keto":
            refs |= {SecretKeyRef(ns, values["secret"]["nameOverride"], key) for key in KETO_CHART_KEYS}
        if spec.chart == "mysql":
            refs |= {SecretKeyRef(ns, values["auth"]["existingSecret"], key) for key in MYSQL_CHART_KEYS}
    for manifest in plan.manifests:
        ns, spec = manifest["metadata"]["namespace"], manifest.get("spec", {})
        if manifest["kind"] == "Keycloak":
            for selector in (spec["db"]["usernameSecret"], spec["db"]["passwordSecret"]):
                refs.add(SecretKeyRef(ns, selector["name"], selector["key"]))
            refs |= {
                SecretKeyRef(ns, spec["bootstrapAdmin"]["user"]["secret"], k) for k in KEYCLOAK_BOOTSTRAP_KEYS
            }
        if manifest["kind"] == "KeycloakRealmImport":
            for placeholder in spec.get("placeholders", {}).values():
                refs.add(SecretKeyRef(ns, placeholder["secret"]["name"], placeholder["secret"]["key"]))
        if manifest["kind"] == "ExternalSecret":  # the copy from Keycloak's namespace
            store = next(
                s
                for s in by_kind(plan, "SecretStore")
                if s["metadata"]["name"] == spec["secretStoreRef"]["name"]
            )
            remote_ns = store["spec"]["provider"]["kubernetes"]["remoteNamespace"]
            refs |= {
                SecretKeyRef(remote_ns, d["remoteRef"]["key"], d["remoteRef"]["property"])
                for d in spec["data"]
            }
    return refs


def _deliverable(plan: IdentityPlan) -> set[SecretKeyRef]:
    keys = set()
    for namespace, needs in plan.secret_needs.items():
        for need in needs:
            template = plan.external_secret_templates.get((namespace, need.name), {})
            keys |= {SecretKeyRef(namespace, need.name, k) for k in (*need.keys, *template.get("data", {}))}
    for external in by_kind(plan, "ExternalSecret"):  # Secrets the plan's own ExternalSecrets produce
        target = external["spec"]["target"]
        keys |= {
            SecretKeyRef(external["metadata"]["namespace"], target["name"], k)
            for k in target["template"]["data"]
        }
    return keys


@pytest.mark.parametrize("changes", [{}, {"database": DatabaseEndpoint("mysql.rds.example.com")}])
def test_every_secret_key_the_values_and_manifests_read_is_delivered_and_reported(changes):
    plan = make_plan(**changes)
    referenced = _references(plan)
    assert referenced <= _deliverable(plan), referenced - _deliverable(plan)
    assert referenced == plan.secret_refs


def test_secret_needs_live_in_the_namespace_of_their_readers_and_names_are_unique():
    plan = make_plan()
    for namespace, needs in plan.secret_needs.items():
        names = [need.name for need in needs]
        assert len(names) == len(set(names))
        assert all(ref.namespace == namespace for ref in plan.secret_refs if ref.name in names)


def test_the_needs_plan_into_secret_delivery_and_the_templates_complete_its_external_secrets():
    plan = make_plan()
    delivery = plan_secret_delivery("qa1", "https://vault.example:8200", "mojaloop", plan.secret_needs)
    manifests = with_templates(delivery.manifests, plan.external_secret_templates)
    assert not delivery.operator_supplied  # every key comes from a password policy
    templated = {}
    for manifest in manifests:
        validate(manifest)
        if manifest["kind"] == "ExternalSecret" and "template" in manifest["spec"]["target"]:
            key = (manifest["metadata"]["namespace"], manifest["spec"]["target"]["name"])
            templated[key] = manifest["spec"]["target"]["template"]
    assert templated == plan.external_secret_templates
    assert all(t["mergePolicy"] == "Merge" for t in templated.values())


def test_a_template_without_its_external_secret_is_an_error_naming_it():
    plan = make_plan()
    keycloak_only = {"keycloak": plan.secret_needs["keycloak"]}
    delivery = plan_secret_delivery("qa1", "https://vault.example:8200", "mojaloop", keycloak_only)
    with pytest.raises(IdentityError, match="no ExternalSecret delivers ory/keto, ory/kratos: pass"):
        with_templates(delivery.manifests, plan.external_secret_templates)


# --- databases -----------------------------------------------------------------------------------


def test_each_service_gets_a_dedicated_mysql_in_its_namespace_installed_before_it():
    plan = make_plan()
    mysql = {r.name: r for r in plan.releases if r.chart == "mysql"}
    assert set(mysql) == {"keycloak-mysql", "kratos-mysql", "keto-mysql"}
    secrets = {(ns, n.name) for ns, needs in plan.secret_needs.items() for n in needs}
    for name, spec in mysql.items():
        service = name.removesuffix("-mysql")
        assert spec.values["auth"]["username"] == spec.values["auth"]["database"] == service
        assert (spec.namespace, spec.values["auth"]["existingSecret"]) in secrets
        assert spec.values["image"]["repository"] == "bitnamilegacy/mysql"
    assert plan.release_dependencies["kratos"] == ("kratos-mysql",)
    assert plan.release_dependencies["keto"] == ("keto-mysql",)
    assert set(plan.release_dependencies) == {r.name for r in plan.releases}


def test_an_external_database_replaces_the_dedicated_ones_and_the_notes_name_its_users():
    plan = make_plan(database=DatabaseEndpoint("mysql.rds.example.com", 3307))
    assert not [r for r in plan.releases if r.chart == "mysql"]
    for needs in plan.secret_needs.values():
        assert all("mysql-root-password" not in need.keys for need in needs)
    assert (
        "tcp(mysql.rds.example.com:3307)/kratos"
        in plan.external_secret_templates[("ory", "kratos")]["data"]["dsn"]
    )
    (note,) = [n for n in plan.notes if "mysql.rds.example.com:3307" in n]
    assert all(f"'{user}'" in note for user in ("keycloak", "kratos", "keto"))
    assert plan.release_dependencies["kratos"] == ()


# --- inputs, data and determinism ----------------------------------------------------------------


def test_scheduling_reaches_every_identity_pod_spec():
    plan = make_plan(scheduling=SCHEDULING)
    tolerations = [dict(t) for t in SCHEDULING.tolerations]
    (keycloak,) = by_kind(plan, "Keycloak")
    assert keycloak["spec"]["scheduling"] == {"affinity": SCHEDULING.affinity, "tolerations": tolerations}
    values = {r.name: r.values for r in plan.releases}
    for name in ("keycloak-mysql", "kratos-mysql", "keto-mysql"):
        assert values[name]["primary"]["tolerations"] == tolerations
    for name in ("kratos", "keto"):
        assert values[name]["deployment"]["tolerations"] == tolerations
        assert values[name]["deployment"]["affinity"] == SCHEDULING.affinity
    assert values["oathkeeper"]["deployment"]["tolerations"] == tolerations


def test_a_registry_mirror_replaces_every_images_registry():
    plan = make_plan(registry="mirror.cc.example.com:5000")
    (keycloak,) = by_kind(plan, "Keycloak")
    assert keycloak["spec"]["image"] == "mirror.cc.example.com:5000/keycloak/keycloak:26.0.0"
    assert keycloak["spec"]["startOptimized"] is False
    for r in plan.releases:
        registry = (
            r.values["image"]["registry"] if r.chart == "mysql" else r.values["global"]["imageRegistry"]
        )
        assert registry == "mirror.cc.example.com:5000"
    assert "image" not in by_kind(make_plan(), "Keycloak")[0]["spec"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"internal_domain": "Int_Example"}, "internal_domain 'Int_Example' is not a lower-case DNS name"),
        ({"external_domain": INTERNAL}, "must live on different domains"),
        ({"registry": "https://mirror"}, "is not a registry host"),
        ({"database": DatabaseEndpoint("db", 0)}, "database port 0 is not a TCP port"),
        ({"database": DatabaseEndpoint("user@db")}, "must be a bare host name"),
        ({"storage_class": "Fast SSD"}, "storage_class 'Fast SSD' is not a Kubernetes object name"),
    ],
)
def test_bad_inputs_are_refused_with_a_message_naming_the_input(changes, message):
    with pytest.raises(IdentityError, match=re.escape(message)):
        make_plan(**changes)


def test_a_password_policy_that_breaks_a_dsn_or_kratos_cipher_is_refused_at_plan_time():
    policies = load_password_policies()
    url_safe = policies["mongodb"]
    widened = dataclasses.replace(
        url_safe, rules=(*url_safe.rules, dataclasses.replace(url_safe.rules[0], charset="@"))
    )
    with pytest.raises(IdentityError, match=r"may generate '@', which a DSN cannot hold"):
        plan_identity(IdentityInput(INTERNAL, EXTERNAL), password_policies={**policies, "mongodb": widened})
    longer = dataclasses.replace(url_safe, length=40)
    with pytest.raises(IdentityError, match="Kratos' cipher secret needs exactly 32"):
        plan_identity(IdentityInput(INTERNAL, EXTERNAL), password_policies={**policies, "mongodb": longer})


def test_pins_that_split_a_database_from_its_service_namespace_are_refused():
    pins = copy.deepcopy(chart_pins())
    pins["keto-mysql"]["namespace"] = "databases"
    with pytest.raises(IdentityError, match="keto-mysql is in 'databases', not 'ory'"):
        plan_identity(IdentityInput(INTERNAL, EXTERNAL), pins=pins)


def test_ory_releases_use_the_pinned_charts_from_the_ory_repository():
    pins = chart_pins()
    plan = make_plan()
    for name in ("kratos", "keto", "oathkeeper"):
        spec = release(plan, name)
        assert (spec.chart, spec.repo, spec.version, spec.namespace) == (
            name,
            pins[name]["repo"],
            pins[name]["version"],
            pins[name]["namespace"],
        )
        assert spec.atomic and spec.timeout_seconds > 0


def test_the_plan_is_deterministic():
    first, second = make_plan(scheduling=SCHEDULING), make_plan(scheduling=SCHEDULING)
    assert first == second

    def dump(plan: IdentityPlan) -> str:
        return json.dumps([dict(r.values) for r in plan.releases] + list(plan.manifests), default=str)

    assert dump(first) == dump(second)


_labels = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env=_labels, base=_labels)
def test_any_pair_of_domains_gives_valid_manifests_on_those_domains(env, base):
    internal, external = f"int.{env}.{base}.example", f"{env}.{base}.example"
    plan = plan_identity(IdentityInput(internal, external))
    for manifest in plan.manifests:
        validate_fast(manifest)
    for vs in by_kind(plan, "VirtualService"):
        (host,) = vs["spec"]["hosts"]
        domain = external if vs["spec"]["gateways"] == [contract.EXTERNAL_GATEWAY] else internal
        assert host.endswith(f".{domain}")


# --- with real generated passwords ----------------------------------------------------------------

_TEMPLATE_EXPRESSION = re.compile(r'\{\{ (?:index \. "([^"]+)"|\.([A-Za-z0-9_]+)) \}\}')
# go-sql-driver's DSN, as Ory writes it: mysql://user:password@tcp(host:port)/database?options
_ORY_MYSQL_DSN = re.compile(r"^mysql://([^:@/]+):(.+)@tcp\(([^():/]+):(\d+)\)/([A-Za-z0-9_]+)\?(.*)$")


def render(template: str, data: dict[str, str]) -> str:
    """The two template forms the plan uses, rendered as External Secrets' Go templates would."""
    rendered = _TEMPLATE_EXPRESSION.sub(lambda m: data[m.group(1) or m.group(2)], template)
    assert "{{" not in rendered, rendered
    return rendered


@pytest.mark.slow
def test_secrets_built_from_real_vault_passwords_are_what_the_services_parse(
    openbao: OpenBaoServer,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    """Apply the identity needs' Vault side to a real OpenBao, log each namespace in through Kubernetes auth
    (TokenReview answered by a stand-in API server) and read its Secrets as its SecretStore would, assemble
    them as External Secrets would (Merge), then parse them the way each consumer does."""
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    plan = make_plan()
    delivery = plan_secret_delivery("idtest", openbao.address, "mojaloop", plan.secret_needs)
    vault = delivery.vault
    secrets: dict[tuple[str, str], dict[str, str]] = {}
    with run_token_review_server(tmp_path / "apiserver") as apiserver:
        connection = apply_environment_vault(openbao, vault, apiserver)
        for spec in delivery.generated:
            GeneratedSecretProvider().create(
                {**connection, "mount": vault.kv_mount, "path": spec.path, "keys": dict(spec.keys)}
            )
        for external in with_templates(delivery.manifests, plan.external_secret_templates):
            if external["kind"] != "ExternalSecret":
                continue
            namespace, target = external["metadata"]["namespace"], external["spec"]["target"]
            reader = namespace_login(openbao, vault, namespace)
            data = {}
            for item in external["spec"]["data"]:
                stored = reader.secrets.kv.v2.read_secret_version(
                    item["remoteRef"]["key"], mount_point="mojaloop", raise_on_deleted_version=True
                )["data"]["data"]
                data[item["secretKey"]] = stored[item["remoteRef"]["property"]]
            template = target.get("template", {}).get("data", {})
            secrets[(namespace, target["name"])] = {**data, **{k: render(v, data) for k, v in template.items()}}

    for service in ("kratos", "keto"):
        secret = secrets[("ory", service)]
        match = _ORY_MYSQL_DSN.match(secret["dsn"])
        assert match, secret["dsn"]
        user, password, host, port, database, _ = match.groups()
        assert (user, password, database) == (service, secret["mysql-password"], service)
        assert (host, int(port)) == (f"{service}-mysql.ory.svc.cluster.local", 3306)
        assert urllib.parse.quote(password, safe="") == password  # nothing to escape in a URL
    assert len(secrets[("ory", "kratos")]["secretsCipher"]) == 32
    assert secrets[("keycloak", "keycloak-db")]["username"] == "keycloak"
    assert set(secrets[("keycloak", "keycloak-bootstrap-admin")]) == KEYCLOAK_BOOTSTRAP_KEYS

    # The copy into Ory's namespace, rendered from the client secret as Keycloak's namespace holds it.
    (copy_secret,) = [m for m in by_kind(plan, "ExternalSecret")]
    client_secret = secrets[("keycloak", "hub-operators-kratos-client")]["client-secret"]
    data = {d["secretKey"]: client_secret for d in copy_secret["spec"]["data"]}
    providers = json.loads(render(copy_secret["spec"]["target"]["template"]["data"]["providers"], data))
    assert providers[0]["client_secret"] == client_secret
    assert providers[0]["issuer_url"] == f"https://keycloak.{INTERNAL}/realms/{HUB_OPERATOR_REALM}"
