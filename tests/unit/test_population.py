"""Each kind of client's answer, branch by branch, on plain data: the whole ``Population``
(answer, reason, vantages) for every way its rule can go. The merge's golden cases show the
same rules in context; these pin each branch, the reasons' wording included."""

from __future__ import annotations

import pytest

from tcpreach.judging.population import (
    Answer,
    ClientKind,
    Population,
    _broken_ipv6,
    _by_family,
    _dual_stack,
    _nat64,
    _Seen,
)
from tcpreach.model import Family, ProbeResult, Target, TargetOutcome, Verdict

A4, B4, A6, B6 = "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"


def cell(vantage: str, address: str, verdict: Verdict) -> tuple[str, str, TargetOutcome]:
    result = ProbeResult(Target(Family.of(address), address, 1848), connected=verdict not in (Verdict.REFUSED,))
    return vantage, address, TargetOutcome(result, verdict, "")


def seen(*cells: tuple[str, str, TargetOutcome]) -> _Seen:
    return _Seen(cells)


OK, REFUSED, CLOSED, TIMEOUT = Verdict.OK, Verdict.REFUSED, Verdict.CLOSED_WITHOUT_DATA, Verdict.TIMEOUT
V4, V6 = ClientKind.IPV4_ONLY, ClientKind.IPV6_ONLY


@pytest.mark.parametrize(("family_seen", "has", "expected"), [
    (seen(), False, Population(V4, Answer.NO, "the name has no A record")),
    (seen(cell("fra", A4, OK)), False, Population(V4, Answer.NO, "the name has no A record")),
    (seen(), True, Population(V4, Answer.UNTESTED, "not tested from any vantage")),
    (seen(), None, Population(V4, Answer.UNTESTED, "not tested from any vantage")),
    (seen(cell("fra", A4, OK), cell("ord", A4, OK), cell("fra", B4, OK)), True,
     Population(V4, Answer.YES, "every address answered", ("fra", "ord"))),
    (seen(cell("fra", A4, CLOSED), cell("ord", A4, CLOSED), cell("fra", B4, REFUSED)), True,
     Population(V4, Answer.NO, f"{A4} closed-without-data, {B4} refused", ("fra", "ord"))),
    (seen(cell("fra", A4, OK), cell("ord", B4, TIMEOUT)), None,
     Population(V4, Answer.PARTLY, f"{B4} timeout", ("fra", "ord"))),
])  # fmt: skip
def test_a_single_family_client(family_seen, has, expected):
    assert _by_family(V4, family_seen, has, "A") == expected


V6_YES = Population(V6, Answer.YES, "every address answered", ("fra",))
V6_NO = Population(V6, Answer.NO, f"{A6} refused", ("fra",))


@pytest.mark.parametrize(("v6", "dns64_seen", "has_v6", "expected"), [
    (V6_YES, seen(), True, Population(ClientKind.NAT64, Answer.YES, "uses the name's own IPv6: every address answered",
                                      ("fra",))),
    (V6_NO, seen(cell("nat", "64:ff9b::c000:201", OK)), True,
     Population(ClientKind.NAT64, Answer.NO, f"uses the name's own IPv6: {A6} refused", ("fra",))),
    (V6_NO, seen(), False, Population(ClientKind.NAT64, Answer.UNTESTED, "not tested from any vantage behind a NAT64")),
    (V6_NO, seen(), None, Population(ClientKind.NAT64, Answer.UNTESTED, "not tested from any vantage behind a NAT64")),
    (V6_NO, seen(cell("nat", "64:ff9b::c000:201", OK)), False,
     Population(ClientKind.NAT64, Answer.YES, "through NAT64 to the IPv4: every address DNS64 made up answered",
                ("nat",))),
    (V6_NO, seen(cell("nat", "64:ff9b::c000:201", CLOSED)), False,
     Population(ClientKind.NAT64, Answer.NO, "through NAT64 to the IPv4: 64:ff9b::c000:201 closed-without-data",
                ("nat",))),
])  # fmt: skip
def test_a_client_behind_nat64(v6, dns64_seen, has_v6, expected):
    assert _nat64(v6, dns64_seen, has_v6) == expected


DUAL = ClientKind.DUAL_STACK
V4_YES = Population(V4, Answer.YES, "every address answered", ("ord",))
V4_NO = Population(V4, Answer.NO, f"{A4} closed-without-data", ("ord",))
V4_UNTESTED = Population(V4, Answer.UNTESTED, "not tested from any vantage")


@pytest.mark.parametrize(("v6_seen", "v4", "has_v6", "expected"), [
    (seen(), V4_YES, False, Population(DUAL, Answer.YES, "no AAAA record: uses IPv4, every address answered",
                                       ("ord",))),
    (seen(), V4_NO, False, Population(DUAL, Answer.NO, f"no AAAA record: uses IPv4, {A4} closed-without-data",
                                      ("ord",))),
    (seen(), V4_YES, True, Population(DUAL, Answer.UNTESTED,
                                      "IPv6, which it tries first, was not tested from any vantage")),
    (seen(cell("fra", A6, OK), cell("ord", B6, OK)), V4_NO, True,
     Population(DUAL, Answer.YES, "IPv6 answered", ("fra", "ord"))),
    # an IPv6 connection that opens and gets nothing: no fallback, whatever IPv4 does
    (seen(cell("fra", A6, CLOSED), cell("ord", A6, CLOSED)), V4_YES, True,
     Population(DUAL, Answer.NO, f"IPv6 connects, then {A6} closed-without-data: no fallback to IPv4 after a connect",
                ("fra", "ord"))),
    (seen(cell("fra", A6, CLOSED), cell("fra", B6, CLOSED)), V4_YES, True,
     Population(DUAL, Answer.NO, f"IPv6 connects, then {A6} closed-without-data, {B6} closed-without-data: no "
                                 "fallback to IPv4 after a connect", ("fra",))),
    (seen(cell("fra", A6, CLOSED), cell("fra", B6, OK)), V4_YES, True,
     Population(DUAL, Answer.PARTLY,
                f"IPv6 connects, then {A6} closed-without-data: no fallback to IPv4 after a connect", ("fra",))),
    (seen(cell("fra", A6, CLOSED), cell("fra", B6, REFUSED)), V4_YES, True,
     Population(DUAL, Answer.PARTLY,
                f"IPv6 connects, then {A6} closed-without-data: no fallback to IPv4 after a connect", ("fra",))),
    # connect failures: it falls back to IPv4
    (seen(cell("fra", A6, REFUSED), cell("ord", B6, TIMEOUT)), V4_UNTESTED, True,
     Population(DUAL, Answer.UNTESTED,
                f"IPv6 {A6} refused, {B6} timeout; the IPv4 it falls back to was not tested")),
    (seen(cell("fra", A6, REFUSED)), V4_YES, True,
     Population(DUAL, Answer.YES, f"IPv6 {A6} refused, falls back to IPv4: every address answered", ("fra", "ord"))),
    (seen(cell("fra", A6, REFUSED)), V4_NO, True,
     Population(DUAL, Answer.NO, f"IPv6 {A6} refused, falls back to IPv4: {A4} closed-without-data",
                ("fra", "ord"))),
    (seen(cell("fra", A6, REFUSED), cell("fra", B6, OK)), V4_YES, None,
     Population(DUAL, Answer.YES, f"IPv6 {A6} refused, falls back to IPv4: every address answered", ("fra", "ord"))),
    (seen(cell("fra", A6, REFUSED), cell("fra", B6, OK)), V4_NO, True,
     Population(DUAL, Answer.PARTLY, f"IPv6 {A6} refused, falls back to IPv4: {A4} closed-without-data",
                ("fra", "ord"))),
])  # fmt: skip
def test_a_dual_stack_client_that_prefers_ipv6(v6_seen, v4, has_v6, expected):
    assert _dual_stack(v6_seen, v4, has_v6) == expected


@pytest.mark.parametrize(("v4", "expected"), [
    (V4_UNTESTED, Population(ClientKind.BROKEN_IPV6, Answer.UNTESTED,
                             "falls back to IPv4, which was not tested from any vantage")),
    (V4_YES, Population(ClientKind.BROKEN_IPV6, Answer.YES,
                        "its IPv6 connects fail, it falls back to IPv4, which answers", ("ord",))),
    (V4_NO, Population(ClientKind.BROKEN_IPV6, Answer.NO,
                       f"falls back to IPv4, which gets nothing either: {A4} closed-without-data", ("ord",))),
    (Population(V4, Answer.PARTLY, f"{B4} timeout", ("fra", "ord")),
     Population(ClientKind.BROKEN_IPV6, Answer.PARTLY, f"falls back to IPv4, which gets nothing either: {B4} timeout",
                ("fra", "ord"))),
])  # fmt: skip
def test_a_dual_stack_client_whose_ipv6_path_is_broken(v4, expected):
    assert _broken_ipv6(v4) == expected


# What each kind of client gets from whole merges: what the name's DNS said, literals, vantage labels.
def merged_population(*reports):
    from tcpreach.judging.merge import merge

    return [(p.kind, p.answer, p.why, p.judged_from) for p in merge(list(reports)).population]


def test_a_name_without_an_a_record_is_no_for_ipv4_clients_and_ipv6_for_the_rest():
    import dataclasses

    from test_report_corpus import V6 as FLY_V6
    from test_report_corpus import dns, report
    from test_report_corpus import seen as probed

    from tcpreach.model import DnsStatus, Vantage

    here = Vantage("fra", "0.2.0", (Family.IPV4, Family.IPV6))
    no_a = dataclasses.replace(report(dns(a=(), host="v6.example"), [probed(FLY_V6)]), vantage=here)
    assert merged_population(no_a)[:2] == [
        (V4, Answer.NO, "the name has no A record", ()),
        (V6, Answer.YES, "every address answered", ("fra",)),
    ]
    # the look-alike: an A query that timed out says nothing of the name's records
    lost_a = dataclasses.replace(report(dns(a=DnsStatus.TIMEOUT, host="v6.example"), [probed(FLY_V6)]), vantage=here)
    assert merged_population(lost_a)[0] == (V4, Answer.UNTESTED, "not tested from any vantage", ())
    lost_aaaa = dataclasses.replace(report(dns(aaaa=DnsStatus.TIMEOUT, a=(A4,), host="v4.example"), [probed(A4)]),
                                    vantage=here)  # fmt: skip
    assert merged_population(lost_aaaa)[1] == (V6, Answer.UNTESTED, "not tested from any vantage", ())


def test_a_literal_ipv6_target_is_for_ipv6_clients_only():
    from test_report_corpus import report
    from test_report_corpus import seen as probed

    from tcpreach.model import Resolution, Source

    literal = report(Resolution("::1", literal=True), [probed("::1", source=Source.LITERAL)])
    assert merged_population(literal) == [
        (V4, Answer.UNTESTED, "the target is an ipv6 address", ()),
        (V6, Answer.YES, "every address answered", ("?",)),  # a report from before vantages: '?'
        (ClientKind.NAT64, Answer.YES, "every address answered", ("?",)),
        (DUAL, Answer.YES, "every address answered", ("?",)),
        (ClientKind.BROKEN_IPV6, Answer.UNTESTED, "the target is an ipv6 address", ()),
    ]


def _from(label, resolution, results):
    import dataclasses

    from test_report_corpus import report

    from tcpreach.model import Vantage

    return dataclasses.replace(report(resolution, results), vantage=Vantage(label, "0.2.0", (Family.IPV4, Family.IPV6)))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("servfail", (V6, Answer.UNTESTED, "not tested from any vantage", ())),  # a failed query: unknown
        ("nodata", (V6, Answer.NO, "the name has no AAAA record", ())),  # the look-alike: the name has none
    ],
)
def test_a_failed_aaaa_query_is_unknown_never_no_record(status, expected):
    from test_report_corpus import V4 as FLY_V4
    from test_report_corpus import dns
    from test_report_corpus import seen as probed

    from tcpreach.model import DnsStatus

    aaaa = DnsStatus.ERROR if status == "servfail" else ()
    assert merged_population(_from("fra", dns(aaaa=aaaa, host="v4.example"), [probed(FLY_V4)]))[1] == expected


def test_a_vantage_whose_ipv6_is_broken_speaks_only_for_its_own_row():
    from test_report_corpus import V4 as FLY_V4
    from test_report_corpus import V6 as FLY_V6
    from test_report_corpus import dns
    from test_report_corpus import seen as probed

    lost = probed(FLY_V6, b"", connected=False, connect_timed_out=True, first_byte_s=None)
    dual = _from("dual", dns(host="a.example"), [probed(FLY_V4), probed(FLY_V6)])
    broken = _from("broken6", dns(host="a.example"), [probed(FLY_V4), lost])
    found = merged_population(dual, broken)
    assert found[1] == (V6, Answer.YES, "every address answered", ("dual",))  # broken6's timeouts not counted
    assert found[3] == (DUAL, Answer.YES, "IPv6 answered", ("dual",))


def test_ipv6_lost_from_every_vantage_is_the_services_not_a_broken_client():  # the look-alike
    from test_report_corpus import V4 as FLY_V4
    from test_report_corpus import V6 as FLY_V6
    from test_report_corpus import dns
    from test_report_corpus import seen as probed

    lost = probed(FLY_V6, b"", connected=False, connect_timed_out=True, first_byte_s=None)
    one = _from("one", dns(host="a.example"), [probed(FLY_V4), lost])
    other = _from("other", dns(host="a.example"), [probed(FLY_V4), lost])
    v6 = merged_population(one, other)[1]
    assert (v6[0], v6[1], v6[3]) == (V6, Answer.NO, ("one", "other"))
