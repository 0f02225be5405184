"""cert-manager and the gateways' certificates: pinned release, issuers, wildcard Certificates, no secrets."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml


from mojaloop_iac import contract
from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.planners.certificates import (
    LETSENCRYPT_PRODUCTION,
    CertificatesError,
    CertificatesInput,
    plan_certificates,
)
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
from mojaloop_iac.platform_versions import pinned_minors
from tests.support.manifests import validate_core, validate_custom
from tests.test_gateways import fields_the_api_server_would_prune

INTERNAL_DOMAIN = "int.qa1.example.com"
EXTERNAL_DOMAIN = "qa1.example.com"
ROUTE53 = {"route53": {"region": "eu-west-1"}}
RFC2136 = {
    "rfc2136": {
        "nameserver": "192.0.2.53:53",
        "tsigKeyName": "cert-manager",
        "tsigAlgorithm": "HMACSHA512",
        "tsigSecretSecretRef": {"name": "dns-tsig", "key": "tsig-secret"},
    }
}


def certificates_input(**changes):
    inp = CertificatesInput(
        internal_domain=INTERNAL_DOMAIN,
        external_domain=EXTERNAL_DOMAIN,
        kubernetes_version="1.33",
        acme_email="hub-ops@example.com",
        acme_dns01_solver=ROUTE53,
    )
    return replace(inp, **changes)


def plan(**changes):
    return plan_certificates(certificates_input(**changes))


def of_kind(result, kind):
    return [m for m in result.manifests if m["kind"] == kind]


def issuer(result, name):
    return next(m for m in of_kind(result, "ClusterIssuer") if m["metadata"]["name"] == name)


def certificate_in(result, namespace):
    return next(m for m in of_kind(result, "Certificate") if m["metadata"]["namespace"] == namespace)


@pytest.mark.parametrize(
    "changes",
    [{}, {"internal_issuer": "acme", "acme_dns01_solver": RFC2136}, {"external_issuer": "internal-ca"}],
)
def test_every_manifest_and_namespace_validates_against_its_schema(changes):
    result = plan(**changes)
    for manifest in result.manifests:
        validate_custom(manifest)
        assert fields_the_api_server_would_prune(manifest) == []
    for spec in result.namespaces:
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": spec.name, "labels": spec.labels("1.33")},
        }
        validate_core(namespace, "1.33")


def test_cert_manager_comes_from_config_charts_and_installs_its_crds():
    (pin,) = yaml.safe_load(
        (CONFIG_DIR / "charts" / "cert-manager.yaml").read_text(encoding="utf-8")
    ).values()
    release = plan().release
    assert (release.chart, release.repo, release.version, release.namespace) == (
        pin["chart"],
        pin["repo"],
        pinned_minors()["1.33"]["cert-manager"],
        pin["namespace"],
    )
    assert release.values["crds"] == {"enabled": True, "keep": True}
    assert "installCRDs" not in release.values  # deprecated in favour of crds.enabled
    assert release.values["global"]["leaderElection"]["namespace"] == release.namespace
    assert release.atomic and release.timeout_seconds > 0
    assert [spec.name for spec in plan().namespaces] == [release.namespace]
    assert plan().namespaces[0].enforce == "restricted"


def test_wildcard_certificates_live_in_the_gateway_namespaces_and_name_the_exposed_secrets():
    result = plan()
    internal = certificate_in(result, contract.INTERNAL_GATEWAY_NAMESPACE)
    external = certificate_in(result, contract.EXTERNAL_GATEWAY_NAMESPACE)
    assert internal["spec"]["dnsNames"] == [f"*.{INTERNAL_DOMAIN}"]
    assert external["spec"]["dnsNames"] == [f"*.{EXTERNAL_DOMAIN}"]
    assert internal["spec"]["secretName"] == result.internal_tls_secret
    assert external["spec"]["secretName"] == result.external_tls_secret
    assert result.internal_tls_secret != result.external_tls_secret


def test_by_default_internal_names_come_from_the_internal_ca_and_external_ones_from_acme():
    result = plan()
    assert (
        certificate_in(result, contract.INTERNAL_GATEWAY_NAMESPACE)["spec"]["issuerRef"]["name"]
        == "internal-ca"
    )
    assert certificate_in(result, contract.EXTERNAL_GATEWAY_NAMESPACE)["spec"]["issuerRef"]["name"] == "acme"


def test_each_gateway_can_be_given_the_other_issuer():
    result = plan(internal_issuer="acme", external_issuer="internal-ca")
    assert certificate_in(result, contract.INTERNAL_GATEWAY_NAMESPACE)["spec"]["issuerRef"]["name"] == "acme"
    assert (
        certificate_in(result, contract.EXTERNAL_GATEWAY_NAMESPACE)["spec"]["issuerRef"]["name"]
        == "internal-ca"
    )


def test_every_issuer_a_certificate_uses_is_defined_before_it():
    for result in (plan(), plan(internal_issuer="acme")):
        defined = []
        for manifest in result.manifests:
            if manifest["kind"] == "ClusterIssuer":
                defined.append(manifest["metadata"]["name"])
            elif manifest["kind"] == "Certificate":
                ref = manifest["spec"]["issuerRef"]
                assert (ref["kind"], ref["group"]) == ("ClusterIssuer", "cert-manager.io")
                assert ref["name"] in defined


def test_the_internal_ca_is_bootstrapped_self_signed_and_backs_the_ca_issuer():
    result = plan()
    assert issuer(result, "internal-ca-bootstrap")["spec"] == {"selfSigned": {}}
    ca_certificate = next(m for m in of_kind(result, "Certificate") if m["spec"].get("isCA"))
    assert ca_certificate["spec"]["issuerRef"]["name"] == "internal-ca-bootstrap"
    # A ClusterIssuer reads its CA from cert-manager's namespace (the "cluster resource namespace").
    assert ca_certificate["metadata"]["namespace"] == result.release.namespace
    assert issuer(result, "internal-ca")["spec"] == {
        "ca": {"secretName": ca_certificate["spec"]["secretName"]}
    }
    assert result.internal_ca_secret == f"{result.release.namespace}/{ca_certificate['spec']['secretName']}"
    # Limited to the environment's domains; renewal keeps the key so earlier leaves still verify.
    assert ca_certificate["spec"]["nameConstraints"]["permitted"]["dnsDomains"] == sorted(
        [INTERNAL_DOMAIN, EXTERNAL_DOMAIN]
    )
    assert ca_certificate["spec"]["privateKey"]["rotationPolicy"] == "Never"


def test_the_acme_issuer_solves_dns01_and_lets_cert_manager_make_its_account_key():
    acme = issuer(plan(), "acme")["spec"]["acme"]
    assert acme["server"] == LETSENCRYPT_PRODUCTION
    assert acme["email"] == "hub-ops@example.com"
    assert acme["privateKeySecretRef"] == {"name": "acme-account-key"}  # no key: cert-manager writes it
    assert acme["solvers"] == [{"dns01": ROUTE53}]
    assert "http01" not in json.dumps(acme)


def test_another_acme_server_can_be_chosen():
    staging = "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert issuer(plan(acme_server=staging), "acme")["spec"]["acme"]["server"] == staging


def test_no_acme_issuer_when_nothing_asks_for_one_and_none_is_configured():
    result = plan(external_issuer="internal-ca", acme_email=None, acme_dns01_solver=None)
    assert [m["metadata"]["name"] for m in of_kind(result, "ClusterIssuer")] == [
        "internal-ca-bootstrap",
        "internal-ca",
    ]
    assert result.secret_needs == {}


def test_dns01_credentials_are_secret_needs_delivered_to_cert_managers_namespace():
    result = plan(acme_dns01_solver=RFC2136)
    namespace = result.release.namespace
    (need,) = result.secret_needs[namespace]
    assert (need.name, set(need.keys)) == ("dns-tsig", {"tsig-secret"})
    delivery = plan_secret_delivery("qa1", "https://vault.example:8200", "mojaloop", result.secret_needs)
    (external,) = [m for m in delivery.manifests if m["kind"] == "ExternalSecret"]
    assert external["metadata"] == {
        "name": "dns-tsig",
        "namespace": namespace,
        # Created only once its Secret exists, so cert-manager finds it.
        "annotations": {"pulumi.com/waitFor": "condition=Ready"},
    }
    assert len(delivery.operator_supplied) == 1 and "dns-tsig" in delivery.operator_supplied[0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"acme_email": None}, "needs a contact e-mail address"),
        ({"acme_email": "not an address"}, "needs a contact e-mail address"),
        ({"acme_dns01_solver": None}, "needs a DNS-01 solver"),
        ({"acme_dns01_solver": {"http01": {"ingress": {}}}}, "exactly one of"),
        ({"acme_dns01_solver": {**ROUTE53, "cloudflare": {}}}, "exactly one of"),
        ({"acme_dns01_solver": {"cloudflare": {"apiToken": "abc123"}}}, "holds a credential inline"),
        ({"acme_dns01_solver": {"webhook": {"config": {"password": "p"}}}}, "holds a credential inline"),
        ({"acme_dns01_solver": {"cloudflare": {"apiTokenSecretRef": {"name": "cf"}}}}, "lacks key"),
        ({"acme_server": "http://acme.example/directory"}, "must be an https://"),
        ({"internal_issuer": "vault"}, "issuer 'vault' is not one of"),
        ({"internal_domain": "*.int.qa1.example.com"}, "without '\\*.'"),
        ({"internal_domain": EXTERNAL_DOMAIN}, "both 'qa1.example.com'"),
        ({"kubernetes_version": "one"}, "not a Kubernetes version"),
    ],
)
def test_invalid_input_is_refused_naming_what_to_change(changes, message):
    with pytest.raises(CertificatesError, match=message):
        plan(**changes)


def test_acme_for_internal_names_needs_the_acme_configuration_too():
    with pytest.raises(CertificatesError, match="the internal gateway's certificate uses it"):
        plan(internal_issuer="acme", external_issuer="internal-ca", acme_email=None)


def test_the_cert_manager_release_follows_the_kubernetes_minor_and_its_crd_values():
    assert plan(kubernetes_version="1.34").warnings == plan(kubernetes_version="1.24").warnings == ()
    assert plan(kubernetes_version="1.32").release.version == "v1.20.3"
    older = plan(kubernetes_version="1.24").release
    # cert-manager 1.14 predates `crds.enabled`: its chart installs the CRDs with `installCRDs`.
    assert older.version == "v1.14.7" and older.values["installCRDs"] is True and "crds" not in older.values


def test_the_plan_is_deterministic():
    def rendered():
        result = plan(acme_dns01_solver=RFC2136)
        return json.dumps({"release": result.release.__dict__, "manifests": result.manifests})

    assert rendered() == rendered()
