"""Tunnel health from handshake ages, as `wg show IF latest-handshakes` reports them.

A TCP probe would only say that something answers behind the tunnel; the handshake age says that the
tunnel itself is up. WireGuard renews a session's handshake every 2 minutes while traffic flows
(REKEY_AFTER_TIME = 120 s) and persistent keepalives keep traffic flowing, so on a working link the
age stays under 120 s plus a retry; 180 s (REJECT_AFTER_TIME, after which a session's keys are
unusable) is the default limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .keys import is_valid_public_key
from .plan import MeshPlan

DEFAULT_MAX_HANDSHAKE_AGE = 180.0


class HandshakeOutputError(ValueError):
    """`wg show ... latest-handshakes` output that cannot be read; the message quotes the line."""


class PeerHealth(StrEnum):
    HEALTHY = "healthy"
    STALE = "stale"
    NEVER = "never"


def parse_latest_handshakes(text: str, now: float) -> dict[str, float | None]:
    """Public key -> seconds since the last handshake (None if there was none), at time `now` (epoch s).

    Expects the one-interface form, `<public key>\\t<epoch seconds>` per line, 0 meaning never.
    """
    ages: dict[str, float | None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) == 3:
            raise HandshakeOutputError(
                f"line {number} has three fields, as 'wg show all' prints; "
                "run 'wg show IF latest-handshakes' for one interface"
            )
        if len(fields) != 2 or not is_valid_public_key(fields[0]) or not fields[1].isdigit():
            raise HandshakeOutputError(f"line {number} is not '<public key> <epoch seconds>': {line!r}")
        public_key, stamp = fields[0], int(fields[1])
        # A clock that went backwards must not turn a fresh handshake into a negative age.
        ages[public_key] = None if stamp == 0 else max(0.0, now - stamp)
    return ages


def assess_peer_health(
    ages: Mapping[str, float | None], max_age: float = DEFAULT_MAX_HANDSHAKE_AGE
) -> dict[str, PeerHealth]:
    """Healthy if the last handshake is at most `max_age` seconds old, stale if older, never if none."""
    if max_age <= 0:
        raise ValueError(f"max_age {max_age!r} must be a positive number of seconds")
    return {
        key: PeerHealth.NEVER if age is None else PeerHealth.HEALTHY if age <= max_age else PeerHealth.STALE
        for key, age in ages.items()
    }


def hub_peer_health(
    plan: MeshPlan, ages: Mapping[str, float | None], max_age: float = DEFAULT_MAX_HANDSHAKE_AGE
) -> dict[str, PeerHealth]:
    """Peer name -> health, as seen from the hub's interface.

    A planned peer missing from the interface has had no handshake there either: it is reported as
    never, so a peer that was not applied shows up rather than disappearing from the report.
    """
    health = assess_peer_health(ages, max_age)
    return {peer.name: health.get(peer.public_key, PeerHealth.NEVER) for peer in plan.peers}
