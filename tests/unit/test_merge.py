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
from tcpreach.merge import Merged, merge
from tcpreach.model import Family, HostReport, Resolution, Source, Vantage
from tcpreach.population import Answer, ClientKind
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


def test_a_host_name_differing_in_case_or_final_dot_is_the_same_host():
    first = at("fra", BOTH, report(dns(), [seen(V4), seen(V6)]))
    second = dataclasses.replace(at("ord", BOTH, report(dns(), [seen(V4), seen(V6)])), host="Hello-Server.fly.dev.")
    assert [v.label for v in merge([first, second]).vantages] == ["fra", "ord"]


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
