"""Every Secret and ConfigMap a workload reads exists when it needs it, and only one thing makes it.

Producers are the rendered charts' own objects, the plan's objects, and what controllers make from them:
External Secrets (an ExternalSecret's target), cert-manager (a Certificate's secretName), Oathkeeper
Maester (the rules ConfigMap, once it reconciles a Rule), GitLab's shared-secrets job (the Secrets it
generates when missing), istiod (`istio-ca-root-cert` in every namespace) and Kubernetes itself
(`kube-root-ca.crt`). A reference is satisfied by its own chart, by a plan object (not ordered after the
release), or by a release ordered before it. A required mount whose only producers come after the release
is ready is a deadlock when the release waits for its workloads.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from mojaloop_iac.render.checks.findings import Finding, object_label, object_namespace
from mojaloop_iac.render.checks.workloads import pod_spec, references
from mojaloop_iac.render.plan_view import PlanView
from mojaloop_iac.render.renderer import RenderedRelease

WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
EVERY_NAMESPACE = "*"
# GitLab's shared-secrets job script: `generate_secret_if_needed NAME ...`, and the Rails secrets it applies.
_GITLAB_GENERATED = re.compile(
    r"^\s*(?:generate_secret_if_needed\s+|rails_secret=)\"?([a-z0-9][-a-z0-9.]*)\"?", re.MULTILINE
)
_MAESTER_NAME = re.compile(r"^--rulesConfigmapName=(.+)$")
_MAESTER_NAMESPACE = re.compile(r"^--rulesConfigmapNamespace=(.+)$")


@dataclass(frozen=True)
class Producer:
    what: str
    release: str | None = None
    """The release whose install makes it (its chart, or a controller or job of its chart)."""
    urn: str | None = None
    """The plan resource whose creation makes it."""
    awaited: bool = True
    """Pulumi waits until it exists before creating what depends on `urn`."""
    if_missing: bool = False
    """Made only when absent (a job generating Secrets)."""
    after: tuple[str, ...] | None = None
    """Plan resources it is made from (a controller's input): it exists only once one of them exists."""


Key = tuple[str, str | None, str]  # kind, namespace, name


def producers(view: PlanView, rendered: dict[str, RenderedRelease]) -> dict[Key, list[Producer]]:
    found: dict[Key, list[Producer]] = defaultdict(list)
    found[("ConfigMap", EVERY_NAMESPACE, "kube-root-ca.crt")].append(Producer("Kubernetes"))
    for release in rendered.values():
        for obj in release.objects:
            body = obj.body
            namespace = object_namespace(body, release.namespace)
            name = (body.get("metadata") or {}).get("name", "")
            if body.get("kind") in ("Secret", "ConfigMap"):
                found[(body["kind"], namespace, name)].append(Producer(f"chart of {release.name}", release.name))
            for key, producer in _controller_products(body, release, namespace or release.namespace, view):
                found[key].append(producer)
            if body.get("kind") == "ConfigMap":
                for generated in _GITLAB_GENERATED.findall("\n".join(map(str, (body.get("data") or {}).values()))):
                    found[("Secret", namespace, generated)].append(
                        Producer(f"{release.name}'s job generating Secrets ({name})", release.name, if_missing=True)
                    )
    for obj in view.objects:
        body = obj.body
        metadata = body.get("metadata") or {}
        namespace, name = metadata.get("namespace") or "default", metadata.get("name", "")
        awaited = WAIT_FOR_ANNOTATION in (metadata.get("annotations") or {})
        kind = body.get("kind")
        if kind in ("Secret", "ConfigMap"):
            found[(kind, namespace, name)].append(Producer(f"plan object {kind} {namespace}/{name}", urn=obj.urn))
        elif kind == "ExternalSecret":
            target = (body.get("spec") or {}).get("target") or {}
            if target.get("creationPolicy", "Owner") in ("Owner", "Orphan"):
                found[("Secret", namespace, target.get("name") or name)].append(
                    Producer(f"ExternalSecret {namespace}/{name}", urn=obj.urn, awaited=awaited)
                )
        elif kind == "Certificate":
            secret = (body.get("spec") or {}).get("secretName")
            if secret:
                found[("Secret", namespace, secret)].append(
                    Producer(f"Certificate {namespace}/{name}", urn=obj.urn, awaited=awaited)
                )
    return found


def _controller_products(
    body: dict, release: RenderedRelease, namespace: str, view: PlanView
) -> Iterable[tuple[Key, Producer]]:
    spec = pod_spec(body)
    if spec is None or body.get("kind") == "Pod":
        return
    for container in spec.get("containers") or []:
        image, args = str(container.get("image", "")), [str(arg) for arg in container.get("args") or []]
        if "oathkeeper-maester" in image and "controller" in args:
            configmap = next((m.group(1) for a in args if (m := _MAESTER_NAME.match(a))), None)
            where = next((m.group(1) for a in args if (m := _MAESTER_NAMESPACE.match(a))), namespace)
            if configmap:
                rules = tuple(o.urn for o in view.objects if o.body.get("kind") == "Rule")
                yield ("ConfigMap", where, configmap), Producer(
                    f"Oathkeeper Maester of {release.name}, from the plan's Rules", release.name, after=rules
                )
        if "/pilot" in image and (body.get("metadata") or {}).get("name") == "istiod":
            yield ("ConfigMap", EVERY_NAMESPACE, "istio-ca-root-cert"), Producer(
                f"istiod of {release.name}", release.name
            )


def check_references(view: PlanView, rendered: dict[str, RenderedRelease]) -> list[Finding]:
    made = producers(view, rendered)
    findings: list[Finding] = []
    for release in rendered.values():
        for obj in release.objects:
            spec = pod_spec(obj.body)
            if spec is None:
                continue
            label = object_label(obj.body, release.namespace)
            namespace = object_namespace(obj.body, release.namespace) or release.namespace
            for ref in dict.fromkeys(references(spec)):
                if ref.optional:
                    continue
                candidates = made.get((ref.kind, namespace, ref.name), []) + made.get(
                    (ref.kind, EVERY_NAMESPACE, ref.name), []
                )
                problem = _unsatisfied(view, release, candidates, helm_waits_for(obj.body))
                if problem is not None:
                    check, text = problem
                    findings.append(Finding(check, release.name, label, f"{ref.kind} {ref.name} ({ref.where}): {text}"))
    findings += _conflicts(view, rendered, made)
    return findings


def helm_waits_for(body: dict) -> bool:
    """Helm's `--wait` (and an atomic install) waits for this workload to be ready: Deployments, DaemonSets
    and StatefulSets that roll (not `OnDelete`), Pods, and Jobs (waitForJobs); not test hooks."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    if str(annotations.get("helm.sh/hook", "")).startswith("test"):
        return False
    kind, spec = body.get("kind"), body.get("spec") or {}
    if kind in ("StatefulSet", "DaemonSet"):
        return (spec.get("updateStrategy") or {}).get("type") != "OnDelete"
    return kind in ("Deployment", "ReplicaSet", "Pod", "Job")


def _unsatisfied(
    view: PlanView, release: RenderedRelease, candidates: list[Producer], waited: bool
) -> tuple[str, str] | None:
    if not candidates:
        return "references", "nothing in the plan creates it"
    only_later = []
    for producer in candidates:
        if producer.release is None and producer.urn is None:
            return None
        later = _only_after(view, release, producer)
        if later:
            only_later.append(producer)
            continue
        if producer.release == release.name or producer.urn is not None:
            return None
        other = next((r for r in view.releases if r.name == producer.release), None)
        if other is not None and view.before(other.urn, release.urn):
            return None
    if only_later and len(only_later) == len(candidates):
        if not (release.waits and waited):
            return None  # its pods start once it exists; nothing waits on them meanwhile
        return "ordering", (
            f"deadlock: only {only_later[0].what} creates it, after the release is ready; the first install "
            "waits for it, times out and rolls back"
        )
    names = ", ".join(sorted({p.what for p in candidates}))
    return "references", f"created by {names}, which is not ordered before this release"


def _only_after(view: PlanView, release: RenderedRelease, producer: Producer) -> bool:
    """The producer can act only once something ordered after `release` exists (or never)."""
    if producer.urn is not None:
        return view.before(release.urn, producer.urn)
    if producer.after is not None:
        return all(view.before(release.urn, urn) for urn in producer.after)
    return False


def _conflicts(
    view: PlanView, rendered: dict[str, RenderedRelease], made: dict[Key, list[Producer]]
) -> list[Finding]:
    findings = []
    urn_of = {release.name: release.urn for release in view.releases}
    for (kind, namespace, name), candidates in sorted(made.items(), key=lambda item: str(item[0])):
        charts = sorted({p.release for p in candidates if p.release and not p.if_missing and p.after is None})
        planned = [p for p in candidates if p.urn is not None]
        generators = [p for p in candidates if p.if_missing]
        label = f"{kind} {namespace}/{name}"
        if len(charts) > 1:
            findings.append(Finding("references", charts[0], label, f"created by several releases ({', '.join(charts)})"))
        for chart in charts:
            for plan_producer in planned:
                findings.append(Finding("references", chart, label, f"created by the chart and by {plan_producer.what}"))
        for generator in generators:
            for plan_producer in planned:
                release_urn = urn_of.get(generator.release or "", "")
                if plan_producer.awaited and plan_producer.urn and view.before(plan_producer.urn, release_urn):
                    continue
                findings.append(Finding(
                    "ordering", generator.release or "?", label,
                    f"{generator.what} creates it when missing, and {plan_producer.what} creates it too: install "
                    f"order decides who wins (make {plan_producer.what} ready before the release: annotate it "
                    f"{WAIT_FOR_ANNOTATION} and order the release after it)",
                ))
    return findings
