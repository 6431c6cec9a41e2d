"""Resolution through a stub DNS server on loopback (dnspython), never the system's."""

from __future__ import annotations

import socket
import time

import pytest

from server import HelloServer
from tcpreach.check import check_host
from tcpreach.judging.targets import targets_of
from tcpreach.model import DnsStatus, Family, Source
from tcpreach.net.resolve import resolve
from tcpreach.options import BOTH, CheckOptions
from tcpreach.testing.stub_dns import StubDNS

pytestmark = pytest.mark.local

# Loopback addresses only: nothing resolved here may lead a probe off this machine.
ZONE = {
    "both.example": {"A": ["127.0.0.10", "127.0.0.11"], "AAAA": ["::1"]},
    "v6only.example": {"AAAA": ["::ffff:127.0.0.20"]},
    "v4only.example": {"A": ["127.0.0.30"]},
    "empty.example": {},
}


@pytest.fixture(scope="module")
def stub():
    with StubDNS(ZONE, slow={"slow.example": 3.0}, silent={"silent.example"}) as server:
        yield server


def test_a_and_aaaa_are_queried_separately(stub):
    resolution = resolve("both.example", CheckOptions(resolver=stub.address, dns_lifetime=2))
    a, aaaa = resolution.dns
    assert (a.rdtype, a.status, a.addresses) == ("A", DnsStatus.OK, ("127.0.0.10", "127.0.0.11"))
    assert (aaaa.rdtype, aaaa.status, aaaa.addresses) == ("AAAA", DnsStatus.OK, ("::1",))
    assert ("both.example", "A") in stub.queries
    assert ("both.example", "AAAA") in stub.queries


@pytest.mark.parametrize(
    ("name", "a", "aaaa"),
    [
        ("v6only.example", DnsStatus.NO_ANSWER, DnsStatus.OK),
        ("v4only.example", DnsStatus.OK, DnsStatus.NO_ANSWER),
        ("empty.example", DnsStatus.NO_ANSWER, DnsStatus.NO_ANSWER),
        ("missing.example", DnsStatus.NXDOMAIN, DnsStatus.NXDOMAIN),
    ],
)
def test_missing_records_and_names_are_results(stub, name, a, aaaa):
    resolution = resolve(name, CheckOptions(resolver=stub.address, dns_lifetime=2))
    assert [answer.status for answer in resolution.dns] == [a, aaaa]


@pytest.mark.parametrize("name", ["slow.example", "silent.example"])
def test_a_resolver_that_does_not_answer_in_time_is_a_timeout_within_the_lifetime(stub, name):
    start = time.monotonic()
    resolution = resolve(name, CheckOptions(resolver=stub.address, dns_lifetime=0.3))
    elapsed = time.monotonic() - start
    assert [(a.status, a.detail) for a in resolution.dns] == [
        (DnsStatus.TIMEOUT, "no answer within 0.3 s, 1 query sent")
    ] * 2
    # A and AAAA are asked together, each waits out the lifetime and no longer (dnspython's
    # own default would be 5 s): a correctness bound, generous for a noisy machine.
    assert 0.3 <= elapsed < 2.0, elapsed


def test_an_explicit_resolver_alone_is_asked_and_only_its_addresses_are_probed(stub, hello_server, monkeypatch):
    looked_up: list[object] = []
    real = socket.getaddrinfo

    def spy(host, *args, **kwargs):
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    report = check_host(
        "both.example", CheckOptions(port=hello_server.port, resolver=stub.address, dns_lifetime=2, timeout=1)
    )
    assert report.resolution.system is None
    assert "both.example" not in looked_up
    assert [o.target.label for o in report.outcomes] == ["ipv4-127.0.0.10", "ipv4-127.0.0.11", "ipv6-::1"]
    assert {str(o.verdict) for o in report.outcomes} == {"ok"}


def test_an_invalid_name_is_not_sent_anywhere(stub):
    before = len(stub.queries)
    resolution = resolve("bad_name..example", CheckOptions(resolver=stub.address))
    assert resolution.invalid_name is not None
    assert len(stub.queries) == before


def test_a_literal_needs_no_dns(stub):
    before = len(stub.queries)
    resolution = resolve("::1", CheckOptions(resolver=stub.address))
    assert resolution.literal
    assert resolution.dns == ()
    assert len(stub.queries) == before


def test_a_truncated_answer_is_asked_again_over_tcp():
    zone = {"big.example": {"A": ["127.0.0.20", "127.0.0.21"], "AAAA": ["::1"]}}
    with StubDNS(zone, truncate=["big.example"]) as server:
        resolution = resolve("big.example", CheckOptions(resolver=server.address, dns_lifetime=2))
        asked = sorted(server.queries)
    assert [(a.rdtype, a.status, a.addresses) for a in resolution.dns] == [
        ("A", DnsStatus.OK, ("127.0.0.20", "127.0.0.21")),
        ("AAAA", DnsStatus.OK, ("::1",)),
    ]
    assert asked == [
        ("big.example", "A"),
        ("big.example", "A/tcp"),
        ("big.example", "AAAA"),
        ("big.example", "AAAA/tcp"),
        ("ipv4only.arpa", "AAAA"),  # an AAAA answered: does this server make them up (DNS64)?
    ]


def test_a_lost_query_is_sent_again_within_the_lifetime_and_not_without_retries():
    # The stub answers the second copy of a query only: the first one is "lost".
    zone = {"lossy.example": {"A": ["127.0.0.30"]}, "once.example": {"A": ["127.0.0.30"]}}
    with StubDNS(zone, lose_first=1) as server:
        resolved = resolve(
            "lossy.example", CheckOptions(families=(Family.IPV4,), resolver=server.address, dns_lifetime=2)
        )
        once = resolve(
            "once.example", CheckOptions(families=(Family.IPV4,), resolver=server.address, dns_lifetime=0.3, retries=0)
        )
    assert [(a.status, a.addresses) for a in resolved.dns] == [(DnsStatus.OK, ("127.0.0.30",))]
    assert [(a.status, a.detail) for a in once.dns] == [(DnsStatus.TIMEOUT, "no answer within 0.3 s, 1 query sent")]


def test_a_second_name_server_over_ipv6_answers_what_the_first_never_does():
    # resolv.conf's order: the first server (IPv4) is silent, the next (IPv6) answers the resend
    from tcpreach.net.loop import run_sync
    from tcpreach.net.resolve import ask

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent, StubDNS(ZONE, host="::1") as second:
        silent.bind(("127.0.0.1", 0))
        servers = [silent.getsockname(), second.address]
        answered = run_sync(ask(servers, "v4only.example", Family.IPV4, lifetime=3.0, resend=True))
        asked_after_one = list(second.queries)
        once = run_sync(ask(servers, "v4only.example", Family.IPV4, lifetime=0.3, resend=False))
    assert (answered.status, answered.addresses) == (DnsStatus.OK, ("127.0.0.30",))
    assert asked_after_one == [("v4only.example", "A")]  # the resend went to the next server, over IPv6
    assert (once.status, once.detail) == (DnsStatus.TIMEOUT, "no answer within 0.3 s, 1 query sent")


def test_servfail_is_a_dns_error_with_the_servers_word():
    with StubDNS({}, servfail=["broken.example"]) as server:
        resolution = resolve("broken.example", CheckOptions(resolver=server.address, dns_lifetime=2))
    assert [(a.rdtype, a.status, a.detail) for a in resolution.dns] == [
        ("A", DnsStatus.ERROR, "the server answered SERVFAIL"),
        ("AAAA", DnsStatus.ERROR, "the server answered SERVFAIL"),
    ]


def test_the_stub_tries_another_port_when_its_udp_port_is_taken_over_tcp(monkeypatch):
    from tcpreach.testing import stub_dns

    real, calls = socket.create_server, []

    def busy_once(address, **kwargs):
        calls.append(address[1])
        if len(calls) == 1:
            raise OSError(98, "Address already in use")
        return real(address, **kwargs)

    monkeypatch.setattr(stub_dns.socket, "create_server", busy_once)
    with StubDNS({"a.example": {"A": ["127.0.0.9"]}}) as server:
        answer = resolve("a.example", CheckOptions(families=(Family.IPV4,), resolver=server.address, dns_lifetime=2))
    assert (len(calls), server.port) == (2, calls[1])
    assert [(a.status, a.addresses) for a in answer.dns] == [(DnsStatus.OK, ("127.0.0.9",))]


def test_a_dns64_resolver_is_recognised_and_its_made_up_addresses_marked():
    # RFC 7050: the server answers ipv4only.arpa's AAAA under its NAT64 prefix
    zone = {
        "ipv4only.arpa": {"AAAA": ["2001:db8:64::c000:aa", "2001:db8:64::c000:ab"]},
        "v4only.example": {"A": ["127.0.0.30"], "AAAA": ["2001:db8:64::7f00:1e"]},
        "wkp.example": {"A": ["127.0.0.31"], "AAAA": ["64:ff9b::7f00:1f"]},
    }
    with StubDNS(zone) as server:
        found = resolve("v4only.example", CheckOptions(resolver=server.address, dns_lifetime=2))
        wkp = resolve("wkp.example", CheckOptions(resolver=server.address, dns_lifetime=2))
        asked = [q for q in server.queries if q[0] == "ipv4only.arpa"]
    assert (found.dns64_prefix, asked) == ("2001:db8:64::/96", [("ipv4only.arpa", "AAAA")])  # once a process
    assert [(t.address, t.source) for t in targets_of(found, 1, BOTH)] == [
        ("127.0.0.30", Source.DNS), ("2001:db8:64::7f00:1e", Source.DNS64)]  # fmt: skip
    # the well-known prefix is made up whatever the server says of itself
    assert [(t.address, t.source) for t in targets_of(wkp, 1, BOTH)] == [
        ("127.0.0.31", Source.DNS), ("64:ff9b::7f00:1f", Source.DNS64)]  # fmt: skip


def test_a_server_that_makes_nothing_up_leaves_native_ipv6_alone():
    # the look-alike: an AAAA under some prefix, from a server that answers no ipv4only.arpa
    zone = {"native.example": {"A": ["127.0.0.32"], "AAAA": ["2001:db8:64::7f00:20"]}}
    with StubDNS(zone) as server:
        found = resolve("native.example", CheckOptions(resolver=server.address, dns_lifetime=2))
    assert found.dns64_prefix is None
    assert [t.source for t in targets_of(found, 1, BOTH)] == [Source.DNS, Source.DNS]


def test_no_aaaa_answer_asks_nothing_more():
    with StubDNS({"only-a.example": {"A": ["127.0.0.33"]}}) as server:
        resolve("only-a.example", CheckOptions(resolver=server.address, dns_lifetime=2))
        asked = sorted(server.queries)
    assert asked == [("only-a.example", "A"), ("only-a.example", "AAAA")]


def test_each_network_namespace_resolves_in_its_own(namespaces):
    # The DNS threads are shared, but never across namespaces: a thread asks from the
    # namespace it was made in. Resolving first inside a namespace of our own, then here,
    # must reach this namespace's server (the old single pool timed out here).
    import subprocess
    import uuid

    from netlab.lab import in_namespace

    name = f"trdns{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        zone = {"ns.example": {"A": ["127.0.0.40"]}}

        def inside():
            with StubDNS(zone) as server:
                return resolve("ns.example", CheckOptions(resolver=server.address, dns_lifetime=2, retries=0))

        there = in_namespace(name, inside)
        with StubDNS(zone) as server:
            here = resolve("ns.example", CheckOptions(resolver=server.address, dns_lifetime=2, retries=0))
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
    assert [(a.status, a.addresses) for a in (*there.dns, *here.dns) if a.family is Family.IPV4] == [
        (DnsStatus.OK, ("127.0.0.40",)), (DnsStatus.OK, ("127.0.0.40",))]  # fmt: skip


def test_localhost_is_loopback_and_invalid_never_exists_without_asking_anyone():
    with StubDNS({}) as server, HelloServer(host="::", port=0) as app:
        local = check_host("localhost", CheckOptions(port=app.port, resolver=server.address, retries=0))
        invalid = check_host("shop.invalid", CheckOptions(port=app.port, resolver=server.address, retries=0))
        asked = list(server.queries)
    assert (asked, local.resolution.resolver) == ([], "none (RFC 6761)")
    assert [(o.target.address, o.verdict) for o in local.outcomes] == [("127.0.0.1", "ok"), ("::1", "ok")]
    assert [f.code for f in local.findings] == ["all-ok"]
    assert ([o.target.address for o in invalid.outcomes], [f.code for f in invalid.findings]) == ([], ["nxdomain"])


CNAME_ZONE = {
    "hello.example.org": {"CNAME": ["hello-server.fly.dev"]},
    "via-other.example.org": {"CNAME": ["hello-server.fly.dev"]},
    "old.example.org": {"CNAME": ["deleted-app.fly.dev"]},
    "loop-a.example.org": {"CNAME": ["loop-b.example.org"]},
    "loop-b.example.org": {"CNAME": ["loop-a.example.org"]},
    "hello-server.fly.dev": {"A": ["127.0.0.50"], "AAAA": ["::1"]},
}


@pytest.mark.parametrize("name", ["hello.example.org", "via-other.example.org"])
def test_an_alias_is_followed_and_its_chain_kept(name):
    # via-other: the server answers the CNAME alone, and the resolver asks on for its target
    with StubDNS(CNAME_ZONE, alias_only=["via-other.example.org"]) as server:
        found = resolve(name, CheckOptions(resolver=server.address, dns_lifetime=2))
    assert [(a.status, a.addresses, a.cnames) for a in found.dns] == [
        (DnsStatus.OK, ("127.0.0.50",), ("hello-server.fly.dev",)),
        (DnsStatus.OK, ("::1",), ("hello-server.fly.dev",)),
    ]
    assert found.names == (name, "hello-server.fly.dev")


def test_a_dangling_alias_says_which_name_is_gone():
    with StubDNS(CNAME_ZONE) as server:
        found = resolve("old.example.org", CheckOptions(resolver=server.address, dns_lifetime=2))
    assert [(a.status, a.cnames, a.detail) for a in found.dns] == [
        (DnsStatus.NXDOMAIN, ("deleted-app.fly.dev",),
         "old.example.org is an alias (CNAME) of deleted-app.fly.dev, which does not exist (NXDOMAIN)"),
    ] * 2  # fmt: skip


def test_an_alias_loop_ends():
    with StubDNS(CNAME_ZONE, alias_only=["loop-a.example.org", "loop-b.example.org"]) as server:
        found = resolve("loop-a.example.org", CheckOptions(resolver=server.address, dns_lifetime=2))
    assert [(a.status, a.cnames) for a in found.dns] == [
        (DnsStatus.NO_ANSWER, ("loop-b.example.org", "loop-a.example.org"))] * 2  # fmt: skip
