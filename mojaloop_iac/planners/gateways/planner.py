"""plan_gateways: checks the input, then assembles releases, namespaces, manifests and Secret needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mojaloop_iac import contract
from mojaloop_iac.planners.gateways.charts import PinnedChart, minor_version, pinned_chart
from mojaloop_iac.planners.gateways.inputs import (
    EXTERNAL,
    INTERNAL,
    SUBSTRATES,
    GatewaysError,
    GatewaysInput,
    GatewaysPlan,
)
from mojaloop_iac.planners.gateways.manifests import (
    egress_gateway,
    external_gateway,
    internal_gateway,
    mesh_wide_strict_mtls,
)
from mojaloop_iac.planners.gateways.names import (
    check_distinct_domains,
    check_domain,
    check_object_name,
    plain,
)
from mojaloop_iac.planners.gateways.releases import (
    egress_gateway_release,
    ingress_gateway_release,
    istio_base_release,
    istio_cni_release,
    istiod_release,
)
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.platform_versions import ISTIO, platform_versions

# Pins in config/charts/istio.yaml.
ISTIO_BASE = "istio-base"
ISTIOD = "istiod"
ISTIO_GATEWAY = "istio-gateway"
ISTIO_CNI = "istio-cni"

# Key of the client CA Secret; Istio reads `ca.crt` (or `cacert`) from a CA credential.
CLIENT_CA_KEY = "ca.crt"
CLIENT_CA_SUFFIX = "-cacert"
# Not a password: the operator (or the DFSP onboarding) writes the CA certificate to Vault.
CLIENT_CA_KIND = "x509-ca-certificate"


def plan_gateways(inp: GatewaysInput) -> GatewaysPlan:
    try:
        _check(inp)
        providers = extension_providers(inp.extension_providers)
    except ValueError as wrong:
        raise GatewaysError(f"cannot plan the Istio gateways: {wrong}") from None
    versions = inp.versions or platform_versions(inp.kubernetes_version)
    base, istiod, gateway = (pinned_chart(key, versions) for key in (ISTIO_BASE, ISTIOD, ISTIO_GATEWAY))
    check_one_istio_release(base, istiod, gateway)
    flat = versions.supports(ISTIO, "flatIstiodValues")
    node_agent = ()
    if inp.sidecars is not None:
        cni = pinned_chart(ISTIO_CNI, versions)
        node_agent = (istio_cni_release(cni, inp.sidecars.istio_cni_values(), flat),)
    internal, external = "internal" in inp.ingress, "external" in inp.ingress
    releases = (
        istio_base_release(base),
        istiod_release(istiod, providers, sidecars=inp.sidecars is not None, flat_values=flat),
        *node_agent,
        *((ingress_gateway_release(gateway, INTERNAL, inp.substrate, inp.scheduling),) if internal else ()),
        *((ingress_gateway_release(gateway, EXTERNAL, inp.substrate, inp.scheduling),) if external else ()),
        *((egress_gateway_release(gateway, inp),) if inp.egress else ()),
    )
    manifests = (
        mesh_wide_strict_mtls(istiod.namespace),
        *((internal_gateway(INTERNAL, inp.internal_domain, inp.internal_tls_secret),) if internal else ()),
        *(
            (
                external_gateway(
                    EXTERNAL,
                    inp.external_domain,
                    inp.external_tls_secret,
                    inp.client_ca_secret,
                    explicit_ca_credential=versions.supports(ISTIO, "caCertCredentialName"),
                ),
            )
            if external
            else ()
        ),
        *((egress_gateway(),) if inp.egress else ()),
    )
    client_ca = SecretNeed(
        inp.client_ca_secret,
        {CLIENT_CA_KEY: CLIENT_CA_KIND},
        "CA certificate(s) that sign DFSP client certificates; the external gateway accepts only clients "
        "presenting a certificate they signed",
    )
    installed = {istiod.namespace} | {g.namespace for g, on in ((INTERNAL, internal), (EXTERNAL, external)) if on}
    if inp.egress:
        installed.add(contract.EGRESS_GATEWAY_NAMESPACE)
    return GatewaysPlan(
        releases=releases,
        namespaces=tuple(spec for spec in gateway_namespaces(istiod.namespace) if spec.name in installed)
        + ((node_agent_namespace(node_agent[0].namespace),) if node_agent else ()),
        manifests=manifests,
        secret_needs={EXTERNAL.namespace: (client_ca,)} if external else {},
        warnings=(),
    )


def gateway_namespaces(istio_namespace: str) -> tuple[NamespaceSpec, ...]:
    """All `restricted`: istiod and the gateway pods run as non-root with every capability dropped, no
    privilege escalation and the RuntimeDefault seccomp profile (set in their values), and the only
    sysctl the gateways use (unprivileged ports) is one `restricted` allows. Gateway pods need no init
    container (no traffic redirection), so nothing there needs NET_ADMIN."""
    return (
        NamespaceSpec(istio_namespace, "restricted", "Istio control plane (istiod) and mesh-wide policy"),
        NamespaceSpec(INTERNAL.namespace, "restricted", "Internal ingress gateway: hub operators, portals"),
        NamespaceSpec(
            EXTERNAL.namespace, "restricted", "External ingress gateway: FSPIOP interop API (mutual TLS)"
        ),
        NamespaceSpec(
            contract.EGRESS_GATEWAY_NAMESPACE, "restricted", "Egress gateway for callbacks to DFSPs"
        ),
    )


def node_agent_namespace(namespace: str) -> NamespaceSpec:
    """istio-cni's DaemonSet runs privileged (it edits each node's CNI configuration and pods' network
    namespaces): the one `privileged` namespace, holding nothing else."""
    return NamespaceSpec(namespace, "privileged", "istio-cni node agent: sets up meshed pods' traffic redirection")


def extension_providers(entries: tuple[Mapping[str, Any], ...]) -> list[dict[str, Any]]:
    """meshConfig.extensionProviders, sorted by name so the values do not depend on who adds first."""
    by_name: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"extension provider #{index + 1} has no `name`")
        kinds = sorted(set(entry) - {"name"})
        if len(kinds) != 1:
            raise ValueError(
                f"extension provider {name!r} must set exactly one provider kind (e.g. envoyExtAuthzHttp), "
                f"it sets {', '.join(kinds) or 'none'}"
            )
        if name in by_name:
            raise ValueError(
                f"two extension providers are named {name!r}; AuthorizationPolicies pick one by name"
            )
        by_name[name] = plain(entry)
    return [by_name[name] for name in sorted(by_name)]


def _check(inp: GatewaysInput) -> None:
    if inp.substrate not in SUBSTRATES:
        raise ValueError(f"substrate {inp.substrate!r} is not one of {', '.join(SUBSTRATES)}")
    check_domain("internal domain", inp.internal_domain)
    check_domain("external domain", inp.external_domain)
    check_distinct_domains(inp.internal_domain, inp.external_domain)
    minor_version(inp.kubernetes_version)
    check_object_name("internal TLS secret", inp.internal_tls_secret)
    check_object_name("external TLS secret", inp.external_tls_secret)
    check_object_name("client CA secret", inp.client_ca_secret)
    if inp.client_ca_secret == inp.external_tls_secret:
        raise ValueError(
            f"the client CA secret and the external TLS secret are both {inp.client_ca_secret!r}: "
            "cert-manager owns the TLS secret and would replace the client CA; name a Secret of its own"
        )
    if inp.client_ca_secret != client_ca_secret_name(inp.external_tls_secret):
        raise ValueError(
            f"the client CA secret must be named {client_ca_secret_name(inp.external_tls_secret)!r}, after the "
            f"external TLS secret: Istio releases before 1.28 read a gateway's client CA only from "
            f"'<credentialName>-cacert' (cert-manager owns the TLS secret itself and its ca.crt)"
        )


def client_ca_secret_name(tls_secret: str) -> str:
    """Where every Istio release finds a MUTUAL gateway's client CA: `<credentialName>-cacert` (1.28 and
    later are also told so explicitly, with caCertCredentialName)."""
    return f"{tls_secret}{CLIENT_CA_SUFFIX}"


def check_one_istio_release(*pins: PinnedChart) -> None:
    """The pins of istio-base, istiod and the gateway chart (in that order) are one Istio release in one
    root namespace (validation refuses a stack's chartVersions that mix Istio versions)."""
    versions = {pin.key: pin.version for pin in pins}
    if len(set(versions.values())) != 1:
        listed = ", ".join(f"{key} {version}" for key, version in versions.items())
        raise GatewaysError(f"a mix of Istio releases ({listed}): every Istio chart runs one version")
    if pins[0].namespace != pins[1].namespace:
        raise GatewaysError(
            f"config/charts/istio.yaml: istio-base ({pins[0].namespace}) and istiod ({pins[1].namespace}) "
            "must share one namespace, Istio's root namespace"
        )
