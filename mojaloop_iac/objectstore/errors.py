"""Errors about object store credentials, shared by the environment and Vault sources."""


class MissingCredentials(RuntimeError):
    """The credentials an operation needs are not available; the message says where they were looked for."""


class CredentialUnavailable(MissingCredentials):
    """A credential could not be read from Vault; the message names the Vault path, never a value."""
