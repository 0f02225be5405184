"""Istio for an environment: the control plane, the contract's three gateways and mesh-wide mutual TLS.

`plan_gateways` gives, as plain data:

- the Helm releases in install order: Istio `base` (CRDs), `istiod` (with the extension providers other
  planners supply, e.g. Oathkeeper as ext-authz, merged into its meshConfig), then one `gateway` chart
  release per contract gateway in its own namespace: `istio-internal-ingress-gw` (`istio-ingress-int`),
  `istio-external-ingress-gw` (`istio-ingress-ext`) and `callback-egress-gateway` (`egress-gateway`).
  On bare metal the ingress gateways' Services are NodePorts with the contract's fixed ports
  (internal 31443/31080/31081, external 32443/32080/32081 for https/http/health); on AWS they sit behind
  network load balancers (internal scheme for the internal gateway, internet-facing for the external);
  the egress gateway is reachable from inside the cluster only;
- the namespaces, all at Pod Security `restricted`, which the values make the pods meet;
- the manifests: a mesh-wide STRICT `PeerAuthentication`, the wildcard `Gateway`s (`*.<domain>`, HTTPS with
  the Secret cert-manager writes, HTTP answered by a redirect; the external one demands client
  certificates signed by the DFSP client CA) and the egress `Gateway` for callbacks;
- the Secret the gateways read that nobody else creates (the DFSP client CA), as a `SecretNeed`;
- warnings, e.g. when the cluster's Kubernetes version is outside what the pinned Istio supports.

Chart versions come from config/charts/istio.yaml.
"""

from mojaloop_iac.planners.gateways.charts import ChartPinError, PinnedChart, pinned_chart
from mojaloop_iac.planners.gateways.inputs import (
    EGRESS_GATEWAY,
    EXTERNAL,
    INTERNAL,
    GatewaysError,
    GatewaysInput,
    GatewaysPlan,
    IngressGateway,
)
from mojaloop_iac.planners.gateways.planner import plan_gateways

__all__ = [
    "EGRESS_GATEWAY",
    "EXTERNAL",
    "INTERNAL",
    "ChartPinError",
    "GatewaysError",
    "GatewaysInput",
    "GatewaysPlan",
    "IngressGateway",
    "PinnedChart",
    "pinned_chart",
    "plan_gateways",
]
