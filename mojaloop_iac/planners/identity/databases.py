"""A dedicated MySQL per identity service, in the service's own namespace.

Why not the environment's backend MySQL (`mysqldb` in `mojaloop`): Vault hands each namespace only its
own secrets, so a database user's password cannot be known both to a Job creating it in `mojaloop` and
to Keycloak or Kratos elsewhere; the backend chart is an example whose persistence is off by default and
whose lifecycle follows Mojaloop upgrades; and one service's users could reach another's data. One
small MySQL per service keeps each password in one namespace, each database to one user, and lets the
chart create that user and database itself (no init script, no password in values).
"""

from __future__ import annotations

from typing import Any, Final

from mojaloop_iac.planners.helm import HelmReleaseSpec
from mojaloop_iac.planners.identity.credentials import ROOT_PASSWORD, USER_PASSWORD, IdentitySecret
from mojaloop_iac.planners.placement import Scheduling

MYSQL_PORT: Final = 3306


def mysql_host(release: str, namespace: str) -> str:
    # `fullnameOverride` below makes the Service carry the release name.
    return f"{release}.{namespace}.svc.cluster.local"


def mysql_release(
    *,
    release: str,
    pin: dict[str, Any],
    user: str,
    database: str,
    secret: IdentitySecret,
    scheduling: Scheduling | None,
    registry: str | None,
    storage_class: str | None,
) -> HelmReleaseSpec:
    for key in (ROOT_PASSWORD, USER_PASSWORD):  # what the chart reads from `auth.existingSecret`
        secret.ref(key)
    persistence: dict[str, Any] = {"enabled": True}
    if storage_class is not None:
        persistence["storageClass"] = storage_class
    primary: dict[str, Any] = {"persistence": persistence}
    if scheduling is not None:
        primary["affinity"] = dict(scheduling.affinity)
        primary["tolerations"] = [dict(t) for t in scheduling.tolerations]
    image: dict[str, Any] = {"repository": pin["image"]}
    if registry is not None:
        image["registry"] = registry
    return HelmReleaseSpec(
        name=release,
        chart=pin["chart"],
        repo=pin["repo"],
        version=pin["version"],
        namespace=pin["namespace"],
        values={
            "fullnameOverride": release,
            "architecture": "standalone",
            "image": image,
            "auth": {
                "existingSecret": secret.name,
                "createDatabase": True,
                "database": database,
                "username": user,
            },
            "primary": primary,
        },
        timeout_seconds=600,
    )
