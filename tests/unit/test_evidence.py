"""Each finding's evidence, condition by condition (issue 25): a scenario that makes the
finding, then the same scenario with one condition taken away, which must not make it (and
makes its look-alike where there is one). On plain data: the report corpus's helpers.

A row is (the condition taken away, the outcomes and resolution without it, the codes the
diagnosis then gives). A rule that stopped checking one condition fails its row.
"""

from __future__ import annotations

import pytest
from test_report_corpus import NO_ROUTE, REFUSED, V4, V6, aliased, dns, report, seen

from tcpreach.model import DnsStatus, Verdict

V4B = "66.241.125.64"


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
            ("the kernel's own route (not a router's ICMP)",
             lambda: report(dns(host="example.com"), [seen(V4), seen(V6, b"", connected=False, connect_errno=113,
                                                                       ending=None, connect_s=None)]),
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
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(EVIDENCE))
def test_each_finding_is_made_by_its_scenario(code):
    scenario, _ = EVIDENCE[code]
    assert code in codes(scenario())


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
