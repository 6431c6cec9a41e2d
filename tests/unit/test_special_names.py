"""RFC 6761's names: answered here, never asked of a resolver. On plain data."""

from __future__ import annotations

import pytest

from tcpreach.model import DnsAnswer, DnsStatus, Family
from tcpreach.standards.special_names import special_answers

BOTH = (Family.IPV4, Family.IPV6)


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST.", "app.localhost", "a.b.localhost"])
def test_localhost_and_its_subdomains_are_loopback(name):
    assert special_answers(name, BOTH) == (
        DnsAnswer(Family.IPV4, DnsStatus.OK, ("127.0.0.1",), detail="localhost is loopback (RFC 6761)"),
        DnsAnswer(Family.IPV6, DnsStatus.OK, ("::1",), detail="localhost is loopback (RFC 6761)"),
    )


def test_only_the_families_asked_for():
    assert [a.family for a in special_answers("localhost", (Family.IPV6,)) or ()] == [Family.IPV6]


@pytest.mark.parametrize("name", ["x.invalid", "invalid", "a.b.INVALID."])
def test_invalid_names_never_exist(name):
    detail = f"{name} does not exist: names under .invalid never do (RFC 6761), no resolver was asked"
    assert special_answers(name, BOTH) == (
        DnsAnswer(Family.IPV4, DnsStatus.NXDOMAIN, detail=detail),
        DnsAnswer(Family.IPV6, DnsStatus.NXDOMAIN, detail=detail),
    )


@pytest.mark.parametrize(
    "name", ["hello.test", "hello.example", "localhost.example.com", "invalid.example.org", "mylocalhost", "notinvalid"]
)
def test_other_names_are_asked_of_dns(name):
    # .test and .example are ordinary here: rehearsals use them
    assert special_answers(name, BOTH) is None


def test_a_dangling_alias_names_the_whole_chain_and_the_gone_fly_app():
    from tcpreach.judging.dns_findings import _dangling

    chained = _dangling("www.example.org", ("edge.example.net", "cdn.example.net", "old-app.fly.dev."))
    assert (chained.message, chained.remedy) == (
        "www.example.org exists, as an alias (CNAME) of old-app.fly.dev. by way of edge.example.net, "
        "cdn.example.net, which does not exist: the alias points at a name that is gone",
        "the Fly app 'old-app' no longer exists (deleted, or renamed): point www.example.org's CNAME at the app's "
        "current <app>.fly.dev ('fly apps list'), and add the domain to it with 'fly certs add www.example.org'",
    )
