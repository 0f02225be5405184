"""Identity for an environment: Keycloak with the realms `dfsps` and `hub-operators`, Ory Kratos, Keto
and Oathkeeper, and the Istio policies that use them (DFSP JWTs on the external gateway, Oathkeeper as
external authorizer of hub-operator APIs on the internal one).

`plan_identity(IdentityInput) -> IdentityPlan` is pure apart from reading config/ (pins, password
policies, the Mojaloop hosts). Its Secrets are defined once (`credentials`): the values and manifests
reference them, Vault generates them (`IdentityPlan.secret_needs`), and `with_templates` completes the
ExternalSecrets that assemble DSNs from the generated passwords.
"""

from mojaloop_iac.planners.identity.credentials import with_templates
from mojaloop_iac.planners.identity.inputs import (
    DFSP_REALM,
    HUB_OPERATOR_REALM,
    OATHKEEPER_EXTENSION_PROVIDER,
    DatabaseEndpoint,
    IdentityError,
    IdentityInput,
    IdentityPlan,
    ManifestSource,
    SecretKeyRef,
)
from mojaloop_iac.planners.identity.planner import HUB_OPERATOR_API_IDS, plan_identity

__all__ = [
    "DFSP_REALM",
    "HUB_OPERATOR_API_IDS",
    "HUB_OPERATOR_REALM",
    "OATHKEEPER_EXTENSION_PROVIDER",
    "DatabaseEndpoint",
    "IdentityError",
    "IdentityInput",
    "IdentityPlan",
    "ManifestSource",
    "SecretKeyRef",
    "plan_identity",
    "with_templates",
]
