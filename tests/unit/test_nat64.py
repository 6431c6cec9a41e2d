"""DNS64/NAT64 addresses (RFC 6052, RFC 7050), on plain data."""

from __future__ import annotations

import pytest

from tcpreach.standards.nat64 import embedded_ipv4, prefix_from_ipv4only, synthesized_by


@pytest.mark.parametrize(
    ("address", "prefix", "ipv4"),
    [
        ("64:ff9b::c000:221", "64:ff9b::/96", "192.0.2.33"),  # RFC 6052's examples, every length
        ("2001:db8:c000:221::", "2001:db8::/32", "192.0.2.33"),
        ("2001:db8:1c0:2:21::", "2001:db8:100::/40", "192.0.2.33"),
        ("2001:db8:122:c000:2:2100::", "2001:db8:122::/48", "192.0.2.33"),
        ("2001:db8:122:3c0:0:221::", "2001:db8:122:300::/56", "192.0.2.33"),
        ("2001:db8:122:344:c0:2:2100:0", "2001:db8:122:344::/64", "192.0.2.33"),
        ("2001:db8:122:344::192.0.2.33", "2001:db8:122:344::/96", "192.0.2.33"),
        ("2001:db9::c000:221", "64:ff9b::/96", None),  # not under the prefix
        ("64:ff9b::c000:221", "64:ff9b::/80", None),  # a length RFC 6052 does not allow
        ("not-an-address", "64:ff9b::/96", None),
    ],
)
def test_the_ipv4_address_inside(address, prefix, ipv4):
    assert embedded_ipv4(address, prefix) == ipv4


@pytest.mark.parametrize(
    ("answers", "prefix"),
    [
        (["64:ff9b::c000:aa", "64:ff9b::c000:ab"], "64:ff9b::/96"),
        (["2001:db8:64::c000:ab"], "2001:db8:64::/96"),
        (["2001:db8:100:c000:0:aa00::"], "2001:db8:100::/48"),
        (["2001:db8:64::c000:ac"], None),  # 192.0.0.172 is no ipv4only.arpa address
        ([], None),
    ],
)
def test_the_prefix_a_resolver_reveals_for_ipv4only_arpa(answers, prefix):
    assert prefix_from_ipv4only(answers) == prefix


@pytest.mark.parametrize(
    ("address", "learned", "made_by"),
    [
        ("64:ff9b::4229:7c14", None, "64:ff9b::/96"),  # the well-known prefix, whatever was learned
        ("2001:db8:64::4229:7c14", "2001:db8:64::/96", "2001:db8:64::/96"),
        ("2001:db8:64::4229:7c14", None, None),  # a native address under no known prefix
        ("2a09:8280:1::10", "2001:db8:64::/96", None),
    ],
)
def test_made_up_or_the_services_own(address, learned, made_by):
    assert synthesized_by(address, learned) == made_by
