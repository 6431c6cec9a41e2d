"""The accept-write-close loop and the object that owns the listening socket.

Design: one thread. On Linux it blocks in ``accept()`` and ``shutdown()`` of the listener
wakes it; elsewhere a selector watches the listener and a wake-up socket pair. Each
connection gets the greeting in one ``write`` and is closed. Writing at most
``MAX_GREETING`` bytes to a fresh socket never blocks, so a thread or a task per
connection would only add cost.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import socket
import sys
import threading
import time
from dataclasses import dataclass
from types import TracebackType

DEFAULT_PORT = 1848
DEFAULT_GREETING = b"hello\n"
# Always fits in a new socket's send buffer, so the single write cannot block.
MAX_GREETING = 4096
# The kernel caps this at net.core.somaxconn; the seed's listen(fd, 3) lost connections.
BACKLOG = max(socket.SOMAXCONN, 4096)

log = logging.getLogger("server")

# accept() errors that concern one connection only: skip it and carry on.
_TRANSIENT_ACCEPT_ERRORS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR})
# accept() errors that mean "no resources right now": pause, keep the listener.
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# write()/close() errors caused by the client going away first.
_CLIENT_GONE_ERRORS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN, errno.ETIMEDOUT})
# bind() errors that mean "this host has no IPv6"; the default [::] then falls back.
_NO_IPV6_ERRORS = frozenset({errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT})

# On Linux, shutdown() of a listening socket wakes a thread blocked in accept(), so the
# loop can block in accept() like the C server; elsewhere it waits in a selector.
BLOCKING_ACCEPT = sys.platform.startswith("linux")

_BACKOFF_START = 0.05
_BACKOFF_MAX = 1.0


@dataclass(frozen=True)
class ListenAddress:
    """What is really bound, as ``ss``/``netstat`` would show it."""

    host: str
    port: int
    family: socket.AddressFamily
    dualstack: bool
    fallback_reason: str | None = None

    @property
    def scope(self) -> str:
        if self.dualstack:
            return "dual-stack"
        if self.family == socket.AF_INET:
            return "IPv4 only"
        return "IPv6 only"

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.family == socket.AF_INET6 else self.host
        note = self.scope if self.fallback_reason is None else f"{self.scope}; {self.fallback_reason}"
        return f"{host}:{self.port} ({note})"


def _resolve_bind_address(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    """A literal address, or ``localhost``; never a DNS lookup.

    Raises ``ValueError`` for anything else, so ``--host example.com`` cannot quietly
    bind whatever a resolver answered.
    """
    flags = socket.AI_PASSIVE | socket.AI_NUMERICSERV
    if host != "localhost":
        flags |= socket.AI_NUMERICHOST
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)
    except socket.gaierror:
        raise ValueError(
            f"--host takes a literal address ('::', '0.0.0.0', '::1', '127.0.0.1') or 'localhost', got {host!r}"
        ) from None
    family, _, _, _, sockaddr = infos[0]
    return socket.AddressFamily(family), str(sockaddr[0])


def open_listener(host: str, port: int, backlog: int = BACKLOG) -> tuple[socket.socket, ListenAddress]:
    """Bind and listen. ``::`` means dual-stack, falling back to ``0.0.0.0`` without IPv6.

    Raises ``ValueError`` for a host that is not an address, ``OSError`` for bind errors.
    """
    host = host.strip("[]")
    if host == "::":
        if socket.has_ipv6:
            try:
                sock = socket.create_server(
                    ("::", port),
                    family=socket.AF_INET6,
                    backlog=backlog,
                    dualstack_ipv6=socket.has_dualstack_ipv6(),
                )
                return sock, _describe(sock, fallback_reason=None)
            except OSError as exc:
                if exc.errno not in _NO_IPV6_ERRORS:
                    raise
                reason = f"IPv6 unavailable on this host: {os.strerror(exc.errno or 0)}"
        else:
            reason = "this Python has no IPv6 support"
        sock = socket.create_server(("0.0.0.0", port), family=socket.AF_INET, backlog=backlog)
        return sock, _describe(sock, fallback_reason=reason)
    family, address = _resolve_bind_address(host, port)
    sock = socket.create_server((address, port), family=family, backlog=backlog)
    return sock, _describe(sock, fallback_reason=None)


def _describe(sock: socket.socket, fallback_reason: str | None) -> ListenAddress:
    sockaddr = sock.getsockname()
    family = socket.AddressFamily(sock.family)
    dualstack = (
        family == socket.AF_INET6
        and sockaddr[0] == "::"
        and sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
    )
    return ListenAddress(str(sockaddr[0]), int(sockaddr[1]), family, dualstack, fallback_reason)


class HelloServer:
    """Owns the listening socket and the accept loop.

    ``start()`` binds (so ``port`` is known at once) and runs the loop in a daemon thread;
    ``serve_forever()`` runs it in the calling thread; ``stop()`` ends either promptly,
    even under load, and closes the listener. Also a context manager.
    """

    def __init__(
        self,
        host: str = "::",
        port: int = DEFAULT_PORT,
        greeting: bytes = DEFAULT_GREETING,
        backlog: int = BACKLOG,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {port}")
        if len(greeting) > MAX_GREETING:
            raise ValueError(f"greeting must be at most {MAX_GREETING} bytes, got {len(greeting)}")
        self.host = host
        self.greeting = greeting
        self.backlog = backlog
        self._requested_port = port
        self._listener: socket.socket | None = None
        self._address: ListenAddress | None = None
        self._stopping = threading.Event()  # interrupts the pause after a descriptor shortage
        self._stop_requested = False
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self.connections = 0

    def bind(self) -> ListenAddress:
        if self._address is None:
            self._listener, self._address = open_listener(self.host, self._requested_port, self.backlog)
            if not BLOCKING_ACCEPT:
                # Every descriptor the loop needs exists once bound, so a descriptor
                # shortage can only ever hit accept(), which the loop survives.
                self._listener.setblocking(False)
                self._wake = socket.socketpair()
                self._selector = selectors.DefaultSelector()
                self._selector.register(self._listener, selectors.EVENT_READ)
                self._selector.register(self._wake[0], selectors.EVENT_READ)
        return self._address

    @property
    def address(self) -> ListenAddress:
        return self.bind()

    @property
    def port(self) -> int:
        return self.bind().port

    def start(self) -> HelloServer:
        """Serve in a background thread; a server already started keeps its one loop."""
        self.bind()
        if self._thread is not None and self._thread.is_alive():
            return self
        self._thread = threading.Thread(target=self.serve_forever, name="hello-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """accept, write, close: three system calls a connection, as in C.

        On Linux the listener blocks in accept() and ``shutdown()`` wakes it (accept then
        fails with EINVAL). Elsewhere the listener is non-blocking and, once its queue is
        empty, the loop waits in a selector on the listener and a wake-up socket.
        """
        self.bind()
        assert self._listener is not None
        self._serving = True
        # (fd, addr) without building a socket object per client.
        raw_accept = self._listener._accept  # type: ignore[attr-defined]
        greeting, write, close = self.greeting, os.write, os.close
        select = self._selector.select if self._selector is not None else None
        paused = False
        try:
            while not self._stop_requested:  # a plain attribute: the cheapest check per connection
                try:
                    fd, _ = raw_accept()
                except BlockingIOError:
                    if select is not None:
                        select()
                    continue
                except OSError as exc:
                    if self._stop_requested:
                        return
                    paused = self._accept_failed(exc, paused)
                    continue
                if paused:
                    paused = self._resumed()
                try:
                    write(fd, greeting)
                except OSError as exc:
                    if exc.errno not in _CLIENT_GONE_ERRORS:
                        log.warning("write failed: %s", exc)
                close(fd)
                self.connections += 1
        finally:
            self._close()

    def _accept_failed(self, exc: OSError, paused: bool) -> bool:
        """Skip a connection-level error; on a resource shortage, log once, wait with a
        growing delay (``stop()`` interrupts it), keep the listener. Returns ``paused``."""
        if exc.errno in _TRANSIENT_ACCEPT_ERRORS:
            return paused
        if exc.errno not in _RESOURCE_ERRORS:
            raise exc
        if not paused:
            self._paused_since = time.monotonic()
            self._delay = _BACKOFF_START
            log.warning("accept failed: %s; pausing accepts, the listener stays open", os.strerror(exc.errno or 0))
        self._stopping.wait(self._delay)
        self._delay = min(self._delay * 2, _BACKOFF_MAX)
        return True

    def _resumed(self) -> bool:
        log.warning("accepting again after %.1f s", time.monotonic() - self._paused_since)
        return False

    _paused_since = 0.0
    _delay = _BACKOFF_START

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def shutdown(self) -> None:
        """Ask the loop to stop; returns at once. Safe in a signal handler."""
        self._stop_requested = True
        self._stopping.set()
        with contextlib.suppress(OSError):  # already closed: the loop has ended
            if self._wake is not None:
                self._wake[1].send(b"x")
            elif self._listener is not None:
                self._listener.shutdown(socket.SHUT_RDWR)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, wait for the loop to end, and close the listener."""
        self.shutdown()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        elif not self._serving:
            self._close()

    def _close(self) -> None:
        if self._selector is not None:
            self._selector.close()
        if self._listener is not None:
            self._listener.close()
        for sock in self._wake or ():
            sock.close()

    def __enter__(self) -> HelloServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
