"""Every rendered object is valid: core kinds against Kubernetes' schemas for the stack's version
(kubernetes-validate, strict: unknown fields are errors), custom resources against the CRDs the stack
itself installs (their `openAPIV3Schema`). A custom resource whose CRD the stack does not install is an
error too: `helm install` would fail with "no matches for kind"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import jsonschema
from kubernetes_validate import utils as kubernetes_schemas
from referencing import Registry, Resource

from mojaloop_iac.render.checks.findings import Finding, object_label

Located = tuple[str, str, dict[str, Any]]  # release, default namespace, object


@cache
def _definitions(schema_dir: str) -> Registry:
    definitions = kubernetes_schemas.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", "")
    return Resource.from_contents(definitions) @ Registry()


@cache
def _core_validator(schema_dir: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kubernetes_schemas.schema_contents(
            f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json", ""
        )
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _definitions(schema_dir)
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def schema_dir(kubernetes_version: str) -> str:
    """kubernetes-validate's strict schemas for the newest version not newer than the cluster's."""
    wanted = tuple(int(part) for part in kubernetes_version.split(".")[:2])
    versions = [v for v in kubernetes_schemas.all_versions() if tuple(int(p) for p in v.split(".")[:2]) <= wanted]
    return f"v{(versions or kubernetes_schemas.all_versions())[-1]}-local-strict"


@cache
def builtin_api_versions(kubernetes_version: str) -> frozenset[str]:
    """`group/version` and `group/version/Kind` of every type the API server of that version serves: what a
    cluster's discovery tells `helm install` (`helm template` alone knows no kinds)."""
    directory = schema_dir(kubernetes_version).removesuffix("-strict")
    definitions = kubernetes_schemas.schema_contents(f"kubernetes-json-schema/{directory}/_definitions.json", "")
    found: set[str] = set()
    for definition in (definitions.get("$defs") or definitions.get("definitions") or {}).values():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            group_version = f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk["version"]
            found |= {group_version, f"{group_version}/{gvk['kind']}"}
    return frozenset(found)


def crd_schemas(documents: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema (Kubernetes' x- extensions dropped) of every CRD given."""
    found = {}
    for crd in documents:
        if crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema:
                plain = without_kubernetes_extensions(schema)
                # Every object has these, whether its CRD's schema lists them or not.
                for field in ("apiVersion", "kind", "metadata"):
                    plain.setdefault("properties", {}).setdefault(field, {})
                found[(spec.get("group"), version.get("name"), (spec.get("names") or {}).get("kind"))] = plain
    return found


def without_kubernetes_extensions(schema: Any) -> Any:
    """The CRD schema as plain JSON schema. An object with `properties` is closed (unless it preserves unknown
    fields): the API server prunes, or with strict field validation refuses, fields its schema lacks."""
    if isinstance(schema, dict):
        plain = {k: without_kubernetes_extensions(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            plain["additionalProperties"] = False
        return plain
    if isinstance(schema, list):
        return [without_kubernetes_extensions(item) for item in schema]
    return schema


def is_core(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def check_schemas(objects: Iterable[Located], kubernetes_version: str) -> list[Finding]:
    located = list(objects)
    return check_core_objects(located, kubernetes_version) + check_custom_resources(located, located)


def check_core_objects(objects: Iterable[Located], kubernetes_version: str) -> list[Finding]:
    """The objects of Kubernetes' own kinds (the others are left to `check_custom_resources`)."""
    directory = schema_dir(kubernetes_version)
    # CRDs carry fields of newer Kubernetes versions on purpose (e.g. selectableFields, 1.30): an older API
    # server drops them, so CRDs are checked without refusing unknown fields.
    lenient = directory.removesuffix("-strict")
    findings = []
    for release, namespace, body in objects:
        api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
        if not is_core(api_version):
            continue
        validator = _core_validator(lenient if kind == "CustomResourceDefinition" else directory, kind, api_version)
        if validator is None:
            findings.append(Finding("schemas", release, object_label(body, namespace),
                                    f"{api_version} {kind} is not served by Kubernetes {kubernetes_version}"))
            continue
        findings += _first_error(validator, release, namespace, body)
    return findings


def check_custom_resources(
    objects: Iterable[Located], everything: Iterable[Located], deferred_groups: Iterable[str] = ()
) -> list[Finding]:
    """Custom resources against the CRDs among `everything` the stack installs. Those of `deferred_groups`
    (their CRDs come from a release that was not rendered) are left unchecked rather than refused."""
    custom = crd_schemas(body for _, _, body in everything)
    deferred = set(deferred_groups)
    validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}
    findings = []
    for release, namespace, body in objects:
        api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
        if is_core(api_version):
            continue
        group, _, version = api_version.rpartition("/")
        key = (group, version, kind)
        if key not in custom and group in deferred:
            continue
        if key not in custom:
            findings.append(Finding("schemas", release, object_label(body, namespace),
                                    f"no CRD the stack installs defines {api_version} {kind}"))
            continue
        if key not in validators:
            validators[key] = jsonschema.validators.Draft7Validator(custom[key])
        findings += _first_error(validators[key], release, namespace, body)
    return findings


def _first_error(validator: Any, release: str, namespace: str, body: dict[str, Any]) -> list[Finding]:
    error = next(iter(validator.iter_errors(json.loads(json.dumps(body)))), None)
    if error is None:
        return []
    where = ".".join(str(part) for part in error.absolute_path) or "(top)"
    return [Finding("schemas", release, object_label(body, namespace), f"{where}: {error.message[:300]}")]
