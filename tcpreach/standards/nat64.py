"""DNS64 and NAT64 addresses (RFC 6052, RFC 7050), pure.

A DNS64 resolver answers an AAAA query for a name that has only A records with addresses it
made up: the IPv4 address inside an IPv6 prefix of the network's NAT64. Such an address is
this client's way to the service's IPv4, never the service's own IPv6. It is recognised by
the well-known prefix ``64:ff9b::/96``, or by the prefix a resolver reveals when asked for
the AAAA of ``ipv4only.arpa`` (a name with only the A records 192.0.0.170 and 192.0.0.171).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["IPV4ONLY_ARPA", "WELL_KNOWN_PREFIX", "embedded_ipv4", "prefix_from_ipv4only", "synthesized_by"]

WELL_KNOWN_PREFIX = "64:ff9b::/96"
IPV4ONLY_ARPA = "ipv4only.arpa"
_IPV4ONLY = (ipaddress.IPv4Address("192.0.0.170"), ipaddress.IPv4Address("192.0.0.171"))
_LENGTHS = (96, 64, 56, 48, 40, 32)
"""The prefix lengths RFC 6052 allows."""


def embedded_ipv4(address: str, prefix: str) -> str | None:
    """The IPv4 address ``address`` carries under ``prefix`` (RFC 6052 section 2.2: bits 64
    to 71, the "u" octet, are skipped), or ``None`` when the address is not under it."""
    try:
        network = ipaddress.IPv6Network(prefix)
        value = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return None
    if network.prefixlen not in _LENGTHS or value not in network:
        return None
    octets = value.packed
    start = network.prefixlen // 8
    carried = [octets[i] for i in range(start, 16) if i != 8][:4]
    return str(ipaddress.IPv4Address(bytes(carried)))


def prefix_from_ipv4only(addresses: Iterable[str]) -> str | None:
    """The NAT64 prefix a resolver used for ``ipv4only.arpa``'s AAAA answer (RFC 7050), or
    ``None`` when no answer carries 192.0.0.170 or 192.0.0.171."""
    for address in addresses:
        for length in _LENGTHS:
            try:
                network = ipaddress.IPv6Network(f"{address}/{length}", strict=False)
            except ValueError:
                break
            carried = embedded_ipv4(address, str(network))
            if carried is not None and ipaddress.IPv4Address(carried) in _IPV4ONLY:
                return str(network)
    return None


def synthesized_by(address: str, prefix: str | None) -> str | None:
    """The NAT64 prefix that made ``address`` (the well-known one, or ``prefix`` learned
    from the resolver), or ``None`` for an address of the service's own."""
    for candidate in (WELL_KNOWN_PREFIX, prefix):
        if candidate is not None and embedded_ipv4(address, candidate) is not None:
            return candidate
    return None
