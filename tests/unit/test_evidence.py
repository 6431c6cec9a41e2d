"""Each finding's evidence, condition by condition (issue 25): a scenario that makes the
finding, then the same scenario with one condition taken away, which must not make it (and
makes its look-alike where there is one). On plain data: the report corpus's helpers.

A row is (the condition taken away, the outcomes and resolution without it, the codes the
diagnosis then gives). A rule that stopped checking one condition fails its row.
"""

from __future__ import annotations

import pytest
from test_report_corpus import NO_ROUTE, REFUSED, V4, V6, aliased, dns, report, seen

from tcpreach.expectation import Expectation
from tcpreach.judging.verdict import judge
from tcpreach.model import DnsStatus, Resolution, TlsObservation, Verdict

V4B = "66.241.125.64"
V6B = "2a09:8280:1::c5:a273:1"


def ICMP(address: str):  # noqa: N802 - reads like the verdict it makes
    """Unreachable, said by a router on the way (EHOSTUNREACH): not this client's route."""
    return seen(address, b"", connected=False, connect_errno=113, ending=None, connect_s=None)


EXAMPLE = "example.com"


def tls(days: float | None = 61.5, *, name: str | None = "hello-server.fly.dev", verified: bool = True):
    """What a handshake that completed showed."""
    return TlsObservation(name, 0.03, "TLSv1.3", subject_names=("hello-server.fly.dev",), issuer="commonName=R11",
                          expires_in_days=days, verified=verified)  # fmt: skip


def over_tls(*results, plain=()):
    """A report of ``results`` probed over TLS, with plain-TCP probes of the IPv4 beside."""
    return report(dns(), list(results), plain_ipv4=tuple(judge(r, Expectation()) for r in plain))


def codes(host_report) -> list[str]:
    return [str(f.code) for f in host_report.findings]


# Each finding: the scenario that makes it, then (condition removed, scenario, codes).
EVIDENCE = {
    "fly-shared-ipv4": (
        lambda: report(dns(), [seen(V4, b""), seen(V6)]),
        [
            # off Fly, a close without data beside IPv6 ok is still the pattern
            ("a Fly name (or the lint's prediction)",
             lambda: report(dns(host="example.com"), [seen(V4, b""), seen(V6)]), ["fly-shared-ipv4"]),
            ("IPv6 answering in this run", lambda: report(dns(), [seen(V4, b""), seen(V6, b"")]), ["edge-no-app"]),
            ("IPv6 probed at all", lambda: report(dns(aaaa=()), [seen(V4, b"")]),
             ["fly-shared-ipv4-suspected", "no-aaaa"]),
            ("IPv6 tested from here", lambda: report(dns(), [seen(V4, b""), NO_ROUTE(V6)]),
             ["fly-shared-ipv4-suspected", "client-without-ipv6"]),
            ("every IPv4 address closing", lambda: report(dns(a=(V4, V4B)), [seen(V4, b""), seen(V4B), seen(V6)]),
             ["fly-shared-ipv4"]),  # the shared one beside a dedicated one: named alone
            ("a close, not a refusal", lambda: report(dns(), [REFUSED(V4), seen(V6)]), ["ipv6-only-listener"]),
        ],
    ),
    "edge-no-app": (
        lambda: report(dns(), [seen(V4, b""), seen(V6, b"")]),
        [
            ("IPv6 closing too", lambda: report(dns(), [seen(V4, b""), seen(V6)]), ["fly-shared-ipv4"]),
            ("IPv4 closing too", lambda: report(dns(), [seen(V4), seen(V6, b"")]), ["failing-targets"]),
            ("closes, not refusals", lambda: report(dns(), [REFUSED(V4), REFUSED(V6)]), ["service-down"]),
        ],
    ),
    "ipv4-only-listener": (
        lambda: report(dns(host="example.com"), [seen(V4), REFUSED(V6)]),
        [
            ("IPv4 answering", lambda: report(dns(host="example.com"), [REFUSED(V4), REFUSED(V6)]), ["service-down"]),
            ("IPv6 refused, not closed",
             lambda: report(dns(host="example.com"), [seen(V4), seen(V6, b"")]), ["failing-targets"]),
            ("IPv6 refused, not unroutable",
             lambda: report(dns(host="example.com"), [seen(V4), NO_ROUTE(V6)]), ["client-without-ipv6"]),
        ],
    ),
    "client-without-ipv6": (
        lambda: report(dns(host="example.com"), [seen(V4), NO_ROUTE(V6)]),
        [
            ("every IPv6 address without this client's route (one a router's ICMP)",
             lambda: report(dns(host=EXAMPLE, aaaa=(V6, V6B)), [seen(V4), NO_ROUTE(V6), ICMP(V6B)]),
             ["failing-targets"]),
            ("every IPv6 address unreachable (one answering)",
             lambda: report(dns(host=EXAMPLE, aaaa=(V6, V6B)), [seen(V4), NO_ROUTE(V6), seen(V6B)]),
             ["failing-targets"]),
            ("the kernel's own route (not a router's ICMP)",
             lambda: report(dns(host=EXAMPLE), [seen(V4), ICMP(V6)]),
             ["failing-targets"]),
        ],
    ),
    "no-aaaa": (
        lambda: report(dns(host="example.com", aaaa=()), [seen(V4)]),
        [
            ("AAAA answered (empty), not timed out",
             lambda: report(dns(host="example.com", aaaa=DnsStatus.TIMEOUT), [seen(V4)]), ["dns-timeout"]),
            ("A answered with addresses",
             lambda: report(dns(host="example.com", a=(), aaaa=()), []), ["no-address"]),
        ],
    ),
    "no-address": (
        lambda: report(dns(host="example.com", a=(), aaaa=()), []),
        [
            ("the name existing (NOERROR)",
             lambda: report(dns(host="example.com", a=DnsStatus.NXDOMAIN, aaaa=DnsStatus.NXDOMAIN), []), ["nxdomain"]),
            ("both queries answered", lambda: report(dns(host="example.com", a=(), aaaa=DnsStatus.TIMEOUT), []),
             ["dns-timeout"]),
        ],
    ),
    "service-down": (
        lambda: report(dns(host="example.com"), [REFUSED(V4), REFUSED(V6)]),
        [
            ("every address refused (one answering)",
             lambda: report(dns(host="example.com"), [REFUSED(V4), seen(V6)]), ["ipv6-only-listener"]),
            ("refusals, not closes",
             lambda: report(dns(host="example.com"), [seen(V4, b""), seen(V6, b"")]), ["edge-no-app"]),
        ],
    ),
    "dangling-cname": (
        lambda: report(aliased(dns(host="old.example.org", a=DnsStatus.NXDOMAIN, aaaa=DnsStatus.NXDOMAIN),
                               "deleted-app.fly.dev"), []),
        [
            ("an alias at all", lambda: report(dns(host="old.example.org", a=DnsStatus.NXDOMAIN,
                                                   aaaa=DnsStatus.NXDOMAIN), []), ["nxdomain"]),
            ("the target missing", lambda: report(aliased(dns(host="old.example.org"), "app.fly.dev"),
                                                  [seen(V4), seen(V6)]), ["all-ok"]),
            ("the target missing (NXDOMAIN), not without records",
             lambda: report(aliased(dns(host="old.example.org", a=(), aaaa=()), "app.example.net"), []),
             ["no-address"]),
        ],
    ),
    "dns-timeout": (
        lambda: report(dns(a=DnsStatus.TIMEOUT), [seen(V6)]),
        [
            ("a query left unanswered", lambda: report(dns(a=()), [seen(V6)]), ["no-a", "all-ok"]),
            ("an unanswered query, not an error",
             lambda: report(dns(a=DnsStatus.ERROR, aaaa=DnsStatus.ERROR), []), ["dns-error"]),
        ],
    ),
    "invalid-name": (
        lambda: report(Resolution("-bad-.example", invalid_name="a label starts with '-'"), []),
        [
            ("a name that is not valid", lambda: report(dns(host=EXAMPLE, a=DnsStatus.NXDOMAIN,
                                                              aaaa=DnsStatus.NXDOMAIN), []), ["nxdomain"]),
        ],
    ),
    "nxdomain": (
        lambda: report(dns(host=EXAMPLE, a=DnsStatus.NXDOMAIN, aaaa=DnsStatus.NXDOMAIN), []),
        [
            ("NXDOMAIN for both, not a lost query",
             lambda: report(dns(host=EXAMPLE, a=DnsStatus.NXDOMAIN, aaaa=DnsStatus.TIMEOUT), []), ["dns-timeout"]),
            ("no alias in the way", lambda: report(aliased(dns(host=EXAMPLE, a=DnsStatus.NXDOMAIN,
                                                               aaaa=DnsStatus.NXDOMAIN), "gone.example.net"), []),
             ["dangling-cname"]),
        ],
    ),
    "dns-error": (
        lambda: report(dns(host=EXAMPLE, a=DnsStatus.ERROR, aaaa=DnsStatus.ERROR), []),
        [
            ("a failure, not an unanswered query",
             lambda: report(dns(host=EXAMPLE, a=DnsStatus.TIMEOUT, aaaa=DnsStatus.TIMEOUT), []), ["dns-timeout"]),
            ("a query that failed (the other one answered)",
             lambda: report(dns(host=EXAMPLE, a=DnsStatus.ERROR), [seen(V6)]), ["dns-error"]),
            ("any query failing", lambda: report(dns(host=EXAMPLE), [seen(V4), seen(V6)]), ["all-ok"]),
        ],
    ),
    "no-a": (
        lambda: report(dns(host=EXAMPLE, a=()), [seen(V6)]),
        [
            ("AAAA with addresses", lambda: report(dns(host=EXAMPLE, a=(), aaaa=()), []), ["no-address"]),
            ("A answered (empty), not timed out",
             lambda: report(dns(host=EXAMPLE, a=DnsStatus.TIMEOUT), [seen(V6)]), ["dns-timeout"]),
            ("A empty", lambda: report(dns(host=EXAMPLE), [seen(V4), seen(V6)]), ["all-ok"]),
        ],
    ),
    "dns-mismatch": (
        lambda: report(dns(host=EXAMPLE, system=(V4, "203.0.113.9")), [seen(V4), seen(V6)]),
        [
            ("the two views differing", lambda: report(dns(host=EXAMPLE, system=(V4, V6)), [seen(V4), seen(V6)]),
             ["all-ok"]),
            ("a family DNS answered (a lost AAAA compares nothing)",
             lambda: report(dns(host=EXAMPLE, aaaa=DnsStatus.TIMEOUT, system=(V4, V6)), [seen(V4)]),
             ["dns-timeout"]),
            ("a system view at all", lambda: report(dns(host=EXAMPLE), [seen(V4), seen(V6)]), ["all-ok"]),
        ],
    ),
    "all-ok": (
        lambda: report(dns(host=EXAMPLE), [seen(V4), seen(V6)]),
        [
            ("every target ok", lambda: report(dns(host=EXAMPLE), [seen(V4), REFUSED(V6)]), ["ipv4-only-listener"]),
            ("no error beside it", lambda: report(dns(host=EXAMPLE, aaaa=DnsStatus.TIMEOUT), [seen(V4)]),
             ["dns-timeout"]),
        ],
    ),
    "fly-shared-ipv4-suspected": (
        lambda: report(dns(aaaa=()), [seen(V4, b"")]),
        [
            ("a Fly name", lambda: report(dns(host=EXAMPLE, aaaa=()), [seen(V4, b"")]),
             ["failing-targets", "no-aaaa"]),
            ("IPv6 not shown to answer", lambda: report(dns(), [seen(V4, b""), seen(V6)]), ["fly-shared-ipv4"]),
            ("IPv6 not failing the same way", lambda: report(dns(), [seen(V4, b""), seen(V6, b"")]),
             ["edge-no-app"]),
            ("every IPv4 address as the edge does", lambda: report(dns(a=(V4, V4B), aaaa=()),
                                                                   [seen(V4, b""), REFUSED(V4B)]),
             ["failing-targets", "failing-targets", "no-aaaa"]),
        ],
    ),
    "ipv6-only-listener": (
        lambda: report(dns(host=EXAMPLE), [REFUSED(V4), seen(V6)]),
        [
            ("IPv6 answering", lambda: report(dns(host=EXAMPLE), [REFUSED(V4), REFUSED(V6)]), ["service-down"]),
            ("IPv4 refused, not closed", lambda: report(dns(host=EXAMPLE), [seen(V4, b""), seen(V6)]),
             ["fly-shared-ipv4"]),
            ("every IPv4 address refused", lambda: report(dns(host=EXAMPLE, a=(V4, V4B)),
                                                          [REFUSED(V4), seen(V4B), seen(V6)]), ["failing-targets"]),
        ],
    ),
    "client-without-ipv4": (
        lambda: report(dns(host=EXAMPLE), [NO_ROUTE(V4), seen(V6)]),
        [
            ("the kernel's own route (not a router's ICMP)",
             lambda: report(dns(host=EXAMPLE), [ICMP(V4), seen(V6)]), ["failing-targets"]),
            ("every IPv4 address without this client's route (one a router's ICMP)",
             lambda: report(dns(host=EXAMPLE, a=(V4, V4B)), [NO_ROUTE(V4), ICMP(V4B), seen(V6)]),
             ["failing-targets"]),
            ("every IPv4 address without a route",
             lambda: report(dns(host=EXAMPLE, a=(V4, V4B)), [NO_ROUTE(V4), seen(V4B), seen(V6)]),
             ["failing-targets"]),
        ],
    ),
    "failing-targets": (
        lambda: report(dns(host=EXAMPLE), [seen(V4, b"SSH-2.0-OpenSSH_9.2\r\n"), seen(V6)]),
        [
            ("a target failing", lambda: report(dns(host=EXAMPLE), [seen(V4), seen(V6)]), ["all-ok"]),
            ("no finding explaining it better", lambda: report(dns(host=EXAMPLE), [REFUSED(V4), seen(V6)]),
             ["ipv6-only-listener"]),
        ],
    ),
    "lossy-path": (
        lambda: report(dns(host=EXAMPLE), [seen(V4, attempts=2, attempt=2), seen(V6)], failed={V4: (Verdict.TIMEOUT,)}),
        [
            ("only failures loss can make",
             lambda: report(dns(host=EXAMPLE), [seen(V4, attempts=2, attempt=2), seen(V6)],
                            failed={V4: (Verdict.TIMEOUT, Verdict.REFUSED)}), ["intermittent"]),
            ("an ok in the end", lambda: report(dns(host=EXAMPLE), [seen(V4, b"", attempts=2), seen(V6)],
                                                failed={V4: (Verdict.TIMEOUT,)}), ["fly-shared-ipv4"]),
            ("a failed attempt before it", lambda: report(dns(host=EXAMPLE), [seen(V4, attempts=2), seen(V6)]),
             ["all-ok"]),
        ],
    ),
    "intermittent": (
        lambda: report(dns(host=EXAMPLE), [seen(V4, attempts=2, attempt=2), seen(V6)],
                       failed={V4: (Verdict.CLOSED_WITHOUT_DATA,)}),
        [
            ("a failure loss cannot make", lambda: report(dns(host=EXAMPLE), [seen(V4, attempts=2, attempt=2),
                                                                             seen(V6)], failed={V4: (Verdict.SILENT,)}),
             ["lossy-path", "all-ok"]),
        ],
    ),
    "tls-expires-soon": (
        lambda: report(dns(), [seen(V4, tls=tls(5.0)), seen(V6, tls=tls(61.5))]),
        [
            ("within the warning days", lambda: report(dns(), [seen(V4, tls=tls(14.5)), seen(V6, tls=tls(61.5))]),
             ["all-ok"]),
            ("an expiry known", lambda: report(dns(), [seen(V4, tls=tls(None)), seen(V6, tls=tls(61.5))]), ["all-ok"]),
        ],
    ),
    "tls-not-verified": (
        lambda: report(dns(), [seen(V4, tls=tls(verified=False)), seen(V6, tls=tls())]),
        [
            ("the chain not checked (--insecure)", lambda: report(dns(), [seen(V4, tls=tls()), seen(V6, tls=tls())]),
             ["all-ok"]),
        ],
    ),
    "tls-no-sni": (
        lambda: report(dns(), [seen(V4, tls=tls(name=None)), seen(V6, tls=tls())]),
        [
            ("no name sent", lambda: report(dns(), [seen(V4, tls=tls()), seen(V6, tls=tls())]), ["all-ok"]),
        ],
    ),
    "fly-tls-sni-only": (
        lambda: over_tls(seen(V4, tls=tls()), seen(V6, tls=tls()), plain=[seen(V4, b"")]),
        [
            ("TLS answering on that IPv4", lambda: over_tls(seen(V4, b"", tls=tls()), seen(V6, tls=tls()),
                                                           plain=[seen(V4, b"")]), ["fly-shared-ipv4"]),
            ("plain TCP failing as the edge does",
             lambda: over_tls(seen(V4, tls=tls()), seen(V6, tls=tls()), plain=[seen(V4)]), ["all-ok"]),
            ("plain TCP failing as the edge does (a refusal is not the edge)",
             lambda: over_tls(seen(V4, tls=tls()), seen(V6, tls=tls()), plain=[REFUSED(V4)]), ["all-ok"]),
            ("an IPv4 address", lambda: over_tls(seen(V4, tls=tls()), seen(V6, tls=tls()), plain=[seen(V6, b"")]),
             ["all-ok"]),
        ],
    ),
}  # fmt: skip


# What each scenario makes, whole: the finding alone, or with the warnings and the summary
# that go with it.
MADE = {code: [code] for code in EVIDENCE} | {
    code: [code, "all-ok"]
    for code in ("no-aaaa", "no-a", "dns-mismatch", "lossy-path", "tls-expires-soon", "tls-not-verified",
                 "tls-no-sni", "fly-tls-sni-only")
} | {"fly-shared-ipv4-suspected": ["fly-shared-ipv4-suspected", "no-aaaa"]}  # fmt: skip


@pytest.mark.parametrize("code", sorted(EVIDENCE))
def test_each_finding_is_made_by_its_scenario(code):
    scenario, _ = EVIDENCE[code]
    assert codes(scenario()) == MADE[code]


def test_every_finding_has_its_evidence_table():
    from test_evidence_lint import EVIDENCE as LINT
    from test_listeners_text import LISTENER_EVIDENCE
    from test_merge import MERGE_EVIDENCE

    from tcpreach.findings import FindingCode

    tables = {
        "live": set(EVIDENCE),
        "lint": {name.split(" (")[0] for name in LINT} | {"toml-syntax", "dockerfile-unusable"},  # files: 2 tests
        "listeners": {str(code) for _, codes in LISTENER_EVIDENCE for code in codes},
        "merge": set(MERGE_EVIDENCE),
    }
    assert sorted(str(c) for c in FindingCode) == sorted(code for codes in tables.values() for code in codes)


@pytest.mark.parametrize(
    ("days", "thresholds", "severity"),
    [(0.0, (14.0, 0.0), "warning"), (13.9, (14.0, 0.0), "warning"), (10.0, (30.0, 14.0), "error"),
     (14.0, (30.0, 14.0), "warning")],
)  # fmt: skip
def test_a_certificate_close_to_expiry_is_soon_from_zero_days_on(days, thresholds, severity):
    made = report(dns(), [seen(V4, tls=tls(days)), seen(V6, tls=tls())], cert_days=thresholds)
    assert [(str(f.code), str(f.severity)) for f in made.findings] == (
        [("tls-expires-soon", severity)] + ([("all-ok", "info")] if severity == "warning" else [])
    )


ROWS = [(code, why, make, found) for code, (_, rows) in EVIDENCE.items() for why, make, found in rows]


@pytest.mark.parametrize(("code", "why", "make", "found"), ROWS, ids=[f"{c}-without-{w}" for c, w, _, _ in ROWS])
def test_taking_one_condition_away_gives_exactly_the_look_alike(code, why, make, found):
    assert codes(make()) == found


def test_an_intermittent_success_needs_a_failure_loss_cannot_make():
    # the evidence of intermittent: ok on a later attempt, after a conclusive failure
    def with_failed(*failed: Verdict) -> list[str]:
        made = report(dns(host="example.com"), [seen(V4, attempts=2, attempt=2), seen(V6)], failed={V4: failed})
        return codes(made)

    assert with_failed(Verdict.CLOSED_WITHOUT_DATA) == ["intermittent"]
    assert with_failed(Verdict.TIMEOUT) == ["lossy-path", "all-ok"]  # loss can make that: at most a warning
    assert with_failed() == ["all-ok"]  # no failed attempt: nothing to claim
