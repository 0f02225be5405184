"""WireGuard keys: Curve25519, 32 raw bytes, standard base64 with padding (44 characters).

Keys made here are interchangeable with `wg genkey` / `wg pubkey`. A private key is generated on the
machine (or in the Vault) that uses it; only the public key is handed to the planner. Error messages
never repeat a key value: a mistyped private key in a log is a leaked private key.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from .spec import MeshPlanError

KEY_BYTES = 32


class InvalidKeyError(MeshPlanError):
    """A key is not 32 bytes of standard base64; the message says which key, never its value."""


@dataclass(frozen=True)
class KeyPair:
    """A private key and its public key, both base64. `repr` leaves the private key out."""

    private_key: str = field(repr=False)
    public_key: str


def generate_keypair() -> KeyPair:
    """A fresh key pair, clamped like `wg genkey` output so both tools produce the same shape of key."""
    raw = bytearray(
        X25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    )
    # Curve25519 clamping (RFC 7748): X25519 applies it anyway when deriving; storing the clamped form
    # matches `wg genkey`, whose keys round-trip unchanged through `wg pubkey`.
    raw[0] &= 248
    raw[31] = (raw[31] & 127) | 64
    private_key = base64.b64encode(bytes(raw)).decode("ascii")
    return KeyPair(private_key=private_key, public_key=public_key_from_private(private_key))


def public_key_from_private(private_key: str) -> str:
    """The public key `wg pubkey` would print for `private_key`."""
    raw = decode_key(private_key, "private key")
    public = X25519PrivateKey.from_private_bytes(raw).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def is_valid_public_key(key: object) -> bool:
    """True if `key` is how WireGuard writes a key: exactly 44 characters of base64 for 32 bytes."""
    try:
        decode_key(key, "public key")
    except InvalidKeyError:
        return False
    return True


def check_public_key(key: object, owner: str) -> str:
    """Return `key` if valid, else raise naming `owner` (the hub or peer), not the value."""
    if not is_valid_public_key(key):
        raise InvalidKeyError(
            f"{owner}: public key is not a WireGuard key (44 characters of base64, as printed by 'wg pubkey')"
        )
    assert isinstance(key, str)
    return key


def decode_key(key: object, what: str) -> bytes:
    """The 32 raw bytes of a base64 key; raises InvalidKeyError naming `what`, never the value."""
    if not isinstance(key, str) or len(key) != 44:
        raise InvalidKeyError(f"{what} is not a WireGuard key: expected 44 characters of base64")
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyError(f"{what} is not a WireGuard key: not valid base64") from None
    # 44 characters can still decode to fewer bytes ("==" padding) or carry non-canonical trailing bits;
    # `wg` rejects both, so do we.
    if len(raw) != KEY_BYTES or base64.b64encode(raw).decode("ascii") != key:
        raise InvalidKeyError(f"{what} is not a WireGuard key: it does not encode exactly 32 bytes")
    return raw
