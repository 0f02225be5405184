"""Test traffic stays on the machine: loopback, or a network the test itself created and that is routed locally.

Two guards, for the two ways a test sends traffic:

- `require_local_route(address, interfaces)`, for addresses a test hands to another program (ssh,
  Ansible): before the first connection, `ip route get` must show the address on loopback or directly on
  one of `interfaces` (a bridge or link the test created), with no gateway. Anything else is refused with
  the address, the route found and what to install, before a single packet is sent. (Without netavark,
  podman's --internal networks give the host no route to the containers, and their packets would leave
  through the default route.)
- `guard_sockets()`, for the test process itself (pytest plugin `tests.support.network_guard`): every
  TCP/UDP connect or send goes to loopback or to a network registered with `allow_network()`, and host
  names other than localhost are not resolved (a DNS query would leave the machine). A refusal raises
  `OffMachineTraffic` at the call and is also recorded, so a test that swallows the error still fails.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

INSTALL_HINT = (
    "podman needs netavark, aardvark-dns and iptables (scripts/install-system-tools installs them) and the "
    'harness\'s containers.conf names `network_backend = "netavark"`'
)
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class OffMachineTraffic(OSError):
    """A test was about to send traffic somewhere other than loopback or a network it created."""


@dataclass(frozen=True)
class Route:
    address: str
    device: str
    gateway: str | None
    description: str

    @property
    def is_loopback(self) -> bool:
        return self.device == "lo"


def route_to(address: str, *, namespace: str | None = None) -> Route | None:
    """The kernel's route to `address` (`ip route get` sends nothing), or None when there is none."""
    argv = ["ip", "-j"] + (["-n", namespace] if namespace else []) + ["route", "get", str(address)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        return None
    entry = json.loads(done.stdout)[0]
    parts = [entry.get("type", ""), entry["dst"]]
    if "gateway" in entry:
        parts += ["via", entry["gateway"]]
    parts += ["dev", entry["dev"]]
    return Route(
        address=str(address),
        device=entry["dev"],
        gateway=entry.get("gateway"),
        description=" ".join(part for part in parts if part),
    )


def require_local_route(
    address: str, interfaces: Iterable[str] = (), *, namespace: str | None = None
) -> Route:
    """The route to `address` if it stays on this machine; otherwise OffMachineTraffic naming it."""
    allowed = set(interfaces)
    route = route_to(address, namespace=namespace)
    if route is None:
        raise OffMachineTraffic(
            f"refusing to connect to {address}: there is no route to it. A test reaches only loopback or a "
            f"network it created ({', '.join(sorted(allowed)) or 'none here'}); {INSTALL_HINT}."
        )
    if route.is_loopback or (route.device in allowed and route.gateway is None):
        return route
    raise OffMachineTraffic(
        f"refusing to connect to {address}: its route is '{route.description}', which leaves through "
        f"{route.device}, not loopback or a network this test created "
        f"({', '.join(sorted(allowed)) or 'none'}). The packets would go off the machine. {INSTALL_HINT}."
    )


# --- the test process's own sockets -------------------------------------------------------------------


class _SocketGuard:
    def __init__(self) -> None:
        self.allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.is_loopback or any(address in network for network in self.allowed)

    def refuse(self, message: str) -> OffMachineTraffic:
        with self._lock:
            self.violations.append(message)
        return OffMachineTraffic(message)

    def take_violations(self) -> list[str]:
        with self._lock:
            taken, self.violations = self.violations, []
        return taken


_GUARD = _SocketGuard()
_INET = (socket.AF_INET, socket.AF_INET6)


def _checked_address(sock: socket.socket, address: Any, what: str) -> None:
    if sock.family in _INET and isinstance(address, tuple) and not _GUARD.allows(str(address[0])):
        raise _GUARD.refuse(
            f"{what} to {address[0]} port {address[1]} refused: tests send traffic only to loopback or to "
            "networks they created (tests.support.network_guard)"
        )


@contextmanager
def guard_sockets() -> Iterator[_SocketGuard]:
    """Patch the socket module for the duration: refuse off-machine connects, sends and name lookups."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto
    original_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        _checked_address(self, address, "connect")
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _checked_address(self, address, "connect")
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        _checked_address(self, args[-1], "send")
        return original_sendto(self, data, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        # None and "" ask for the wildcard address (a server binding), which resolves nothing.
        if name and name.lower().rstrip(".") not in _LOCAL_NAMES:
            try:
                ipaddress.ip_address(str(name).split("%", 1)[0])
            except ValueError:
                raise _GUARD.refuse(
                    f"looking up {name!r} refused: a DNS query would leave the machine; tests use "
                    "addresses (127.0.0.1) or localhost"
                ) from None
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield _GUARD
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = original_sendto  # type: ignore[method-assign]
        socket.getaddrinfo = original_getaddrinfo


@contextmanager
def allow_network(*networks: str) -> Iterator[None]:
    """Let the test process reach `networks` (ones the test created, such as its own bridge) meanwhile."""
    added = [ipaddress.ip_network(network) for network in networks]
    _GUARD.allowed.extend(added)
    try:
        yield
    finally:
        for network in added:
            _GUARD.allowed.remove(network)


# --- pytest plugin ------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _socket_guard() -> Iterator[_SocketGuard]:
    with guard_sockets() as guard:
        yield guard


@pytest.fixture(autouse=True)
def _no_off_machine_traffic(_socket_guard: _SocketGuard) -> Iterator[None]:
    _socket_guard.take_violations()
    yield
    violations = _socket_guard.take_violations()
    if violations:
        pytest.fail("the test tried to send traffic off the machine:\n" + "\n".join(violations), pytrace=False)


def pytest_report_header(config: pytest.Config) -> Sequence[str]:
    default = route_to("192.0.2.1")  # TEST-NET-1: where a stray packet would go
    if default is None:
        return ["network: isolated (no route off the machine; loopback and test-made networks only)"]
    return [f"network: NOT isolated (stray packets would take '{default.description}'); socket guard on"]
