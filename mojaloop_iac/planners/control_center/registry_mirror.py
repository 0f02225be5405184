"""The registry mirror: a pull-through cache of docker.io, ghcr.io, quay.io and registry.k8s.io, plus a
private project for the toolkit's own images.

Why zot (project-zot, CNCF sandbox) rather than the alternatives:

- CNCF Distribution's proxy mode caches exactly one upstream per instance and then refuses pushes, so four
  upstreams plus a private repository would be five registries, five volumes and five URLs.
- Harbor does all of it, but brings PostgreSQL, Redis, a core, a job service, a portal and a registry of
  its own: more state to back up and upgrade than the rest of the control center together.
- One zot instance syncs several upstreams on demand, each under its own path prefix on the mirror
  (`<mirror>/docker.io/...`, `<mirror>/ghcr.io/...`), hosts pushed repositories next to them, and keeps
  upstream digests (`preserveDigest` with the `docker2s2` compatibility mode), so digest-pinned references
  still resolve through the mirror. Its state is one volume.

Access is authenticated (htpasswd): `pull` reads everything (nodes, environments), `push` may also push
to the private prefix (CI), `admin` may delete. Vault generates the three passwords; External Secrets
builds the htpasswd file (bcrypt) inside the cluster. Upstream credentials (Docker Hub rate limits) are
optional and operator-supplied.

`mirror_image` rewrites an image reference to its mirrored form; environments use it (and
`containerd_mirrors` for node-level pulls) with the `RegistryMirror` this plan exports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mojaloop_iac.planners.control_center.common import (
    ControlCenterPlanError,
    ServicePlan,
    TemplatedSecret,
    TlsSettings,
    certificate,
    needs_by_namespace,
    pinned_chart,
    release,
    require_hostname,
    restricted_container_security,
    restricted_pod_security,
    service_dns_names,
)
from mojaloop_iac.planners.namespaces import NamespaceSpec
from mojaloop_iac.planners.secrets import SecretNeed
from mojaloop_iac.vault.paths import require_dns_label

CHART = "zot"
RELEASE_NAME = "zot"
SERVICE = "zot"  # the chart's fullname for release "zot"
PORT = 5000
# zot's image is distroless and would run as root; the distroless "nonroot" user owns nothing it needs.
ZOT_UID = 65532

STORAGE_ROOT = "/var/lib/registry"
TLS_MOUNT = "/secrets/tls"
AUTH_MOUNT = "/secrets/auth"
UPSTREAM_MOUNT = "/secrets/upstream"

ADMIN_USER, PULL_USER, PUSH_USER = "admin", "pull", "push"
USERS_NEED = SecretNeed(
    "registry-mirror-users",
    {ADMIN_USER: "generic", PULL_USER: "generic", PUSH_USER: "generic"},
    "Registry mirror users: admin (delete), pull (nodes and environments), push (the private project)",
)
HTPASSWD_SECRET = "registry-mirror-htpasswd"
UPSTREAM_CREDENTIALS_SECRET = "registry-mirror-upstream-credentials"
UPSTREAM_CREDENTIALS_NEED_NAME = "registry-mirror-upstream-logins"
# Not a password policy: the operator writes upstream account credentials into Vault.
OPERATOR_SUPPLIED = "operator-supplied"

_REPOSITORY_PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True)
class Upstream:
    prefix: str
    """Path prefix on the mirror: the registry's canonical host, e.g. `docker.io`."""
    url: str
    """The registry API zot syncs from."""
    aliases: tuple[str, ...] = ()
    """Other host names image references use for the same registry."""

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].rstrip("/")


DEFAULT_UPSTREAMS: tuple[Upstream, ...] = (
    # Docker Hub serves its API at index.docker.io / registry-1.docker.io, never at docker.io itself.
    Upstream("docker.io", "https://index.docker.io", ("index.docker.io", "registry-1.docker.io")),
    Upstream("ghcr.io", "https://ghcr.io"),
    Upstream("quay.io", "https://quay.io"),
    Upstream("registry.k8s.io", "https://registry.k8s.io"),
)


@dataclass(frozen=True)
class RegistryMirror:
    """What environments need to pull through the mirror (export it from the control center)."""

    host: str
    """`host` or `host:port` of the mirror."""
    upstream_prefixes: Mapping[str, str]
    """Registry host (including aliases) -> path prefix on the mirror."""
    private_prefix: str
    """Path prefix of the toolkit's own images, e.g. `<host>/mojaloop-iac/<image>`."""

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def to_output(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "host": self.host,
            "upstreamPrefixes": dict(sorted(self.upstream_prefixes.items())),
            "privatePrefix": self.private_prefix,
        }


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    def render(self, registry: str, repository: str) -> str:
        return (
            f"{registry}/{repository}"
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )


def parse_image(image: str) -> ImageReference:
    """Split a Docker image reference into registry, repository, tag and digest (Docker's own defaults:
    no registry means docker.io, a one-part Docker Hub name lives under `library/`)."""
    if not image or image != image.strip() or " " in image:
        raise ControlCenterPlanError(f"image reference {image!r} is empty or contains spaces")
    name, _, digest = image.partition("@")
    if digest and not _DIGEST.match(digest):
        raise ControlCenterPlanError(f"image {image!r}: digest {digest!r} is not algorithm:hex")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ControlCenterPlanError(f"image {image!r}: tag {tag!r} is not a valid tag")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "docker.io", name
    if registry in ("index.docker.io", "registry-1.docker.io", "docker.io") and "/" not in repository:
        repository = f"library/{repository}"
    if not _REPOSITORY_PATH.match(repository):
        raise ControlCenterPlanError(
            f"image {image!r}: repository {repository!r} is not a valid repository path "
            "(lower-case components)"
        )
    return ImageReference(registry, repository, tag, digest or None)


def mirror_image(image: str, mirror: RegistryMirror) -> str:
    """The reference of `image` on the mirror: `docker.io/bitnamilegacy/mysql:8` becomes
    `<mirror>/docker.io/bitnamilegacy/mysql:8`. Tags and digests are kept (the mirror preserves upstream
    digests); an image already on the mirror is returned unchanged; an image from a registry the mirror
    does not cache is refused, because it would fail to pull where only the mirror is reachable."""
    reference = parse_image(image)
    if reference.registry == mirror.host:
        return image
    prefix = mirror.upstream_prefixes.get(reference.registry)
    if prefix is None:
        raise ControlCenterPlanError(
            f"image {image!r} comes from {reference.registry}, which the registry mirror does not cache "
            f"(it caches {', '.join(sorted(set(mirror.upstream_prefixes.values())))}): "
            "add the registry to the "
            "mirror's upstreams or push the image to its private project"
        )
    return reference.render(mirror.host, f"{prefix}/{reference.repository}")


def containerd_mirrors(mirror: RegistryMirror) -> dict[str, Any]:
    """The `mirrors` section of a k3s/containerd `registries.yaml`: each upstream's pulls go to the mirror,
    its repositories rewritten under the upstream's prefix. The pull user's credentials go in the same
    file's `configs.<mirror host>.auth` (read them from Vault)."""
    by_prefix: dict[str, list[str]] = {}
    for host, prefix in mirror.upstream_prefixes.items():
        by_prefix.setdefault(prefix, []).append(host)
    return {
        host: {"endpoint": [mirror.url], "rewrite": {"^(.*)$": f"{prefix}/$1"}}
        for prefix, hosts in sorted(by_prefix.items())
        for host in sorted(hosts)
    }


@dataclass(frozen=True)
class RegistryMirrorInput:
    control_center: str
    hostname: str
    """Internal host name of the mirror, e.g. `registry.int.cc.example.com`; route it to the `zot`
    Service, port 5000 (TLS passthrough: zot terminates TLS)."""
    tls: TlsSettings
    storage_class: str
    volume_size: str = "200Gi"
    memory_request: str = "512Mi"
    port: int = 443
    upstreams: tuple[Upstream, ...] = DEFAULT_UPSTREAMS
    private_prefix: str = "mojaloop-iac"
    authenticated_upstreams: tuple[str, ...] = ()
    """Prefixes of upstreams zot logs in to (e.g. `docker.io`, against Docker Hub's anonymous rate
    limit); the operator writes `<prefix>-username`/`<prefix>-password` into Vault."""
    anonymous_pull: bool = False
    """Let unauthenticated clients pull (off: an open pull-through cache fetches anything for anyone)."""


@dataclass(frozen=True)
class RegistryMirrorPlan:
    service: ServicePlan
    mirror: RegistryMirror
    zot_config: Mapping[str, Any]
    in_cluster_url: str
    tls_dns_names: tuple[str, ...]


def _validate(spec: RegistryMirrorInput) -> None:
    require_dns_label(spec.control_center, "control center name")
    require_hostname(spec.hostname, "registry mirror hostname")
    require_dns_label(spec.storage_class, "storage class")
    require_dns_label(spec.private_prefix, "private project prefix")
    if not spec.upstreams:
        raise ControlCenterPlanError("the registry mirror needs at least one upstream")
    prefixes = [upstream.prefix for upstream in spec.upstreams]
    hosts = [host for upstream in spec.upstreams for host in (upstream.prefix, *upstream.aliases)]
    for values, what in ((prefixes, "prefixes"), (hosts, "host names")):
        duplicated = sorted({value for value in values if values.count(value) > 1})
        if duplicated:
            raise ControlCenterPlanError(f"registry mirror upstream {what} repeat: {duplicated}")
    if spec.private_prefix in prefixes:
        raise ControlCenterPlanError(
            f"private project prefix {spec.private_prefix!r} is also an upstream prefix; choose another"
        )
    for upstream in spec.upstreams:
        if not upstream.url.startswith("https://"):
            raise ControlCenterPlanError(f"upstream {upstream.prefix!r} URL {upstream.url!r} must use https")
    unknown = sorted(set(spec.authenticated_upstreams) - set(prefixes))
    if unknown:
        raise ControlCenterPlanError(
            f"authenticated_upstreams {unknown} are not upstream prefixes {sorted(prefixes)}"
        )


def _credential_key(prefix: str, part: str) -> str:
    return f"{prefix}-{part}"


def zot_config(spec: RegistryMirrorInput) -> dict[str, Any]:
    read_all: dict[str, Any] = {"defaultPolicy": ["read"]}
    if spec.anonymous_pull:
        read_all["anonymousPolicy"] = ["read"]
    sync: dict[str, Any] = {
        "enable": True,
        "registries": [
            {
                "urls": [upstream.url],
                # Only what someone asks for is fetched: no periodic polling of whole upstreams.
                "onDemand": True,
                "tlsVerify": True,
                "preserveDigest": True,
                "maxRetries": 3,
                "retryDelay": "5m",
                "content": [{"prefix": "**", "destination": f"/{upstream.prefix}"}],
            }
            for upstream in spec.upstreams
        ],
    }
    if spec.authenticated_upstreams:
        sync["credentialsFile"] = f"{UPSTREAM_MOUNT}/credentials.json"
    return {
        "distSpecVersion": "1.1.1",
        "storage": {
            "rootDirectory": STORAGE_ROOT,
            "dedupe": True,
            "gc": True,
            "gcDelay": "1h",
            "gcInterval": "24h",
        },
        "http": {
            "address": "0.0.0.0",
            "port": str(PORT),
            # Keep Docker manifests as they are upstream, so digests match (needed by preserveDigest).
            "compat": ["docker2s2"],
            "tls": {"cert": f"{TLS_MOUNT}/tls.crt", "key": f"{TLS_MOUNT}/tls.key"},
            "auth": {"htpasswd": {"path": f"{AUTH_MOUNT}/htpasswd"}, "failDelay": 5},
            "accessControl": {
                "repositories": {
                    "**": read_all,
                    f"{spec.private_prefix}/**": {
                        "policies": [{"users": [PUSH_USER], "actions": ["read", "create", "update"]}],
                        **read_all,
                    },
                },
                "adminPolicy": {"users": [ADMIN_USER], "actions": ["read", "create", "update", "delete"]},
            },
        },
        "log": {"level": "info"},
        "extensions": {"sync": sync},
    }


def _secrets(spec: RegistryMirrorInput, namespace: str) -> tuple[list[SecretNeed], list[TemplatedSecret]]:
    htpasswd = TemplatedSecret(
        namespace,
        HTPASSWD_SECRET,
        (USERS_NEED,),
        # bcrypt (not Sprig's htpasswd, whose arity changed between Sprig releases).
        {"htpasswd": "".join(f"{user}:{{{{ bcrypt .{user} }}}}\n" for user in sorted(USERS_NEED.keys))},
        "zot's htpasswd file, built from the Vault-generated user passwords",
    )
    needs, templated = [USERS_NEED], [htpasswd]
    if spec.authenticated_upstreams:
        by_prefix = {upstream.prefix: upstream for upstream in spec.upstreams}
        logins = SecretNeed(
            UPSTREAM_CREDENTIALS_NEED_NAME,
            {
                _credential_key(prefix, part): OPERATOR_SUPPLIED
                for prefix in spec.authenticated_upstreams
                for part in ("username", "password")
            },
            "Upstream registry accounts of the mirror (written into Vault by the operator)",
        )
        entries = " ".join(
            f'"{by_prefix[prefix].host}" (dict "username" (index . "{_credential_key(prefix, "username")}") '
            f'"password" (index . "{_credential_key(prefix, "password")}"))'
            for prefix in sorted(spec.authenticated_upstreams)
        )
        needs.append(logins)
        templated.append(
            TemplatedSecret(
                namespace,
                UPSTREAM_CREDENTIALS_SECRET,
                (logins,),
                {"credentials.json": f"{{{{ dict {entries} | toJson }}}}"},
                "zot's sync credentials file (JSON keyed by upstream host)",
            )
        )
    return needs, templated


def zot_values(spec: RegistryMirrorInput) -> dict[str, Any]:
    mounts = [
        {"secretName": spec.tls.secret_name, "mountPath": TLS_MOUNT},
        {"secretName": HTPASSWD_SECRET, "mountPath": AUTH_MOUNT},
    ]
    if spec.authenticated_upstreams:
        mounts.append({"secretName": UPSTREAM_CREDENTIALS_SECRET, "mountPath": UPSTREAM_MOUNT})
    return {
        "replicaCount": 1,
        "service": {"type": "ClusterIP", "port": PORT},
        "persistence": True,
        "pvc": {
            "create": True,
            "accessModes": ["ReadWriteOnce"],
            "storage": spec.volume_size,
            "storageClassName": spec.storage_class,
        },
        "mountConfig": True,
        "configFiles": {"config.json": json.dumps(zot_config(spec), indent=2, sort_keys=True)},
        # The chart's example htpasswd (well-known passwords) must never be mounted.
        "mountSecret": False,
        "secretFiles": {},
        "externalSecrets": mounts,
        "httpGet": {"scheme": "HTTPS", "port": PORT},
        "podSecurityContext": restricted_pod_security(ZOT_UID),
        "securityContext": restricted_container_security(),
        "resources": {"requests": {"memory": spec.memory_request}},
    }


def plan_registry_mirror(spec: RegistryMirrorInput) -> RegistryMirrorPlan:
    _validate(spec)
    pin = pinned_chart(CHART)
    namespace = pin.namespace
    needs, templated = _secrets(spec, namespace)
    names = tuple(sorted({spec.hostname, *service_dns_names(SERVICE, namespace)}))
    cert = certificate(namespace, spec.tls, names)
    warnings = []
    if spec.tls.issuer is None:
        warnings.append(
            f"registry mirror: provide TLS Secret {namespace}/{spec.tls.secret_name} "
            f"covering {', '.join(names)}"
        )
    if spec.authenticated_upstreams:
        warnings.append(
            "registry mirror: write the upstream logins "
            + ", ".join(sorted(key for need in needs[1:] for key in need.keys))
            + f" into Vault (Secret {UPSTREAM_CREDENTIALS_NEED_NAME}) before zot starts"
        )
    host = spec.hostname if spec.port == 443 else f"{spec.hostname}:{spec.port}"
    mirror = RegistryMirror(
        host=host,
        upstream_prefixes={
            host_name: upstream.prefix
            for upstream in spec.upstreams
            for host_name in (upstream.prefix, *upstream.aliases)
        },
        private_prefix=spec.private_prefix,
    )
    service = ServicePlan(
        releases=(release(pin, RELEASE_NAME, zot_values(spec)),),
        namespaces=(NamespaceSpec(namespace, "restricted", "Registry mirror (zot)"),),
        manifests=tuple(
            ([cert] if cert else []) + [secret.external_secret(spec.control_center) for secret in templated]
        ),
        secret_needs=needs_by_namespace((namespace, need) for need in needs),
        templated_secrets=tuple(templated),
        warnings=tuple(warnings),
    )
    return RegistryMirrorPlan(
        service=service,
        mirror=mirror,
        zot_config=zot_config(spec),
        in_cluster_url=f"https://{SERVICE}.{namespace}.svc.cluster.local:{PORT}",
        tls_dns_names=names,
    )


__all__ = [
    "DEFAULT_UPSTREAMS",
    "ImageReference",
    "RegistryMirror",
    "RegistryMirrorInput",
    "RegistryMirrorPlan",
    "Upstream",
    "containerd_mirrors",
    "mirror_image",
    "parse_image",
    "plan_registry_mirror",
]
