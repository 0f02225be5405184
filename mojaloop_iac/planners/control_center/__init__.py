"""Control-center services as pure planners: object storage (MinIO), the registry mirror (zot) and, in the
`full` profile, GitLab with a runner and GitLab as Vault's OIDC identity provider.

Each planner takes a frozen input and returns Helm releases, namespaces, manifests and the Secrets Vault
must generate (keyed by namespace); `plan_control_center_services` combines them for a profile.
"""

from mojaloop_iac.planners.control_center.common import (
    ControlCenterPlanError,
    IssuerRef,
    ServicePlan,
    TemplatedSecret,
    TlsSettings,
    merge_secret_needs,
)
from mojaloop_iac.planners.control_center.gitlab import (
    GitLabInput,
    GitLabOAuthApplication,
    GitLabPlan,
    RunnerRegistration,
    VaultOidcAuth,
    VaultOidcRole,
    plan_gitlab,
)
from mojaloop_iac.planners.control_center.object_storage import (
    ObjectStorageInput,
    ObjectStoragePlan,
    ObjectStoreConsumer,
    VaultValue,
    plan_object_storage,
)
from mojaloop_iac.planners.control_center.registry_mirror import (
    DEFAULT_UPSTREAMS,
    RegistryMirror,
    RegistryMirrorInput,
    RegistryMirrorPlan,
    Upstream,
    containerd_mirrors,
    mirror_image,
    parse_image,
    plan_registry_mirror,
)
from mojaloop_iac.planners.control_center.services import (
    ControlCenterServicesInput,
    ControlCenterServicesPlan,
    plan_control_center_services,
)

__all__ = [
    "DEFAULT_UPSTREAMS",
    "ControlCenterPlanError",
    "ControlCenterServicesInput",
    "ControlCenterServicesPlan",
    "GitLabInput",
    "GitLabOAuthApplication",
    "GitLabPlan",
    "IssuerRef",
    "ObjectStorageInput",
    "ObjectStoragePlan",
    "ObjectStoreConsumer",
    "RegistryMirror",
    "RegistryMirrorInput",
    "RegistryMirrorPlan",
    "RunnerRegistration",
    "ServicePlan",
    "TemplatedSecret",
    "TlsSettings",
    "Upstream",
    "VaultOidcAuth",
    "VaultOidcRole",
    "VaultValue",
    "containerd_mirrors",
    "merge_secret_needs",
    "mirror_image",
    "parse_image",
    "plan_control_center_services",
    "plan_gitlab",
    "plan_object_storage",
    "plan_registry_mirror",
]
