"""What changes for an operator between two Mojaloop releases, both rendered with one environment's values.

`diff_releases` is pure: it compares what `helm template` made of each release's charts (the backend and
the umbrella chart, with the values the plan gives them), and reports

- images: the service versions, by image repository, and each container whose image changes;
- workloads (Deployments, StatefulSets, DaemonSets, Pods) added, removed, and changed with what changes in
  their pods (image, environment, volumes, configuration checksums...: a rollout on upgrade), and every
  other object added or removed (Services, Ingresses, the Secrets and ConfigMaps the charts make...);
- Secret and ConfigMap references added and removed, each with what in the plan makes the object (the
  chart, an ExternalSecret, a Certificate...) or that nothing does;
- configuration files changed: each key of a ConfigMap present in both, and for JSON and YAML files the
  settings inside, by dotted path (values of settings whose name says they hold a credential are not shown);
- hooks and jobs added and removed, and the migrations: containers that migrate a database, whose new
  image runs new migrations when it starts;
- values keys: the charts' own keys present in one release and not the other (a key that changed from a
  map to a scalar too), the keys the plan sets for one release and not the other, and the keys the plan
  sets that a release's chart does not know (Helm ignores them).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from mojaloop_iac.charts.facts import ANY, LIST, OPEN, SCALAR
from mojaloop_iac.planners.free_form import free_form_paths
from mojaloop_iac.render.checks.findings import object_namespace
from mojaloop_iac.render.checks.values_keys import unknown_keys
from mojaloop_iac.render.checks.workloads import containers, pod_spec, references

SCHEMA = "mojaloop-iac/release-diff/v1"
HOOK_ANNOTATION = "helm.sh/hook"
HIDDEN = "(hidden)"
# Settings whose name says they hold a credential: their values are never printed, only that they changed.
_CREDENTIAL_NAME = re.compile(r"pass(word|wd)?|secret|token|private|credential", re.IGNORECASE)
_MIGRATION = re.compile(r"migrat", re.IGNORECASE)
_SHOWN_VALUE_LENGTH = 80

Change = Literal["added", "removed", "changed"]
ObjectKey = tuple[str, str, str]
"""(kind, namespace or "" when cluster-scoped, name)."""


@dataclass(frozen=True)
class RenderedChart:
    """One Helm release of one side: the chart as rendered with the plan's values."""

    release: str
    namespace: str
    chart: str
    """`<name> <version>` of the chart rendered."""
    source: str
    """The repository the chart came from."""
    objects: tuple[Mapping[str, Any], ...]
    values: Mapping[str, Any]
    """The values the plan gives the release."""
    shape: Any
    """Every values key the chart knows (mojaloop_iac.charts.facts)."""


@dataclass(frozen=True)
class RenderedSide:
    """A Mojaloop release rendered with the environment's values."""

    version: str
    charts: tuple[RenderedChart, ...]
    made_by: Mapping[ObjectKey, tuple[str, ...]]
    """What in the plan makes each Secret and ConfigMap (namespace "*": every namespace); absent: nothing."""

    def makers(self, kind: str, namespace: str, name: str) -> tuple[str, ...]:
        return self.made_by.get((kind, namespace, name), ()) + self.made_by.get((kind, "*", name), ())


@dataclass(frozen=True)
class ImageChange:
    repository: str
    before: tuple[str, ...]
    """Tags (or digests) the repository runs with in the older release; empty when it is new."""
    after: tuple[str, ...]
    workloads: tuple[str, ...]
    """`Kind/name` of the workloads running it in either release."""


@dataclass(frozen=True)
class ContainerImage:
    workload: str
    container: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ObjectChange:
    change: Change
    kind: str
    namespace: str
    name: str
    release: str
    """The Helm release that makes it."""
    detail: str = ""
    """For a workload, its images; for a hook, its events."""

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class ReferenceChange:
    change: Change
    kind: str
    namespace: str
    name: str
    used_by: tuple[str, ...]
    """`Kind/name (where)` of each workload reading it, in the release that reads it."""
    made_by: tuple[str, ...]
    """What makes it in the release that reads it; empty: nothing in the plan does."""
    made_after: tuple[str, ...] = ()
    """For a removed reference: what still makes it with the newer release (left over, or still used)."""


@dataclass(frozen=True)
class KeyChange:
    key: str
    change: Change
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class ConfigFileChange:
    config_map: str
    file: str
    change: Change
    keys: tuple[KeyChange, ...] = ()
    """For a JSON or YAML file present in both: the settings that changed."""
    lines: tuple[int, int] | None = None
    """For another file present in both: (lines added, lines removed)."""


@dataclass(frozen=True)
class Migration:
    workload: str
    container: str
    before: str | None
    """The image that migrated the database before; None when the migration is new."""
    after: str


@dataclass(frozen=True)
class ValuesKeys:
    chart_added: tuple[str, ...] = ()
    chart_removed: tuple[str, ...] = ()
    chart_retyped: tuple[tuple[str, str, str], ...] = ()
    """(key, kind before, kind after): a map that became a scalar, and so on."""
    plan_added: tuple[str, ...] = ()
    plan_removed: tuple[str, ...] = ()
    ignored_before: tuple[str, ...] = ()
    """Keys the plan sets that the older release's charts do not know."""
    ignored_after: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseDiff:
    stack: str
    kubernetes: str
    before: str
    after: str
    charts_before: tuple[tuple[str, str, str], ...]
    """(Helm release, chart, source) of the older release."""
    charts_after: tuple[tuple[str, str, str], ...]
    images: tuple[ImageChange, ...] = ()
    container_images: tuple[ContainerImage, ...] = ()
    workloads: tuple[ObjectChange, ...] = ()
    objects: tuple[ObjectChange, ...] = ()
    references: tuple[ReferenceChange, ...] = ()
    config_files: tuple[ConfigFileChange, ...] = ()
    hooks: tuple[ObjectChange, ...] = ()
    migrations: tuple[Migration, ...] = ()
    values_keys: ValuesKeys = field(default_factory=ValuesKeys)

    @property
    def unmade_references(self) -> tuple[ReferenceChange, ...]:
        """References the newer release adds that nothing in the plan makes: its pods would not start."""
        return tuple(ref for ref in self.references if ref.change == "added" and not ref.made_by)

    def counts(self) -> dict[str, int]:
        return {
            "imagesChanged": len(self.images),
            "workloadsAdded": sum(1 for w in self.workloads if w.change == "added"),
            "workloadsRemoved": sum(1 for w in self.workloads if w.change == "removed"),
            "workloadsChanged": sum(1 for w in self.workloads if w.change == "changed"),
            "objectsAdded": sum(1 for o in self.objects if o.change == "added"),
            "objectsRemoved": sum(1 for o in self.objects if o.change == "removed"),
            "referencesAdded": sum(1 for r in self.references if r.change == "added"),
            "referencesRemoved": sum(1 for r in self.references if r.change == "removed"),
            "referencesNotMade": len(self.unmade_references),
            "configFilesChanged": len(self.config_files),
            "hooksAndJobsAdded": sum(1 for h in self.hooks if h.change == "added"),
            "hooksAndJobsRemoved": sum(1 for h in self.hooks if h.change == "removed"),
            "migrations": len(self.migrations),
        }

    def to_json(self) -> dict[str, Any]:
        def charts(entries: Iterable[tuple[str, str, str]]) -> list[dict[str, str]]:
            return [{"release": release, "chart": chart, "source": source} for release, chart, source in entries]

        def change(obj: ObjectChange) -> dict[str, str]:
            return {"change": obj.change, "kind": obj.kind, "namespace": obj.namespace, "name": obj.name,
                    "release": obj.release, "detail": obj.detail}

        keys = self.values_keys
        return {
            "schema": SCHEMA,
            "stack": self.stack,
            "kubernetes": self.kubernetes,
            "from": {"release": self.before, "charts": charts(self.charts_before)},
            "to": {"release": self.after, "charts": charts(self.charts_after)},
            "summary": self.counts(),
            "images": [{"repository": i.repository, "from": list(i.before), "to": list(i.after),
                        "workloads": list(i.workloads)} for i in self.images],
            "containerImages": [{"workload": c.workload, "container": c.container, "from": c.before, "to": c.after}
                                for c in self.container_images],
            "workloads": [change(w) for w in self.workloads],
            "objects": [change(o) for o in self.objects],
            "references": [{"change": r.change, "kind": r.kind, "namespace": r.namespace, "name": r.name,
                            "usedBy": list(r.used_by), "madeBy": list(r.made_by), "madeByPlan": bool(r.made_by),
                            **({"stillMadeBy": list(r.made_after)} if r.change == "removed" else {})}
                           for r in self.references],
            "configFiles": [{"configMap": f.config_map, "file": f.file, "change": f.change,
                             "keys": [{"key": k.key, "change": k.change, "from": k.before, "to": k.after}
                                      for k in f.keys],
                             **({"linesAdded": f.lines[0], "linesRemoved": f.lines[1]} if f.lines else {})}
                            for f in self.config_files],
            "hooksAndJobs": [change(h) for h in self.hooks],
            "migrations": [{"workload": m.workload, "container": m.container, "from": m.before, "to": m.after}
                           for m in self.migrations],
            "valuesKeys": {
                "chart": {"added": list(keys.chart_added), "removed": list(keys.chart_removed),
                          "changedKind": [{"key": k, "from": a, "to": b} for k, a, b in keys.chart_retyped]},
                "plan": {"added": list(keys.plan_added), "removed": list(keys.plan_removed)},
                "ignoredByChart": {"from": list(keys.ignored_before), "to": list(keys.ignored_after)},
            },
        }


# --- what one side holds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Located:
    key: ObjectKey
    release: str
    body: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.key[0]}/{self.key[2]}"

    @property
    def hook(self) -> str | None:
        annotations = (self.body.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(HOOK_ANNOTATION)
        return str(value) if value else None


def _objects(side: RenderedSide) -> dict[ObjectKey, _Located]:
    found: dict[ObjectKey, _Located] = {}
    for chart in side.charts:
        for body in chart.objects:
            namespace = object_namespace(dict(body), chart.namespace) or ""
            key = (str(body.get("kind")), namespace, str((body.get("metadata") or {}).get("name", "")))
            found[key] = _Located(key, chart.release, body)
    return found


def _images(located: _Located) -> dict[str, str]:
    spec = pod_spec(dict(located.body))
    if spec is None:
        return {}
    return {str(c.get("name")): str(c.get("image", "")) for c in containers(spec)}


def _repository(image: str) -> tuple[str, str]:
    """(repository, tag or digest) of an image reference; the tag is empty when the image names none."""
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = image.rsplit(":", 1)
        return repository, tag
    return image, ""


# --- the diff ----------------------------------------------------------------------------------------------


def diff_releases(stack: str, kubernetes: str, before: RenderedSide, after: RenderedSide) -> ReleaseDiff:
    old, new = _objects(before), _objects(after)
    return ReleaseDiff(
        stack=stack,
        kubernetes=kubernetes,
        before=before.version,
        after=after.version,
        charts_before=tuple((c.release, c.chart, c.source) for c in before.charts),
        charts_after=tuple((c.release, c.chart, c.source) for c in after.charts),
        images=_image_changes(old, new),
        container_images=_container_images(old, new),
        workloads=_object_changes(old, new, workloads=True) + _changed_workloads(old, new),
        objects=_object_changes(old, new, workloads=False),
        references=_reference_changes(old, new, before, after),
        config_files=_config_file_changes(old, new),
        hooks=_hook_changes(old, new),
        migrations=_migrations(old, new),
        values_keys=_values_keys(before, after),
    )


def _is_workload(located: _Located) -> bool:
    """Pods that run for as long as the release does: not hooks, not jobs (those are listed apart)."""
    return pod_spec(dict(located.body)) is not None and not _is_hook_or_job(located)


def _is_hook_or_job(located: _Located) -> bool:
    return located.hook is not None or located.key[0] in ("Job", "CronJob")


def _image_changes(old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located]) -> tuple[ImageChange, ...]:
    tags: dict[str, tuple[set[str], set[str]]] = {}
    users: dict[str, set[str]] = {}
    for index, objects in enumerate((old, new)):
        for located in objects.values():
            for image in _images(located).values():
                repository, tag = _repository(image)
                tags.setdefault(repository, (set(), set()))[index].add(tag or "(no tag)")
                users.setdefault(repository, set()).add(located.label)
    return tuple(
        ImageChange(repository, tuple(sorted(was)), tuple(sorted(now)), tuple(sorted(users[repository])))
        for repository, (was, now) in sorted(tags.items())
        if was != now
    )


def _container_images(old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located]) -> tuple[ContainerImage, ...]:
    changes = []
    for key in sorted(set(old) & set(new)):
        was, now = _images(old[key]), _images(new[key])
        for container in sorted(set(was) | set(now)):
            if was.get(container) != now.get(container):
                changes.append(ContainerImage(new[key].label, container, was.get(container), now.get(container)))
    return tuple(changes)


def _object_changes(
    old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located], *, workloads: bool
) -> tuple[ObjectChange, ...]:
    """Workloads (pod templates that are not hooks), or every other object that is not a hook or job."""

    def wanted(located: _Located) -> bool:
        if workloads:
            return _is_workload(located)
        return pod_spec(dict(located.body)) is None and located.hook is None

    changes = []
    for change, objects, others in (("removed", old, new), ("added", new, old)):
        for key in sorted(set(objects) - set(others)):
            located = objects[key]
            if wanted(located):
                detail = ", ".join(sorted(set(_images(located).values()))) if workloads else ""
                changes.append(ObjectChange(change, key[0], key[1], key[2], located.release, detail))  # type: ignore[arg-type]
    return tuple(sorted(changes, key=lambda c: (c.change != "added", c.kind, c.name)))


def _changed_workloads(old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located]) -> tuple[ObjectChange, ...]:
    """Workloads in both releases whose pods change (a rollout on upgrade), with what changes in them."""
    changes = []
    for key in sorted(set(old) & set(new)):
        if not (_is_workload(old[key]) and _is_workload(new[key])):
            continue
        aspects = _pod_changes(old[key].body, new[key].body)
        if aspects:
            changes.append(ObjectChange("changed", key[0], key[1], key[2], new[key].release, ", ".join(aspects)))
    return tuple(changes)


_CONTAINER_ASPECTS = (("image", ("image",)), ("command", ("command", "args")), ("environment", ("env", "envFrom")),
                      ("resources", ("resources",)), ("volume mounts", ("volumeMounts",)),
                      ("probes", ("livenessProbe", "readinessProbe", "startupProbe")), ("ports", ("ports",)))


def _pod_changes(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between two versions of a workload, in an operator's words."""
    old_spec, new_spec = pod_spec(dict(was)) or {}, pod_spec(dict(now)) or {}
    aspects: list[str] = []
    old_containers = {str(c.get("name")): c for c in containers(old_spec)}
    new_containers = {str(c.get("name")): c for c in containers(new_spec)}
    if set(old_containers) != set(new_containers):
        aspects.append("containers")
    for aspect, keys in _CONTAINER_ASPECTS:
        if any(old_containers[name].get(k) != new_containers[name].get(k)
               for name in set(old_containers) & set(new_containers) for k in keys):
            aspects.append(aspect)
    if old_spec.get("volumes") != new_spec.get("volumes"):
        aspects.append("volumes")
    old_template = ((was.get("spec") or {}).get("template") or {}).get("metadata") or {}
    new_template = ((now.get("spec") or {}).get("template") or {}).get("metadata") or {}
    if old_template.get("annotations") != new_template.get("annotations"):
        aspects.append("pod annotations (configuration checksums)")
    if (was.get("spec") or {}).get("replicas") != (now.get("spec") or {}).get("replicas"):
        aspects.append("replicas")
    # Any other pod setting by its own name: affinity, tolerations, securityContext...
    aspects += sorted(key for key in set(old_spec) | set(new_spec)
                      if key not in ("containers", "initContainers", "ephemeralContainers", "volumes")
                      and old_spec.get(key) != new_spec.get(key))
    return aspects


def _hook_changes(old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located]) -> tuple[ObjectChange, ...]:
    changes = []
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if not any(x is not None and _is_hook_or_job(x) for x in (was, now)):
            continue
        if was is None or now is None:
            located = now or was
            assert located is not None
            changes.append(ObjectChange("added" if was is None else "removed", key[0], key[1], key[2],
                                        located.release, located.hook or "runs at install"))
        elif (was.hook or "") != (now.hook or ""):
            changes.append(ObjectChange("changed", key[0], key[1], key[2], now.release,
                                        f"{was.hook or 'not a hook'} -> {now.hook or 'not a hook'}"))
    return tuple(sorted(changes, key=lambda c: ({"added": 0, "changed": 1, "removed": 2}[c.change], c.kind, c.name)))


def _migrations(old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located]) -> tuple[Migration, ...]:
    """Containers that migrate a database (by their name or command) whose image is new or changed."""
    found = []
    for key, located in sorted(new.items()):
        spec = pod_spec(dict(located.body))
        if spec is None:
            continue
        was = _images(old[key]) if key in old else {}
        for container in containers(spec):
            command = " ".join(str(part) for part in (*(container.get("command") or ()), *(container.get("args") or ())))
            name, image = str(container.get("name")), str(container.get("image", ""))
            if not (_MIGRATION.search(name) or _MIGRATION.search(command)):
                continue
            if was.get(name) != image:
                found.append(Migration(located.label, name, was.get(name), image))
    return tuple(found)


def _references_of(objects: dict[ObjectKey, _Located]) -> dict[ObjectKey, list[str]]:
    found: dict[ObjectKey, list[str]] = {}
    for located in objects.values():
        spec = pod_spec(dict(located.body))
        if spec is None:
            continue
        for ref in dict.fromkeys(references(spec)):
            if ref.optional:
                continue
            users = found.setdefault((ref.kind, located.key[1], ref.name), [])
            users.append(f"{located.label} ({ref.where})")
    return found


def _reference_changes(
    old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located], before: RenderedSide, after: RenderedSide
) -> tuple[ReferenceChange, ...]:
    was, now = _references_of(old), _references_of(new)
    changes = []
    for key in sorted(set(now) - set(was)):
        changes.append(ReferenceChange("added", *key, tuple(sorted(set(now[key]))), after.makers(*key)))
    for key in sorted(set(was) - set(now)):
        changes.append(ReferenceChange("removed", *key, tuple(sorted(set(was[key]))), before.makers(*key),
                                       after.makers(*key)))
    return tuple(changes)


# --- configuration files -----------------------------------------------------------------------------------


def _config_file_changes(old: dict[ObjectKey, _Located], new: dict[ObjectKey, _Located]) -> tuple[ConfigFileChange, ...]:
    changes = []
    for key in sorted(set(old) & set(new)):
        if key[0] != "ConfigMap":
            continue
        was = {**(old[key].body.get("data") or {}), **(old[key].body.get("binaryData") or {})}
        now = {**(new[key].body.get("data") or {}), **(new[key].body.get("binaryData") or {})}
        for file in sorted(set(was) | set(now)):
            if file not in now:
                changes.append(ConfigFileChange(key[2], file, "removed"))
            elif file not in was:
                changes.append(ConfigFileChange(key[2], file, "added"))
            elif was[file] != now[file]:
                change = _file_change(key[2], file, str(was[file]), str(now[file]))
                if change is not None:
                    changes.append(change)
    return tuple(changes)


def _file_change(config_map: str, file: str, was: str, now: str) -> ConfigFileChange | None:
    """The change of one file; None when only its formatting changed (the same settings)."""
    old_tree, new_tree = _structured(file, was), _structured(file, now)
    if old_tree is not None and new_tree is not None:
        keys = tuple(_tree_changes(old_tree, new_tree))
        return ConfigFileChange(config_map, file, "changed", keys=keys) if keys else None
    added = removed = 0
    for line in difflib.unified_diff(was.splitlines(), now.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return ConfigFileChange(config_map, file, "changed", lines=(added, removed))


def _structured(file: str, text: str) -> Any:
    """A JSON or YAML file's content as a mapping, or None when it is not one."""
    try:
        if file.endswith(".json") or text.lstrip().startswith("{"):
            document = json.loads(text)
        elif file.endswith((".yaml", ".yml")):
            document = yaml.safe_load(text)
        else:
            return None
    except (ValueError, yaml.YAMLError):
        return None
    return document if isinstance(document, dict) else None


def _tree_changes(was: Any, now: Any, path: str = "") -> Iterator[KeyChange]:
    """Settings added, removed or changed between two parsed files; a subtree new as a whole is one change."""
    if isinstance(was, dict) and isinstance(now, dict):
        for key in sorted(set(was) | set(now), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in now:
                yield KeyChange(here, "removed", before=_shown(here, was[key]))
            elif key not in was:
                yield KeyChange(here, "added", after=_shown(here, now[key]))
            else:
                yield from _tree_changes(was[key], now[key], here)
    elif was != now:
        yield KeyChange(path, "changed", _shown(path, was), _shown(path, now))


def _shown(path: str, value: Any) -> str:
    if _CREDENTIAL_NAME.search(path.rsplit(".", 1)[-1]) and not isinstance(value, dict):
        return HIDDEN
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _SHOWN_VALUE_LENGTH else text[: _SHOWN_VALUE_LENGTH - 1] + "…"


# --- values keys -------------------------------------------------------------------------------------------


def _values_keys(before: RenderedSide, after: RenderedSide) -> ValuesKeys:
    chart_added: list[str] = []
    chart_removed: list[str] = []
    retyped: list[tuple[str, str, str]] = []
    plan_added: list[str] = []
    plan_removed: list[str] = []
    old = {chart.release: chart for chart in before.charts}
    new = {chart.release: chart for chart in after.charts}
    for release in sorted(set(old) | set(new)):
        was, now = old.get(release), new.get(release)
        prefix = f"{release}: "
        if was is None or now is None:
            continue  # the release itself is added or removed: its charts say the rest
        for key, change, kinds in _shape_changes(was.shape, now.shape):
            if change == "added":
                chart_added.append(prefix + key)
            elif change == "removed":
                chart_removed.append(prefix + key)
            else:
                retyped.append((prefix + key, *kinds))
        for key_change in _tree_changes(_keys_only(was.values), _keys_only(now.values)):
            if key_change.change == "added":
                plan_added.append(prefix + key_change.key)
            elif key_change.change == "removed":
                plan_removed.append(prefix + key_change.key)
    return ValuesKeys(
        chart_added=tuple(chart_added), chart_removed=tuple(chart_removed), chart_retyped=tuple(retyped),
        plan_added=tuple(plan_added), plan_removed=tuple(plan_removed),
        ignored_before=_ignored(before), ignored_after=_ignored(after),
    )


def _keys_only(values: Any) -> Any:
    """The tree of keys, every leaf the same: which keys are set, not to what."""
    if isinstance(values, Mapping):
        return {key: _keys_only(value) for key, value in values.items()}
    return None


def _ignored(side: RenderedSide) -> tuple[str, ...]:
    return tuple(
        f"{chart.release}: {key}"
        for chart in side.charts
        for key, _problem in unknown_keys(chart.values, chart.shape, free_form_paths(chart.chart.split(" ", 1)[0]))
    )


def _kind(shape: Any) -> str:
    if isinstance(shape, dict) or shape == OPEN:
        return "map"
    return {LIST: "list", SCALAR: "scalar"}.get(shape, "any")


def _shape_changes(was: Any, now: Any, path: str = "") -> Iterator[tuple[str, str, tuple[str, str]]]:
    """(key, added|removed|retyped, (kind before, kind after)) between two charts' known keys."""
    if isinstance(was, dict) and isinstance(now, dict):
        for key in sorted(set(was) | set(now)):
            here = f"{path}.{key}" if path else key
            if key not in now:
                yield here, "removed", (_kind(was[key]), "")
            elif key not in was:
                yield here, "added", ("", _kind(now[key]))
            else:
                yield from _shape_changes(was[key], now[key], here)
        return
    before, after = _kind(was), _kind(now)
    # Below an open map or a null default anything goes: nothing to compare.
    if ANY not in (was, now) and before != after:
        yield path, "retyped", (before, after)


# --- Markdown ----------------------------------------------------------------------------------------------


def _code(items: Iterable[str]) -> str:
    return ", ".join(f"`{item}`" for item in items) or "-"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def diff_markdown(diff: ReleaseDiff, heading: str = "##") -> str:
    """The diff for people (a terminal, a merge request, release notes)."""
    sub = heading + "#"
    counts = diff.counts()
    charts = "; ".join(
        f"{release}: {chart} → {after}" if chart != after else f"{release}: {chart} (unchanged)"
        for (release, chart, _), (_, after, _) in zip(diff.charts_before, diff.charts_after, strict=False)
    )
    unmade = counts["referencesNotMade"]
    made = (f" ({unmade} made by nothing in the plan)" if unmade
            else " (each made by the plan)" if counts["referencesAdded"] else "")
    sources = sorted({source for *_, source in (*diff.charts_before, *diff.charts_after)})
    lines = [
        f"{heading} Mojaloop {diff.before} → {diff.after}",
        "",
        f"Rendered with the plan's values of stack `{diff.stack}` at Kubernetes {diff.kubernetes} ({charts}); "
        f"charts from {', '.join(sources)}.",
        "",
        f"{counts['imagesChanged']} image(s) changed, {counts['workloadsAdded']} workload(s) added, "
        f"{counts['workloadsRemoved']} removed and {counts['workloadsChanged']} changed, "
        f"{counts['referencesAdded']} Secret/ConfigMap reference(s) added"
        f"{made} and {counts['referencesRemoved']} removed, "
        f"{counts['configFilesChanged']} configuration file(s) changed, {counts['hooksAndJobsAdded']} hook(s) or "
        f"job(s) added, {counts['migrations']} migration(s).",
    ]
    lines += ["", f"{sub} Images (service versions)", ""]
    if diff.images:
        lines += [f"| Image | {diff.before} | {diff.after} | Workloads |", "|---|---|---|---|"]
        for image in diff.images:
            lines.append(f"| `{image.repository}` | {', '.join(image.before) or '-'} | {', '.join(image.after) or '-'} "
                         f"| {_cell(', '.join(image.workloads))} |")
    else:
        lines.append("None changed.")
    lines += ["", f"{sub} Workloads", ""]
    for workload in diff.workloads:
        what = {"added": "runs", "removed": "ran", "changed": "changes in"}[workload.change]
        lines.append(f"- {workload.change} **{workload.label}** ({workload.release}), {what}: "
                     f"{workload.detail or 'no containers'}")
    if not diff.workloads:
        lines.append("None added, removed or changed.")
    lines += ["", f"{sub} Other objects added and removed", ""]
    lines += [f"- {o.change} {o.label} ({o.release})" for o in diff.objects] or ["None."]
    lines += ["", f"{sub} Secret and ConfigMap references", ""]
    if diff.references:
        lines += ["| Change | Reference | Read by | Made by the plan |", "|---|---|---|---|"]
        for ref in diff.references:
            made = ", ".join(ref.made_by) or "**nothing in the plan makes it**"
            if ref.change == "removed":
                made += f"; with {diff.after}: " + (", ".join(ref.made_after) or "no longer made")
            lines.append(f"| {ref.change} | {ref.kind} `{ref.name}` | {_cell(', '.join(ref.used_by))} | {_cell(made)} |")
    else:
        lines.append("None added or removed.")
    lines += ["", f"{sub} Configuration files", ""]
    lines += _config_lines(diff.config_files) or ["None changed."]
    lines += ["", f"{sub} Hooks, jobs and migrations", ""]
    lines += [f"- {h.change} **{h.label}** ({h.release}): {h.detail}" for h in diff.hooks]
    for migration in diff.migrations:
        was = f"`{migration.before}`" if migration.before else "a new migration"
        lines.append(f"- migration **{migration.workload}** container `{migration.container}`: {was} → "
                     f"`{migration.after}` (runs when it starts; a Helm rollback does not undo it)")
    if not diff.hooks and not diff.migrations:
        lines.append("None added or removed, no migration changes.")
    lines += ["", f"{sub} Values keys", ""]
    lines += _values_lines(diff)
    return "\n".join(lines) + "\n"


def _config_lines(files: tuple[ConfigFileChange, ...]) -> list[str]:
    lines = []
    for file in files:
        where = f"`{file.config_map}` `{file.file}`"
        if file.change != "changed":
            lines.append(f"- {where}: file {file.change}")
        elif file.lines is not None:
            lines.append(f"- {where}: {file.lines[0]} line(s) added, {file.lines[1]} removed")
        else:
            lines.append(f"- {where}:")
            for key in file.keys:
                if key.change == "changed":
                    lines.append(f"  - `{key.key}`: {key.before} → {key.after}")
                else:
                    lines.append(f"  - `{key.key}` {key.change}: {key.after if key.change == 'added' else key.before}")
    return lines


def _values_lines(diff: ReleaseDiff) -> list[str]:
    keys = diff.values_keys
    lines = [
        f"- In the charts of {diff.after} only: {_code(keys.chart_added)}",
        f"- In the charts of {diff.before} only (an override of these does nothing with {diff.after}): "
        f"{_code(keys.chart_removed)}",
    ]
    if keys.chart_retyped:
        lines.append("- Changed kind in the charts: " + ", ".join(f"`{k}` ({a} → {b})" for k, a, b in keys.chart_retyped))
    lines += [
        f"- Set by the plan for {diff.after} only: {_code(keys.plan_added)}",
        f"- Set by the plan for {diff.before} only: {_code(keys.plan_removed)}",
        f"- Set by the plan but unknown to the {diff.after} charts (Helm ignores them): {_code(keys.ignored_after)}",
    ]
    if keys.ignored_before:
        lines.append(f"- Set by the plan but unknown to the {diff.before} charts: {_code(keys.ignored_before)}")
    return lines
