"""What a probe's observations mean: a pure function, tested without sockets."""

from __future__ import annotations

import errno
import os

from connectivity.model import Ending, ProbeResult, TargetOutcome, Verdict

NO_ROUTE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.ENETDOWN}
)
CONNECT_TIMEOUT_ERRNOS = frozenset({errno.ETIMEDOUT})


def errno_text(code: int | None) -> str:
    if code is None:
        return "unknown error"
    return f"{errno.errorcode.get(code, str(code))} ({os.strerror(code)})"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def judge(result: ProbeResult, expect: bytes) -> TargetOutcome:
    """The verdict on one probe, with an explanation showing the bytes escaped."""
    verdict, why = _judge(result, expect)
    return TargetOutcome(result=result, verdict=verdict, explanation=why)


def _judge(r: ProbeResult, expect: bytes) -> tuple[Verdict, str]:
    if not r.connected:
        return _connect_failure(r)
    got = r.received
    shown = f"received {got!r}, expected {expect!r}"
    if not got:
        if r.ending is Ending.EOF:
            return Verdict.CLOSED_WITHOUT_DATA, "connected, then closed (FIN) before any byte"
        if r.ending is Ending.RESET:
            return Verdict.CLOSED_WITHOUT_DATA, "connected, then reset (RST) before any byte"
        return Verdict.SILENT, f"connected, then no byte and no close within {_ms(r.total_s)}"
    if got == expect:
        if r.ending is Ending.EOF:
            return Verdict.OK, f"received {got!r}, then end-of-stream"
        if r.ending is Ending.RESET:
            return Verdict.RESET, f"received {got!r}, then reset (RST) instead of a close"
        return Verdict.NO_CLOSE, f"received {got!r}, but the connection was still open after {_ms(r.total_s)}"
    if got.startswith(expect):
        return Verdict.EXTRA_DATA, f"{shown}: {len(got) - len(expect)} extra bytes after the greeting"
    if expect.startswith(got):
        if r.ending is Ending.RESET:
            return Verdict.RESET, f"{shown}: reset (RST) after {len(got)} of {len(expect)} bytes"
        if r.ending is Ending.EOF:
            return Verdict.TRUNCATED, f"{shown}: closed after {len(got)} of {len(expect)} bytes"
        return (
            Verdict.TRUNCATED,
            f"{shown}: {len(got)} of {len(expect)} bytes, then nothing until the deadline",
        )
    return Verdict.WRONG_GREETING, shown


def _connect_failure(r: ProbeResult) -> tuple[Verdict, str]:
    if r.no_route:
        return (
            Verdict.UNREACHABLE,
            f"this client has no route to {r.target.address}: {errno_text(r.connect_errno)}",
        )
    if r.connect_timed_out or r.connect_errno in CONNECT_TIMEOUT_ERRNOS:
        return Verdict.TIMEOUT, f"no answer to the connection attempt within {_ms(r.total_s)}"
    if r.connect_errno == errno.ECONNREFUSED:
        return Verdict.REFUSED, "connection refused: nothing listens on that address and port"
    if r.connect_errno in NO_ROUTE_ERRNOS:
        return (
            Verdict.UNREACHABLE,
            f"cannot reach {r.target.address} from here: {errno_text(r.connect_errno)}",
        )
    return Verdict.UNREACHABLE, f"connect failed: {errno_text(r.connect_errno)}"
