"""Operators' OpenPGP public keys, in the form Vault's `sys/init` wants them (pure).

Vault encrypts each unseal (or recovery) key share, and the initial root token, to public keys passed as
base64 of the binary key — not ASCII-armored. Operators naturally hand over `gpg --armor --export` output,
so both forms are accepted and normalised here; the key's fingerprint is computed so outputs can say which
operator holds which encrypted share. Nothing here decrypts anything: private keys never reach the toolkit,
and one pasted by mistake is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

_ARMOR_BEGIN = re.compile(r"-----BEGIN PGP ([A-Z ]+)-----")
_ARMOR_END = re.compile(r"-----END PGP [A-Z ]+-----")
_PUBLIC_KEY_TAG = 6
_SECRET_KEY_TAGS = frozenset({5, 7})
_V4 = 4


class PgpKeyError(ValueError):
    """A PGP key input is unusable; the message says what was given and what is needed."""


@dataclass(frozen=True)
class PgpPublicKey:
    base64_key: str
    """Base64 of the binary key, what Vault's pgp_keys / root_token_pgp_key take."""
    fingerprint: str
    """Upper-case hex v4 fingerprint of the primary key, as `gpg --fingerprint` shows it."""


def _dearmor(text: str, what: str) -> bytes:
    begin = _ARMOR_BEGIN.search(text)
    assert begin is not None
    if "PRIVATE" in begin.group(1):
        raise PgpKeyError(
            f"{what} is a PRIVATE key block: give the operator's public key (`gpg --export KEYID | base64 -w0`) "
            "and never share the private key"
        )
    end = _ARMOR_END.search(text, begin.end())
    if end is None:
        raise PgpKeyError(f"{what} starts an armored block but has no '-----END PGP ...-----' line")
    lines = text[begin.end() : end.start()].strip().splitlines()
    # Armor headers ("Comment: ...") end with an empty line; the checksum line starts with '='.
    if any(":" in line for line in lines[:1]) and "" in (line.strip() for line in lines):
        lines = lines[[line.strip() for line in lines].index("") + 1 :]
    body = "".join(line.strip() for line in lines if line.strip() and not line.strip().startswith("="))
    return _decode(body, what)


def _decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise PgpKeyError(
            f"{what} is neither an armored public key nor base64 of a binary one: "
            "export it with `gpg --export KEYID | base64 -w0`"
        ) from error


def _first_packet(data: bytes, what: str) -> tuple[int, bytes]:
    """Tag and body of the first OpenPGP packet (RFC 9580 section 4.2)."""
    if not data or not data[0] & 0x80:
        raise PgpKeyError(
            f"{what} does not decode to an OpenPGP key: export it with `gpg --export KEYID | base64 -w0`"
        )
    header = data[0]
    if header & 0x40:  # new format
        tag = header & 0x3F
        first = data[1] if len(data) > 1 else 0
        if first < 192:
            length, offset = first, 2
        elif first < 224:
            length, offset = ((first - 192) << 8) + data[2] + 192, 3
        elif first == 255:
            length, offset = int.from_bytes(data[2:6], "big"), 6
        else:
            raise PgpKeyError(f"{what}: a key packet cannot use partial body lengths")
    else:  # legacy format
        tag = (header >> 2) & 0x0F
        length_type = header & 0x03
        if length_type == 3:
            raise PgpKeyError(f"{what}: a key packet cannot have an indeterminate length")
        size = (1, 2, 4)[length_type]
        length, offset = int.from_bytes(data[1 : 1 + size], "big"), 1 + size
    body = data[offset : offset + length]
    if len(body) != length:
        raise PgpKeyError(f"{what} is truncated: copy the whole exported key")
    return tag, body


def parse_public_key(text: str, what: str = "PGP key") -> PgpPublicKey:
    """Accept an armored or base64 binary OpenPGP public key; return it as Vault wants it."""
    if not isinstance(text, str) or not text.strip():
        raise PgpKeyError(
            f"{what} is empty: give the operator's public key (`gpg --export KEYID | base64 -w0`)"
        )
    if text.lstrip().startswith("keybase:"):
        raise PgpKeyError(f"{what}: keybase: references are not supported; give the public key itself")
    data = _dearmor(text, what) if _ARMOR_BEGIN.search(text) else _decode(text, what)
    tag, body = _first_packet(data, what)
    if tag in _SECRET_KEY_TAGS:
        raise PgpKeyError(
            f"{what} is a PRIVATE key: give the operator's public key (`gpg --export KEYID | base64 -w0`) "
            "and never share the private key"
        )
    if tag != _PUBLIC_KEY_TAG:
        raise PgpKeyError(f"{what} is an OpenPGP packet of type {tag}, not a public key")
    if not body or body[0] != _V4:
        version = body[0] if body else "?"
        raise PgpKeyError(
            f"{what} is a version {version} key; Vault and OpenBao encrypt to version 4 keys "
            "(the default of GnuPG 2.2-2.4): create the key without --rfc9580"
        )
    fingerprint = hashlib.sha1(
        b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False
    ).hexdigest()
    return PgpPublicKey(base64.b64encode(data).decode("ascii"), fingerprint.upper())
