"""Gathering: one TCP connection to one literal address, observed. No judging here.

The socket's family is the target's; nothing re-resolves a name (addresses are parsed
with ``AI_NUMERICHOST``, which never asks DNS).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

from tcpreach.expectation import READ_CAP_MIN, Expectation
from tcpreach.model import Ending, Family, ProbeResult, Target, TlsFailure, TlsObservation
from tcpreach.net.tls import TlsStream, alert_name, handshake
from tcpreach.options import DEFAULT_TIMEOUT, CheckOptions, TlsSettings
from tcpreach.verdict import LOCAL_NO_ROUTE

__all__ = ["probe", "probe_async", "route_errno", "sockaddr"]

_FAMILIES = {Family.IPV4: socket.AF_INET, Family.IPV6: socket.AF_INET6}


def sockaddr(target: Target) -> tuple[Any, ...]:
    """The socket address of a literal target, scope ids included, without any lookup."""
    if "%" not in target.address:  # no scope id: the tuple as the kernel takes it, once it is a literal
        try:
            socket.inet_pton(_FAMILIES[target.family], target.address)
        except OSError:
            raise socket.gaierror(socket.EAI_NONAME, f"not a literal address: {target.address}") from None
        return (target.address, target.port) if target.family is Family.IPV4 else (target.address, target.port, 0, 0)
    infos = socket.getaddrinfo(
        target.address,
        target.port,
        _FAMILIES[target.family],
        socket.SOCK_STREAM,
        0,
        socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
    )
    return tuple(infos[0][4])


def route_errno(target: Target) -> int | None:
    """Ask the kernel for a route to the target; ``None`` when it has one.

    ``connect()`` on a UDP socket only looks the route up: it sends nothing.
    """
    try:
        with socket.socket(_FAMILIES[target.family], socket.SOCK_DGRAM) as udp:
            udp.connect(sockaddr(target))
    except OSError as exc:
        if exc.errno in LOCAL_NO_ROUTE:
            return exc.errno
    return None


def probe(
    target: Target,
    options: CheckOptions | None = None,
    *,
    read_timeout: float | None = None,
    check_route: bool = True,
) -> ProbeResult:
    """``probe_async`` for one target, from synchronous code."""
    from tcpreach.engine import run_sync

    return run_sync(probe_async(target, options, read_timeout=read_timeout, check_route=check_route))


async def probe_async(
    target: Target,
    options: CheckOptions | None = None,
    *,
    read_timeout: float | None = None,
    check_route: bool = True,
) -> ProbeResult:
    """Connect within ``options.timeout``, speak TLS first with ``options.tls``, write the
    expectation's request if it has one, then read until end-of-stream within
    ``read_timeout`` (the whole read, not each ``recv``; defaults to the timeout). The read
    stops early once the expectation says it is done (met on a connection that may stay
    open, or bytes that can no longer match), and at its cap. With no options, the default
    timeout and no expectation: nothing is sent, and the read lasts until the server closes.
    With TLS the bytes read are the decrypted ones."""
    timeout = DEFAULT_TIMEOUT if options is None else options.timeout
    expectation = None if options is None else options.expectation
    tls = None if options is None else options.tls
    start = time.monotonic()

    def since() -> float:
        return time.monotonic() - start

    sock = socket.socket(_FAMILIES[target.family], socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    try:
        source = next((a for a in (options.sources if options else ()) if Family.of(a) is target.family), None)
        if source is not None:
            try:
                sock.bind((source, 0))
            except OSError as exc:  # not an address of this machine: a fact about this client
                return ProbeResult(target, connected=False, connect_errno=exc.errno, no_route=True, total_s=since())
        failed = await _connect(sock, target, timeout, since)
        if failed is not None:
            # A refusal of this client's own routes comes back at once: the kernel's route
            # lookup (which sends nothing) tells it from a router's answer on the way.
            code = route_errno(target) if check_route and failed.connect_errno in LOCAL_NO_ROUTE else None
            if code is not None:
                return ProbeResult(target, connected=False, connect_errno=code, no_route=True, total_s=since())
            return failed
        connect_s = since()
        local = _local_address(sock)
        stream: _Stream = _PlainStream(sock)
        observed: TlsObservation | None = None
        if tls is not None:
            wrapped, observed, ending = await _tls(sock, tls, timeout, since)
            if wrapped is None:
                return ProbeResult(target, connected=True, ending=ending, connect_s=connect_s, total_s=since(),
                                   tls=observed, local_address=local)  # fmt: skip
            stream = wrapped
        send_errno = None if expectation is None else await _send(stream, expectation.send, timeout)
        budget = timeout if read_timeout is None else read_timeout
        try:
            received, ending, first_byte = await _read(stream, budget, expectation)
        except TlsAlertError as alert:
            detail = f"the server ended the session with the alert {alert} after the handshake"
            base = observed or TlsObservation(tls.server_name if tls else None)
            alerted = dataclasses.replace(base, failure=TlsFailure.HANDSHAKE, detail=detail)
            return ProbeResult(target, connected=True, ending=Ending.RESET, send_errno=send_errno, connect_s=connect_s,
                               total_s=since(), tls=alerted, local_address=local)  # fmt: skip
        return ProbeResult(
            target,
            connected=True,
            received=received,
            ending=ending,
            send_errno=send_errno,
            connect_s=connect_s,
            first_byte_s=None if first_byte is None else first_byte - start,
            total_s=since(),
            tls=observed,
            local_address=local,
        )
    finally:
        sock.close()


def _local_address(sock: socket.socket) -> str | None:
    try:
        return str(sock.getsockname()[0])
    except OSError:
        return None


class _Stream(Protocol):
    async def send(self, data: bytes) -> None: ...

    async def recv(self) -> bytes: ...


class _PlainStream:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._loop = asyncio.get_running_loop()

    async def send(self, data: bytes) -> None:
        await self._loop.sock_sendall(self.sock, data)

    async def recv(self) -> bytes:
        return await self._loop.sock_recv(self.sock, 65536)


async def _sock_connect(sock: socket.socket, address: tuple[Any, ...]) -> None:
    """``loop.sock_connect`` for a literal address on a socket of our own: the same system
    calls, without the loop's re-parsing of the address and its transport bookkeeping (a
    fleet makes thousands of these at once)."""
    code = sock.connect_ex(address)
    if code in (errno.EINPROGRESS, errno.EAGAIN):
        loop = asyncio.get_running_loop()
        writable = loop.create_future()
        fd = sock.fileno()
        loop.add_writer(fd, _settle, writable)
        try:
            await writable
        finally:
            loop.remove_writer(fd)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _connect(
    sock: socket.socket, target: Target, timeout: float, since: Callable[[], float]
) -> ProbeResult | None:
    """Connect within ``timeout``: ``None`` when connected, else what was seen."""
    try:
        async with asyncio.timeout(timeout):
            await _sock_connect(sock, sockaddr(target))
    except TimeoutError:
        return ProbeResult(target, connected=False, connect_timed_out=True, total_s=since())
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        # Some stacks (gVisor) report an RST that follows the handshake at once as
        # connect()'s error (ECONNRESET, EPIPE, ECONNABORTED): the peer accepted, then
        # reset before any byte. An edge that resets every raw stream is seen this way.
        elapsed = since()
        return ProbeResult(target, connected=True, ending=Ending.RESET, connect_s=elapsed, total_s=elapsed)
    except OSError as exc:
        # A blackhole, prohibit or local firewall answer never comes from the network.
        local = exc.errno in (errno.EINVAL, errno.EACCES, errno.EPERM)
        return ProbeResult(target, connected=False, connect_errno=exc.errno, no_route=local, total_s=since())
    return None


async def _tls(
    sock: socket.socket, settings: TlsSettings, timeout: float, since: Callable[[], float]
) -> tuple[TlsStream | None, TlsObservation, Ending]:
    """The handshake: the TLS stream, or ``None`` with how the connection ended (the server
    failed it, or never answered the ClientHello)."""
    try:
        wrapped, observed = await handshake(sock, settings, timeout, since)
    except TimeoutError:
        return None, TlsObservation(settings.server_name, detail="no answer to the ClientHello"), Ending.DEADLINE
    return wrapped, observed, Ending.STOPPED


async def _send(stream: _Stream, request: bytes, timeout: float) -> int | None:
    """Write the request, if any; the errno when the server already closed or reset.

    What the server wrote before is still read afterwards, so a failed write is judged by
    what arrived, never lost.
    """
    if not request:
        return None
    try:
        async with asyncio.timeout(timeout):
            await stream.send(request)
    except TimeoutError:
        return errno.ETIMEDOUT
    except OSError as exc:
        return exc.errno
    return None


class TlsAlertError(Exception):
    """The server ended the TLS session with an alert after the handshake (its name)."""


async def _read(stream: _Stream, budget: float, expect: Expectation | None) -> tuple[bytes, Ending, float | None]:
    """Read until end-of-stream, a reset, the cap, the expectation's say-so, or the
    deadline ``budget`` from now.

    Returns the bytes, how the reading ended, and the monotonic time of the first byte.
    """
    deadline = time.monotonic() + budget
    cap = READ_CAP_MIN if expect is None else expect.read_cap
    received = b""
    first_byte: float | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            async with asyncio.timeout(remaining):
                chunk = await stream.recv()
        except TimeoutError:
            break
        except ssl.SSLEOFError:  # the TCP connection closed without a TLS close_notify
            return received, Ending.EOF, first_byte
        except ssl.SSLError as exc:  # an alert after the handshake (TLS 1.3: a client certificate refused)
            raise TlsAlertError(alert_name(str(exc.reason or exc))) from None
        except OSError as exc:
            if exc.errno in (errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE):
                return received, Ending.RESET, first_byte
            raise
        if not chunk:
            return received, Ending.EOF, first_byte
        if first_byte is None:
            first_byte = time.monotonic()
        received += chunk
        if len(received) >= cap:
            return received[:cap], Ending.CAPPED, first_byte
        if expect is not None and expect.done_reading(received):
            return received, Ending.STOPPED, first_byte
    return received, Ending.DEADLINE, first_byte
