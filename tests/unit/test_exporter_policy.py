"""The exporter is no open proxy: which targets and resolved addresses it probes, on plain data."""

from __future__ import annotations

import ipaddress

import pytest

from tcpreach.exporter.policy import Allowance, address_refusal, target_refusal

ALLOW = Allowance(
    hosts=("hello-server.fly.dev", "*.example.org"),
    networks=(ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("2001:db8::/32")),
)
NO_NAME = "matches no name or pattern listed under allow.hosts"
NO_NET = "is in no network listed under allow.networks"


@pytest.mark.parametrize(
    ("host", "literal", "refusal"),
    [
        ("hello-server.fly.dev", False, None),
        ("HELLO-server.fly.dev.", False, None),  # case and the final dot do not matter
        ("other.fly.dev", False, f"other.fly.dev {NO_NAME}"),
        ("a.example.org", False, None),
        ("a.b.example.org", False, None),  # a pattern matches one label or more
        ("example.org", False, f"example.org {NO_NAME}"),  # ... but not none
        ("badexample.org", False, f"badexample.org {NO_NAME}"),  # a label boundary, not a suffix
        ("192.0.2.7", True, None),
        ("192.0.3.7", True, f"192.0.3.7 {NO_NET}"),
        ("2001:db8::1", True, None),
        ("2001:db9::1", True, f"2001:db9::1 {NO_NET}"),
        ("::ffff:192.0.2.7", True, None),  # the IPv4 address it maps
        (".example.org", False, f".example.org {NO_NAME}"),  # the pattern's suffix alone is no name under it
    ],
)
def test_a_target_is_probed_only_when_listed(host, literal, refusal):
    assert target_refusal(host, literal, ALLOW) == refusal


@pytest.mark.parametrize("host", ["hello-server.fly.dev", "a.example.net", "A.Example.Net."])
def test_a_pattern_written_with_a_final_dot_matches_as_without(host):
    dotted = Allowance(hosts=("hello-server.fly.dev.", "*.EXAMPLE.net."))
    assert target_refusal(host, False, dotted) is None


METADATA = "169.254.169.254 is a link-local address (cloud metadata lives there)"
UNLESS = "never probed unless allow.networks lists it"


@pytest.mark.parametrize(
    ("address", "networks", "refusal"),
    [
        ("169.254.169.254", (), f"{METADATA}: {UNLESS} (169.254.0.0/16 or inside it)"),
        # Everything listed is not listing it: the network must lie inside the guarded range.
        ("169.254.169.254", ("0.0.0.0/0",), f"{METADATA}: {UNLESS} "
                                            "(169.254.0.0/16 or inside it)"),
        ("169.254.169.254", ("169.254.169.254/32",), None),
        ("::ffff:169.254.169.254", (), "::ffff:169.254.169.254 is a link-local address (cloud metadata lives there): "
                                       f"{UNLESS} (169.254.0.0/16 or inside it)"),
        ("fe80::1%eth0", ("::/0",), "fe80::1%eth0 is a link-local address: never probed unless allow.networks lists "
                                    "it (fe80::/10 or inside it)"),
        ("fd00:ec2::254", (), "fd00:ec2::254 is a cloud metadata address (AWS): never probed unless allow.networks "
                              "lists it (fd00:ec2::254/128 or inside it)"),
        ("100.100.100.200", ("100.64.0.0/10",), "100.100.100.200 is a cloud metadata address (Alibaba Cloud): "
                                                f"{UNLESS} (100.100.100.200/32 or inside it)"),
        ("100.100.100.201", (), None),  # the next address is an ordinary one
        # this machine, however it is written: never, unless listed (its DNS must not point the exporter home)
        ("127.0.0.1", (), f"127.0.0.1 is a loopback address (the exporter's own machine): {UNLESS} (127.0.0.0/8 or "
                          "inside it)"),
        ("127.0.0.1", ("127.0.0.0/8",), None),
        ("::1", (), f"::1 is a loopback address (the exporter's own machine): {UNLESS} (::1/128 or inside it)"),
        ("::ffff:127.0.0.1", (), f"::ffff:127.0.0.1 is a loopback address (the exporter's own machine): {UNLESS} "
                                 "(127.0.0.0/8 or inside it)"),
        ("0.0.0.0", (), f"0.0.0.0 is an unspecified address (the exporter's own machine): {UNLESS} (0.0.0.0/8 or "
                        "inside it)"),
        ("::", (), f":: is an unspecified address (the exporter's own machine): {UNLESS} (::/128 or inside it)"),
        ("224.0.0.1", (), f"224.0.0.1 is a multicast address: {UNLESS} (224.0.0.0/4 or inside it)"),
        ("ff02::1", (), f"ff02::1 is a multicast address: {UNLESS} (ff00::/8 or inside it)"),
        # metadata through NAT64: the IPv4 inside the well-known prefix is what is reached
        ("64:ff9b::a9fe:a9fe", (), f"64:ff9b::a9fe:a9fe is a link-local address (cloud metadata lives there): "
                                   f"{UNLESS} (169.254.0.0/16 or inside it)"),
        ("64:ff9b::c000:201", (), None),  # the look-alike: an ordinary IPv4 behind NAT64
        ("not-an-address", (), "not-an-address is not an IP address"),
    ],
)  # fmt: skip
def test_guarded_addresses_need_a_network_listed_for_them(address, networks, refusal):
    allowance = Allowance(networks=tuple(ipaddress.ip_network(n) for n in networks))
    assert address_refusal(address, allowance) == refusal


def test_a_literal_in_a_listed_network_is_still_guarded():
    allowance = Allowance(networks=(ipaddress.ip_network("169.0.0.0/8"),))
    assert target_refusal("169.254.169.254", True, allowance) == (
        f"{METADATA}: never probed unless allow.networks lists it (169.254.0.0/16 or inside it)"
    )
