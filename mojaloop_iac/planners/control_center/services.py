"""All control-center services of one profile: object storage and the registry mirror always, GitLab only
in the `full` profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mojaloop_iac.objectstore.plan import BucketSpec
from mojaloop_iac.planners.control_center.common import (
    ControlCenterPlanError,
    ServicePlan,
    merge_secret_needs,
)
from mojaloop_iac.planners.control_center.gitlab import GitLabInput, GitLabPlan, plan_gitlab
from mojaloop_iac.planners.control_center.object_storage import (
    ObjectStorageInput,
    ObjectStoragePlan,
    ObjectStoreConsumer,
    plan_object_storage,
)
from mojaloop_iac.planners.control_center.registry_mirror import (
    RegistryMirrorInput,
    RegistryMirrorPlan,
    plan_registry_mirror,
)
from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.secrets import SecretNeed

Profile = Literal["minimal", "full"]


@dataclass(frozen=True)
class ControlCenterServicesInput:
    profile: Profile
    object_storage: ObjectStorageInput
    registry_mirror: RegistryMirrorInput
    gitlab: GitLabInput | None = None
    """Required for `full`, refused for `minimal`."""


@dataclass(frozen=True)
class ControlCenterServicesPlan:
    object_storage: ObjectStoragePlan
    registry_mirror: RegistryMirrorPlan
    gitlab: GitLabPlan | None

    @property
    def services(self) -> tuple[ServicePlan, ...]:
        plans = [self.object_storage.service, self.registry_mirror.service]
        if self.gitlab is not None:
            plans.append(self.gitlab.service)
        return tuple(plans)

    @property
    def releases(self) -> tuple[HelmReleaseSpec, ...]:
        return tuple(spec for service in self.services for spec in service.releases)

    @property
    def namespaces(self) -> tuple[NamespaceSpec, ...]:
        return tuple(spec for service in self.services for spec in service.namespaces)

    @property
    def manifests(self) -> tuple[dict[str, Any], ...]:
        return tuple(manifest for service in self.services for manifest in service.manifests)

    @property
    def secret_needs(self) -> Mapping[str, tuple[SecretNeed, ...]]:
        """Pass to `plan_secret_delivery(control_center_name, ...)` as `needs_by_namespace`."""
        return merge_secret_needs(*self.services)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(warning for service in self.services for warning in service.warnings)

    @property
    def buckets(self) -> tuple[BucketSpec, ...]:
        """Every bucket to create on MinIO (the `Bucket` dynamic resources)."""
        gitlab = self.gitlab.buckets if self.gitlab is not None else ()
        return (*self.object_storage.buckets, *gitlab)

    @property
    def object_store_consumers(self) -> tuple[ObjectStoreConsumer, ...]:
        """Every MinIO user to create (the `ConsumerAccess` dynamic resources)."""
        gitlab = (self.gitlab.object_store_consumer,) if self.gitlab is not None else ()
        return (*self.object_storage.consumers, *gitlab)

    def outputs(self) -> dict[str, Any]:
        """Stack outputs environments read: where object storage and the registry mirror are."""
        outputs: dict[str, Any] = {
            "objectStorageUrl": self.object_storage.endpoint_url,
            "registryMirror": self.registry_mirror.mirror.to_output(),
        }
        if self.gitlab is not None:
            outputs["gitlabUrl"] = self.gitlab.url
        return outputs


def plan_control_center_services(spec: ControlCenterServicesInput) -> ControlCenterServicesPlan:
    if spec.profile not in ("minimal", "full"):
        raise ControlCenterPlanError(f"control center profile {spec.profile!r} is not 'minimal' or 'full'")
    if spec.profile == "full" and spec.gitlab is None:
        raise ControlCenterPlanError("profile 'full' installs GitLab: give its settings (gitlab)")
    if spec.profile == "minimal" and spec.gitlab is not None:
        raise ControlCenterPlanError(
            "profile 'minimal' has no GitLab: drop the gitlab settings or use profile 'full'"
        )
    names = {spec.object_storage.control_center, spec.registry_mirror.control_center}
    if spec.gitlab is not None:
        names.add(spec.gitlab.control_center)
    if len(names) != 1:
        raise ControlCenterPlanError(f"the services name different control centers: {sorted(names)}")
    plan = ControlCenterServicesPlan(
        object_storage=plan_object_storage(spec.object_storage),
        registry_mirror=plan_registry_mirror(spec.registry_mirror),
        gitlab=plan_gitlab(spec.gitlab) if spec.gitlab is not None else None,
    )
    bucket_names = [bucket.name for bucket in plan.buckets]
    clashing = sorted({name for name in bucket_names if bucket_names.count(name) > 1})
    if clashing:
        raise ControlCenterPlanError(f"buckets planned twice: {clashing}")
    namespaces = [namespace.name for namespace in plan.namespaces]
    if len(set(namespaces)) != len(namespaces):
        raise ControlCenterPlanError(
            f"services share a namespace: {sorted(namespaces)}; pin distinct namespaces"
        )
    return plan
