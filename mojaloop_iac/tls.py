"""A CA certificate given as PEM text or as a PEM file, turned into what HTTP clients want.

Vault, GitLab and MinIO connections all accept either form (`ca_cert`): config names a file, while a
stack output such as the control center's `vaultCaCert` arrives as text.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

PEM_MARKER: Final = "-----BEGIN "


def is_pem(ca_cert: str) -> bool:
    """True for PEM text, False for (what should be) a path to a PEM file."""
    return ca_cert.lstrip().startswith(PEM_MARKER)


@contextmanager
def requests_verify(ca_cert: str | None, what: str) -> Iterator[str | bool]:
    """What `requests` wants for `verify`: True (the system's CAs) or a file path. PEM text goes to a
    temporary file that lives exactly as long as the block; a missing file raises ValueError naming `what`."""
    if ca_cert is None:
        yield True
        return
    if is_pem(ca_cert):
        with tempfile.NamedTemporaryFile("w", prefix="ca-", suffix=".pem") as handle:
            handle.write(ca_cert)
            handle.flush()
            yield handle.name
        return
    if not Path(ca_cert).is_file():
        raise ValueError(f"{what} {ca_cert!r} is neither PEM text nor an existing file")
    yield ca_cert
