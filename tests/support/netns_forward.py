"""A port on the host's 127.0.0.1 that leads to a port on 127.0.0.1 inside another network namespace.

This is how the tests reach each container's sshd: the host side is loopback and the container side is
the container's own loopback, so no packet crosses a bridge or depends on the host's routes. (Podman's
`-p 127.0.0.1::22` would be simpler, but netavark 1.4, Debian 12's, programs no port forwarding for the
`--internal` networks the containers must sit on.)

Each accepted connection is paired with a socket created inside the target namespace: a worker thread
enters the namespace with setns(2), which affects that thread alone, creates the socket (a socket
belongs to the namespace it was created in) and returns. The pair is relayed until either side closes.
If nothing listens inside, the client's connection is closed at once, as an unreachable host would be.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import socket
import threading
from pathlib import Path
from typing import Self

_CLONE_NEWNET = 0x40000000
_LIBC = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _LIBC.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def socket_in_namespace(namespace: Path) -> socket.socket:
    """A TCP socket that lives in the network namespace at `namespace` (e.g. /run/netns/NAME)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(namespace, os.O_RDONLY)
    try:
        _setns(target)
        try:
            return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


class NamespacePortForward:
    """127.0.0.1:`port` here, relayed to 127.0.0.1:`target_port` inside `namespace`; `close()` ends it all."""

    def __init__(self, namespace: Path, target_port: int, *, name: str) -> None:
        self.namespace = Path(namespace)
        self.target_port = target_port
        self.name = name
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept_loop, name=f"forward-{name}", daemon=True)
        self._accepting.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._closing.is_set():
                sock.close()
                return False
            self._sockets.add(sock)
            return True

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            if not self._track(client):
                return
            worker = threading.Thread(target=self._relay, args=(client,), name=f"relay-{self.name}", daemon=True)
            with self._lock:
                self._threads = [thread for thread in self._threads if thread.is_alive()] + [worker]
            worker.start()

    def _relay(self, client: socket.socket) -> None:
        inner = socket_in_namespace(self.namespace)
        if not self._track(inner):
            self._forget(client)
            return
        try:
            inner.connect(("127.0.0.1", self.target_port))
        except OSError:
            self._forget(inner, client)
            return
        peers = {client: inner, inner: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            open_ends = 2
            while open_ends and not self._closing.is_set():
                for key, _ in selector.select(timeout=0.5):
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    try:
                        data = source.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        try:
                            peers[source].sendall(data)
                            continue
                        except OSError:
                            open_ends = 0
                            break
                    # One side finished sending: pass the half-close on, as TCP would.
                    selector.unregister(source)
                    open_ends -= 1
                    try:
                        peers[source].shutdown(socket.SHUT_WR)
                    except OSError:
                        open_ends = 0
                        break
        self._forget(client, inner)

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)
                sock.close()

    def close(self) -> None:
        with self._lock:
            self._closing.set()
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            threads = list(self._threads)
        try:
            # accept() does not wake when the listener is closed under it; shutting it down does.
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._accepting.join(timeout=5)
        for thread in threads:
            thread.join(timeout=5)
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()
