"""Helm releases of Istio: base (CRDs), istiod, and one `gateway` chart release per contract gateway.

Each gateway release is named after its contract gateway, so the chart names its Deployment, Service and
pod label `istio: <name>` after it; the Gateway resources select their pods by that label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from mojaloop_iac import contract
from mojaloop_iac.planners.gateways.charts import PinnedChart
from mojaloop_iac.planners.gateways.inputs import (
    SERVICE_PORTS,
    STATUS_PORT,
    GatewaysInput,
    IngressGateway,
    Substrate,
)
from mojaloop_iac.planners.gateways.names import plain
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.placement import Scheduling

RUNTIME_DEFAULT_SECCOMP: Final = {"type": "RuntimeDefault"}

# The chart's own default pod securityContext is just this sysctl (so the non-root proxy can bind 80 and
# 443; a "safe" sysctl that Pod Security `baseline` and `restricted` allow). Setting the securityContext
# replaces that default, so it is repeated here, with what `restricted` also asks of every pod.
GATEWAY_POD_SECURITY_CONTEXT: Final = {
    "runAsNonRoot": True,
    "seccompProfile": RUNTIME_DEFAULT_SECCOMP,
    "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
}

# At least two gateway pods, so a node drain or a rollout never leaves a gateway without one.
GATEWAY_AUTOSCALING: Final = {
    "enabled": True,
    "minReplicas": 2,
    "maxReplicas": 5,
    "targetCPUUtilizationPercentage": 80,
}

AWS_LB: Final = "service.beta.kubernetes.io/aws-load-balancer"

# Time for a chart to become ready: CRDs only; istiod; a gateway whose AWS load balancer is provisioned.
BASE_TIMEOUT_SECONDS: Final = 300
ISTIOD_TIMEOUT_SECONDS: Final = 600
GATEWAY_TIMEOUT_SECONDS: Final = 600


def istio_base_release(pin: PinnedChart) -> HelmReleaseSpec:
    # The chart's defaults are what we want: Istio's CRDs as templates (so upgrades update them) and the
    # default revision's validation webhook.
    return _release(pin, "istio-base", pin.namespace, {}, BASE_TIMEOUT_SECONDS)


def istiod_release(
    pin: PinnedChart,
    extension_providers: list[dict[str, Any]],
    *,
    sidecars: bool = False,
    flat_values: bool = True,
) -> HelmReleaseSpec:
    """`sidecars`: the injector works with istio-cni and injects the proxy as a native sidecar.
    `flat_values`: the chart takes istiod's settings at the top level (Istio 1.24 and later), not under
    `pilot`."""
    pilot: dict[str, Any] = {
        # Pod Security `restricted` asks every container for a seccomp profile; istiod's chart sets none
        # unless asked.
        "seccompProfile": RUNTIME_DEFAULT_SECCOMP,
    }
    if sidecars:
        pilot["cni"] = {"enabled": True}
        # The proxy as an init container with restartPolicy Always: it starts first, and Jobs and Helm test
        # pods finish when their own containers do.
        pilot["env"] = {"ENABLE_NATIVE_SIDECARS": "true"}
    values = {
        "meshConfig": {"extensionProviders": extension_providers},
        # The same for the sidecars istiod injects into application pods.
        "global": {"proxy": {"seccompProfile": RUNTIME_DEFAULT_SECCOMP}},
        **(pilot if flat_values else {"pilot": pilot}),
    }
    return _release(pin, "istiod", pin.namespace, values, ISTIOD_TIMEOUT_SECONDS)


def istio_cni_release(pin: PinnedChart, cni_values: Mapping[str, Any], flat_values: bool = True) -> HelmReleaseSpec:
    """The istio-cni node agent (a privileged DaemonSet in its own namespace): it redirects each meshed
    pod's traffic when the pod's network is set up, instead of a NET_ADMIN init container in the pod."""
    values = {**cni_values, "seccompProfile": RUNTIME_DEFAULT_SECCOMP}
    return _release(pin, "istio-cni", pin.namespace, values if flat_values else {"cni": values}, ISTIOD_TIMEOUT_SECONDS)


def ingress_gateway_release(
    pin: PinnedChart, gateway: IngressGateway, substrate: Substrate, scheduling: Scheduling | None = None
) -> HelmReleaseSpec:
    """An environment's gateways and the control center's one internal gateway alike: what they share is
    the substrate (NodePorts or a load balancer) and where their pods may run."""
    service = _baremetal_service(gateway) if substrate == "baremetal" else _aws_service(gateway)
    values = _gateway_values(gateway.name, service, scheduling)
    return _release(pin, gateway.name, gateway.namespace, values, GATEWAY_TIMEOUT_SECONDS)


def egress_gateway_release(pin: PinnedChart, inp: GatewaysInput) -> HelmReleaseSpec:
    # Reached only from inside the mesh: no NodePort, no load balancer.
    service = {"type": "ClusterIP", "ports": _service_ports()}
    values = _gateway_values(contract.EGRESS_GATEWAY_NAME, service, inp.scheduling)
    return _release(
        pin, contract.EGRESS_GATEWAY_NAME, contract.EGRESS_GATEWAY_NAMESPACE, values, GATEWAY_TIMEOUT_SECONDS
    )


def _gateway_values(name: str, service: Mapping[str, Any], scheduling: Scheduling | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        # The chart would derive `istio: <name without "istio-">`; stating it keeps the Gateway resources'
        # selector independent of that rule.
        "labels": {"istio": name},
        "service": dict(service),
        "securityContext": GATEWAY_POD_SECURITY_CONTEXT,
        "autoscaling": GATEWAY_AUTOSCALING,
        "podDisruptionBudget": {"minAvailable": 1},
    }
    if scheduling is not None:
        values["affinity"] = plain(scheduling.affinity)
        values["tolerations"] = plain(scheduling.tolerations)
    return plain(values)


def _baremetal_service(gateway: IngressGateway) -> dict[str, Any]:
    return {
        "type": "NodePort",
        "ports": _service_ports(gateway.node_ports),
        # Only nodes running a gateway pod answer, and clients' addresses reach the gateway unchanged
        # (access logs, allow-lists). The load balancer finds those nodes by checking the health NodePort.
        "externalTrafficPolicy": "Local",
    }


def _aws_service(gateway: IngressGateway) -> dict[str, Any]:
    # A network load balancer made by EKS's own cloud controller (no add-on controller to install): it
    # targets the nodes, and with the Local policy only nodes running a gateway pod pass its health check
    # (the Service's health-check NodePort), while clients' addresses reach the gateway unchanged.
    annotations = {f"{AWS_LB}-type": "nlb"}
    if gateway.aws_scheme == "internal":
        annotations[f"{AWS_LB}-internal"] = "true"
    return {
        "type": "LoadBalancer",
        # No status port: the load balancer checks health on the Service's health-check NodePort (kube-proxy,
        # with the Local policy), so 15021 (Envoy's readiness, the proxy's build and state) stays off it.
        "ports": [port for port in _service_ports() if port["name"] != STATUS_PORT[0]],
        "externalTrafficPolicy": "Local",
        "annotations": annotations,
    }


def _service_ports(node_ports: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    ports = []
    for name, port in SERVICE_PORTS:
        entry: dict[str, Any] = {"name": name, "port": port, "protocol": "TCP", "targetPort": port}
        if node_ports is not None:
            entry["nodePort"] = node_ports[name]
        ports.append(entry)
    return ports


def _release(
    pin: PinnedChart, name: str, namespace: str, values: Mapping[str, Any], timeout_seconds: int
) -> HelmReleaseSpec:
    # atomic (the spec's default): none of Istio's charts has hooks that make a rollback unsafe.
    return HelmReleaseSpec(
        name=name,
        chart=pin.chart,
        repo=pin.repo,
        version=pin.version,
        namespace=namespace,
        values=plain(values),
        timeout_seconds=timeout_seconds,
    )
