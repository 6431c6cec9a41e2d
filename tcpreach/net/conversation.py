"""Gathering: what is said on a connected socket, plainly or over TLS: one request and
the read of the answer, or a dialogue's steps, STARTTLS among them. No judging here."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import re
import socket
import ssl
import time
from collections.abc import Callable
from typing import Protocol

from tcpreach.expectation import READ_CAP_MIN, Expectation, Step, StepKind, groups_of, render
from tcpreach.model import Ending, Exchange, ProbeResult, Target, TlsObservation
from tcpreach.net.tls import alert_name, handshake
from tcpreach.net.wait import receive
from tcpreach.options import TlsSettings

__all__ = ["PlainStream", "Seen", "Stream", "TlsAlertError", "converse", "read", "send_request"]


class Stream(Protocol):
    async def send(self, data: bytes) -> None: ...

    async def recv(self) -> bytes: ...

    def ready(self) -> bytes | None:
        """What has arrived already, without waiting (``b""``: the end of the stream;
        ``None``: nothing)."""
        ...


class PlainStream:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._loop = asyncio.get_running_loop()

    async def send(self, data: bytes) -> None:
        await self._loop.sock_sendall(self.sock, data)

    async def recv(self) -> bytes:
        return await receive(self.sock, 65536)

    def ready(self) -> bytes | None:
        try:
            return self.sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return None
        except OSError:
            return None  # a reset: the next read says so, and the deadline has passed anyway


async def send_request(stream: Stream, request: bytes, timeout: float) -> int | None:
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


class _Reader:
    """Reads a connection into ``pending`` until a condition holds, the server ends it, the
    cap or the deadline; keeps the time of the first byte and, for a dialogue, a log."""

    def __init__(self, stream: Stream, deadline: float, cap: int, since: Callable[[], float],
                 log: list[Exchange] | None = None) -> None:  # fmt: skip
        self.stream, self.deadline, self.cap, self.since, self.log = stream, deadline, cap, since, log
        self.pending = b""
        self.first_byte: float | None = None

    async def until(self, done: Callable[[bytes], bool]) -> Ending | None:
        """``None`` once ``done(pending)``; else how the reading ended."""
        if self.pending and done(self.pending):
            return None
        while True:
            chunk = await self._next()
            if isinstance(chunk, Ending):
                return chunk
            if not chunk:
                return Ending.EOF
            if self.first_byte is None:
                self.first_byte = time.monotonic()
            if self.log is not None:
                self.log.append(Exchange(self.since(), "received", chunk))
            self.pending += chunk
            if len(self.pending) >= self.cap:
                self.pending = self.pending[: self.cap]
                return Ending.CAPPED
            if done(self.pending):
                return None

    async def _next(self) -> bytes | Ending:
        """The next bytes (``b""`` at the end of the stream), or how the reading ended."""
        try:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                return await self.stream.recv()
        except TimeoutError:
            # The deadline passed on our clock: what the socket already holds arrived in
            # time, although the loop may have been too busy to read it then.
            late = self.stream.ready()
            return Ending.DEADLINE if late is None else late
        except ssl.SSLEOFError:  # the TCP connection closed without a TLS close_notify
            return Ending.EOF
        except ssl.SSLError as exc:  # an alert after the handshake (TLS 1.3: a client certificate refused)
            raise TlsAlertError(alert_name(str(exc.reason or exc))) from None
        except OSError as exc:
            if exc.errno in (errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE):
                return Ending.RESET
            raise


def _never(received: bytes) -> bool:
    return False


async def read(
    stream: Stream,
    budget: float,
    expect: Expectation | None,
    since: Callable[[], float],
    log: list[Exchange] | None = None,
) -> tuple[bytes, Ending, float | None]:
    """Read until end-of-stream, a reset, the cap, the expectation's say-so, or the
    deadline ``budget`` from now.

    Returns the bytes, how the reading ended, and the monotonic time of the first byte.
    """
    cap = READ_CAP_MIN if expect is None else expect.read_cap
    reader = _Reader(stream, time.monotonic() + budget, cap, since, log)
    ending = await reader.until(_never if expect is None else expect.done_reading)
    return reader.pending, ending or Ending.STOPPED, reader.first_byte


@dataclasses.dataclass
class Seen:
    """What a dialogue's result carries from before it began."""

    target: Target
    connect_s: float
    local: str | None
    tls: TlsObservation | None


async def _upgrade(
    sock: socket.socket, reader: _Reader, tls: TlsSettings, timeout: float, *, since: Callable[[], float], seen: Seen
) -> Ending | None:
    """A STARTTLS step's handshake: ``None`` once the reader reads over TLS, else how the
    step ended. Plaintext the server sent past its go-ahead is never trusted: dropped."""
    reader.pending = b""
    try:
        within = max(0.0, min(timeout, reader.deadline - time.monotonic()))
        wrapped, observed = await handshake(sock, tls, within, since)
    except TimeoutError:
        seen.tls = TlsObservation(tls.server_name, detail="no answer to the ClientHello after STARTTLS")
        return Ending.DEADLINE
    seen.tls = observed
    reader.pending = b""  # and what came meanwhile, neither
    if wrapped is None:
        return Ending.STOPPED
    reader.stream = wrapped
    return None


async def converse(
    sock: socket.socket,
    stream: Stream,
    expectation: Expectation,
    *,
    settings: TlsSettings | None,
    timeout: float,
    budget: float,
    since: Callable[[], float],
    seen: Seen,
) -> ProbeResult:
    """Run a dialogue's steps in order within ``budget``; stop at the first step that
    fails (the result names it), else judge the last step's bytes as one step's are."""
    start = time.monotonic() - since()
    log: list[Exchange] = []
    reader = _Reader(stream, time.monotonic() + budget, expectation.read_cap, since, log)
    groups: dict[str, bytes] = {}
    send_errno: int | None = None
    steps = expectation.steps

    def stopped(number: int, ending: Ending | None) -> ProbeResult:
        return ProbeResult(
            seen.target, connected=True, received=reader.pending, ending=ending, send_errno=send_errno,
            connect_s=seen.connect_s, first_byte_s=None if reader.first_byte is None else reader.first_byte - start,
            total_s=since(), tls=seen.tls, local_address=seen.local, step=number, exchange=tuple(log),
        )  # fmt: skip

    for number, step in enumerate(steps, 1):
        if step.kind is StepKind.SEND:
            data = render(step.data, groups)
            code = await send_request(reader.stream, data, timeout)
            send_errno = send_errno if send_errno is not None else code
            log.append(Exchange(since(), "sent", data))
        elif step.kind is StepKind.STARTTLS:
            ended = await _upgrade(sock, reader, settings or TlsSettings(), timeout, since=since, seen=seen)
            if ended is not None:
                return stopped(number, ended)
            log.append(Exchange(since(), "tls"))
        elif number == len(steps):
            ending = await reader.until(expectation.done_reading)
            return stopped(number, ending or Ending.STOPPED)
        else:
            taken: tuple[int, re.Match[bytes] | None] | None = None

            def met(pending: bytes, step: Step = step) -> bool:
                nonlocal taken
                taken = step.taken(pending)
                return taken is not None or step.hopeless(pending)

            ending = await reader.until(met)
            if taken is None:
                return stopped(number, ending or Ending.STOPPED)
            end, found = taken
            if found is not None:
                groups = groups_of(found)
            reader.pending = reader.pending[end:]
    raise AssertionError("a dialogue ends with an expect step")  # Expectation.steps guarantees it
