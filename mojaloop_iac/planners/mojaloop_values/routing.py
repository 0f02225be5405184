"""Istio VirtualServices that take the place of the chart's ingresses.

The FSPIOP API is served on the external gateway (DFSPs) and on the internal one (hub-side callers);
the hub's tools (ledger, account-lookup and settlement admin APIs, the Testing Toolkit) only on the
internal gateway, each on a host of its own.
"""

from __future__ import annotations

from typing import Any

from mojaloop_iac.planners.mojaloop_values.data import Feature, HostSpec, MojaloopValuesData, ReleaseLine
from mojaloop_iac.planners.mojaloop_values.inputs import MojaloopValuesError, MojaloopValuesInput

API_VERSION = "networking.istio.io/v1"
MANAGED_BY = "mojaloop-iac"


def host_name(host: HostSpec, inp: MojaloopValuesInput) -> str:
    return host.host.format(internalDomain=inp.internal_domain, externalDomain=inp.external_domain)


def tool_url(data: MojaloopValuesData, inp: MojaloopValuesInput, tool_id: str) -> str:
    """Where a browser reaches a tool (TLS ends at the gateway)."""
    host = next(host for host in data.tool_hosts if host.id == tool_id)
    return f"https://{host_name(host, inp)}"


def build_virtual_services(
    inp: MojaloopValuesInput,
    data: MojaloopValuesData,
    line: ReleaseLine,
    features: frozenset[Feature],
) -> tuple[dict[str, Any], ...]:
    fspiop_routes = [route for route in line.fspiop_routes if route.feature in features]
    manifests = []
    for host in data.fspiop_hosts:
        http = [
            _http_route(inp, route.name, route.prefixes, route.service, route.port) for route in fspiop_routes
        ]
        manifests.append(_virtual_service(inp, host, http))
    for host in data.tool_hosts:
        if host.service is None or host.port is None:  # the data loader refuses such a tool host
            raise MojaloopValuesError(f"tool host {host.id} names no service and port")
        manifests.append(
            _virtual_service(inp, host, [_http_route(inp, host.id, ("/",), host.service, host.port)])
        )
    return tuple(manifests)


def _virtual_service(inp: MojaloopValuesInput, host: HostSpec, http: list[dict[str, Any]]) -> dict[str, Any]:
    gateway = inp.external_gateway if host.gateway == "external" else inp.internal_gateway
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": {
            "name": f"{inp.release_name}-{host.id}",
            "namespace": inp.namespace,
            "labels": {
                "app.kubernetes.io/instance": inp.release_name,
                "app.kubernetes.io/part-of": "mojaloop",
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "spec": {
            "hosts": [host_name(host, inp)],
            "gateways": [gateway],
            "http": http,
        },
    }


def _http_route(
    inp: MojaloopValuesInput, name: str, prefixes: tuple[str, ...], service: str, port: int
) -> dict[str, Any]:
    return {
        "name": name,
        "match": [{"uri": {"prefix": prefix}} for prefix in prefixes],
        "route": [
            {
                "destination": {
                    # The chart names its Services `<release>-<service>`; fully qualified because the
                    # VirtualService may be read in the gateway's namespace.
                    "host": f"{inp.release_name}-{service}.{inp.namespace}.svc.cluster.local",
                    "port": {"number": port},
                }
            }
        ],
    }
