"""Loopback stand-ins for what a client can meet on the way to a TCP greeting service.

Each ``StandIn`` listens on a local address and misbehaves in one named way: Fly.io's
shared-IPv4 edge (accepts, then closes without data), a wrong greeting, a half greeting,
a connection held open, an RST, a listener that never accepts, and so on. The tests use
them to prove that every verdict is named correctly; the rehearsal and the benchmarks use
them to stand in for remote hosts without leaving this machine. ``REPLY`` and
``REPLY_HOLD`` stand in for request/response services; ``HOLD`` with a banner greeting
(``+OK ready\r\n``) for a POP3- or SMTP-style banner that keeps the connection open.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from types import TracebackType
from typing import Self

__all__ = ["PING", "PONG", "Behaviour", "StandIn", "TlsStandIn"]

PING, PONG = b"PING\r\n", b"PONG\r\n"


class Behaviour(StrEnum):
    HELLO = "hello"
    """The greeting, then close: a correct server."""
    CLOSE = "close"
    """Accept, close without a byte (FIN): Fly's shared IPv4 edge."""
    RESET = "reset"
    """Accept, RST without a byte (SO_LINGER 0)."""
    WRONG = "wrong"
    """Another greeting."""
    HALF = "half"
    """Half the greeting, then close."""
    EXTRA = "extra"
    """The greeting and more."""
    HOLD = "hold"
    """The greeting, then hold the connection open."""
    SILENT = "silent"
    """Accept, write nothing, hold open."""
    RESET_AFTER = "reset-after"
    """Half the greeting, then RST."""
    NO_ACCEPT = "no-accept"
    """Listen with the smallest backlog and never accept."""
    REPLY = "reply"
    """Silent until a request line: PING gets PONG, anything else an error; then close."""
    REPLY_HOLD = "reply-hold"
    """The same, and the connection stays open (Redis, SMTP after a command)."""
    FLOOD = "flood"
    """The greeting over and over, as fast as the client reads, never closing."""
    TRICKLE = "trickle"
    """The greeting's bytes one at a time, 0.2 s apart, over and over, never closing."""
    READ_ONE = "read-one"
    """The greeting, then one byte of the request read and a close with the rest unread."""


def _accepted(listener: socket.socket, wake: socket.socket, stop: threading.Event) -> Iterator[socket.socket]:
    """Connections accepted on ``listener`` until ``stop`` is set and ``wake`` is written to."""
    with selectors.DefaultSelector() as selector:
        selector.register(listener, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        while not stop.is_set():
            for key, _ in selector.select():
                if key.fileobj is wake or stop.is_set():
                    return
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                yield conn


class _Workers:
    """The threads that serve one connection each, and their connections: ``join`` wakes
    every one of them (a shutdown ends a blocked ``recv`` or ``sendall`` at once) and waits
    for it, so a stand-in's ``stop()`` leaves no thread behind and no socket to a thread
    that could still append it to a list after the lists were closed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[tuple[threading.Thread, socket.socket]] = []

    def spawn(self, serve: Callable[[socket.socket], None], conn: socket.socket) -> None:
        thread = threading.Thread(target=serve, args=(conn,), daemon=True)
        with self._lock:
            self._running.append((thread, conn))
        thread.start()

    def join(self) -> None:
        with self._lock:
            running, self._running = self._running, []
        for _, conn in running:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread, conn in running:
            thread.join(5)
            conn.close()


class StandIn:
    """A TCP listener on ``host`` that behaves as ``behaviour``; a context manager.

    ``v6only`` chooses IPV6_V6ONLY on an IPv6 wildcard socket (``None``: dual-stack);
    ``backlog`` is the accept queue (the kernel caps it at ``net.core.somaxconn``).
    """

    def __init__(
        self,
        behaviour: Behaviour,
        host: str = "127.0.0.1",
        port: int = 0,
        greeting: bytes = b"hello\n",
        v6only: bool | None = None,
        *,
        backlog: int = 128,
    ) -> None:
        self.behaviour = behaviour
        self.greeting = greeting
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            self._sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only or host != "::" else 0)
        self._sock.bind((host, port))
        self._sock.listen(0 if behaviour is Behaviour.NO_ACCEPT else backlog)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self.accepted = 0  # connections accepted so far
        self._workers = _Workers()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()  # stop() wakes the accept loop at once
        self._thread = threading.Thread(target=self._serve, name=f"standin-{behaviour}", daemon=True)

    def start(self) -> StandIn:
        if self.behaviour is Behaviour.NO_ACCEPT:
            self._fill_backlog()
        else:
            self._thread.start()
        return self

    def _fill_backlog(self) -> None:
        """Occupy the accept queue so further handshakes are not completed: connects time out."""
        family = self._sock.family
        for _ in range(4):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                sock.connect((self.host, self.port))
            self._held.append(sock)

    def _serve(self) -> None:
        for conn in _accepted(self._sock, self._wake_r, self._stop):
            self.accepted += 1
            self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        b = self.behaviour
        if b in (Behaviour.REPLY, Behaviour.REPLY_HOLD):
            self._workers.spawn(self._reply, conn)
            return
        if b in (Behaviour.FLOOD, Behaviour.TRICKLE, Behaviour.READ_ONE):
            self._workers.spawn(self._stream, conn)
            return
        half = self.greeting[: max(1, len(self.greeting) // 2)]
        with contextlib.suppress(OSError):
            if b is Behaviour.HELLO:
                conn.sendall(self.greeting)
            elif b is Behaviour.WRONG:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            elif b is Behaviour.HALF:
                conn.sendall(half)
            elif b is Behaviour.EXTRA:
                conn.sendall(self.greeting + b"and more\n")
            elif b in (Behaviour.HOLD, Behaviour.SILENT):
                if b is Behaviour.HOLD:
                    conn.sendall(self.greeting)
                self._held.append(conn)
                return
            elif b is Behaviour.RESET_AFTER:
                conn.sendall(half)
            if b in (Behaviour.RESET, Behaviour.RESET_AFTER):
                # Let the client finish connecting and read what was sent before the RST
                # (an RST discards data the client has not read yet).
                time.sleep(0.05)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _reply(self, conn: socket.socket) -> None:
        """Read one request line (within 5 s), answer it, then close or hold."""
        request = b""
        with contextlib.suppress(OSError):
            conn.settimeout(5)
            while b"\n" not in request and len(request) < 1024:
                chunk = conn.recv(1024)
                if not chunk:
                    break
                request += chunk
            conn.sendall(PONG if request == PING else b"-ERR unknown command\r\n")
            if self.behaviour is Behaviour.REPLY_HOLD:
                self._held.append(conn)
                return
        conn.close()

    def _stream(self, conn: socket.socket) -> None:
        """FLOOD, TRICKLE and READ_ONE, each in its own thread until the client closes."""
        with conn, contextlib.suppress(OSError):
            if self.behaviour is Behaviour.READ_ONE:
                conn.sendall(self.greeting)
                conn.settimeout(5)
                conn.recv(1)
                return  # closing with unread bytes: the kernel resets the connection
            step = self.greeting if self.behaviour is Behaviour.FLOOD else None
            index = 0
            while not self._stop.is_set():
                if step is not None:
                    conn.sendall(step * 64)
                else:
                    conn.sendall(self.greeting[index : index + 1])
                    index = (index + 1) % len(self.greeting)
                    self._stop.wait(0.2)

    def stop(self) -> None:
        """Stop accepting, end every connection's thread, then close every socket: when this
        returns, nothing of the stand-in is left running or open."""
        self._stop.set()
        self._wake_w.send(b"x")
        if self._thread.is_alive():
            self._thread.join(5)
        self._workers.join()
        for conn in (*self._held, self._wake_r, self._wake_w):
            conn.close()
        self._sock.close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _ConnectionServer:
    """A listener on ``host`` whose every connection is answered by ``_answer`` in its own
    thread; ``stop()`` joins them all and closes every socket. A context manager."""

    def __init__(self, host: str, port: int, name: str, backlog: int = 128) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, port), family=family, backlog=backlog)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._workers = _Workers()
        self._wake_r, self._wake_w = socket.socketpair()  # stop() wakes the accept loop at once
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def _answer(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def _serve(self) -> None:
        for conn in _accepted(self._sock, self._wake_r, self._stop):
            self._workers.spawn(self._answer, conn)

    def stop(self) -> None:
        self._stop.set()
        self._wake_w.send(b"x")
        if self._thread.is_alive():
            self._thread.join(5)
        self._workers.join()
        for sock in (self._wake_r, self._wake_w, self._sock):
            sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class TlsStandIn(_ConnectionServer):
    """A TLS server on ``host``: it answers each SNI it has a context for (its certificate)
    with the greeting, then closes; any other SNI, or none, gets the alert
    ``unrecognized_name``, as an SNI-routing edge does. With ``any_name`` it serves
    ``any_name``'s certificate whatever the SNI. With ``preread_timeout``, a connection
    that sends no byte within that many seconds is closed without one, as an edge that
    routes by SNI closes raw TCP (nginx's ``preread_timeout``). A context manager, like
    ``StandIn``.
    """

    def __init__(
        self,
        contexts: Mapping[str, ssl.SSLContext],
        host: str = "127.0.0.1",
        port: int = 0,
        greeting: bytes = b"hello\n",
        any_name: str | None = None,
        *,
        preread_timeout: float | None = None,
    ) -> None:
        self.contexts = dict(contexts)
        self.preread_timeout = preread_timeout
        self.greeting = greeting
        self.any_name = any_name
        self.base = self.contexts[any_name] if any_name else next(iter(self.contexts.values()))
        self.base.sni_callback = None if any_name else self._route
        super().__init__(host, port, "tls-standin")

    def _route(self, tls: ssl.SSLObject | ssl.SSLSocket, name: str | None, _context: ssl.SSLContext) -> int | None:
        if name is None or name.lower() not in self.contexts:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        tls.context = self.contexts[name.lower()]
        return None

    def _answer(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.preread_timeout is not None:
                conn.settimeout(self.preread_timeout)
                try:
                    conn.recv(1, socket.MSG_PEEK)
                except TimeoutError:
                    conn.close()
                    return
            conn.settimeout(5)
            tls = self.base.wrap_socket(conn, server_side=True)
            tls.sendall(self.greeting)
            with contextlib.suppress(OSError, ValueError):
                tls.unwrap()  # close_notify, then the TCP close
            tls.close()
        conn.close()
