"""Gathering: one TCP connection to one literal address, observed. No judging here.

The socket's family is the target's; nothing re-resolves a name (addresses are parsed
with ``AI_NUMERICHOST``, which never asks DNS).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from tcpreach.model import Ending, Exchange, Family, ProbeResult, Target, TlsFailure, TlsObservation
from tcpreach.net.conversation import PlainStream, Seen, Stream, TlsAlertError, converse, read, send_request
from tcpreach.net.loop import run_sync
from tcpreach.net.tls import TlsStream, handshake
from tcpreach.net.wait import writable
from tcpreach.options import DEFAULT_TIMEOUT, CheckOptions, TlsSettings
from tcpreach.standards.errnos import LOCAL_NO_ROUTE

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
    With TLS the bytes read are the decrypted ones. A dialogue (an expectation with an
    opening) runs its steps in order within the read budget, STARTTLS included, and its
    result names the step it stopped at."""
    timeout = DEFAULT_TIMEOUT if options is None else options.timeout
    start = time.monotonic()

    def since() -> float:
        return time.monotonic() - start

    sock = socket.socket(_FAMILIES[target.family], socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    try:
        failed = await _opened(sock, target, options, since, check_route=check_route)
        if failed is not None:
            return failed
        budget = timeout if read_timeout is None else read_timeout
        return await _spoken(sock, target, options, since, budget=budget, start=start)
    finally:
        sock.close()


async def _opened(
    sock: socket.socket, target: Target, options: CheckOptions | None, since: Callable[[], float], *, check_route: bool
) -> ProbeResult | None:
    """Bind the source asked for and connect: ``None`` once connected, else what was seen."""
    timeout = DEFAULT_TIMEOUT if options is None else options.timeout
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


async def _spoken(
    sock: socket.socket,
    target: Target,
    options: CheckOptions | None,
    since: Callable[[], float],
    *,
    budget: float,
    start: float,
) -> ProbeResult:
    """On the connected ``sock``: TLS from the connect if asked, then the request and the
    read, or the dialogue's steps, within ``budget``."""
    timeout = DEFAULT_TIMEOUT if options is None else options.timeout
    expectation = None if options is None else options.expectation
    tls = None if options is None else options.tls
    connect_s = since()
    local = _local_address(sock)
    if tls is not None or (expectation is not None and expectation.opening):
        # Small writes after the first (a request after the handshake, a dialogue's
        # next command) must not wait for the server's delayed ACK (Nagle: 40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stream: Stream = PlainStream(sock)
    observed: TlsObservation | None = None
    log: list[Exchange] | None = [] if options is not None and options.transcript else None
    if tls is not None and not (expectation is not None and expectation.starttls):
        wrapped, observed, ending = await _tls(sock, tls, timeout, since)
        if log is not None and wrapped is not None:
            log.append(Exchange(since(), "tls"))
        if wrapped is None:
            return ProbeResult(target, connected=True, ending=ending, connect_s=connect_s, total_s=since(),
                               tls=observed, local_address=local)  # fmt: skip
        stream = wrapped
    seen = Seen(target, connect_s, local, observed)
    try:
        if expectation is not None and expectation.opening:
            return await converse(sock, stream, expectation, settings=tls, timeout=timeout, budget=budget,
                                   since=since, seen=seen)  # fmt: skip
        send_errno = None if expectation is None else await send_request(stream, expectation.send, timeout)
        if log is not None and expectation is not None and expectation.send:
            log.append(Exchange(since(), "sent", expectation.send))
        received, ending, first_byte = await read(stream, budget, expectation, since, log)
    except TlsAlertError as alert:
        detail = f"the server ended the session with the alert {alert} after the handshake"
        base = seen.tls or TlsObservation(tls.server_name if tls else None)
        alerted = dataclasses.replace(base, failure=TlsFailure.HANDSHAKE, detail=detail)
        return ProbeResult(target, connected=True, ending=Ending.RESET, connect_s=connect_s,
                           total_s=since(), tls=alerted, local_address=local)  # fmt: skip
    return ProbeResult(
        target, connected=True, received=received, ending=ending, send_errno=send_errno, connect_s=connect_s,
        first_byte_s=None if first_byte is None else first_byte - start, total_s=since(), tls=observed,
        local_address=local, exchange=() if log is None else tuple(log),
    )  # fmt: skip


def _local_address(sock: socket.socket) -> str | None:
    try:
        return str(sock.getsockname()[0])
    except OSError:
        return None


async def _sock_connect(sock: socket.socket, address: tuple[Any, ...]) -> None:
    """``loop.sock_connect`` for a literal address on a socket of our own: the same system
    calls, without the loop's re-parsing of the address and its transport bookkeeping (a
    fleet makes thousands of these at once)."""
    code = sock.connect_ex(address)
    if code in (errno.EINPROGRESS, errno.EAGAIN):
        await writable(sock)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))


async def _connect(
    sock: socket.socket, target: Target, timeout: float, since: Callable[[], float]
) -> ProbeResult | None:
    """Connect within ``timeout``: ``None`` when connected, else what was seen."""
    try:
        async with asyncio.timeout(timeout):
            await _sock_connect(sock, sockaddr(target))
    except TimeoutError:
        # The deadline passed on our clock; the socket says whether the network's did. A
        # connect that completed, or failed, while the loop was too busy to see it is that.
        code = settled_connect(sock)
        if code is None:
            return ProbeResult(target, connected=False, connect_timed_out=True, total_s=since())
        if code == 0:
            return None
        return _connect_error(target, OSError(code, os.strerror(code)), since)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        # Some stacks (gVisor) report an RST that follows the handshake at once as
        # connect()'s error (ECONNRESET, EPIPE, ECONNABORTED): the peer accepted, then
        # reset before any byte. An edge that resets every raw stream is seen this way.
        elapsed = since()
        return ProbeResult(target, connected=True, ending=Ending.RESET, connect_s=elapsed, total_s=elapsed)
    except OSError as exc:
        return _connect_error(target, exc, since)
    return None


def _connect_error(target: Target, exc: OSError, since: Callable[[], float]) -> ProbeResult:
    # A blackhole, prohibit or local firewall answer never comes from the network.
    local = exc.errno in (errno.EINVAL, errno.EACCES, errno.EPERM)
    return ProbeResult(target, connected=False, connect_errno=exc.errno, no_route=local, total_s=since())


def settled_connect(sock: socket.socket) -> int | None:
    """How a non-blocking connect stands now, asked of the socket itself: ``None`` while it
    is still in progress, ``0`` when it completed, else its errno."""
    writable = select.select([], [sock], [], 0)[1]
    if not writable:
        return None
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


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
