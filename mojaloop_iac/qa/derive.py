"""A QA environment's stack, derived from an environment stack (pure and deterministic).

`derive_qa_stack` takes the template's stack file as written, the QA request (ID, TTL, release, `--set`s,
where it comes from) and, for the shared-cluster fast path, the shared QA cluster's stack file. It returns
the stack file of the QA environment:

- name and namespace `<template>-<id>`, domains with the ID in front (see `names.py`);
- `lifecycle: ephemeral` with `expiresAt` = the request's time + TTL, `profile: qa`, and `qa:` recording
  the ID, the template, the change (URL, commit) and the owner;
- on a cluster of its own: the `qa` node-pool layout; on bare metal the hosts of one slot of the host
  pool (never the template's own hosts, which reset.yml would wipe on teardown);
- on a shared cluster: that cluster's settings (substrate, Kubernetes, node pools, hosts, Vault), so
  the placement matches the nodes it runs on, and `qa.sharedCluster` naming it;
- `--set KEY=VALUE` last, where KEY is a dotted path under `environment` (camelCase, as in the file).

Same inputs, same file: nothing here reads the clock or the machine.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import yaml

from mojaloop_iac.config.load import NAMESPACE
from mojaloop_iac.qa.names import QaInputError, qa_id, qa_names
from mojaloop_iac.yamlio import load_yaml

ENVIRONMENT_KEY: Final = f"{NAMESPACE}:environment"
QA_LAYOUT: Final = "qa"
QA_POOL: Final = "general"
MIN_TTL: Final = timedelta(minutes=15)
MAX_TTL: Final = timedelta(days=7)
_TTL = re.compile(r"^(?:(?P<days>\d+)d)?(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?$")
# What the derivation decides; `--set` may not change it.
DERIVED_KEYS: Final = ("name", "lifecycle", "expiresAt", "profile", "qa", "qaHost")
# Cluster settings a QA environment on a shared cluster takes from that cluster's stack.
SHARED_CLUSTER_KEYS: Final = (
    "substrate", "kubernetes", "network", "nodePools", "layout", "baremetal", "aws", "tls", "placement",
    "vault", "controlCenterStack",
)  # fmt: skip


def parse_ttl(text: str) -> timedelta:
    """`4h`, `90m`, `1d12h`: between MIN_TTL and MAX_TTL."""
    match = _TTL.match(text.strip())
    if not text.strip() or match is None:
        raise QaInputError("--ttl", f"{text!r} is not a duration: use e.g. 4h, 90m or 1d12h (days, hours, minutes)")
    ttl = timedelta(**{unit: int(value) for unit, value in match.groupdict().items() if value})
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise QaInputError("--ttl", f"{text} is outside {_duration(MIN_TTL)} to {_duration(MAX_TTL)}: a QA "
                           "environment lives long enough for its tests and is then thrown away")
    return ttl


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return "".join(f"{value}{unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if value) or "0m"


def parse_set(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`: KEY a dotted path under `environment`, VALUE read as YAML (`true`, `3`, `[a, b]`)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9_-]+)*", key):
        raise QaInputError("--set", f"{text!r} is not KEY=VALUE with KEY a dotted path such as mojaloop.features.bulk")
    if key.split(".")[0] in DERIVED_KEYS:
        raise QaInputError(f"--set {key}", f"is decided by the derivation ({', '.join(DERIVED_KEYS)}); use "
                           "--id, --ttl and the other flags instead")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError as error:
        raise QaInputError(f"--set {key}", f"the value is not valid YAML: {error}") from None
    return key, value


@dataclass(frozen=True)
class HostSlot:
    name: str
    hosts: tuple[Mapping[str, Any], ...]


def parse_host_pool(document: Any, source: str) -> tuple[HostSlot, ...]:
    """A host pool file: `slots: {<slot>: [{name, address, role, sshHost?, sshPort?}, ...]}`."""
    slots = document.get("slots") if isinstance(document, Mapping) else None
    if not isinstance(slots, Mapping) or not slots:
        raise QaInputError("--host-pool", f"{source} must map `slots:` to lists of hosts")
    parsed = []
    for name, hosts in slots.items():
        if not isinstance(hosts, list) or not hosts or not all(isinstance(host, Mapping) for host in hosts):
            raise QaInputError("--host-pool", f"{source}: slot {name!r} must list its hosts ({{name, address, role}})")
        parsed.append(HostSlot(str(name), tuple(dict(host) for host in hosts)))
    return tuple(parsed)


def choose_slot(slots: Sequence[HostSlot], qa_name: str, wanted: str | None = None) -> HostSlot:
    """The slot named `wanted`, or one picked from the QA environment's name (stable for that name)."""
    if wanted is not None:
        for slot in slots:
            if slot.name == wanted:
                return slot
        raise QaInputError("--host-slot", f"no slot {wanted!r} in the host pool; slots: {', '.join(s.name for s in slots)}")
    index = int(hashlib.sha256(qa_name.encode()).hexdigest(), 16) % len(slots)
    return slots[index]


@dataclass(frozen=True)
class QaRequest:
    id: str
    """As given; made DNS-safe by the derivation."""
    now: datetime
    """When the QA environment starts; the expiry is now + ttl."""
    ttl: timedelta = timedelta(hours=4)
    release: str | None = None
    sets: tuple[tuple[str, Any], ...] = ()
    source: str | None = None
    commit: str | None = None
    owner: str | None = None
    host_slot: str | None = None


@dataclass(frozen=True)
class SharedClusterStack:
    stack: str
    """How the QA stack references it (a stack name or `org/project/stack`)."""
    config: Mapping[str, Any]
    """Its stack file's `config:` map."""


@dataclass(frozen=True)
class DerivedStack:
    name: str
    id: str
    document: dict[str, Any]
    host_slot: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def text(self, template_path: str) -> str:
        header = (
            f"# QA environment {self.id} derived from {template_path} by `mojactl qa stack`: do not edit,\n"
            "# derive it again. Ephemeral: `mojactl qa down` (or the reaper after expiresAt) destroys all of it.\n"
        )
        return header + yaml.safe_dump(self.document, sort_keys=False, default_flow_style=False, width=120)


def _environment_of(config: Mapping[str, Any], what: str, key: str) -> dict[str, Any]:
    environment = config.get(ENVIRONMENT_KEY)
    if not isinstance(environment, Mapping):
        kind = "a control center" if f"{NAMESPACE}:controlCenter" in config else "not an environment stack"
        raise QaInputError(key, f"{what} is {kind}: QA environments derive from environment stacks "
                           f"({ENVIRONMENT_KEY})")
    return copy.deepcopy(dict(environment))


def derive_qa_stack(
    template_name: str,
    template_config: Mapping[str, Any],
    request: QaRequest,
    *,
    shared_cluster: SharedClusterStack | None = None,
    host_pool: Sequence[HostSlot] = (),
) -> DerivedStack:
    environment = _environment_of(template_config, f"template {template_name}", "TEMPLATE")
    if environment.get("qa") is not None or environment.get("lifecycle") == "ephemeral":
        raise QaInputError("TEMPLATE", f"{template_name} is itself an ephemeral (QA) environment; derive from the "
                           "persistent environment stack it came from")
    id_ = qa_id(request.id)
    notes: list[str] = []
    cluster_environment: dict[str, Any] | None = None
    if shared_cluster is not None:
        cluster_environment = _environment_of(shared_cluster.config, f"shared cluster {shared_cluster.stack}",
                                              "--shared-cluster")
        if not cluster_environment.get("qaHost"):
            raise QaInputError("--shared-cluster", f"{shared_cluster.stack} does not host QA environments: set "
                               "qaHost: true in its stack (and run `pulumi up` on it) first")
    domains_from = (cluster_environment or environment).get("domains") or {}
    if not isinstance(domains_from, Mapping) or not {"internal", "external"} <= set(domains_from):
        raise QaInputError("TEMPLATE", f"{template_name} has no domains.internal and domains.external")
    names = qa_names(template_name, id_, str(domains_from["internal"]), str(domains_from["external"]),
                     shared=cluster_environment is not None)
    host_slot: str | None = None
    if cluster_environment is not None:
        for key in SHARED_CLUSTER_KEYS:
            environment.pop(key, None)
            if key in cluster_environment:
                environment[key] = copy.deepcopy(cluster_environment[key])
        environment.pop("chartVersions", None)  # the shared cluster's platform is its own stack's
    else:
        environment.pop("nodePools", None)
        environment["layout"] = QA_LAYOUT
        if environment.get("substrate") == "baremetal":
            if not host_pool:
                raise QaInputError("--host-pool", f"{template_name} is on bare metal: a QA environment with a "
                                   "cluster of its own needs hosts of its own from a host pool (the template's "
                                   "hosts belong to it, and teardown resets the hosts); pass --host-pool FILE "
                                   "or --shared-cluster STACK")
            slot = choose_slot(host_pool, names.name, request.host_slot)
            host_slot = slot.name
            baremetal = dict(environment.get("baremetal") or {})
            baremetal["hosts"] = [{**dict(host), "pool": QA_POOL} for host in slot.hosts]
            # One host pool slot is a small cluster: a single server, no embedded-etcd quorum.
            baremetal.pop("haEmbeddedEtcd", None)
            environment["baremetal"] = baremetal
            notes.append(f"hosts: slot {slot.name} of the host pool ({', '.join(str(h.get('name')) for h in slot.hosts)})")
    environment["name"] = names.name
    environment["domains"] = {"internal": names.internal_domain, "external": names.external_domain}
    mojaloop = dict(environment.get("mojaloop") or {})
    mojaloop["namespace"] = names.namespace
    if request.release is not None:
        mojaloop["release"] = request.release
    environment["mojaloop"] = mojaloop
    vault = dict(environment.get("vault") or {})
    vault.pop("retainSecretsOnDelete", None)
    if vault:
        environment["vault"] = vault
    environment["lifecycle"] = "ephemeral"
    environment["expiresAt"] = _timestamp(request.now + request.ttl)
    environment["profile"] = "qa"
    origin: dict[str, Any] = {"id": id_, "template": template_name}
    for key, value in (("source", request.source), ("commit", request.commit), ("owner", request.owner)):
        if value:
            origin[key] = value
    if host_slot is not None:
        origin["hostSlot"] = host_slot
    if shared_cluster is not None and cluster_environment is not None:
        origin["sharedCluster"] = {"stack": shared_cluster.stack, "environment": cluster_environment.get("name")}
    environment["qa"] = origin
    for key, value in request.sets:
        _put(environment, key, value)
    config = {key: copy.deepcopy(value) for key, value in template_config.items() if key != ENVIRONMENT_KEY}
    if cluster_environment is not None and shared_cluster is not None:
        # Provider settings (e.g. aws:region) follow the cluster the environment runs on.
        config = {key: value for key, value in config.items() if key.startswith(f"{NAMESPACE}:")}
        config.update({key: copy.deepcopy(value) for key, value in shared_cluster.config.items()
                       if not key.startswith(f"{NAMESPACE}:")})
    config.pop(f"{NAMESPACE}:kubeconfig", None)
    document = {"config": {ENVIRONMENT_KEY: environment, **dict(sorted(config.items()))}}
    return DerivedStack(names.name, id_, document, host_slot, tuple(notes))


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise QaInputError("--now", "must carry a time zone, e.g. 2025-06-01T12:00:00Z")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(environment: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = environment
    for index, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise QaInputError(f"--set {key}", f"{'.'.join(parts[: index + 1])} is not a mapping in the template")
        node = child
    node[parts[-1]] = value
