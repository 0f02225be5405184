"""Kubernetes objects from planned manifests, as typed resources where Pulumi has a type for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def kubernetes_object(resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    kind, metadata = manifest["kind"], manifest["metadata"]
    if (manifest["apiVersion"], kind) == ("v1", "ServiceAccount"):
        return k8s.core.v1.ServiceAccount(resource_name, metadata=metadata, opts=opts)
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
