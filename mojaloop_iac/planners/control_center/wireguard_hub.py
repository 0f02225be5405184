"""The WireGuard hub as a pod of the control-center cluster (substrate AWS), as plain data.

On bare metal a control-center host runs the hub (playbooks/control-center-hosts.yml); on AWS there is
no such host, so the hub runs in the cluster:

- namespace `wireguard`, Pod Security `privileged`: IP forwarding is a network-namespace sysctl the
  kubelet treats as unsafe, so only a privileged init container can switch it on for the pod;
- one Deployment replica with the Recreate strategy: a hub is one key and one set of peer endpoints, two
  running at once would take turns answering the same peers;
- the hub's wg-quick configuration in a ConfigMap, without the private key: its PostUp loads the key from
  the file the `wireguard-hub-key` Secret is mounted as (`mojaloop_iac.wireguard.render`, the same
  mechanism bare-metal hosts use with their local key file);
- that Secret is delivered by External Secrets from Vault, where `mojaloop_iac.wireguard.vault_key`
  generated the key pair (path `environments/<control center>/wireguard/wireguard-hub-key`);
- a UDP LoadBalancer Service for an AWS NLB on the port peers dial (`wireguard.hub.endpoint`), with
  `externalTrafficPolicy: Local` so peers' source addresses reach the hub unchanged (WireGuard follows a
  peer by its source address) and the NLB health check follows the pod's readiness;
- probes run `wg show`: the interface exists, holds its private key and listens on the planned port.
  Peer health is the handshake age (`mojaloop_iac.wireguard.health` over `wg show wg0
  latest-handshakes`), deliberately not a probe: peers being offline is no reason to restart the hub.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mojaloop_iac.config.defaults import versions
from mojaloop_iac.planners.control_center.common import ControlCenterPlanError
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.secret_delivery import external_secret
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.vault.paths import require_dns_label, secret_path
from mojaloop_iac.wireguard import ConfigFlavour, MeshPlan, render_hub_config

NAMESPACE = "wireguard"
NAME = "wireguard-hub"
IMAGE = "wireguard-hub"
INTERFACE = "wg0"
CONFIG_DIR = "/etc/wireguard-hub"
# wg-quick names the interface after the file.
CONFIG_FILE = f"{CONFIG_DIR}/{INTERFACE}.conf"
KEY_DIR = "/etc/wireguard-hub-key"
KEY_SECRET = "wireguard-hub-key"
KEY_FIELD = "private-key"
KEY_FILE = f"{KEY_DIR}/{KEY_FIELD}"
# Read by root only (the files' owner): the key, and the configuration wg-quick warns about otherwise.
FILE_MODE = 0o400
# A namespace's forwarding switches; the hub forwards between peers on the interface they came in on,
# where an ICMP redirect would only tell a peer what its tunnel already does.
FORWARDING_SYSCTLS = (
    "net.ipv4.ip_forward=1",
    "net.ipv4.conf.all.send_redirects=0",
    "net.ipv4.conf.default.send_redirects=0",
)
AWS_NLB_ANNOTATIONS: Mapping[str, str] = {
    # An NLB (layer 4, UDP) made by EKS's own cloud controller; the default would be a Classic ELB, which
    # carries no UDP. It is internet-facing (peers dial it from outside the VPC): no `internal` annotation.
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
}
# Why the pod needs more than the restricted profile, said where checkov reads it (on the Deployment, so
# the exceptions cover this workload only).
PRIVILEGE_CHECKOV_SKIPS: Mapping[str, str] = {
    "CKV_K8S_16": "the init container is privileged only to set net.ipv4.ip_forward in the pod's network "
    "namespace, an unsafe sysctl the kubelet refuses otherwise",
    "CKV_K8S_20": "privileged implies privilege escalation; only the forwarding init container has it",
    "CKV_K8S_28": "the privileged init container holds every capability (capability settings do not apply to "
    "privileged containers); the hub container drops ALL",
    "CKV_K8S_37": "the privileged init container holds every capability (capability settings do not apply to "
    "privileged containers); the hub container drops ALL but NET_ADMIN",
    "CKV_K8S_25": "wg-quick needs NET_ADMIN to create and configure the WireGuard interface; every other "
    "capability is dropped",
    "CKV_K8S_23": "root holds NET_ADMIN (Kubernetes grants no ambient capabilities to other users)",
    "CKV_K8S_40": "root holds NET_ADMIN (Kubernetes grants no ambient capabilities to other users)",
}
DIGEST_CHECK = "CKV_K8S_43"
UNRESOLVED_DIGEST_REASON = (
    "pinned to an immutable LinuxServer build tag; no digest is pinned yet (add images.wireguard-hub.digest "
    "in config/versions.yaml to pin by digest)"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class PinnedImage:
    repository: str
    tag: str
    digest: str | None = None

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


def image_pin(name: str = IMAGE) -> PinnedImage:
    """An image pinned in config/versions.yaml (`images.<name>`: repository, tag, optional digest)."""
    images = versions().get("images") or {}
    if name not in images:
        raise ControlCenterPlanError(f"config/versions.yaml pins no image {name!r}: add images.{name}")
    pin = images[name]
    digest = pin.get("digest")
    if digest is not None and not _DIGEST.match(str(digest)):
        raise ControlCenterPlanError(f"config/versions.yaml: images.{name}.digest {digest!r} is not sha256:<64 hex>")
    return PinnedImage(str(pin["repository"]), str(pin["tag"]), str(digest) if digest else None)


def checkov_skips(image: PinnedImage) -> dict[str, str]:
    skips = dict(PRIVILEGE_CHECKOV_SKIPS)
    if image.digest is None:
        skips[DIGEST_CHECK] = UNRESOLVED_DIGEST_REASON
    return skips


def start_script(config_file: str = CONFIG_FILE) -> str:
    """The hub container's program: bring the interface up, keep it up, take it down when stopped."""
    config = shlex.quote(config_file)
    return "\n".join(
        [
            "# wg-quick creates the interface from the configuration; its PostUp loads the private key.",
            f"wg-quick up {config}",
            f"trap 'wg-quick down {config} || true; exit 0' TERM INT",
            "# Sleep in the background: the trap runs as soon as the kubelet asks the pod to stop.",
            "while true; do sleep 3600 & wait $!; done",
        ]
    )


def probe_script(listen_port: int, interface: str = INTERFACE) -> str:
    """Succeeds while the interface exists, holds a private key and listens on `listen_port`."""
    return (
        f'key=$(wg show {interface} public-key) && [ "$key" != "(none)" ] && '
        f'port=$(wg show {interface} listen-port) && [ "$port" = "{listen_port}" ]'
    )


@dataclass(frozen=True)
class WireGuardHubInput:
    control_center: str
    mesh: MeshPlan
    """The mesh as planned for the hub's side (`planners.mesh.plan_hub_side`): the hub's own configuration
    never names the hub's public key, which exists only once Vault generated it."""
    image: PinnedImage = field(default_factory=image_pin)
    memory_limit: str = "128Mi"


@dataclass(frozen=True)
class WireGuardHubPlan:
    namespace: NamespaceSpec
    manifests: tuple[dict[str, Any], ...]
    """ServiceAccount, ConfigMap, ExternalSecret, Deployment, Service, NetworkPolicy."""
    config: str
    """The hub's wg-quick configuration (the ConfigMap's content); no private key."""
    key_path: str
    """KV path (relative to the mount) of the Secret holding the private key."""
    key_field: str
    service_name: str
    listen_port: int
    service_port: int
    """The port peers dial (from `wireguard.hub.endpoint`), the load balancer's listener."""


def _labels() -> dict[str, str]:
    return {
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/component": "wireguard-hub",
        "app.kubernetes.io/part-of": "mojaloop-control-center",
        "app.kubernetes.io/managed-by": "mojaloop-iac",
    }


def _selector() -> dict[str, str]:
    return {"app.kubernetes.io/name": NAME}


def hub_container(image: PinnedImage, listen_port: int, memory_limit: str) -> dict[str, Any]:
    probe = {"exec": {"command": ["/bin/bash", "-c", probe_script(listen_port)]}, "periodSeconds": 10}
    return {
        "name": "wireguard",
        "image": image.reference,
        "imagePullPolicy": "Always",
        "command": ["/bin/bash", "-ec"],
        "args": [start_script()],
        "ports": [{"name": "wireguard", "containerPort": listen_port, "protocol": "UDP"}],
        "readinessProbe": {**probe, "initialDelaySeconds": 2, "failureThreshold": 3},
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "failureThreshold": 6},
        "resources": {
            # The tunnel itself runs in the kernel; this process only configures it and waits.
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "200m", "memory": memory_limit},
        },
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "key", "mountPath": KEY_DIR, "readOnly": True},
        ],
    }


def forwarding_init_container(image: PinnedImage) -> dict[str, Any]:
    return {
        "name": "enable-forwarding",
        "image": image.reference,
        "imagePullPolicy": "Always",
        "command": ["sysctl", "-w", *FORWARDING_SYSCTLS],
        "resources": {
            "requests": {"cpu": "10m", "memory": "8Mi"},
            "limits": {"cpu": "100m", "memory": "32Mi"},
        },
        # Privileged: /proc/sys is read-only in any other container, and the kubelet only sets unsafe
        # sysctls (ip_forward is one) on nodes started with --allowed-unsafe-sysctls.
        "securityContext": {"privileged": True, "runAsUser": 0, "readOnlyRootFilesystem": True},
    }


def _deployment(spec: WireGuardHubInput, config: str, listen_port: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": _labels(),
            "annotations": {
                f"checkov.io/skip{index}": f"{check}={reason}"
                for index, (check, reason) in enumerate(sorted(checkov_skips(spec.image).items()), start=1)
            },
        },
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": _selector()},
            "template": {
                "metadata": {
                    "labels": _labels(),
                    # A changed configuration restarts the hub (wg-quick reads it only at start).
                    "annotations": {"checksum/config": hashlib.sha256(config.encode()).hexdigest()},
                },
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 15,
                    "initContainers": [forwarding_init_container(spec.image)],
                    "containers": [hub_container(spec.image, listen_port, spec.memory_limit)],
                    "volumes": [
                        {"name": "config", "configMap": {"name": NAME, "defaultMode": FILE_MODE}},
                        {"name": "key", "secret": {"secretName": KEY_SECRET, "defaultMode": FILE_MODE}},
                    ],
                },
            },
        },
    }


def _service(listen_port: int, service_port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": _labels(),
            "annotations": dict(AWS_NLB_ANNOTATIONS),
        },
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": _selector(),
            "ports": [{"name": "wireguard", "protocol": "UDP", "port": service_port, "targetPort": listen_port}],
        },
    }


def _network_policy(mesh: MeshPlan, listen_port: int) -> dict[str, Any]:
    # Peers dial in from anywhere; replies ride on that traffic. The hub itself dials out only to peers
    # that declare an endpoint.
    egress_ports = sorted({peer.endpoint.port for peer in mesh.peers if peer.endpoint is not None})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": _labels()},
        "spec": {
            "podSelector": {"matchLabels": _selector()},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"ports": [{"protocol": "UDP", "port": listen_port}]}],
            "egress": [{"ports": [{"protocol": "UDP", "port": port} for port in egress_ports]}] if egress_ports else [],
        },
    }


KEY_NEED = SecretNeed(
    KEY_SECRET,
    # Not a password policy: mojaloop_iac.wireguard.vault_key generates the key pair and writes it there.
    {KEY_FIELD: "wireguard-x25519"},
    "The WireGuard hub's private key, generated into Vault (only its public key leaves Vault)",
)


def plan_wireguard_hub(spec: WireGuardHubInput) -> WireGuardHubPlan:
    require_dns_label(spec.control_center, "control center name")
    hub = spec.mesh.hub
    config = render_hub_config(spec.mesh, KEY_FILE, flavour=ConfigFlavour.WG_QUICK)
    if hub.public_key in config:
        raise ControlCenterPlanError("the hub's configuration names its own public key; it must not depend on it")
    key_path = secret_path(spec.control_center, NAMESPACE, KEY_SECRET)
    manifests = (
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": _labels()},
            # The hub never calls the Kubernetes API.
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": _labels()},
            "data": {f"{INTERFACE}.conf": config},
        },
        external_secret(NAMESPACE, KEY_NEED, key_path),
        _deployment(spec, config, hub.listen_port),
        _service(hub.listen_port, hub.endpoint.port),
        _network_policy(spec.mesh, hub.listen_port),
    )
    return WireGuardHubPlan(
        namespace=NamespaceSpec(
            NAMESPACE,
            # Privileged: the init container switching IP forwarding on (see forwarding_init_container).
            "privileged",
            "WireGuard hub of the control center (forwards between peers)",
        ),
        manifests=manifests,
        config=config,
        key_path=key_path,
        key_field=KEY_FIELD,
        service_name=NAME,
        listen_port=hub.listen_port,
        service_port=hub.endpoint.port,
    )


__all__ = [
    "CONFIG_FILE",
    "KEY_FIELD",
    "KEY_FILE",
    "KEY_SECRET",
    "NAMESPACE",
    "WireGuardHubInput",
    "WireGuardHubPlan",
    "image_pin",
    "plan_wireguard_hub",
    "probe_script",
    "start_script",
]
