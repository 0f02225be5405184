"""A CI job's way into Vault: its own job token (GitLab `id_tokens`, GitHub OIDC) for a QA deployer token.

The control center's Vault bootstrap trusts the CI system's token issuer on a JWT auth mount (`gitlab-ci`,
`github-actions`) with a role bound to the configured projects and refs that issues QA deployer tokens
only (mojaloop_iac.vault.bootstrap_plan.QaLogins). This logs in with the job's token and returns what the
job's shell needs: the Vault token and, when asked, the state backend's credentials (the `pulumi`
object-store consumer), as `export` lines for `eval`. Nothing is written to disk; no CI variable holds a
long-lived secret.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

import hvac
import hvac.exceptions

from mojaloop_iac.vault.paths import DEFAULT_KV_MOUNT

STATE_BACKEND_USER = "pulumi"
STATE_BACKEND_KEY = "secretKey"


class VaultLoginError(RuntimeError):
    """Vault refused the job's token, or the state backend's credential cannot be read."""


@dataclass(frozen=True)
class CiCredentials:
    vault_token: str
    state_backend_secret_key: str | None = None

    def shell_exports(self) -> str:
        lines = [f"export VAULT_TOKEN={shlex.quote(self.vault_token)}"]
        if self.state_backend_secret_key is not None:
            lines += [
                f"export AWS_ACCESS_KEY_ID={STATE_BACKEND_USER}",
                f"export AWS_SECRET_ACCESS_KEY={shlex.quote(self.state_backend_secret_key)}",
            ]
        return "\n".join(lines) + "\n"


def ci_login(
    address: str,
    jwt: str,
    *,
    mount: str,
    role: str,
    state_secret: str | None = None,
    kv_mount: str = DEFAULT_KV_MOUNT,
    ca_cert: str | bool = True,
) -> CiCredentials:
    client = hvac.Client(url=address, verify=ca_cert)
    try:
        answer: Mapping = client.auth.jwt.jwt_login(role=role, jwt=jwt, path=mount)
    except hvac.exceptions.VaultError as error:
        raise VaultLoginError(
            f"Vault at {address} refused the job's token on auth/{mount} role {role}: {error}. Check the control "
            "center's controlCenter.qa (projects/repositories, refs, audience) against this job"
        ) from None
    token = answer["auth"]["client_token"]
    secret_key = None
    if state_secret is not None:
        client.token = token
        try:
            data = client.secrets.kv.v2.read_secret_version(
                state_secret, mount_point=kv_mount, raise_on_deleted_version=True
            )["data"]["data"]
        except hvac.exceptions.VaultError as error:
            raise VaultLoginError(
                f"the QA deployer token cannot read the state backend's credential {kv_mount}/{state_secret}: {error}"
            ) from None
        secret_key = str(data[STATE_BACKEND_KEY])
    return CiCredentials(token, secret_key)
