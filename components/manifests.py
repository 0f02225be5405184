"""Kubernetes objects from planned manifests, as typed resources where Pulumi has a type for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as k8s_utilities


def core_v1_object(kind: str, resource_name: str, fields: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """A `v1` (core group) object, registered exactly as pulumi_kubernetes' typed class registers it: the same
    type token, the provider's version defaults and the same inputs (`apiVersion`, `kind` and the fields, in
    the API's own camelCase). The typed classes live in pulumi_kubernetes.core.v1, whose import alone takes
    most of a second (it loads every core kind); Namespaces, ServiceAccounts and NodePatches need none of it.
    """
    return pulumi.CustomResource(
        f"kubernetes:core/v1:{kind}",
        resource_name,
        {"apiVersion": "v1", "kind": kind.removesuffix("Patch"), **fields},
        pulumi.ResourceOptions.merge(k8s_utilities.get_resource_opts_defaults(), opts),
    )


def kubernetes_object(resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    kind, metadata = manifest["kind"], manifest["metadata"]
    if (manifest["apiVersion"], kind) == ("v1", "ServiceAccount"):
        return core_v1_object("ServiceAccount", resource_name, {"metadata": metadata}, opts)
    if (manifest["apiVersion"], kind) == ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"):
        return k8s.rbac.v1.ClusterRoleBinding(
            resource_name, metadata=metadata, role_ref=manifest["roleRef"], subjects=manifest["subjects"], opts=opts
        )
    if (manifest["apiVersion"], kind) == ("rbac.authorization.k8s.io/v1", "RoleBinding"):
        return k8s.rbac.v1.RoleBinding(
            resource_name, metadata=metadata, role_ref=manifest["roleRef"], subjects=manifest["subjects"], opts=opts
        )
    if (manifest["apiVersion"], kind) == ("rbac.authorization.k8s.io/v1", "Role"):
        return k8s.rbac.v1.Role(resource_name, metadata=metadata, rules=manifest["rules"], opts=opts)
    if "spec" not in manifest:
        raise ValueError(f"no Pulumi type is wired for {manifest['apiVersion']} {kind} ({resource_name})")
    # Custom resources (Istio, External Secrets, cert-manager, ...): apiVersion/kind/metadata/spec.
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=manifest["apiVersion"],
        kind=kind,
        metadata=metadata,
        spec=manifest["spec"],
        opts=opts,
    )
