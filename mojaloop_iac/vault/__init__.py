"""Vault-side configuration and generated secrets, through hvac-backed Pulumi dynamic providers.

- `paths`: naming of KV paths, policies, auth mounts and roles (pure);
- `policies`: namespace ACL policy HCL and password policies per consumer type (pure);
- `environment`: what one environment cluster needs in Vault, as plain data (pure);
- `client`: hvac sessions with the token read from the environment, and actionable errors;
- `providers`: the dynamic providers; `resources`: the Pulumi resources over them.

`resources` imports Pulumi; import it only where resources are declared.
"""

from mojaloop_iac.vault.errors import InvalidInput, VaultOperationError

__all__ = ["InvalidInput", "VaultOperationError"]
