"""The plan bundle: what a stack would build, as reviewable, byte-identical files.

    plan.json                                 every resource, sorted by URN, secrets as "[secret]"
    manifests/<namespace>/<kind>-<name>.yaml  Kubernetes objects the stack creates directly
    manifests/_cluster/<kind>-<name>.yaml     cluster-scoped objects
    helm/<release>/release.yaml, values.yaml  Helm releases and their values
    rendered/<release>/...                    with --render: the objects each release installs
    summary.md                                counts, releases, warnings, component tree
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mojaloop_iac.plan.engine import PlanRecord, RecordedResource

HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
CLUSTER_DIR = "_cluster"
BUNDLE_ENTRIES = ("plan.json", "summary.md", "manifests", "helm", "rendered")

# Kinds without a namespace; anything else without one lands in `default`, as kubectl would put it.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService", "CSIDriver", "ClusterExternalSecret", "ClusterIssuer", "ClusterRole",
        "ClusterRoleBinding", "ClusterSecretStore", "CustomResourceDefinition", "IngressClass",
        "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume", "PriorityClass",
        "RuntimeClass", "StorageClass", "ValidatingWebhookConfiguration", "VolumeAttachment",
    }
)  # fmt: skip
_MANIFEST_KEY_ORDER = ("apiVersion", "kind", "metadata", "spec", "data", "stringData", "type")


@dataclass(frozen=True)
class Manifest:
    path: str
    """Relative to the bundle, e.g. manifests/mojaloop/Namespace-mojaloop.yaml."""
    urn: str
    body: dict[str, Any]


@dataclass(frozen=True)
class HelmRelease:
    name: str
    urn: str
    release: dict[str, Any]
    values: dict[str, Any]


def is_kubernetes_object(resource: RecordedResource) -> bool:
    """Objects the stack creates itself; patches, Helm releases and providers are not objects."""
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and resource.type != HELM_RELEASE_TYPE
        and not resource.type.endswith("Patch")
        and "kind" in resource.inputs
        and "apiVersion" in resource.inputs
    )


def manifests(record: PlanRecord) -> list[Manifest]:
    found = []
    for resource in record.resources:
        if not is_kubernetes_object(resource):
            continue
        body = canonical(resource.inputs, top_level_order=_MANIFEST_KEY_ORDER)
        kind = body["kind"]
        metadata = body.get("metadata") or {}
        name = metadata.get("name") or resource.name
        directory = CLUSTER_DIR if kind in CLUSTER_SCOPED_KINDS else metadata.get("namespace", "default")
        found.append(Manifest(f"manifests/{directory}/{kind}-{name}.yaml", resource.urn, body))
    paths = [m.path for m in found]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise ValueError(f"two resources would create the same object: {', '.join(duplicates)}")
    return sorted(found, key=lambda m: m.path)


def helm_releases(record: PlanRecord) -> list[HelmRelease]:
    releases = []
    for resource in record.resources:
        if resource.type != HELM_RELEASE_TYPE:
            continue
        inputs = resource.inputs
        name = inputs.get("name") or resource.name
        options = {
            key: value
            for key, value in inputs.items()
            if key not in ("chart", "repositoryOpts", "version", "namespace", "values", "name", "compat")
        }
        release = {
            "name": name,
            "chart": inputs.get("chart"),
            "repo": (inputs.get("repositoryOpts") or {}).get("repo"),
            "version": inputs.get("version"),
            "namespace": inputs.get("namespace", "default"),
            "options": options,
            "dependsOn": [dep for dep in resource.dependencies if HELM_RELEASE_TYPE in dep],
        }
        releases.append(HelmRelease(name, resource.urn, canonical(release), canonical(inputs.get("values") or {})))
    return sorted(releases, key=lambda r: r.name)


def plan_document(record: PlanRecord, extra: dict[str, Any]) -> dict[str, Any]:
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "provider": r.provider,
            "dependencies": list(r.dependencies),
            "options": r.options,
            "inputs": r.inputs,
        }
        for r in sorted(record.resources, key=lambda r: r.urn)
    ]
    return {
        "project": record.project,
        "stack": record.stack,
        **extra,
        "outputs": record.outputs,
        "warnings": record.warnings,
        "resources": resources,
    }


def read_plan(path: Path) -> PlanRecord:
    """A bundle's plan.json back as a PlanRecord (to model a plan written earlier, e.g. by another version)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    record = PlanRecord(project=document["project"], stack=document["stack"], outputs=document.get("outputs") or {})
    record.resources = [
        RecordedResource(
            urn=item["urn"], type=item["type"], name=item["name"], parent=item.get("parent"),
            custom=bool(item.get("custom")), provider=item.get("provider"),
            dependencies=tuple(item.get("dependencies") or ()), inputs=item.get("inputs") or {},
            options=item.get("options") or {},
        )
        for item in document["resources"]
    ]
    return record


def write_bundle(out_dir: Path, record: PlanRecord, summary: str, extra: dict[str, Any]) -> list[Path]:
    """Write the bundle, replacing a previous one in the same place; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in BUNDLE_ENTRIES:
        stale = out_dir / entry
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    written = [_write(out_dir / "plan.json", dump_json(plan_document(record, extra)))]
    for manifest in manifests(record):
        written.append(_write(out_dir / manifest.path, dump_yaml(manifest.body)))
    for release in helm_releases(record):
        written.append(_write(out_dir / "helm" / release.name / "release.yaml", dump_yaml(release.release)))
        written.append(_write(out_dir / "helm" / release.name / "values.yaml", dump_yaml(release.values)))
    written.append(_write(out_dir / "summary.md", summary))
    return written


def canonical(value: Any, top_level_order: Iterable[str] = ()) -> Any:
    """Sorted keys at every level (after the given top-level keys), so files never depend on dict order."""
    if isinstance(value, dict):
        order = list(top_level_order)
        first = [key for key in order if key in value]
        rest = sorted(key for key in value if key not in order)
        return {key: canonical(value[key]) for key in first + rest}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def dump_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dump_yaml(document: Any) -> str:
    # libyaml's emitter (C) when present: same YAML, several times faster on large values files.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        document, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
