"""Namespaces with Pod Security admission labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_kubernetes as k8s

from mojaloop_iac.planners.namespaces import NamespaceSpec


class NamespacesArgs(TypedDict):
    namespaces: Sequence[NamespaceSpec]
    """Namespaces to create, from the namespaces planner."""
    kubernetes_version: str
    """Pins the Pod Security standard version the labels enforce."""


class Namespaces(pulumi.ComponentResource):
    by_name: dict[str, k8s.core.v1.Namespace]

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:cluster:Namespaces", name, None, opts)
        self.by_name = {
            spec.name: k8s.core.v1.Namespace(
                f"{name}-{spec.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=spec.name, labels=spec.labels(args["kubernetes_version"])
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for spec in args["namespaces"]
        }
        self.register_outputs({})
