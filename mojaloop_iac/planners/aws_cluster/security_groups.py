"""Security groups of the control plane and the nodes, with only the traffic a cluster needs.

The nodes get their own group instead of EKS's all-open cluster group. Pods take addresses on the nodes'
network interfaces (VPC CNI), so pod-to-pod traffic between nodes is node-to-node traffic: it stays open
within the node group, and narrowing it further is the job of NetworkPolicies, which see pods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SecurityGroupName = Literal["control-plane", "nodes"]
CONTROL_PLANE_GROUP: SecurityGroupName = "control-plane"
NODES_GROUP: SecurityGroupName = "nodes"
ALL_PROTOCOLS = "-1"
ANYWHERE_IPV4 = "0.0.0.0/0"
API_SERVER_PORT = 443

# Ports the control plane calls on nodes, and why.
CONTROL_PLANE_TO_NODE_PORTS: tuple[tuple[int, str], ...] = (
    (443, "admission webhooks and aggregated APIs on 443"),
    (4443, "metrics-server"),
    (6443, "aggregated API servers on 6443"),
    (8443, "admission webhooks on 8443"),
    (9443, "admission webhooks on 9443 (controller-runtime default)"),
    (10250, "kubelet (logs, exec, port-forward) and webhooks on 10250 (cert-manager, External Secrets)"),
    (15017, "Istio sidecar injection and validation webhooks"),
)


@dataclass(frozen=True)
class SecurityGroupRule:
    group: SecurityGroupName
    direction: Literal["ingress", "egress"]
    protocol: str
    """`tcp`, `udp` or `-1` (all)."""
    from_port: int | None
    to_port: int | None
    description: str
    peer_group: SecurityGroupName | None = None
    cidr: str | None = None

    @property
    def key(self) -> str:
        """Stable logical name, e.g. `nodes-ingress-control-plane-tcp-10250`."""
        peer = self.peer_group or (
            "anywhere" if self.cidr == ANYWHERE_IPV4 else str(self.cidr).replace("/", "-")
        )
        protocol = "all" if self.protocol == ALL_PROTOCOLS else self.protocol
        ports = "" if self.from_port is None else f"-{self.from_port}"
        if self.to_port is not None and self.to_port != self.from_port:
            ports += f"-{self.to_port}"
        return f"{self.group}-{self.direction}-{peer}-{protocol}{ports}"


def plan_security_group_rules() -> tuple[SecurityGroupRule, ...]:
    rules = [
        SecurityGroupRule(
            CONTROL_PLANE_GROUP, "ingress", "tcp", API_SERVER_PORT, API_SERVER_PORT, "API server from nodes",
            peer_group=NODES_GROUP,
        ),
        SecurityGroupRule(
            NODES_GROUP, "ingress", ALL_PROTOCOLS, None, None, "node and pod traffic within the cluster",
            peer_group=NODES_GROUP,
        ),
        *(
            SecurityGroupRule(NODES_GROUP, "ingress", "tcp", port, port, why, peer_group=CONTROL_PLANE_GROUP)
            for port, why in CONTROL_PLANE_TO_NODE_PORTS
        ),
        # Nodes pull images and reach Vault, object storage and the DFSPs' callback endpoints, wherever
        # those are; egress is narrowed per workload by the egress gateway and NetworkPolicies.
        SecurityGroupRule(
            NODES_GROUP, "egress", ALL_PROTOCOLS, None, None, "all outbound", cidr=ANYWHERE_IPV4,
        ),
    ]  # fmt: skip
    # The control plane's egress is EKS's own cluster group (all outbound), also on its interfaces.
    return tuple(rules)
