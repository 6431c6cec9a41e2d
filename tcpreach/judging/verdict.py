"""What a probe's observations mean: a pure function, tested without sockets."""

from __future__ import annotations

import errno

from tcpreach.expectation import Expectation, Match, StepKind, as_expectation
from tcpreach.model import Ending, ProbeResult, TargetOutcome, TlsFailure, TlsObservation, Verdict
from tcpreach.settings.escapes import escaped
from tcpreach.standards.errnos import CONNECT_TIMEOUT_ERRNOS, LOCAL_NO_ROUTE, NO_ROUTE_ERRNOS, errno_text

__all__ = ["LOSS_CAN_PRODUCE", "judge"]

LOSS_CAN_PRODUCE = frozenset({Verdict.TIMEOUT, Verdict.SILENT, Verdict.NO_CLOSE, Verdict.TRUNCATED})
"""Verdicts that packet loss alone can produce: the target may still answer another attempt.
Every other failure (a refusal, a close without data, a wrong greeting) is the server's."""


SHOWN_BYTES = 128
"""Received bytes past this many are shortened in an explanation (the report keeps them whole)."""


def _quoted(data: bytes) -> str:
    """``'hello\\n'``, or the first ``SHOWN_BYTES`` and the size: ``'+OK ...' (5,003 bytes)``."""
    if len(data) <= SHOWN_BYTES:
        return f"'{escaped(data)}'"
    return f"'{escaped(data[:SHOWN_BYTES])}...' ({len(data):,} bytes)"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def judge(result: ProbeResult, expect: Expectation | bytes) -> TargetOutcome:
    """The verdict on one probe, with an explanation showing the bytes escaped.

    ``expect`` is an ``Expectation``, or bytes for the exact expectation of them.
    """
    verdict, why = _judge(result, as_expectation(expect))
    return TargetOutcome(result=result, verdict=verdict, explanation=why)


def _judge(r: ProbeResult, expect: Expectation) -> tuple[Verdict, str]:
    if not r.connected:
        return _connect_failure(r)
    if r.step is not None and expect.opening:
        return _judge_dialogue(r, expect)
    if r.tls is not None and r.tls.failure is not None:
        return _tls_failure(r.tls)
    return _judge_bytes(r, expect)


def _judge_dialogue(r: ProbeResult, expect: Expectation) -> tuple[Verdict, str]:
    """A dialogue's verdict: the last step's bytes judged as one step's are (the close
    rule included), or the step that failed, named (``step 3 of 8: ...``)."""
    steps = expect.steps
    number = min(r.step or len(steps), len(steps))
    step = steps[number - 1]
    final = Expectation(expect.data, expect.match, keep_open=expect.keep_open)
    if number == len(steps) and r.received and (r.tls is None or r.tls.failure is None):
        verdict, why = _judge_bytes(r, final)
        if verdict is Verdict.OK:
            return verdict, f"{why} (the last of {len(steps)} steps)"
        return verdict, f"step {number} of {len(steps)}: {why}"
    if r.tls is not None and r.tls.failure is not None:
        verdict, why = _tls_failure(r.tls)
    elif step.kind is StepKind.STARTTLS:
        verdict, why = Verdict.SILENT, f"no answer to the TLS ClientHello within {_ms(r.total_s)}"
    elif r.received:
        verdict, why = _step_mismatch(r, Expectation(step.data, step.match) if number < len(steps) else final)
    elif r.first_byte_s is None:  # nothing at all on this connection
        verdict, why = _no_byte(r)
    elif r.ending is Ending.RESET:
        verdict, why = Verdict.RESET, f"reset (RST) before any byte of {step.describe()}"
    elif r.ending is Ending.EOF:
        verdict, why = Verdict.TRUNCATED, f"closed before any byte of {step.describe()}"
    else:
        verdict, why = Verdict.TRUNCATED, f"no byte of {step.describe()} within {_ms(r.total_s)}"
    return verdict, f"step {number} of {len(steps)} ({step.kind}): {why}"


def _step_mismatch(r: ProbeResult, expect: Expectation) -> tuple[Verdict, str]:
    """An expect step that read bytes and was not met with them."""
    shown = f"received {_quoted(r.received)}, expected {expect.describe()}"
    if expect.could_become(r.received) or (r.ending is Ending.RESET and expect.match is Match.REGEX):
        if r.ending is Ending.RESET:
            return Verdict.RESET, f"{shown}: reset (RST) before the rest"
        how = "closed" if r.ending is Ending.EOF else "nothing more until the deadline"
        return Verdict.TRUNCATED, f"{shown}: {how}"
    return Verdict.WRONG_GREETING, shown


def _judge_bytes(r: ProbeResult, expect: Expectation) -> tuple[Verdict, str]:
    got = r.received
    if not got:
        return _no_byte(r)
    shown = f"received {_quoted(got)}, expected {expect.describe()}"
    if expect.met(got):
        if expect.keep_open and r.ending in (Ending.STOPPED, Ending.DEADLINE, Ending.CAPPED):
            return Verdict.OK, f"received {_quoted(got)} (the connection may stay open)"
        if r.ending is Ending.CAPPED and expect.match is not Match.EXACT:
            # the read stopped at its cap, not the server: whether it closes after is unseen
            read = f"{len(got):,} bytes read, the most a probe reads"
            return Verdict.OK, f"received {_quoted(got[:SHOWN_BYTES])}... ({read})"
        if r.ending is Ending.EOF:
            return Verdict.OK, f"received {_quoted(got)}, then end-of-stream"
        if r.ending is Ending.RESET:
            return Verdict.RESET, f"received {_quoted(got)}, then reset (RST) instead of a close"
        return Verdict.NO_CLOSE, f"received {_quoted(got)}, but the connection was still open after {_ms(r.total_s)}"
    if expect.match is Match.EXACT and got.startswith(expect.data):
        return Verdict.EXTRA_DATA, f"{shown}: {len(got) - len(expect.data)} extra bytes after the greeting"
    if expect.could_become(got):
        size = f"{len(got)} of {len(expect.data)} bytes"
        if r.ending is Ending.RESET:
            return Verdict.RESET, f"{shown}: reset (RST) after {size}"
        if r.ending is Ending.EOF:
            return Verdict.TRUNCATED, f"{shown}: closed after {size}"
        return Verdict.TRUNCATED, f"{shown}: {size}, then nothing until the deadline"
    if r.ending is Ending.RESET and expect.match is Match.REGEX:
        return Verdict.RESET, f"{shown}: reset (RST) before a match"
    return Verdict.WRONG_GREETING, shown


def _tls_failure(tls: TlsObservation) -> tuple[Verdict, str]:
    sni = f"SNI {tls.server_name}" if tls.server_name else "no SNI"
    if tls.failure is TlsFailure.UNTRUSTED:
        return Verdict.TLS_UNTRUSTED, f"the certificate is not trusted: {tls.detail} ({sni})"
    if tls.failure is TlsFailure.NAME_MISMATCH:
        return Verdict.TLS_NAME_MISMATCH, f"the certificate does not carry the name {tls.server_name}: {tls.detail}"
    if tls.failure is TlsFailure.EXPIRED:
        return Verdict.TLS_EXPIRED, f"the certificate has expired: {tls.detail} ({sni})"
    if tls.failure is TlsFailure.NOT_TLS:
        return Verdict.TLS_NOT_SPOKEN, f"the server answered the ClientHello with bytes that are not TLS ({tls.detail})"
    if tls.detail.startswith("the server"):
        return Verdict.TLS_HANDSHAKE_FAILED, f"{tls.detail} ({sni})"
    return Verdict.TLS_HANDSHAKE_FAILED, f"the server ended the handshake with the alert {tls.detail} ({sni})"


def _no_byte(r: ProbeResult) -> tuple[Verdict, str]:
    if r.ending is Ending.EOF:
        return Verdict.CLOSED_WITHOUT_DATA, "connected, then closed (FIN) before any byte"
    if r.ending is Ending.RESET:
        return Verdict.CLOSED_WITHOUT_DATA, "connected, then reset (RST) before any byte"
    if r.tls is not None and r.tls.handshake_s is None:
        return Verdict.SILENT, f"connected, then no answer to the TLS ClientHello within {_ms(r.total_s)}"
    return Verdict.SILENT, f"connected, then no byte and no close within {_ms(r.total_s)}"


def _connect_failure(r: ProbeResult) -> tuple[Verdict, str]:
    if r.no_route:
        why = LOCAL_NO_ROUTE.get(r.connect_errno or 0, "no route")
        return (
            Verdict.UNREACHABLE,
            f"this client has no route to {r.target.address} ({why}): {errno_text(r.connect_errno)}",
        )
    if r.connect_timed_out or r.connect_errno in CONNECT_TIMEOUT_ERRNOS:
        return Verdict.TIMEOUT, f"no answer to the connection attempt within {_ms(r.total_s)}"
    if r.connect_errno == errno.ECONNREFUSED:
        return Verdict.REFUSED, "connection refused: nothing listens on that address and port"
    if r.connect_errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        # This client had a route (checked first): the answer came from a router on the way.
        return (
            Verdict.UNREACHABLE,
            f"a router on the way answered that {r.target.address} is unreachable (ICMP): "
            f"{errno_text(r.connect_errno)}",
        )
    if r.connect_errno in NO_ROUTE_ERRNOS:
        return Verdict.UNREACHABLE, f"cannot reach {r.target.address}: {errno_text(r.connect_errno)}"
    return Verdict.UNREACHABLE, f"connect failed: {errno_text(r.connect_errno)}"
