"""Does a host's report pass: judged as this client could test it."""

from __future__ import annotations

import errno

import pytest

from tcpreach.expectation import Expectation
from tcpreach.judging.diagnosis import diagnose
from tcpreach.judging.verdict import judge
from tcpreach.model import DnsAnswer, DnsStatus, Ending, Family, HostReport, ProbeResult, Resolution, Target
from tcpreach.outcomes import passes

V4, V6 = Target(Family.IPV4, "192.0.2.1", 1848), Target(Family.IPV6, "2001:db8::1", 1848)
OK = {"connected": True, "received": b"hello\n", "ending": Ending.EOF}
NO_ROUTE = {"connected": False, "connect_errno": errno.ENETUNREACH, "no_route": True}
ROUTER_SAYS_UNREACHABLE = {"connected": False, "connect_errno": errno.ENETUNREACH}


def host(v4: dict, v6: dict) -> HostReport:
    answers = (DnsAnswer(Family.IPV4, DnsStatus.OK, (V4.address,)), DnsAnswer(Family.IPV6, DnsStatus.OK, (V6.address,)))
    resolution = Resolution("a.example", dns=answers)
    outcomes = (judge(ProbeResult(V4, **v4), b"hello\n"), judge(ProbeResult(V6, **v6), b"hello\n"))
    return HostReport("a.example", 1848, Expectation(), resolution, outcomes, diagnose(resolution, outcomes))


@pytest.mark.parametrize(
    ("v4", "v6", "passed"),
    [
        (OK, OK, True),
        (OK, NO_ROUTE, True),  # this client has no IPv6: a note about the client, the service passes
        (NO_ROUTE, NO_ROUTE, False),  # nothing could be tested: no pass
        (OK, ROUTER_SAYS_UNREACHABLE, False),  # the look-alike: a router on the way answered, the path fails
    ],
    ids=["both-ok", "client-without-ipv6", "nothing-tested", "router-unreachable"],
)
def test_a_report_passes_on_what_this_client_could_test(v4, v6, passed):
    assert passes(host(v4, v6)) is passed


def test_a_host_with_nothing_probed_never_passes():
    # every family filtered out (-4 on a name with AAAA records alone): nothing was tested
    report = host(OK, OK)
    empty = HostReport(report.host, report.port, report.expectation, report.resolution, (), report.findings)
    assert (passes(report), passes(empty)) == (True, False)
