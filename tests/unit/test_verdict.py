"""Every verdict from constructed probe data: no socket."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpreach.expectation import Expectation, Match
from tcpreach.judging.verdict import judge
from tcpreach.model import Ending, Family, ProbeResult, Target, TlsFailure, TlsObservation, Verdict

TARGET = Target(Family.IPV4, "192.0.2.1", 1848)
EXPECT = b"hello\n"


def connected(received: bytes, ending: Ending) -> ProbeResult:
    return ProbeResult(TARGET, connected=True, received=received, ending=ending, connect_s=0.01, total_s=0.02)


def failed(code: int | None = None, timed_out: bool = False, no_route: bool = False) -> ProbeResult:
    return ProbeResult(TARGET, connected=False, connect_errno=code, connect_timed_out=timed_out, no_route=no_route)


@pytest.mark.parametrize(
    ("result", "verdict", "shown"),
    [
        (connected(b"hello\n", Ending.EOF), Verdict.OK, "received 'hello\\n', then end-of-stream"),
        (connected(b"", Ending.EOF), Verdict.CLOSED_WITHOUT_DATA, "closed (FIN) before any byte"),
        (connected(b"", Ending.RESET), Verdict.CLOSED_WITHOUT_DATA, "reset (RST) before any byte"),
        (connected(b"hel", Ending.RESET), Verdict.RESET, "reset (RST) after 3 of 6 bytes"),
        (connected(b"hello\n", Ending.RESET), Verdict.RESET, "reset (RST) instead of a close"),
        (connected(b"HELO\n", Ending.EOF), Verdict.WRONG_GREETING, "received 'HELO\\n', expected 'hello\\n'"),
        (connected(b"hell", Ending.EOF), Verdict.TRUNCATED, "received 'hell', expected 'hello\\n'"),
        (connected(b"hell", Ending.DEADLINE), Verdict.TRUNCATED, "then nothing until the deadline"),
        (connected(b"hello\nworld", Ending.EOF), Verdict.EXTRA_DATA, "5 extra bytes"),
        (connected(b"hello\n" * 1000, Ending.CAPPED), Verdict.EXTRA_DATA, "extra bytes"),
        (connected(b"hello\n", Ending.DEADLINE), Verdict.NO_CLOSE, "still open"),
        (connected(b"", Ending.DEADLINE), Verdict.SILENT, "no byte and no close"),
        (failed(errno.ECONNREFUSED), Verdict.REFUSED, "connection refused"),
        (failed(timed_out=True), Verdict.TIMEOUT, "no answer to the connection attempt"),
        (failed(errno.ETIMEDOUT), Verdict.TIMEOUT, "no answer"),
        (failed(errno.ENETUNREACH, no_route=True), Verdict.UNREACHABLE, "this client has no route"),
        (
            failed(errno.EHOSTUNREACH),
            Verdict.UNREACHABLE,
            "a router on the way answered that 192.0.2.1 is unreachable (ICMP): EHOSTUNREACH (No route to host)",
        ),
        (
            failed(errno.ENETUNREACH),
            Verdict.UNREACHABLE,
            "a router on the way answered that 192.0.2.1 is unreachable (ICMP): ENETUNREACH (Network is unreachable)",
        ),
        (
            failed(errno.EINVAL, no_route=True),
            Verdict.UNREACHABLE,
            "this client has no route to 192.0.2.1 (a blackhole route): EINVAL (Invalid argument)",
        ),
        (
            failed(errno.EACCES, no_route=True),
            Verdict.UNREACHABLE,
            "this client has no route to 192.0.2.1 (a prohibit route or a local firewall rule): "
            "EACCES (Permission denied)",
        ),
        (failed(errno.EADDRNOTAVAIL), Verdict.UNREACHABLE, "EADDRNOTAVAIL"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v else None,
)
def test_each_verdict_with_its_explanation(result, verdict, shown):
    outcome = judge(result, EXPECT)
    assert outcome.verdict is verdict
    assert shown in outcome.explanation
    assert "\n" not in outcome.explanation


def test_verdict_values_are_the_documented_names():
    assert [v.value for v in Verdict] == [
        "ok", "closed-without-data", "reset", "wrong-greeting", "truncated", "extra-data",
        "no-close", "silent", "refused", "timeout", "unreachable", "tls-handshake-failed", "tls-untrusted",
        "tls-name-mismatch", "tls-expired", "tls-not-spoken",
    ]  # fmt: skip


@given(expect=st.binary(min_size=1, max_size=32), got=st.binary(max_size=40), ending=st.sampled_from(Ending))
def test_byte_comparison_rules_hold_for_any_bytes(expect, got, ending):
    verdict = judge(connected(got, ending), expect).verdict
    if verdict is Verdict.OK:
        assert got == expect
        assert ending is Ending.EOF
    if got and not expect.startswith(got) and not got.startswith(expect):
        assert verdict is Verdict.WRONG_GREETING
    if got.startswith(expect) and len(got) > len(expect):
        assert verdict is Verdict.EXTRA_DATA
    if got and len(got) < len(expect) and expect.startswith(got):
        assert verdict in {Verdict.TRUNCATED, Verdict.RESET}
    if not got:
        assert verdict in {Verdict.CLOSED_WITHOUT_DATA, Verdict.SILENT}


@given(expect=st.binary(min_size=1, max_size=32))
def test_exact_greeting_then_eof_is_ok(expect):
    assert judge(connected(expect, Ending.EOF), expect).verdict is Verdict.OK


def tls(failure=None, detail="", name="hello-server.fly.dev", handshake_s=0.01) -> TlsObservation:
    return TlsObservation(name, handshake_s, failure=failure, detail=detail)


def connected_tls(observation: TlsObservation, received: bytes = b"", ending: Ending = Ending.STOPPED) -> ProbeResult:
    return ProbeResult(TARGET, connected=True, received=received, ending=ending, total_s=0.25, tls=observation)


@pytest.mark.parametrize(
    ("result", "verdict", "explanation"),
    [
        (connected_tls(tls(TlsFailure.UNTRUSTED, "unable to get local issuer certificate")), Verdict.TLS_UNTRUSTED,
         "the certificate is not trusted: unable to get local issuer certificate (SNI hello-server.fly.dev)"),
        (connected_tls(tls(TlsFailure.UNTRUSTED, "self-signed certificate", name=None)), Verdict.TLS_UNTRUSTED,
         "the certificate is not trusted: self-signed certificate (no SNI)"),
        (connected_tls(tls(TlsFailure.NAME_MISMATCH, "Hostname mismatch")), Verdict.TLS_NAME_MISMATCH,
         "the certificate does not carry the name hello-server.fly.dev: Hostname mismatch"),
        (connected_tls(tls(TlsFailure.EXPIRED, "certificate has expired")), Verdict.TLS_EXPIRED,
         "the certificate has expired: certificate has expired (SNI hello-server.fly.dev)"),
        (connected_tls(tls(TlsFailure.NOT_TLS, "wrong_version_number")), Verdict.TLS_NOT_SPOKEN,
         "the server answered the ClientHello with bytes that are not TLS (wrong_version_number)"),
        (connected_tls(tls(TlsFailure.HANDSHAKE, "unrecognized_name")), Verdict.TLS_HANDSHAKE_FAILED,
         "the server ended the handshake with the alert unrecognized_name (SNI hello-server.fly.dev)"),
        (connected_tls(tls(TlsFailure.HANDSHAKE, "the server closed the connection during the handshake")),
         Verdict.TLS_HANDSHAKE_FAILED,
         "the server closed the connection during the handshake (SNI hello-server.fly.dev)"),
        (connected_tls(tls(handshake_s=None, detail="no answer to the ClientHello"), ending=Ending.DEADLINE),
         Verdict.SILENT, "connected, then no answer to the TLS ClientHello within 250 ms"),
        (connected_tls(tls(), b"hello\n", Ending.EOF), Verdict.OK, "received 'hello\\n', then end-of-stream"),
        (ProbeResult(TARGET, connected=False, connect_errno=errno.ECONNREFUSED, total_s=0.002), Verdict.REFUSED,
         "connection refused: nothing listens on that address and port"),
        (ProbeResult(TARGET, connected=False, connect_timed_out=True, total_s=3.0), Verdict.TIMEOUT,
         "no answer to the connection attempt within 3000 ms"),
        (ProbeResult(TARGET, connected=False, connect_errno=errno.EADDRNOTAVAIL), Verdict.UNREACHABLE,
         "cannot reach 192.0.2.1: EADDRNOTAVAIL (Cannot assign requested address)"),
        (ProbeResult(TARGET, connected=False, connect_errno=errno.EIO), Verdict.UNREACHABLE,
         "connect failed: EIO (Input/output error)"),
        (ProbeResult(TARGET, connected=False, connect_errno=None), Verdict.UNREACHABLE,
         "connect failed: unknown error"),
        (ProbeResult(TARGET, connected=False, connect_errno=errno.ENETUNREACH, no_route=True), Verdict.UNREACHABLE,
         "this client has no route to 192.0.2.1 (no route to that network): ENETUNREACH (Network is unreachable)"),
        (ProbeResult(TARGET, connected=False, connect_errno=9999, no_route=True), Verdict.UNREACHABLE,
         "this client has no route to 192.0.2.1 (no route): 9999 (Unknown error 9999)"),
        (ProbeResult(TARGET, connected=True, ending=Ending.DEADLINE, total_s=0.0004), Verdict.SILENT,
         "connected, then no byte and no close within 0 ms"),
        (ProbeResult(TARGET, connected=True, received=b"hello\n", ending=Ending.DEADLINE, total_s=1.5),
         Verdict.NO_CLOSE, "received 'hello\\n', but the connection was still open after 1500 ms"),
    ],
)  # fmt: skip
def test_whole_explanations(result, verdict, explanation):
    assert (judge(result, EXPECT).verdict, judge(result, EXPECT).explanation) == (verdict, explanation)


@pytest.mark.parametrize(
    ("expect", "ending", "verdict"),
    [
        # a met prefix or regex whose read stopped at the cap: the server's close is unseen, never a failure
        (Expectation(b"+OK", Match.PREFIX), Ending.CAPPED, Verdict.OK),
        (Expectation(rb"^\+OK", Match.REGEX), Ending.CAPPED, Verdict.OK),
        # the look-alikes: the connection seen still open is no close; exact bytes followed by more are extra
        (Expectation(b"+OK", Match.PREFIX), Ending.DEADLINE, Verdict.NO_CLOSE),
        (Expectation(b"+OK", Match.EXACT), Ending.CAPPED, Verdict.EXTRA_DATA),
    ],
    ids=["prefix-capped", "regex-capped", "prefix-still-open", "exact-capped"],
)
def test_a_capped_read_is_never_the_reason_a_met_expectation_fails(expect, ending, verdict):
    outcome = judge(connected(b"+OK" + b"x" * 5000, ending), expect)
    assert outcome.verdict is verdict
    if verdict is Verdict.OK:
        assert outcome.explanation.endswith("(5,003 bytes read, the most a probe reads)")


def test_long_received_bytes_are_shortened_with_their_size_and_short_ones_shown_whole():
    long = judge(connected(b"+OK" + b"x" * 5000, Ending.EOF), b"hello\n")
    short = judge(connected(b"+OK\r\n", Ending.EOF), b"hello\n")  # the look-alike: shown whole
    assert long.explanation == f"received '+OK{'x' * 125}...' (5,003 bytes), expected 'hello\\n'"
    assert short.explanation == "received '+OK\\r\\n', expected 'hello\\n'"
    assert long.result.received == b"+OK" + b"x" * 5000  # the report keeps them whole
