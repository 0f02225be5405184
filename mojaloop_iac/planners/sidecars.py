"""Sidecar mode for the mesh: which clusters inject Istio's proxy, and how.

Mojaloop and its backend join the mesh as sidecars, with istio-cni instead of an init container:
- sidecars rather than ambient mode: the egress design (per-DFSP VirtualServices bound to the egress
  gateway, made at onboarding) and L7 policies work on sidecars without waypoint proxies, and sidecar mode
  is stable on every Istio release pinned here (ambient is GA only from 1.24);
- istio-cni sets up each pod's traffic redirection from the node, so pods need no NET_ADMIN/NET_RAW init
  container, which Pod Security `baseline` (the Mojaloop namespace's level) forbids;
- the proxy runs as a Kubernetes native sidecar, so Jobs (the backend's Kafka provisioning hook) and Helm
  test pods (the golden-path collections) keep their proxy, reach the STRICT-mTLS services, and still
  finish. Nothing in the Mojaloop namespace is excluded from injection.

Native sidecars exist from Kubernetes 1.29 (1.28 behind the SidecarContainers feature gate, which k3s
clusters turn on; EKS cannot). Where they do not, a proxy would keep every Job and test pod running forever,
and excluding those pods would cut them off from STRICT services: such clusters get no sidecars (a plan note
says so) and keep only the gateways' policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mojaloop_iac.config.defaults import versions as pinned_versions
from mojaloop_iac.platform_versions import minor, sidecar_containers

INJECTION_LABEL: Final = {"istio-injection": "enabled"}
SIDECAR_CONTAINERS_GATE: Final = "SidecarContainers=true"
K3S_CNI_CONF_DIR: Final = "/var/lib/rancher/k3s/agent/etc/cni/net.d"


@dataclass(frozen=True)
class Sidecars:
    """How this cluster runs sidecars (None from `plan_sidecars`: it does not)."""

    feature_gate: bool
    """The cluster must turn on the SidecarContainers feature gate (k3s on Kubernetes 1.28)."""
    cni_bin_dir: str | None = None
    """Where the node's CNI plugins live, for istio-cni; None: the chart's default (/opt/cni/bin)."""
    cni_conf_dir: str | None = None

    def istio_cni_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.cni_bin_dir:
            values["cniBinDir"] = self.cni_bin_dir
        if self.cni_conf_dir:
            values["cniConfDir"] = self.cni_conf_dir
        return values


def plan_sidecars(kubernetes_version: str, substrate: str, k3s_version: str | None = None) -> Sidecars | None:
    """The cluster's sidecar settings, or None where Kubernetes has no native sidecars to offer."""
    native = sidecar_containers(kubernetes_version)
    if native == "none" or (native == "gate" and substrate != "baremetal"):
        return None
    if substrate != "baremetal":
        return Sidecars(feature_gate=False)
    return Sidecars(
        feature_gate=native == "gate",
        cni_bin_dir=k3s_cni_bin_dir(k3s_version or pinned_versions()["k3s"][kubernetes_version]),
        cni_conf_dir=K3S_CNI_CONF_DIR,
    )


def sidecar_note(kubernetes_version: str, substrate: str) -> str | None:
    """What the plan says when the cluster gets no sidecars, or turns a feature gate on for them."""
    native = sidecar_containers(kubernetes_version)
    if native == "on":
        return None
    if native == "gate" and substrate == "baremetal":
        return (
            f"Kubernetes {kubernetes_version}: the k3s nodes turn on the SidecarContainers feature gate (alpha in "
            "1.28) so Istio's proxies run as native sidecars; Kubernetes 1.29 and later have them by default"
        )
    return (
        f"Kubernetes {kubernetes_version} on {substrate} has no native sidecar containers (1.29 and later; 1.28 on "
        "k3s): Mojaloop runs outside the mesh, since a proxy would keep its Jobs and Helm test pods from ever "
        "finishing. The gateways' policies and the NetworkPolicies still apply; move to Kubernetes 1.29 or later "
        "for mutual TLS between the services"
    )


def k3s_cni_bin_dir(k3s_version: str) -> str:
    """Where a k3s release keeps its CNI plugins (config/versions.yaml k3sCniBinDir)."""
    layout = pinned_versions()["k3sCniBinDir"]
    line = ".".join(k3s_version.lstrip("v").split(".")[:2])
    since = layout["since"].get(line)
    if since is None:
        older = minor(line) < min(minor(known) for known in layout["since"])
        return str(layout["before"] if older else layout["path"])
    return str(layout["path"] if _k3s_release(k3s_version) >= _k3s_release(since) else layout["before"])


def _k3s_release(version: str) -> tuple[int, ...]:
    """v1.28.15+k3s1 -> (1, 28, 15, 1)."""
    core, _, build = version.lstrip("v").partition("+k3s")
    return (*(int(part) for part in core.split(".")), int(build or 0))
