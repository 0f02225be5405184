"""Helm values for the Mojaloop umbrella chart (`mojaloop`), per release line, and their VirtualServices.

`plan_mojaloop_values` turns the environment into the chart's values:

- every service that reads a database, Kafka or MongoDB gets the backend's host, port, user and
  database and an explicit Secret reference (`config.db_secret`, `mongo_secret`, `mongodb.secret`) at
  its own keys, never a password, and never through the chart's `CONFIG` anchors, which a separate
  values file cannot change;
- the chart's example JWS signing key is replaced by a Secret reference (16.x, 17.x) or, where the
  charts only take the key inline (15.x), JWS signing is switched off rather than put a private key in
  the values;
- each service gets the node affinity and tolerations of its workload class (placement planner);
- every chart ingress is off; `virtual_services` route the FSPIOP API on the external and internal Istio
  gateways and the hub's tools (admin APIs, Testing Toolkit) on the internal one;
- the golden-path `helm test` collections run (setup, golden path, cleanup) with their prerequisites:
  quoting's simple routing on, on-us transfers off, and the TTK's environment saying so;
- bulk and third-party are toggles that switch their services and their test collections together;
- the user's overrides are deep-merged last: mappings merge, lists/scalars/null replace.

Which keys exist where differs between 15.x, 16.x and 17.x; config/mojaloop-values.yaml states it per
release line, the code only applies it. `secret_refs` lists every Secret key the values reference so a
test can check that something (an ExternalSecret) produces each.
"""

from mojaloop_iac.planners.mojaloop_values.data import (
    DEFAULT_DATA_PATH,
    MojaloopValuesData,
    load_values_data,
    parse_values_data,
)
from mojaloop_iac.planners.mojaloop_values.inputs import (
    BULK_MONGODB,
    JWS_SIGNING_KEY,
    MYSQL,
    SECRET_CONSUMERS,
    TTK_MONGODB,
    BackendEndpoints,
    MojaloopValuesError,
    MojaloopValuesInput,
    MojaloopValuesPlan,
    Scheduling,
    SecretRef,
)
from mojaloop_iac.planners.mojaloop_values.planner import inferred_values_note, plan_mojaloop_values, release_line

__all__ = [
    "BULK_MONGODB",
    "DEFAULT_DATA_PATH",
    "JWS_SIGNING_KEY",
    "MYSQL",
    "SECRET_CONSUMERS",
    "TTK_MONGODB",
    "BackendEndpoints",
    "MojaloopValuesData",
    "MojaloopValuesError",
    "MojaloopValuesInput",
    "MojaloopValuesPlan",
    "Scheduling",
    "SecretRef",
    "inferred_values_note",
    "load_values_data",
    "parse_values_data",
    "plan_mojaloop_values",
    "release_line",
]
