"""Deny by default: every namespace the stack owns gets a NetworkPolicy and an Istio AuthorizationPolicy that
allow nothing, then one allow per flow the platform needs.

Who talks to whom is the planners' knowledge, written down here as `Flow`s: DNS for everyone; the API
server for the controllers (and the API server to their webhooks); the sidecars and gateways to istiod; the
gateways to the namespaces their VirtualServices route to; Mojaloop to its backend (one namespace) and to the
egress gateway; the egress gateway, cert-manager's ACME and DNS checks, External Secrets' Vault and the Helm
test pods' test-case download to the outside. NetworkPolicies select pods by namespace (and pod labels where
the planner knows them); their ports are the pods' own, which only the charts know, so a flow between
namespaces allows every port unless the planner knows the target port.

AuthorizationPolicies act on pods with a proxy: in the meshed namespaces an `allow` names the peers by mesh
identity (namespace, or the gateways' service accounts); the gateways' namespaces get per-host rules from the
identity planner. The allow-nothing policy in Istio's root namespace applies to the whole mesh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from mojaloop_iac import contract

SECURITY_API: Final = "security.istio.io/v1"
NETWORK_API: Final = "networking.k8s.io/v1"
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "mojaloop-iac"}
NAMESPACE_LABEL: Final = "kubernetes.io/metadata.name"
EVERYWHERE: Final = ("0.0.0.0/0", "::/0")

Port = tuple[str, int | str]  # (protocol, port or port name)
DNS: Final[tuple[Port, ...]] = (("UDP", 53), ("TCP", 53))
HTTPS: Final[tuple[Port, ...]] = (("TCP", 443),)
ISTIOD_XDS: Final[tuple[Port, ...]] = (("TCP", 15012),)
ISTIOD_WEBHOOK: Final[tuple[Port, ...]] = (("TCP", 15017),)
# cert-manager's and External Secrets' admission webhooks listen on 10250 in their pods.
CONTROLLER_WEBHOOK: Final[tuple[Port, ...]] = (("TCP", 10250),)
# The gateway chart's container ports for the Service ports 80/443 (values set targetPort == port) and the
# status port the load balancers' health checks reach through the NodePort.
GATEWAY_LISTENERS: Final[tuple[Port, ...]] = (("TCP", 80), ("TCP", 443), ("TCP", 15021))
ENVIRONMENT_GATEWAYS: Final = (
    contract.INTERNAL_GATEWAY_NAMESPACE,
    contract.EXTERNAL_GATEWAY_NAMESPACE,
    contract.EGRESS_GATEWAY_NAMESPACE,
)


@dataclass(frozen=True)
class Peer:
    """One end of a flow: pods of a namespace (optionally by labels) or networks outside the cluster."""

    namespace: str | None = None
    pods: Mapping[str, Any] | None = None
    """A pod selector (matchLabels / matchExpressions) within the namespace; None: all its pods."""
    cidrs: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    """Networks left out of `cidrs` (the cluster's own, so "the internet" never means the pods)."""


@dataclass(frozen=True)
class Flow:
    name: str
    """What the flow is for; names the NetworkPolicies (`allow-<name>`)."""
    source: Peer
    destination: Peer
    ports: tuple[Port, ...] = ()
    """On the destination pods; () allows every port."""


@dataclass(frozen=True)
class ClusterNetworks:
    api_server: tuple[tuple[str, int], ...]
    """(CIDR, port) where pods reach the API server: the `kubernetes` Service and its endpoints."""
    api_server_sources: tuple[str, ...]
    """Where the API server's own connections come from (webhook calls): the servers, or the VPC on EKS."""
    cluster: tuple[str, ...]
    """Pod and service networks: never "the outside"."""


@dataclass(frozen=True)
class DefaultDenyInput:
    namespaces: tuple[str, ...]
    """Every namespace the stack owns."""
    networks: ClusterNetworks
    mojaloop: str
    meshed: tuple[str, ...]
    """Namespaces whose pods carry a sidecar."""
    istio: str
    cert_manager: str
    external_secrets: str
    keycloak: str
    ory: str
    gateway_routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Gateway namespace -> the namespaces its VirtualServices route to."""
    known_ports: Mapping[str, tuple[Port, ...]] = field(default_factory=dict)
    """Namespace -> its pods' ports the gateways reach, where the planners know them."""
    vault_ports: tuple[Port, ...] = HTTPS
    """Where External Secrets reaches Vault (outside the cluster)."""
    test_pods: tuple[str, ...] = ()
    """`app.kubernetes.io/name` of the Helm test pods, which download their test cases."""
    controllers: tuple[str, ...] = ()
    """Namespaces whose pods call the API server (operators, controllers, istiod)."""
    webhooks: Mapping[str, tuple[Port, ...]] = field(default_factory=dict)
    """Namespace -> the ports of its admission webhooks, called by the API server."""


@dataclass(frozen=True)
class DefaultDenyPlan:
    manifests: tuple[dict[str, Any], ...]
    flows: tuple[Flow, ...]


def plan_default_deny(inp: DefaultDenyInput) -> DefaultDenyPlan:
    """An environment's namespaces: deny by default, then its flows and the mesh's allows. Flows to the
    parts a stack may leave out (a gateway, the identity services: the QA profile does) exist only when the
    stack installs them; any other unknown namespace is a planner error."""
    optional = {*ENVIRONMENT_GATEWAYS, inp.keycloak, inp.ory} - set(inp.namespaces)
    flows = tuple(
        flow
        for flow in environment_flows(inp)
        if not {flow.source.namespace, flow.destination.namespace} & optional
    )
    return DefaultDenyPlan(default_deny_manifests(inp.namespaces, flows, mesh_allows(inp)), flows)


def default_deny_manifests(
    namespaces: Sequence[str], flows: Sequence[Flow], authorizations: Sequence[dict[str, Any]] = ()
) -> tuple[dict[str, Any], ...]:
    """Per namespace a NetworkPolicy and an AuthorizationPolicy that allow nothing, then the flows'
    NetworkPolicies and the given AuthorizationPolicies."""
    unknown = sorted(
        {peer.namespace for flow in flows for peer in (flow.source, flow.destination) if peer.namespace}
        - set(namespaces)
        - {"kube-system"}
    )
    if unknown:
        raise ValueError(f"flows name namespaces the stack does not own: {', '.join(unknown)}")
    manifests: list[dict[str, Any]] = []
    for namespace in sorted(namespaces):
        manifests.append(deny_all_network_policy(namespace))
        manifests.append(allow_nothing(namespace))
    return (*manifests, *network_policies(flows), *authorizations)


def cluster_flows(
    namespaces: Sequence[str],
    networks: ClusterNetworks,
    controllers: Sequence[str],
    webhooks: Mapping[str, tuple[Port, ...]],
) -> Iterable[Flow]:
    """What every cluster needs: DNS for everyone, the API server for the controllers, and the API server
    to their admission webhooks."""
    dns = Peer("kube-system", {"matchLabels": {"k8s-app": "kube-dns"}})
    for namespace in namespaces:
        yield Flow("dns", Peer(namespace), dns, DNS)
    for namespace in controllers:
        for cidr, port in networks.api_server:
            yield Flow("kubernetes-api", Peer(namespace), Peer(cidrs=(cidr,)), (("TCP", port),))
    for namespace, ports in webhooks.items():
        yield Flow("webhooks", Peer(cidrs=networks.api_server_sources), Peer(namespace), ports)


def environment_flows(inp: DefaultDenyInput) -> Iterable[Flow]:
    outside = Peer(cidrs=EVERYWHERE, excluded=inp.networks.cluster)
    yield from cluster_flows(inp.namespaces, inp.networks, inp.controllers, inp.webhooks)
    # Proxies fetch their configuration and certificates from istiod.
    gateways = ENVIRONMENT_GATEWAYS
    for namespace in (*inp.meshed, *gateways):
        yield Flow("istiod", Peer(namespace), Peer(inp.istio), ISTIOD_XDS)
    # Clients (and their load balancers' health checks) reach the ingress gateways from anywhere.
    for namespace in gateways[:2]:
        yield Flow("clients", Peer(cidrs=EVERYWHERE), Peer(namespace), GATEWAY_LISTENERS)
        for destination in inp.gateway_routes.get(namespace, ()):
            yield Flow("gateway", Peer(namespace), Peer(destination), inp.known_ports.get(destination, ()))
    # Mojaloop and its backend share a namespace; callbacks to DFSPs leave through the egress gateway.
    yield Flow("same-namespace", Peer(inp.mojaloop), Peer(inp.mojaloop))
    yield Flow("callbacks", Peer(inp.mojaloop), Peer(contract.EGRESS_GATEWAY_NAMESPACE), HTTPS)
    yield Flow("dfsps", Peer(contract.EGRESS_GATEWAY_NAMESPACE), outside, HTTPS)
    if inp.test_pods:
        tests = {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": list(inp.test_pods)}]}
        yield Flow("test-cases", Peer(inp.mojaloop, tests), outside, HTTPS)
    # Identity: each service with its database and operator; Kratos discovers Keycloak at its public name
    # (the internal gateway); istiod fetches the DFSP realm's keys from Keycloak.
    for namespace in (inp.keycloak, inp.ory):
        yield Flow("same-namespace", Peer(namespace), Peer(namespace))
    yield Flow("oidc-discovery", Peer(inp.ory), Peer(contract.INTERNAL_GATEWAY_NAMESPACE), HTTPS)
    yield Flow("jwks", Peer(inp.istio), Peer(inp.keycloak), inp.known_ports.get(inp.keycloak, ()))
    # cert-manager: ACME and the DNS-01 propagation checks against public name servers.
    yield Flow("acme", Peer(inp.cert_manager), outside, (*HTTPS, *DNS))
    yield Flow("vault", Peer(inp.external_secrets), outside, inp.vault_ports)


@dataclass(frozen=True)
class ControlCenterTraffic:
    """Who talks to whom in a control center (no sidecars there: only its gateway carries a proxy)."""

    namespaces: tuple[str, ...]
    networks: ClusterNetworks
    istio: str
    gateway: str
    routed: tuple[str, ...]
    """Namespaces the gateway passes TLS through to (Vault, MinIO, the mirror, GitLab's ingress)."""
    controllers: tuple[str, ...]
    webhooks: Mapping[str, tuple[Port, ...]]
    outside: Mapping[str, tuple[Port, ...]]
    """Namespace -> ports it reaches outside the cluster at; () every port (CI jobs)."""
    inbound: Mapping[str, tuple[Port, ...]] = field(default_factory=dict)
    """Namespace -> ports reached from anywhere besides the gateway's (the WireGuard hub's UDP port)."""


def plan_control_center_default_deny(inp: ControlCenterTraffic) -> DefaultDenyPlan:
    """A control center's namespaces: deny by default, then each service with its peers, the gateway for the
    clients, and the outside where a service needs it (Vault reviewing environments' tokens, the mirror's
    upstream registries, ACME, CI jobs, the WireGuard hub's peers)."""
    flows: list[Flow] = list(cluster_flows(inp.namespaces, inp.networks, inp.controllers, inp.webhooks))
    outside = Peer(cidrs=EVERYWHERE, excluded=inp.networks.cluster)
    flows.append(Flow("istiod", Peer(inp.gateway), Peer(inp.istio), ISTIOD_XDS))
    flows.append(Flow("clients", Peer(cidrs=EVERYWHERE), Peer(inp.gateway), GATEWAY_LISTENERS))
    for namespace in inp.routed:
        flows.append(Flow("gateway", Peer(inp.gateway), Peer(namespace)))
    for namespace in inp.namespaces:
        if namespace not in (inp.istio, inp.gateway):
            flows.append(Flow("same-namespace", Peer(namespace), Peer(namespace)))
    for namespace, ports in inp.outside.items():
        flows.append(Flow("outside", Peer(namespace), outside, ports))
    for namespace, ports in inp.inbound.items():
        flows.append(Flow("peers", Peer(cidrs=EVERYWHERE), Peer(namespace), ports))
    # The gateway passes TLS through: its one server (443) routes only the services' names, others are closed.
    gateway_allow = _authorization(
        inp.gateway,
        "allow-passthrough",
        {"action": "ALLOW", "rules": [{"to": [{"operation": {"ports": ["443"]}}]}]},
    )
    return DefaultDenyPlan(default_deny_manifests(inp.namespaces, flows, (gateway_allow,)), tuple(flows))


def deny_all_network_policy(namespace: str) -> dict[str, Any]:
    return _network_policy(namespace, "deny-by-default", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def allow_nothing(namespace: str) -> dict[str, Any]:
    """An ALLOW policy without rules: requests to the namespace's proxies are denied unless another ALLOW
    policy matches. In Istio's root namespace it is the whole mesh's default."""
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "deny-by-default", "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {},
    }


def network_policies(flows: Sequence[Flow]) -> list[dict[str, Any]]:
    """For each flow, an egress policy on its source namespace and an ingress policy on its destination's
    (a flow with the outside has only the in-cluster side). Flows of one name and namespace are merged."""
    policies: dict[tuple[str, str], dict[str, Any]] = {}
    for flow in flows:
        if flow.source.namespace is not None:
            _add_rule(policies, flow.source, "Egress", f"allow-{flow.name}-out", _peers(flow.destination), flow.ports)
        if flow.destination.namespace is not None and flow.destination.namespace != "kube-system":
            _add_rule(policies, flow.destination, "Ingress", f"allow-{flow.name}-in", _peers(flow.source), flow.ports)
    return [policies[key] for key in sorted(policies)]


def mesh_allows(inp: DefaultDenyInput) -> list[dict[str, Any]]:
    """In each meshed namespace: its own pods, and the gateways that route there. In the egress gateway's:
    the meshed namespaces that send callbacks."""
    allows = []
    for namespace in inp.meshed:
        principals = [
            f"cluster.local/ns/{gateway}/sa/{name}"
            for gateway, name in (
                (contract.INTERNAL_GATEWAY_NAMESPACE, contract.INTERNAL_GATEWAY_NAME),
                (contract.EXTERNAL_GATEWAY_NAMESPACE, contract.EXTERNAL_GATEWAY_NAME),
            )
            if namespace in inp.gateway_routes.get(gateway, ())
        ]
        sources: list[dict[str, Any]] = [{"source": {"namespaces": [namespace]}}]
        if principals:
            sources.append({"source": {"principals": principals}})
        allows.append(_authorization(namespace, "allow-known-peers", {"action": "ALLOW", "rules": [{"from": sources}]}))
    if inp.meshed and contract.EGRESS_GATEWAY_NAMESPACE in inp.namespaces:
        allows.append(
            _authorization(
                contract.EGRESS_GATEWAY_NAMESPACE,
                "allow-callbacks",
                {
                    "selector": {"matchLabels": {"istio": contract.EGRESS_GATEWAY_NAME}},
                    "action": "ALLOW",
                    "rules": [{"from": [{"source": {"namespaces": list(inp.meshed)}}]}],
                },
            )
        )
    return allows


def _add_rule(
    policies: dict[tuple[str, str], dict[str, Any]],
    selected: Peer,
    direction: str,
    name: str,
    peers: list[dict[str, Any]],
    ports: tuple[Port, ...],
) -> None:
    assert selected.namespace is not None
    key = (selected.namespace, name)
    policy = policies.setdefault(
        key,
        _network_policy(
            selected.namespace,
            name,
            {"podSelector": dict(selected.pods or {}), "policyTypes": [direction], direction.lower(): []},
        ),
    )
    rule: dict[str, Any] = {"to" if direction == "Egress" else "from": peers}
    if ports:
        rule["ports"] = [{"protocol": protocol, "port": port} for protocol, port in ports]
    if rule not in policy["spec"][direction.lower()]:
        policy["spec"][direction.lower()].append(rule)


def _peers(peer: Peer) -> list[dict[str, Any]]:
    """A Peer as NetworkPolicy peers: one namespace (and pod) selector, or one ipBlock per CIDR."""
    if peer.namespace is not None:
        selector: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: peer.namespace}}}
        if peer.pods:
            selector["podSelector"] = dict(peer.pods)
        return [selector]
    blocks = []
    for cidr in peer.cidrs:
        excluded = [network for network in peer.excluded if (":" in network) == (":" in cidr)]
        blocks.append({"ipBlock": {"cidr": cidr, **({"except": excluded} if excluded else {})}})
    return blocks


def _network_policy(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": NETWORK_API,
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


def _authorization(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }
