"""Namespaces with Pod Security admission labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import pulumi

from components.manifests import core_v1_object
from mojaloop_iac.planners.namespaces import NamespaceSpec


class NamespacesArgs(TypedDict):
    namespaces: Sequence[NamespaceSpec]
    """Namespaces to create, from the namespaces planner."""
    kubernetes_version: str
    """Pins the Pod Security standard version the labels enforce."""


class Namespaces(pulumi.ComponentResource):
    by_name: dict[str, pulumi.CustomResource]

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:cluster:Namespaces", name, None, opts)
        self.by_name = {
            spec.name: core_v1_object(
                "Namespace",
                f"{name}-{spec.name}",
                {"metadata": {"name": spec.name, "labels": spec.labels(args["kubernetes_version"])}},
                pulumi.ResourceOptions(parent=self),
            )
            for spec in args["namespaces"]
        }
        self.register_outputs({})
