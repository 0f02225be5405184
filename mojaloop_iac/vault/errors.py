"""Exceptions of the Vault layer: one for bad resource inputs, one for failed Vault calls."""


class InvalidInput(ValueError):
    """A resource input is wrong; `property` names it so Pulumi can point at it."""

    def __init__(self, property_name: str, message: str) -> None:
        super().__init__(message)
        self.property = property_name


class VaultOperationError(Exception):
    """A Vault call failed; the message names the address, the path and what to do about it."""

    def __init__(
        self,
        message: str,
        *,
        address: str,
        path: str | None = None,
        capabilities: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.address = address
        self.path = path
        self.capabilities = capabilities
