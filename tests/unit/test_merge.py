"""Reports from several vantages merged: the matrix, what each kind of client gets, and the
findings only several vantages show; built from plain data (the report corpus's helpers).

The whole text, Markdown and JSON of each case live in ``golden/merge.json``; after a
deliberate change, regenerate with ``TCPREACH_UPDATE_GOLDEN=1 pytest tests/unit/test_merge.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from test_report_corpus import NO_ROUTE, REFUSED, V4, V6, dns, report, seen

from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match
from tcpreach.judging.merge import Merged, merge
from tcpreach.judging.population import Answer, ClientKind
from tcpreach.model import Family, HostReport, Resolution, Source, Vantage
from tcpreach.report.merged import dump_merged, format_merged, markdown_merged, merged_passes

GOLDEN = "merge.json"  # in golden/, see conftest.py
NAT64_V4 = "64:ff9b::4229:7c0a"  # 66.41.124.10 as DNS64 makes it up under the well-known prefix
BOTH, ONLY4, ONLY6 = (Family.IPV4, Family.IPV6), (Family.IPV4,), (Family.IPV6,)


def at(label: str, routes: tuple[Family, ...], host_report: HostReport) -> HostReport:
    return dataclasses.replace(host_report, vantage=Vantage(label, "0.2.0", routes))


def nat64_client(label: str, a_only: str) -> HostReport:
    """An IPv6-only client behind NAT64 checking a name with an A record only."""
    resolution = dns(a=(a_only,), aaaa=(NAT64_V4,), host="v4only.example")
    resolution = dataclasses.replace(resolution, dns64_prefix="64:ff9b::/96")
    made_up = dataclasses.replace(
        seen(NAT64_V4), target=dataclasses.replace(seen(NAT64_V4).target, source=Source.DNS64)
    )
    return at(label, ONLY6, report(resolution, [NO_ROUTE(a_only), made_up]))


CASES: dict[str, Callable[[], list[HostReport]]] = {
    "shared-ipv4-trap": lambda: [
        at("v4only", ONLY4, report(dns(), [seen(V4, b""), NO_ROUTE(V6)])),
        at("v6only", ONLY6, report(dns(), [NO_ROUTE(V4), seen(V6)])),
        at("dual", BOTH, report(dns(), [seen(V4, b""), seen(V6)])),
    ],
    "dedicated": lambda: [
        at("v4only", ONLY4, report(dns(host="dedicated.fly.dev"), [seen(V4), NO_ROUTE(V6)])),
        at("dual", BOTH, report(dns(host="dedicated.fly.dev"), [seen(V4), seen(V6)])),
    ],
    "ipv4-only-service-through-nat64": lambda: [
        at("v4only", ONLY4, report(dns(a=(V4,), aaaa=(), host="v4only.example"), [seen(V4)])),
        nat64_client("nat64", V4),
    ],
    "hosted-runners-without-ipv6": lambda: [
        at("ubuntu", ONLY4, report(dns(), [seen(V4), NO_ROUTE(V6)])),
        at("windows", ONLY4, report(dns(), [seen(V4), NO_ROUTE(V6)])),
    ],
    "vantages-disagree": lambda: [
        at("fra", BOTH, report(dns(host="example.com"), [seen(V4), seen(V6)])),
        at("ci", ONLY4, report(dns(host="example.com"), [seen(V4, b""), NO_ROUTE(V6)])),
    ],
    "ipv6-refused-dual-stack-falls-back": lambda: [
        at("dual", BOTH, report(dns(host="example.com"), [seen(V4), REFUSED(V6)])),
    ],
    "literal-address": lambda: [
        at("here", BOTH, report(Resolution("127.0.0.1", literal=True), [seen("127.0.0.1", source=Source.LITERAL)])),
    ],
}


def merged(name: str) -> Merged:
    reports = CASES[name]()
    return merge(reports, [f"{r.vantage.label}.json" for r in reports])


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_merge_as_people_and_machines_read_it(golden, name):
    result = merged(name)
    doc = dump_merged(result)
    del doc["reports"]  # the reports' own documents are the report corpus's
    golden.check(name, {"text": format_merged(result).splitlines(), "markdown": markdown_merged(result).splitlines(),
                        "json": doc})  # fmt: skip


def test_the_golden_file_holds_every_case(golden):
    golden.assert_holds(CASES)


def clients(name: str) -> list[tuple[str, str]]:
    return [(str(p.kind), str(p.answer)) for p in merged(name).population]


def codes(name: str) -> list[str]:
    return [str(f.code) for f in merged(name).findings]


def test_the_shared_ipv4_trap_fails_ipv4_clients_and_dual_stack_with_broken_ipv6():
    # Happy Eyeballs cannot help: the shared IPv4 accepts, then closes
    assert clients("shared-ipv4-trap") == [
        (ClientKind.IPV4_ONLY, Answer.NO), (ClientKind.IPV6_ONLY, Answer.YES), (ClientKind.NAT64, Answer.YES),
        (ClientKind.DUAL_STACK, Answer.YES), (ClientKind.BROKEN_IPV6, Answer.NO),
    ]  # fmt: skip
    assert (codes("shared-ipv4-trap"), merged_passes(merged("shared-ipv4-trap"))) == ([], False)


def test_a_dedicated_deployment_reaches_every_client():
    assert {answer for _, answer in clients("dedicated")} == {Answer.YES}
    assert (codes("dedicated"), merged_passes(merged("dedicated"))) == ([], True)


def test_an_ipv4_only_service_reaches_nat64_clients_through_what_dns64_made_up():
    result = merged("ipv4-only-service-through-nat64")
    assert [(p.kind, p.answer, p.why) for p in result.population] == [
        (ClientKind.IPV4_ONLY, Answer.YES, "every address answered"),
        (ClientKind.IPV6_ONLY, Answer.NO, "the name has no AAAA record"),
        (ClientKind.NAT64, Answer.YES, "through NAT64 to the IPv4: every address DNS64 made up answered"),
        (ClientKind.DUAL_STACK, Answer.YES, "no AAAA record: uses IPv4, every address answered"),
        (ClientKind.BROKEN_IPV6, Answer.YES, "its IPv6 connects fail, it falls back to IPv4, which answers"),
    ]
    assert [(r.address, r.source) for r in result.rows] == [(V4, Source.DNS), (NAT64_V4, Source.DNS64)]


def test_no_route_is_not_tested_and_never_a_failure():
    # GitHub's hosted runners have no IPv6: said, not failed
    assert clients("hosted-runners-without-ipv6") == [
        (ClientKind.IPV4_ONLY, Answer.YES), (ClientKind.IPV6_ONLY, Answer.UNTESTED),
        (ClientKind.NAT64, Answer.UNTESTED), (ClientKind.DUAL_STACK, Answer.UNTESTED),
        (ClientKind.BROKEN_IPV6, Answer.YES),
    ]  # fmt: skip
    assert codes("hosted-runners-without-ipv6") == ["family-untested"]
    assert merged_passes(merged("hosted-runners-without-ipv6"))


def test_an_address_that_works_from_one_vantage_and_not_another_is_a_disagreement():
    result = merged("vantages-disagree")
    assert [(str(f.code), f.message) for f in result.findings] == [
        ("vantages-disagree", f"{V4} answers from fra but fails from ci (closed-without-data): the vantages differ in "
                              "routes (fra ipv4+ipv6, ci ipv4)"),
    ]  # fmt: skip
    assert clients("vantages-disagree")[0] == (ClientKind.IPV4_ONLY, Answer.PARTLY)


def test_a_refused_ipv6_connect_falls_back_where_a_closed_one_does_not():
    # the look-alike of the shared-IPv4 trap's dual-stack row: refused is a connect failure
    assert clients("ipv6-refused-dual-stack-falls-back")[3] == (ClientKind.DUAL_STACK, Answer.YES)
    assert merged("ipv6-refused-dual-stack-falls-back").population[3].why == (
        f"IPv6 {V6} refused, falls back to IPv4: every address answered"
    )
    closed = [at("dual", BOTH, report(dns(host="example.com"), [seen(V4), seen(V6, b"")]))]
    assert [(p.answer, p.why) for p in merge(closed).population][3] == (
        Answer.NO,
        f"IPv6 connects, then {V6} closed-without-data: no fallback to IPv4 after a connect",
    )


@pytest.mark.parametrize(
    ("second", "error"),
    [
        (lambda r: dataclasses.replace(r, host="other.example"),
         "cannot merge reports of different hosts: a.json is of hello-server.fly.dev, b.json of other.example"),
        (lambda r: dataclasses.replace(r, port=443),
         "cannot merge reports of different ports: a.json probed 1848, b.json 443"),
        (lambda r: dataclasses.replace(r, expectation=Expectation(b"+OK", Match.PREFIX)),
         "cannot merge reports of different expectations: a.json expected 'hello\\n', b.json starting with '+OK'"),
        (lambda r: r, "two reports from the vantage 'fra' (a.json, b.json): give each run its own --vantage"),
    ],
)  # fmt: skip
def test_reports_that_cannot_be_merged_are_refused_in_one_line(second, error):
    first = at("fra", BOTH, report(dns(), [seen(V4), seen(V6)]))
    with pytest.raises(UsageError) as raised:
        merge([first, second(first)], ["a.json", "b.json"])
    assert str(raised.value) == error


@pytest.mark.parametrize("hosts", [("hello-server.fly.dev", "Hello-Server.fly.dev."),
                                   ("hello-server.fly.dev.", "HELLO-SERVER.FLY.DEV")])  # fmt: skip
def test_a_host_name_differing_in_case_or_final_dot_is_the_same_host(hosts):
    first = dataclasses.replace(at("fra", BOTH, report(dns(), [seen(V4), seen(V6)])), host=hosts[0])
    second = dataclasses.replace(at("ord", BOTH, report(dns(), [seen(V4), seen(V6)])), host=hosts[1])
    assert [v.label for v in merge([first, second]).vantages] == ["fra", "ord"]


def test_reports_without_a_vantage_and_without_any_report():
    old = dataclasses.replace(report(dns(), [seen(V4), seen(V6)]), vantage=None)  # a report from before vantages
    assert [v.label for v in merge([old]).vantages] == ["?"]
    with pytest.raises(UsageError) as raised:
        merge([old, old], ["a.json", "b.json"])
    assert str(raised.value) == "two reports from the vantage '' (a.json, b.json): give each run its own --vantage"
    with pytest.raises(UsageError) as raised:
        merge([])
    assert str(raised.value) == "give at least one report"


def vantage_at(label: str, *, routes=BOTH, version="0.2.0", resolver="127.0.0.1:5353", dns64=None, ok=True):
    resolution = dataclasses.replace(dns(host="example.com"), resolver=resolver, dns64_prefix=dns64)
    made = report(resolution, [seen(V4) if ok else seen(V4, b""), seen(V6)])
    return dataclasses.replace(made, vantage=Vantage(label, version, routes))


@pytest.mark.parametrize(("good", "bad", "why"), [
    ([vantage_at("fra")], [vantage_at("ci", ok=False)], "nothing in the vantages' facts differs"),
    ([vantage_at("fra")], [vantage_at("ci", routes=ONLY4, ok=False)],
     "the vantages differ in routes (fra ipv4+ipv6, ci ipv4)"),
    ([vantage_at("fra")], [vantage_at("ci", dns64="64:ff9b::/96", ok=False)],
     "the vantages differ in DNS64 (fra none, ci 64:ff9b::/96)"),
    ([vantage_at("fra")], [vantage_at("ci", resolver="10.0.0.53:53", ok=False)],
     "the vantages differ in resolver (fra 127.0.0.1:5353, ci 10.0.0.53:53)"),
    ([vantage_at("fra")], [vantage_at("ci", version="0.1.0", ok=False)],
     "the vantages differ in version (fra 0.2.0, ci 0.1.0)"),
    ([vantage_at("fra"), vantage_at("ord")], [vantage_at("ci", routes=ONLY4, version="0.1.0", ok=False),
                                              vantage_at("gh", routes=ONLY4, version="0.1.0", ok=False)],
     "the vantages differ in routes (fra ipv4+ipv6, ord ipv4+ipv6, ci ipv4, gh ipv4); version (fra 0.2.0, "
     "ord 0.2.0, ci 0.1.0, gh 0.1.0)"),
    ([vantage_at("fra")], [dataclasses.replace(vantage_at("old", ok=False), vantage=None)],
     "the vantages differ in routes (fra ipv4+ipv6, ? ?); version (fra 0.2.0, ? ?)"),
])  # fmt: skip
def test_a_disagreement_says_which_vantages_answer_which_fail_and_how_they_differ(good, bad, why):
    found = [f for f in merge([*good, *bad]).findings if f.code == "vantages-disagree"]
    answers = ", ".join(r.vantage.label if r.vantage else "?" for r in good)
    fails = ", ".join(f"{r.vantage.label if r.vantage else '?'} (closed-without-data)" for r in bad)
    assert [(f.message, f.addresses) for f in found] == [(f"{V4} answers from {answers} but fails from {fails}: {why}",
                                                          (V4,))]  # fmt: skip


@pytest.mark.parametrize(("aaaa", "message"), [
    ((V6,), "ipv6 (1 address) was not tested from any vantage: none has a route to it"),
    ((V6, "2a09:8280:1::c5:a273:1"), "ipv6 (2 addresses) was not tested from any vantage: none has a route to it"),
])  # fmt: skip
def test_a_family_no_vantage_could_test_is_counted(aaaa, message):
    only4 = at("ci", ONLY4, report(dns(aaaa=aaaa), [seen(V4), *(NO_ROUTE(a) for a in aaaa)]))
    assert [(f.code, f.message, f.addresses) for f in merge([only4]).findings] == [("family-untested", message, aaaa)]


def test_rows_are_ipv4_then_the_names_own_ipv6_then_what_dns64_made_up():
    native = at("dual", BOTH, report(dns(a=(V4,), aaaa=(V6,), host="v4only.example"), [seen(V4), seen(V6)]))
    behind = nat64_client("nat64", V4)
    rows = merge([behind, native]).rows
    assert [(r.family, r.address, r.source) for r in rows] == [
        (Family.IPV4, V4, Source.DNS),
        (Family.IPV6, V6, Source.DNS),
        (Family.IPV6, NAT64_V4, Source.DNS64),
    ]


def test_a_shared_ipv4_claim_is_refuted_by_another_vantage_that_got_an_answer_there():
    # one run saw the flaky dedicated IPv4 close (with --retries 0 it had one attempt), another
    # got the greeting from the same address: no shared edge answers raw TCP at all
    flaky = at("ci", BOTH, report(dns(host="app.fly.dev"), [seen(V4, b""), seen(V6)]))
    answered = at("fra", BOTH, report(dns(host="app.fly.dev"), [seen(V4), seen(V6)]))
    assert [str(f.code) for f in flaky.findings] == ["fly-shared-ipv4"]
    result = merge([flaky, answered])
    assert ([str(f.code) for f in result.findings], result.by_vantage) == (["vantages-disagree"], ())
    # the look-alike: both saw it closed, the claim stands
    both = merge([flaky, at("fra", BOTH, report(dns(host="app.fly.dev"), [seen(V4, b""), seen(V6)]))])
    assert [(str(f.code), v) for f, v in both.by_vantage] == [("fly-shared-ipv4", ("ci", "fra"))]


def merged_codes(*reports: HostReport) -> list[str]:
    """The merge's own findings, then the vantages' (each once)."""
    result = merge(list(reports))
    return [str(f.code) for f in result.findings] + [str(f.code) for f, _ in result.by_vantage]


EXAMPLE = "example.com"
# The merge's own findings, condition by condition (issue 25): the vantages that make each,
# then (condition removed, the vantages without it, the codes the merge then gives).
MERGE_EVIDENCE = {
    "vantages-disagree": (
        lambda: merged_codes(at("fra", BOTH, report(dns(host=EXAMPLE), [seen(V4), seen(V6)])),
                             at("ci", BOTH, report(dns(host=EXAMPLE), [seen(V4, b""), seen(V6)]))),
        [
            ("an address that answered somewhere",
             lambda: merged_codes(at("fra", BOTH, report(dns(host=EXAMPLE), [seen(V4, b""), seen(V6)])),
                                  at("ci", BOTH, report(dns(host=EXAMPLE), [seen(V4, b""), seen(V6)]))),
             ["fly-shared-ipv4"]),
            ("... and failed elsewhere",
             lambda: merged_codes(at("fra", BOTH, report(dns(host=EXAMPLE), [seen(V4), seen(V6)])),
                                  at("ci", BOTH, report(dns(host=EXAMPLE), [seen(V4), seen(V6)]))), []),
            ("... where it was tested (no route is no failure)",
             lambda: merged_codes(at("fra", BOTH, report(dns(host=EXAMPLE), [seen(V4), seen(V6)])),
                                  at("ci", ONLY6, report(dns(host=EXAMPLE), [NO_ROUTE(V4), seen(V6)]))), []),
        ],
    ),
    "family-untested": (
        lambda: merged_codes(at("ubuntu", ONLY4, report(dns(), [seen(V4), NO_ROUTE(V6)]))),
        [
            ("no vantage with a route to it",
             lambda: merged_codes(at("ubuntu", ONLY4, report(dns(), [seen(V4), NO_ROUTE(V6)])),
                                  at("fra", BOTH, report(dns(), [seen(V4), seen(V6)]))), []),
        ],
    ),
}  # fmt: skip
MERGE_ROWS = [(code, why, make, found) for code, (_, rows) in MERGE_EVIDENCE.items() for why, make, found in rows]


@pytest.mark.parametrize("code", sorted(MERGE_EVIDENCE))
def test_each_merge_finding_is_made_by_its_vantages(code):
    assert MERGE_EVIDENCE[code][0]() == [code]


@pytest.mark.parametrize(("code", "why", "make", "found"), MERGE_ROWS,
                         ids=[f"{c}-without-{w}" for c, w, _, _ in MERGE_ROWS])  # fmt: skip
def test_taking_one_condition_away_from_a_merge_finding_gives_exactly_the_look_alike(code, why, make, found):
    assert make() == found


def test_a_disagreement_on_a_later_row_is_found_after_rows_that_agree():
    fra = at("fra", BOTH, report(dns(host="example.com"), [seen(V4), seen(V6)]))
    ci = at("ci", BOTH, report(dns(host="example.com"), [seen(V4), seen(V6, b"")]))
    assert [(f.code, f.addresses) for f in merge([fra, ci]).findings] == [("vantages-disagree", (V6,))]


def test_a_refuted_claim_leaves_the_findings_after_it_in_place():
    from tcpreach.findings import Finding, FindingCode, Severity

    claim = Finding(FindingCode.FLY_SHARED_IPV4, Severity.ERROR, "shared", "dedicated", (V4,))
    later = Finding(FindingCode.LOSSY_PATH, Severity.WARNING, "lossy", "retry", (V6,))
    dual = dataclasses.replace(at("dual", BOTH, report(dns(), [seen(V4, b""), seen(V6)])), findings=(claim, later))
    other = at("other", BOTH, report(dns(), [seen(V4), seen(V6)]))
    assert [(f.code, where) for f, where in merge([dual, other]).by_vantage] == [("lossy-path", ("dual",))]


def test_a_pipe_in_a_vantage_label_is_escaped_in_markdown():
    odd = at("ci|linux", ONLY4, report(dns(), [seen(V4), NO_ROUTE(V6)]))
    table = markdown_merged(merge([odd]))
    assert "ci\\|linux" in table and "| ci|linux |" not in table


def _vantage_report(label, routes, results, host="hello-server.fly.dev"):
    import dataclasses

    from test_report_corpus import dns, report

    from tcpreach.model import Vantage

    return dataclasses.replace(report(dns(host=host), results), vantage=Vantage(label, "0.2.0", routes))


def _codes(merged):
    return [(str(f.code), labels) for f, labels in merged.by_vantage]


def test_the_trap_is_proven_by_an_ipv4_only_vantages_close_and_an_ipv6_only_vantages_hello():
    from test_report_corpus import V4 as FLY_V4
    from test_report_corpus import V6 as FLY_V6
    from test_report_corpus import seen

    from tcpreach.judging.merge import merge
    from tcpreach.model import Family

    no_v6 = seen(FLY_V6, b"", connected=False, connect_errno=101, no_route=True, first_byte_s=None)
    no_v4 = seen(FLY_V4, b"", connected=False, connect_errno=101, no_route=True, first_byte_s=None)
    v4only = _vantage_report("v4only", (Family.IPV4,), [seen(FLY_V4, b""), no_v6])
    v6only = _vantage_report("v6only", (Family.IPV6,), [no_v4, seen(FLY_V6)])
    assert [c for c, _ in _codes(merge([v4only]))] == ["fly-shared-ipv4-suspected"]  # the look-alike: one vantage
    assert _codes(merge([v4only, v6only])) == [("fly-shared-ipv4", ("v4only", "v6only"))]


def test_service_down_from_one_vantage_is_refuted_by_another_that_got_ok():
    from test_report_corpus import V4 as FLY_V4
    from test_report_corpus import V6 as FLY_V6
    from test_report_corpus import seen

    from tcpreach.judging.merge import merge
    from tcpreach.model import Family

    both = (Family.IPV4, Family.IPV6)
    timed_out = {"connected": False, "connect_timed_out": True, "first_byte_s": None}
    down = _vantage_report("far", both, [seen(FLY_V4, b"", **timed_out), seen(FLY_V6, b"", **timed_out)],
                           host="example.com")  # fmt: skip
    up = _vantage_report("near", both, [seen(FLY_V4), seen(FLY_V6)], host="example.com")
    assert "service-down" in [c for c, _ in _codes(merge([down]))]  # the look-alike: alone, it is down
    assert "service-down" not in [c for c, _ in _codes(merge([down, up]))]


def test_a_fleet_is_merged_host_by_host_in_the_order_hosts_first_appear():
    from test_report_corpus import V4 as FLY_V4
    from test_report_corpus import V6 as FLY_V6
    from test_report_corpus import seen

    from tcpreach.judging.merge import merge_fleet
    from tcpreach.model import Family

    both = (Family.IPV4, Family.IPV6)
    a_here = _vantage_report("here", both, [seen(FLY_V4), seen(FLY_V6)], host="a.example")
    b_here = _vantage_report("here", both, [seen(FLY_V4), seen(FLY_V6)], host="b.example")
    a_there = _vantage_report("there", both, [seen(FLY_V4), seen(FLY_V6)], host="A.example.")
    merges = merge_fleet([a_here, b_here, a_there])
    assert [(m.host, [v.label for v in m.vantages]) for m in merges] == [
        ("a.example", ["here", "there"]), ("b.example", ["here"])]  # fmt: skip
