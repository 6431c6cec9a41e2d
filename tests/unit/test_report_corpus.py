"""Reports of every shape, built from plain data, each compared whole with what a user
reads: the terminal text, the JSON document and each failing test's message.

The expected output lives in ``golden/report.json``; after a deliberate change, regenerate
it with ``TCPREACH_UPDATE_GOLDEN=1 pytest tests/unit/test_report_corpus.py`` and read the diff.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from tcpreach.dialogue import dialogue, parse_step
from tcpreach.expectation import Expectation, Match
from tcpreach.judging.diagnosis import diagnose
from tcpreach.judging.verdict import judge
from tcpreach.model import (
    DnsAnswer,
    DnsStatus,
    Ending,
    Exchange,
    Family,
    HostReport,
    ProbeResult,
    Resolution,
    Source,
    Target,
    TlsFailure,
    TlsObservation,
    Verdict,
)
from tcpreach.report.document import dump_report, load_report
from tcpreach.report.text import failure_message, format_report, transcript

GOLDEN = "report.json"  # in golden/, see conftest.py
V4, V6 = "66.241.125.63", "2a09:8280:1::c5:a273:0"
CERT = {"subject_names": ("hello-server.fly.dev",), "issuer": "commonName=R11", "expires_in_days": 61.5}


def dns(a: tuple[str, ...] | DnsStatus = (V4,), aaaa: tuple[str, ...] | DnsStatus = (V6,), **extra: Any):
    def answer(family: Family, value: tuple[str, ...] | DnsStatus) -> DnsAnswer:
        if isinstance(value, DnsStatus):
            return DnsAnswer(family, value, detail=f"{value} from the stub")
        return DnsAnswer(family, DnsStatus.OK if value else DnsStatus.NO_ANSWER, value)

    host = extra.pop("host", "hello-server.fly.dev")
    return Resolution(host, resolver="127.0.0.1:5353", dns=(answer(Family.IPV4, a), answer(Family.IPV6, aaaa)),
                      **extra)  # fmt: skip


def aliased(resolution: Resolution, *names: str) -> Resolution:
    """The resolution of an alias (CNAME) of ``names``."""
    return dataclasses.replace(resolution, dns=tuple(dataclasses.replace(a, cnames=names) for a in resolution.dns))


def seen(address: str, received: bytes = b"hello\n", **fields: Any) -> ProbeResult:
    family = Family.of(address)
    defaults: dict[str, Any] = {"connected": True, "ending": Ending.EOF, "connect_s": 0.0123, "first_byte_s": 0.0161,
                                "total_s": 0.0172}  # fmt: skip
    if not received:
        defaults["first_byte_s"] = None
    defaults.update(fields)
    source = fields.pop("source", Source.DNS)
    defaults.pop("source", None)
    return ProbeResult(Target(family, address, 1848, source), received=received, **defaults)


def REFUSED(address: str) -> ProbeResult:  # noqa: N802 - reads like the verdict it makes
    return seen(address, b"", connected=False, connect_errno=111, ending=None, connect_s=None, total_s=0.0003)


def NO_ROUTE(address: str) -> ProbeResult:  # noqa: N802
    return seen(address, b"", connected=False, connect_errno=101, no_route=True, ending=None, connect_s=None)


SMTP = dialogue((), "smtp")
CHALLENGE = dialogue(tuple(map(parse_step, (r"expect-regex:^NONCE (\d+)", r"send:ECHO ${1}\r\n",
                                            r"expect:OK\r\n"))))  # fmt: skip
_BANNER = b"220 mail.example ESMTP\r\n"
_EHLO = b"250-mail.example\r\n250 STARTTLS\r\n"
SMTP_UPGRADE = (Exchange(0.0131, "received", _BANNER), Exchange(0.0132, "sent", b"EHLO tcpreach.invalid\r\n"),
                Exchange(0.0140, "received", _EHLO), Exchange(0.0141, "sent", b"STARTTLS\r\n"))  # fmt: skip
MAIL_CERT = {"subject_names": ("mail.example",), "issuer": "commonName=R11", "expires_in_days": 40.0}


def report(
    resolution: Resolution,
    results: list[ProbeResult],
    expectation: Expectation | None = None,
    failed: dict[str, tuple[Verdict, ...]] | None = None,
    **kw: Any,
):
    """``failed``: per address, the verdicts of attempts that failed before the deciding one."""
    expect = expectation or Expectation()
    outcomes = tuple(judge(r, expect) for r in results)
    outcomes = tuple(dataclasses.replace(o, failed_attempts=(failed or {}).get(o.target.address, ())) for o in outcomes)
    findings = diagnose(resolution, outcomes, **{"sent": expect.sends, **kw})
    return HostReport(resolution.host, 1848, expect, resolution, outcomes, findings)


# fmt: off
CASES: dict[str, Callable[[], HostReport]] = {
    "shared-ipv4": lambda: report(dns(), [seen(V4, b""), seen(V6)]),
    "shared-ipv4-predicted": lambda: report(dns(), [seen(V4, b""), seen(V6)], predicted_dedicated_ipv4=True),
    "all-ok-after-retries": lambda: report(dns(), [seen(V4, attempts=3, elapsed_s=1.25), seen(V6)]),
    "literal": lambda: report(
        Resolution("127.0.0.1", literal=True), [seen("127.0.0.1", connect_s=0.0004, source=Source.LITERAL)]
    ),
    "refused-and-timeout": lambda: report(
        dns(host="example.com"),
        [
            seen(V4, b"", connected=False, connect_errno=111, ending=None, connect_s=None, total_s=0.0002),
            seen(V6, b"", connected=False, connect_timed_out=True, ending=None, connect_s=None, total_s=1.0),
        ],
    ),
    "shared-ipv4-beside-a-dedicated-one": lambda: report(
        dns(a=(V4, "137.66.1.2")), [seen(V4, b""), seen("137.66.1.2"), seen(V6)]
    ),
    "intermittent-backend": lambda: report(
        dns(host="example.com"), [seen(V4, attempts=2, attempt=2), seen(V6)],
        failed={V4: (Verdict.CLOSED_WITHOUT_DATA,)},
    ),
    "lossy-path": lambda: report(
        dns(), [seen(V4, attempts=3, attempt=3), seen(V6)], failed={V4: (Verdict.TIMEOUT, Verdict.SILENT)}
    ),
    "custom-domain-on-fly": lambda: report(aliased(dns(host="hello.example.org"), "hello-server.fly.dev"),
                                           [seen(V4, b""), seen(V6)]),
    "dangling-cname": lambda: report(
        aliased(dns(a=DnsStatus.NXDOMAIN, aaaa=DnsStatus.NXDOMAIN, host="old.example.org"), "deleted-app.fly.dev"), []
    ),
    "tls-not-verified": lambda: report(
        dns(), [seen(V4, tls=TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", None, verified=False, **CERT)),
                seen(V6, tls=TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", None, verified=False, **CERT))],
    ),
    "no-address": lambda: report(dns(a=(), aaaa=(), host="new-app.fly.dev"), []),
    "nxdomain": lambda: report(dns(a=DnsStatus.NXDOMAIN, aaaa=DnsStatus.NXDOMAIN, host="missing.fly.dev"), []),
    "no-aaaa-and-a-system-view": lambda: report(
        dns(aaaa=(), host="example.com", system=(V4, "203.0.113.9")), [seen(V4)]
    ),
    "international-name": lambda: report(
        dns(host="xn--bcher-kva.example", unicode_host="bücher.example"), [seen(V4), seen(V6)]
    ),
    "wrong-and-truncated-and-extra": lambda: report(
        dns(host="example.com", a=(V4, "66.241.125.64")),
        [seen(V4, b"SSH-2.0-OpenSSH_9.2\r\n"), seen("66.241.125.64", b"hel"), seen(V6, b"hello\nand more\n")],
    ),
    "silent-no-close-reset": lambda: report(
        dns(host="example.com", a=(V4, "66.241.125.64")),
        [
            seen(V4, b"", ending=Ending.DEADLINE, total_s=1.0),
            seen("66.241.125.64", b"hello\n", ending=Ending.DEADLINE),
            seen(V6, b"hel", ending=Ending.RESET),
        ],
    ),
    "banner-kept-open": lambda: report(
        dns(host="mail.example"),
        [seen(V4, b"+OK POP3 ready\r\n", ending=Ending.STOPPED), seen(V6, b"-ERR busy\r\n")],
        Expectation(b"+OK", Match.PREFIX, keep_open=True),
    ),
    "request-and-regex": lambda: report(
        dns(host="redis.example"),
        [seen(V4, b"+PONG\r\n"), seen(V6, b"-NOAUTH\r\n")],
        Expectation(rb"^\+PONG\r\n$", Match.REGEX, send=b"PING\r\n"),
    ),
    "tls": lambda: report(
        dns(),
        [
            seen(V4, tls=TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", "h2", **CERT)),
            seen(
                V6, tls=TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", None, **{**CERT, "expires_in_days": 3})
            ),
        ],
    ),
    "tls-without-sni": lambda: report(
        Resolution("127.0.0.1", literal=True),
        [seen("127.0.0.1", source=Source.LITERAL, tls=TlsObservation(None, 0.001, "TLSv1.2", **CERT))],
    ),
    "tls-failures": lambda: report(
        dns(host="example.com", a=(V4, "66.241.125.64")),
        [
            seen(
                V4,
                b"",
                tls=TlsObservation(
                    "example.com",
                    failure=TlsFailure.HANDSHAKE,
                    detail="the server ended the handshake with the alert unrecognized_name",
                ),
            ),
            seen(
                "66.241.125.64",
                b"",
                tls=TlsObservation("example.com", failure=TlsFailure.EXPIRED, detail="certificate has expired"),
            ),
            seen(
                V6,
                b"",
                tls=TlsObservation(
                    "example.com",
                    failure=TlsFailure.NAME_MISMATCH,
                    detail="Hostname mismatch, certificate is not valid for 'example.com'",
                ),
            ),
        ],
    ),
    "client-without-ipv6": lambda: report(
        dns(), [seen(V4), seen(V6, b"", connected=False, connect_errno=101, no_route=True, ending=None, connect_s=None)]
    ),
    "invalid-name": lambda: report(
        Resolution("bad_name!", invalid_name="the label 'bad_name!' holds a character a host name cannot"), []
    ),
    "a-timed-out-while-aaaa-answered": lambda: report(dns(a=DnsStatus.TIMEOUT), [seen(V6)]),
    "dns-errors": lambda: report(dns(a=DnsStatus.NO_NAMESERVERS, aaaa=DnsStatus.ERROR, host="example.com"), []),
    "both-timed-out": lambda: report(dns(a=DnsStatus.TIMEOUT, aaaa=DnsStatus.TIMEOUT), []),
    "no-a": lambda: report(dns(a=()), [seen(V6)]),
    "ipv4-only-listener": lambda: report(dns(host="example.com"), [seen(V4), REFUSED(V6)]),
    "ipv6-only-listener": lambda: report(dns(host="example.com"), [REFUSED(V4), seen(V6)]),
    "client-without-ipv4": lambda: report(dns(), [NO_ROUTE(V4), seen(V6)]),
    "suspected-ipv4-only": lambda: report(dns(aaaa=()), [seen(V4, b"")]),
    "suspected-ipv6-refused": lambda: report(dns(), [seen(V4, b""), REFUSED(V6)]),
    "suspected-no-ipv6-route": lambda: report(dns(), [seen(V4, b""), NO_ROUTE(V6)]),
    "edge-no-app": lambda: report(dns(), [seen(V4, b""), seen(V6, b"")]),
    "closed-off-fly": lambda: report(dns(host="example.com", aaaa=()), [seen(V4, b"")]),
    "fly-tls-sni-only": lambda: report(
        dns(), [seen(V4, tls=TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", None, **CERT)),
                seen(V6, tls=TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", None, **CERT))],
        plain_ipv4=(judge(seen(V4, b""), Expectation()),),
    ),
    "tls-names-and-precise-timings": lambda: report(
        dns(host="example.com", system=()),
        [seen(V4, connect_s=0.01234567, first_byte_s=0.0201234, total_s=0.02345678,
              tls=TlsObservation("example.com", 0.015, "TLSv1.3", None, ("example.com", "www.example.com"),
                                 "commonName=R11", 80)),
         seen(V6, tls=TlsObservation("example.com", 0.015, "TLSv1.3", None, (), "commonName=R11", 80))],
    ),
    "dialogue-with-a-capture": lambda: report(
        dns(host="challenge.example", aaaa=()),
        [seen(V4, b"OK\r\n", step=3, exchange=(Exchange(0.0131, "received", b"NONCE 4711\r\n"),
                                                Exchange(0.0132, "sent", b"ECHO 4711\r\n"),
                                                Exchange(0.0161, "received", b"OK\r\n")))],
        CHALLENGE,
    ),
    "smtp-starttls-ok-and-refused": lambda: report(
        dns(host="mail.example"),
        [seen(V4, b"221 2.0.0 Bye\r\n", step=10, total_s=0.0412, exchange=(
            *SMTP_UPGRADE, Exchange(0.0301, "received", b"220 2.0.0 Ready\r\n"), Exchange(0.0352, "tls"),
            Exchange(0.0353, "sent", b"EHLO tcpreach.invalid\r\n"), Exchange(0.0391, "received", b"250 OK\r\n"),
            Exchange(0.0392, "sent", b"QUIT\r\n"), Exchange(0.0410, "received", b"221 2.0.0 Bye\r\n")),
            tls=TlsObservation("mail.example", 0.0352, "TLSv1.3", **MAIL_CERT)),
         seen(V6, b"454 4.7.0 TLS not available\r\n", step=5, ending=Ending.STOPPED, exchange=(
             *SMTP_UPGRADE, Exchange(0.0150, "received", b"454 4.7.0 TLS not available\r\n")))],
        SMTP,
    ),
    "smtp-starttls-untrusted-and-closed-mid-dialogue": lambda: report(
        dns(host="mail.example"),
        [seen(V4, b"", step=6, ending=Ending.STOPPED, first_byte_s=0.0131, exchange=SMTP_UPGRADE,
              tls=TlsObservation("mail.example", 0.0302, failure=TlsFailure.UNTRUSTED,
                                 detail="self-signed certificate")),
         seen(V6, b"", step=3, first_byte_s=0.0131, exchange=SMTP_UPGRADE[:2])],
        SMTP,
    ),
    # the wire as -v keeps it: TLS from the connect, a write that failed, a silent handshake,
    # a certificate without a date, two aliases, the address connected from
    "tls-transcript-and-a-failed-write": lambda: report(
        aliased(dns(host="mail.example"), "edge.example.net", "hello-server.fly.dev"),
        [seen(V4, b"hi\r\n", local_address="192.0.2.10", send_errno=32,
              tls=TlsObservation("mail.example", 0.0140, "TLSv1.3", subject_names=("mail.example",)),
              exchange=(Exchange(0.0140, "tls"), Exchange(0.0141, "sent", b"HELLO\r\n"),
                        Exchange(0.0161, "received", b"hi\r\n"))),
         seen(V6, b"", ending=Ending.DEADLINE, local_address="2001:db8::10", total_s=1.5,
              tls=TlsObservation("mail.example", detail="no answer to the ClientHello"),
              exchange=(Exchange(0.0001, "sent", b"x"),))],
        Expectation(b"hi\r\n", send=b"HELLO\r\n"),
    ),
    "a-silent-server-asked-and-twice-refused": lambda: report(
        dns(host="example.com", a=(V4, "66.241.125.64", "66.241.125.65")),
        [seen(V4, b"", ending=Ending.DEADLINE, total_s=3.0, send_errno=104),
         REFUSED("66.241.125.64"), REFUSED("66.241.125.65"), seen(V6, b"", ending=Ending.DEADLINE, total_s=3.0)],
        Expectation(b"+PONG\r\n", send=b"PING\r\n"),
    ),
    "two-failures-of-one-kind": lambda: report(
        dns(host="example.com", a=(V4, "66.241.125.64")),
        [seen(V4, b"", ending=Ending.DEADLINE, total_s=1.0), seen("66.241.125.64", b"", ending=Ending.DEADLINE,
                                                                   total_s=1.0), seen(V6)],
    ),
}
# fmt: on


def rendered(name: str) -> dict[str, Any]:
    built = CASES[name]()
    return {
        "text": format_report(built).splitlines(),
        "json": json.loads(json.dumps(dump_report(built))),
        "failures": [failure_message(built, o) for o in built.outcomes if o.verdict != "ok"],
        "transcript": transcript(built).splitlines(),
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_report_reads_exactly_as_recorded(golden, name):
    golden.check(name, rendered(name))


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_golden_document_fits_the_schema_and_reads_back_as_its_report(golden, report_schema, name):
    doc = golden.stored[name]["json"]
    report_schema.validate(doc)
    assert load_report(doc) == CASES[name]()


def test_the_golden_file_holds_the_cases_and_nothing_else(golden):
    golden.assert_holds(CASES)
