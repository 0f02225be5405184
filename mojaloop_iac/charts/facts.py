"""What a chart archive says about itself, read once per archive and kept beside it in the cache.

- `shape`: every values key the chart knows (its values.yaml, each dependency's under its alias, the values
  schema's properties, and the `.Values.a.b` paths its templates read, which covers keys a values.yaml
  documents only in comments), as a tree: a dict per known map, `OPEN` where anything may go (an empty map
  default such as `affinity: {}`, a schema object without properties), `LIST`, `SCALAR` or `ANY` (a null
  default) at the leaves.
- `api_probes`: the API versions its templates test with `.Capabilities.APIVersions.Has "..."` (`None` when
  a test is not a literal), so a render is repeated only when an API it tests appears.
- `crd_api_versions`: `group/version` and `group/version/Kind` of the CRDs in its (and its dependencies')
  `crds/` directories.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from mojaloop_iac.charts.repository import FetchedChart

OPEN, LIST, SCALAR, ANY = "<open map>", "<list>", "<scalar>", "<any>"
_FACTS_FILE = "facts-v5.json"  # bump when what is read changes
_PROBE = re.compile(r"Capabilities\.APIVersions\.Has\s+\"([^\"]+)\"")
_ANY_PROBE = re.compile(r"Capabilities\.APIVersions")
_VALUES_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
# Istio's charts keep their defaults under this key and merge it into the values themselves.
ISTIO_DEFAULTS_KEY = "_internal_defaults_do_not_set"


@dataclass(frozen=True)
class ChartFacts:
    name: str
    version: str
    shape: dict[str, Any]
    api_probes: frozenset[str] | None
    crd_api_versions: frozenset[str]


class _GoCompatibleLoader(yaml.SafeLoader):
    """Go's YAML (Helm's) lets a later anchor redefine an earlier one; PyYAML refuses. Mojaloop's
    values.yaml relies on it, so a redefinition replaces the earlier anchor here too."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.check_event(yaml.events.AliasEvent):
            anchor = self.peek_event().anchor
            if anchor is not None:
                self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


def chart_facts(chart: FetchedChart) -> ChartFacts:
    cached = chart.path.parent / _FACTS_FILE
    try:
        data = json.loads(cached.read_text(encoding="utf-8"))
        if data.get("digest") == chart.digest:
            return _from_json(data)
    except (OSError, ValueError, KeyError):
        pass  # not there yet (or from an interrupted run): read the archive
    facts = read_facts(chart.path.read_bytes())
    # Written aside and renamed: two releases of one chart (three MySQLs) may read it at once.
    with tempfile.NamedTemporaryFile("w", dir=cached.parent, delete=False, encoding="utf-8") as handle:
        handle.write(json.dumps({"digest": chart.digest, **_to_json(facts)}))
    os.replace(handle.name, cached)
    return facts


def read_facts(archive: bytes) -> ChartFacts:
    files = _files_of(archive)
    top = next(iter(files)).split("/", 1)[0]
    shape, probes, crds, meta = _chart(f"{top}/", files)
    return ChartFacts(str(meta.get("name")), str(meta.get("version")), shape, probes, frozenset(crds))


def _files_of(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _chart(prefix: str, files: dict[str, bytes]) -> tuple[dict[str, Any], frozenset[str] | None, set[str], dict]:
    meta = yaml.safe_load(files[f"{prefix}Chart.yaml"]) or {}
    values = _load_values(files.get(f"{prefix}values.yaml", b"")) or {}
    if isinstance(values.get(ISTIO_DEFAULTS_KEY), dict):
        values = _merge(values.pop(ISTIO_DEFAULTS_KEY), values)
    shape = shape_of(values)
    schema_file = files.get(f"{prefix}values.schema.json")
    if schema_file:
        schema = json.loads(schema_file)
        shape = merge_shapes(shape, _schema_shape(schema, schema))
    probes: set[str] | None = set()
    crds: set[str] = set()
    for name, body in files.items():
        if not name.startswith(prefix) or "/charts/" in name[len(prefix) - 1 :]:
            continue
        relative = name[len(prefix) :]
        if relative.startswith("templates/"):
            text = body.decode("utf-8", "replace")
            for read in _VALUES_PATH.findall(text):
                shape = with_path(shape, read.strip(".").split("."))
            literal = _PROBE.findall(text)
            if len(_ANY_PROBE.findall(text)) > len(literal):
                probes = None
            elif probes is not None:
                probes.update(literal)
        elif relative.startswith("crds/") and relative.endswith((".yaml", ".yml", ".json")):
            crds.update(crd_api_versions(yaml.safe_load_all(body)))
    for alias, sub_prefix, sub_files in _dependencies(prefix, meta, files):
        sub_shape, sub_probes, sub_crds, _ = _chart(sub_prefix, sub_files)
        if isinstance(shape, dict):  # a chart without values (OPEN) takes anything already
            shape[alias] = coalesce_shapes(shape.get(alias), sub_shape)
            if isinstance(sub_shape, dict) and isinstance(sub_shape.get("global"), dict):
                own = shape.get("global")
                shape["global"] = merge_shapes(own if isinstance(own, dict) else {}, sub_shape["global"])
        probes = None if probes is None or sub_probes is None else probes | sub_probes
        crds |= sub_crds
    return shape, (frozenset(probes) if probes is not None else None), crds, meta


def _dependencies(
    prefix: str, meta: dict, files: dict[str, bytes]
) -> Iterable[tuple[str, str, dict[str, bytes]]]:
    """(values key, chart prefix, files) of each dependency present in charts/ (directory or archive)."""
    present: dict[str, tuple[str, dict[str, bytes]]] = {}
    for name, body in files.items():
        rest = name[len(prefix) :] if name.startswith(prefix + "charts/") else None
        if rest is None:
            continue
        parts = rest.split("/")
        if len(parts) == 3 and parts[2] == "Chart.yaml":
            chart_name = (yaml.safe_load(body) or {}).get("name", parts[1])
            present[chart_name] = (f"{prefix}charts/{parts[1]}/", files)
        elif len(parts) == 2 and parts[1].endswith(".tgz"):
            inner = _files_of(body)
            inner_top = next(iter(inner)).split("/", 1)[0]
            chart_name = (yaml.safe_load(inner[f"{inner_top}/Chart.yaml"]) or {}).get("name", inner_top)
            present[chart_name] = (f"{inner_top}/", inner)
    declared = list(meta.get("dependencies") or [])
    # Helm loads every chart in charts/, declared in Chart.yaml or not (GitLab's own sub-charts are not).
    declared += [{"name": name} for name in present if name not in {d.get("name") for d in declared}]
    for dependency in declared:
        found = present.get(dependency.get("name"))
        if found is not None:
            yield dependency.get("alias") or dependency["name"], found[0], found[1]


def _load_values(text: bytes) -> Any:
    return yaml.load(text, Loader=_GoCompatibleLoader) if text.strip() else {}


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def shape_of(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): shape_of(item) for key, item in value.items()} if value else OPEN
    if isinstance(value, list):
        return LIST
    return ANY if value is None else SCALAR


def with_path(shape: Any, path: list[str]) -> Any:
    """The shape, knowing `path` too (a key a template reads)."""
    if not isinstance(shape, dict):
        return shape  # below an open map, a list or a scalar there is nothing to add
    head, rest = path[0], path[1:]
    if head not in shape:
        shape[head] = with_path({}, rest) if rest else ANY
        if shape[head] == {}:
            shape[head] = ANY
    elif rest:
        shape[head] = with_path(shape[head], rest)
    return shape


def coalesce_shapes(parent: Any, child: Any) -> Any:
    """A dependency's keys under its alias, as Helm coalesces them: the parent's own map there wins over the
    dependency's empty default (an umbrella listing its simulators closes a `simulators: {}`)."""
    if isinstance(parent, dict) and isinstance(child, dict):
        return {key: coalesce_shapes(parent.get(key), child.get(key)) for key in {*parent, *child}}
    if isinstance(parent, dict) and parent:
        return parent if child in (None, OPEN, ANY) else merge_shapes(parent, child)
    return child if child is not None else parent


def merge_shapes(first: Any, second: Any) -> Any:
    """What either shape allows (values.yaml's default and the schema's, say)."""
    if first is None or first == second:
        return second
    if second is None:
        return first
    if isinstance(first, dict) and isinstance(second, dict):
        return {key: merge_shapes(first.get(key), second.get(key)) for key in {*first, *second}}
    if OPEN in (first, second):
        other = second if first == OPEN else first
        return OPEN if isinstance(other, dict) else ANY
    return ANY  # a map or a list, a list or a scalar: either is taken


def _schema_shape(node: Any, root: dict, depth: int = 0) -> Any:
    if not isinstance(node, dict) or depth > 30:
        return ANY
    if "$ref" in node and str(node["$ref"]).startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _schema_shape(target, root, depth + 1)
    shape: Any = None
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(keyword) or []:
            shape = merge_shapes(shape, _schema_shape(branch, root, depth + 1))
    properties = node.get("properties")
    if isinstance(properties, dict) and properties:
        own = {key: _schema_shape(value, root, depth + 1) for key, value in properties.items()}
        if node.get("additionalProperties") not in (None, False):
            return OPEN
        return merge_shapes(shape, own)
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:
        return merge_shapes(shape, OPEN)
    if "array" in types:
        return merge_shapes(shape, LIST)
    return shape if shape is not None else ANY


def crd_api_versions(documents: Iterable[Any]) -> set[str]:
    found: set[str] = set()
    for document in documents:
        if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
            continue
        spec = document.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        for version in spec.get("versions") or []:
            found |= {f"{spec.get('group')}/{version.get('name')}", f"{spec.get('group')}/{version.get('name')}/{kind}"}
    return found


def _to_json(facts: ChartFacts) -> dict[str, Any]:
    return {
        "name": facts.name,
        "version": facts.version,
        "shape": facts.shape,
        "apiProbes": sorted(facts.api_probes) if facts.api_probes is not None else None,
        "crdApiVersions": sorted(facts.crd_api_versions),
    }


def _from_json(data: dict[str, Any]) -> ChartFacts:
    probes = data.get("apiProbes")
    return ChartFacts(
        data["name"], data["version"], data["shape"],
        frozenset(probes) if probes is not None else None, frozenset(data.get("crdApiVersions") or ()),
    )  # fmt: skip


