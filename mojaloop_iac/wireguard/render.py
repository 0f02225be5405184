"""Rendering a plan as WireGuard configuration text, with a reference to the private key, never the key.

Two flavours of the same content:

- `WG_QUICK`: a wg-quick file. `Address` and `MTU` are in it; `PostUp` loads the private key from a
  file on the host (`wg set %i private-key PATH`).
- `SETCONF`: only what `wg setconf` accepts. The caller applies `interface_settings()` with `ip`, runs
  `wg setconf IF FILE`, then `private_key_command()`; or streams `config_with_private_key()` into
  `wg setconf`/`wg syncconf IF /dev/stdin` so the key never touches the rendered file.

Two WireGuard behaviours shape this (both seen with wireguard-go and wireguard-tools here):

- `wg setconf` and `wg syncconf` reset the private key when the file carries none. So live changes to
  a running interface go through `config_with_private_key()` + `wg syncconf` (which keeps the sessions of
  unchanged peers), not through the bare file.
- A keepalive is sent immediately only when keepalive is switched on. Applied before the key is loaded,
  that first keepalive fails and a peer behind NAT stays silent (the hub cannot reach it, its handshake
  age is "never") until something else sends traffic. So loading the key also switches keepalive off
  and on for the peers that initiate, which starts the handshake at once.
"""

from __future__ import annotations

import shlex
from enum import StrEnum

from .keys import InvalidKeyError, decode_key, is_valid_public_key
from .plan import MeshPlan, interface_settings, routes_through_hub
from .spec import MeshPlanError


class ConfigFlavour(StrEnum):
    WG_QUICK = "wg-quick"
    SETCONF = "setconf"


def render_hub_config(
    plan: MeshPlan, hub_private_key_ref: str, *, flavour: ConfigFlavour = ConfigFlavour.WG_QUICK
) -> str:
    """The hub's configuration: one [Peer] per peer, AllowedIPs = its address plus its routed networks."""
    hub = plan.hub
    lines = _header(plan, hub.name, f"hub {hub.name!r}", hub_private_key_ref, flavour)
    for peer in plan.peers:
        allowed = [f"{peer.address}/{peer.address.max_prefixlen}", *(str(net) for net in peer.routed)]
        lines += ["", f"# peer {peer.name!r} ({peer.kind.value})", "[Peer]", f"PublicKey = {peer.public_key}"]
        lines.append(f"AllowedIPs = {', '.join(allowed)}")
        if peer.endpoint is not None:
            lines.append(f"Endpoint = {peer.endpoint}")
            # Only a side that knows where to send keepalives can keep a link open.
            if plan.persistent_keepalive is not None:
                lines.append(f"PersistentKeepalive = {plan.persistent_keepalive}")
    return "\n".join(lines) + "\n"


def render_peer_config(
    plan: MeshPlan,
    peer_name: str,
    private_key_ref: str,
    *,
    flavour: ConfigFlavour = ConfigFlavour.WG_QUICK,
) -> str:
    """A peer's configuration: the hub is its only [Peer]; other peers are reached through the hub."""
    peer = plan.peer(peer_name)
    hub = plan.hub
    allowed = [str(plan.network), *(str(net) for net in routes_through_hub(plan, peer_name))]
    lines = _header(plan, peer.name, f"peer {peer.name!r} ({peer.kind.value})", private_key_ref, flavour)
    lines += ["", f"# hub {hub.name!r}", "[Peer]", f"PublicKey = {hub.public_key}"]
    lines += [f"AllowedIPs = {', '.join(allowed)}", f"Endpoint = {hub.endpoint}"]
    if plan.persistent_keepalive is not None:
        lines.append(f"PersistentKeepalive = {plan.persistent_keepalive}")
    return "\n".join(lines) + "\n"


def private_key_command(
    plan: MeshPlan, name: str, private_key_ref: str, interface: str = "%i"
) -> tuple[str, ...]:
    """The `wg set` command that loads the hub's or a peer's private key from `private_key_ref`.

    It also switches keepalive off and on for the links this member initiates, in the same command and
    after the key, so the first keepalive starts a handshake (see the module docstring). `interface`
    defaults to wg-quick's `%i`; given a real name, a `%i` in the key path is replaced by it too.
    """
    _check_key_ref(private_key_ref, name)
    key_path = private_key_ref.replace("%i", interface)
    command = ["wg", "set", interface, "private-key", key_path]
    if plan.persistent_keepalive is not None:
        for public_key in _keepalive_targets(plan, name):
            command += ["peer", public_key, "persistent-keepalive", "0"]
            command += ["peer", public_key, "persistent-keepalive", str(plan.persistent_keepalive)]
    return tuple(command)


def config_with_private_key(config_text: str, private_key: str) -> str:
    """`config_text` (setconf flavour) with the private key added, for piping into `wg` only.

    Keep the result in memory and out of files and logs. Errors never include the key.
    """
    try:
        decode_key(private_key, "private key")
    except InvalidKeyError as error:
        raise InvalidKeyError(f"cannot complete the configuration: {error}") from None
    lines = config_text.splitlines()
    if any(line.strip().lower().startswith("privatekey") for line in lines):
        raise MeshPlanError("the configuration already sets a PrivateKey; render it again from the plan")
    if "[Interface]" not in lines:
        raise MeshPlanError("the configuration has no [Interface] section to add the private key to")
    at = lines.index("[Interface]") + 1
    return "\n".join([*lines[:at], f"PrivateKey = {private_key}", *lines[at:]]) + "\n"


def _keepalive_targets(plan: MeshPlan, name: str) -> list[str]:
    if name == plan.hub.name:
        return [peer.public_key for peer in plan.peers if peer.endpoint is not None]
    plan.peer(name)  # raises for an unknown name
    return [plan.hub.public_key]


def _header(plan: MeshPlan, name: str, title: str, private_key_ref: str, flavour: ConfigFlavour) -> list[str]:
    flavour = ConfigFlavour(flavour)
    key_command = private_key_command(plan, name, private_key_ref)
    rearms_keepalive = "persistent-keepalive" in key_command
    settings = interface_settings(plan, name)
    if flavour is ConfigFlavour.WG_QUICK:
        lines = [
            f"# WireGuard wg-quick configuration of {title}, mesh {plan.network}.",
            "# Generated by mojaloop_iac.wireguard. The private key is not in this file:",
            f"# it stays in {private_key_ref} and PostUp loads it"
            + (", then re-arms keepalives so the first one starts a handshake." if rearms_keepalive else "."),
            "[Interface]",
            f"Address = {settings.address}",
        ]
        if settings.listen_port is not None:
            lines.append(f"ListenPort = {settings.listen_port}")
        if settings.mtu is not None:
            lines.append(f"MTU = {settings.mtu}")
        lines.append(f"PostUp = {shlex.join(key_command)}")
        return lines
    # Nothing substitutes wg-quick's %i in this flavour: show it as the interface placeholder IF.
    key_path = private_key_ref.replace("%i", "IF")
    routes = ", ".join(str(net) for net in settings.routes) or "none"
    mtu = settings.mtu if settings.mtu is not None else "default"
    lines = [
        f"# WireGuard setconf configuration of {title}, mesh {plan.network}.",
        "# Generated by mojaloop_iac.wireguard. The private key is not in this file:",
        f"# it stays in {key_path}. After 'wg setconf IF FILE' load it"
        + (" and re-arm keepalives" if rearms_keepalive else "")
        + " with:",
        f"#   {shlex.join(key_command).replace('%i', 'IF')}",
        "# Set with ip, as wg setconf does not carry them:",
        f"# address {settings.address}, MTU {mtu}, routes {routes}.",
        "[Interface]",
    ]
    if settings.listen_port is not None:
        lines.append(f"ListenPort = {settings.listen_port}")
    return lines


def _check_key_ref(private_key_ref: object, name: str) -> None:
    # The reference is never echoed: a caller who passes the key itself by mistake must not see it logged.
    if is_valid_public_key(private_key_ref):
        raise MeshPlanError(
            f"{name!r}: the private key reference looks like a key; pass the path of the key file"
        )
    if not isinstance(private_key_ref, str) or not private_key_ref.startswith("/"):
        raise MeshPlanError(f"{name!r}: the private key reference must be an absolute path to the key file")
    if any(not char.isprintable() or char == "#" for char in private_key_ref):
        raise MeshPlanError(
            f"{name!r}: the private key path has control characters or '#', which would break the config"
        )
