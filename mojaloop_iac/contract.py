"""Names Mojaloop's own charts, docs and operators rely on.

These are the environment contract from Mojaloop's infrastructure code (see shared/reference/mojaloop.md).
They are constants, not configuration: changing one breaks the transfer of Mojaloop's docs and values.
"""

from typing import Final

MOJALOOP_NAMESPACE: Final = "mojaloop"
MOJALOOP_RELEASE_NAME: Final = "moja"

# Mojaloop release names longer than this overflow the 63-character Kubernetes name limit in the
# charts' generated names (Mojaloop project issue 2322).
MAX_HELM_RELEASE_NAME_LENGTH: Final = 13

WORKLOAD_CLASS_LABEL_PREFIX: Final = "workload-class.mojaloop.io/"
WORKLOAD_CLASS_LABEL_VALUE: Final = "enabled"

WORKLOAD_CLASSES: Final = (
    "CENTRAL-LEDGER-SVC",
    "CORE-API-ADAPTERS",
    "CENTRAL-SETTLEMENT",
    "QUOTING-SERVICE",
    "ACCOUNT-LOOKUP-SERVICE",
    "ALS-ORACLES",
    "CORE-HANDLERS",
    "KAFKA-CONTROL-PLANE",
    "KAFKA-DATA-PLANE",
    "RDBMS-CENTRAL-LEDGER-LIVE",
    "RDBMS-ALS-LIVE",
    "MONITORING",
)

# Dedicated Mojaloop nodes carry this taint; Mojaloop workloads tolerate it.
DEDICATED_TAINT_KEY: Final = "moja-enabled"
DEDICATED_TAINT_VALUE: Final = "true"
DEDICATED_TAINT_EFFECT: Final = "NoSchedule"

TAINT_EFFECTS: Final = ("NoSchedule", "PreferNoSchedule", "NoExecute")

NODE_POOL_LABEL: Final = "mojaloop.io/node-pool"


def workload_class_label(workload_class: str) -> str:
    return f"{WORKLOAD_CLASS_LABEL_PREFIX}{workload_class}"

# Istio gateways, as `<namespace>/<name>` the way VirtualServices name them.
INTERNAL_GATEWAY_NAMESPACE: Final = "istio-ingress-int"
INTERNAL_GATEWAY_NAME: Final = "istio-internal-ingress-gw"
EXTERNAL_GATEWAY_NAMESPACE: Final = "istio-ingress-ext"
EXTERNAL_GATEWAY_NAME: Final = "istio-external-ingress-gw"
EGRESS_GATEWAY_NAMESPACE: Final = "egress-gateway"
EGRESS_GATEWAY_NAME: Final = "callback-egress-gateway"
INTERNAL_GATEWAY: Final = f"{INTERNAL_GATEWAY_NAMESPACE}/{INTERNAL_GATEWAY_NAME}"
EXTERNAL_GATEWAY: Final = f"{EXTERNAL_GATEWAY_NAMESPACE}/{EXTERNAL_GATEWAY_NAME}"
