"""Checks of the Kubernetes objects in a plan bundle: core kinds against Kubernetes' schemas, custom
resources against the CRDs in shared/crds."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from mojaloop_iac.paths import REPO_ROOT

CRDS_DIR = REPO_ROOT.parent / "shared" / "crds"


def bundle_manifests(bundle: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((bundle / "manifests").rglob("*.yaml")):
        yield path, yaml.safe_load(path.read_text(encoding="utf-8"))


CORE_GROUPS = frozenset(
    {
        "", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io",
        "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
        "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io",
        "apiregistration.k8s.io", "flowcontrol.apiserver.k8s.io",
    }
)  # fmt: skip


def is_core(document: dict[str, Any]) -> bool:
    return document["apiVersion"].rpartition("/")[0] in CORE_GROUPS


def validate_core(document: dict[str, Any], kubernetes_version: str) -> None:
    kubernetes_validate.validate(document, kubernetes_version, strict=True)


@cache
def crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema, from every CRD file in shared/crds."""
    schemas = {}
    for path in sorted(CRDS_DIR.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema:
                    schemas[(spec["group"], version["name"], spec["names"]["kind"])] = schema
    return schemas


def validate_custom(document: dict[str, Any]) -> None:
    group, _, version = document["apiVersion"].rpartition("/")
    schema = crd_schemas().get((group, version, document["kind"]))
    if schema is None:
        raise AssertionError(f"no CRD in {CRDS_DIR} defines {document['apiVersion']} {document['kind']}")
    # CRD schemas describe the object without apiVersion/kind/metadata constraints beyond type.
    jsonschema.validate(document, _without_k8s_extensions(schema))


def _without_k8s_extensions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_k8s_extensions(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if isinstance(schema, list):
        return [_without_k8s_extensions(item) for item in schema]
    return schema
