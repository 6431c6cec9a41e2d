"""Which targets the exporter may probe: it is no open proxy.

A target is probed only when the configuration allows it: a name listed under
``[allow] hosts`` (exactly, or by a ``*.`` pattern that matches one label or more), or a
literal address inside a network listed under ``[allow] networks``. Whatever a name
resolves to, an address of a guarded range (this machine's loopback, the unspecified
address, link-local, multicast, the cloud metadata addresses; in their IPv4-mapped and
NAT64 forms too) is never probed unless a network listed explicitly for it (one inside
the range) holds it: whoever controls an allowed name's DNS must not point the exporter
at its own machine. Plain functions over plain data.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from tcpreach.standards.nat64 import WELL_KNOWN_PREFIX

__all__ = ["GUARDED", "Allowance", "address_refusal", "guarded_range", "target_refusal"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

GUARDED: tuple[tuple[Network, str], ...] = (
    (ipaddress.ip_network("169.254.0.0/16"), "a link-local address (cloud metadata lives there)"),
    (ipaddress.ip_network("fe80::/10"), "a link-local address"),
    (ipaddress.ip_network("fd00:ec2::254/128"), "a cloud metadata address (AWS)"),
    (ipaddress.ip_network("100.100.100.200/32"), "a cloud metadata address (Alibaba Cloud)"),
    (ipaddress.ip_network("127.0.0.0/8"), "a loopback address (the exporter's own machine)"),
    (ipaddress.ip_network("::1/128"), "a loopback address (the exporter's own machine)"),
    (ipaddress.ip_network("0.0.0.0/8"), "an unspecified address (the exporter's own machine)"),
    (ipaddress.ip_network("::/128"), "an unspecified address (the exporter's own machine)"),
    (ipaddress.ip_network("224.0.0.0/4"), "a multicast address"),
    (ipaddress.ip_network("ff00::/8"), "a multicast address"),
)
"""Addresses never probed unless a listed network inside the range holds them."""


@dataclass(frozen=True)
class Allowance:
    """What the configuration allows: host names and patterns, and address ranges."""

    hosts: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()


_NAT64 = ipaddress.ip_network(WELL_KNOWN_PREFIX)


def _address(text: str) -> Address | None:
    """The address ``text`` reaches: an IPv4-mapped or NAT64 (64:ff9b::/96) address is the
    IPv4 address inside it."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _name_matches(name: str, pattern: str) -> bool:
    name, pattern = name.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return name.endswith(suffix) and len(name) > len(suffix)
    return name == pattern


def guarded_range(address: Address) -> tuple[Network, str] | None:
    """The guarded range that holds ``address`` and what it is, if any."""
    return next(((net, what) for net, what in GUARDED if address.version == net.version and address in net), None)


def _listed_for(address: Address, networks: Sequence[Network], guarded: Network) -> bool:
    """Whether a listed network inside the guarded range holds the address."""
    return any(
        net.version == address.version and address in net and net.subnet_of(guarded)  # type: ignore[arg-type]
        for net in networks
    )


def address_refusal(text: str, allowance: Allowance) -> str | None:
    """Why an address (given, or resolved from an allowed name) must not be probed; ``None``
    when it may be."""
    address = _address(text)
    if address is None:
        return f"{text} is not an IP address"
    guarded = guarded_range(address)
    if guarded is not None and not _listed_for(address, allowance.networks, guarded[0]):
        return f"{text} is {guarded[1]}: never probed unless allow.networks lists it ({guarded[0]} or inside it)"
    return None


def target_refusal(host: str, literal: bool, allowance: Allowance) -> str | None:
    """Why the exporter refuses to probe ``host``; ``None`` when the configuration allows it."""
    if literal:
        address = _address(host)
        if address is None or not any(address.version == n.version and address in n for n in allowance.networks):
            return f"{host} is in no network listed under allow.networks"
        return address_refusal(host, allowance)
    if any(_name_matches(host, pattern) for pattern in allowance.hosts):
        return None
    return f"{host} matches no name or pattern listed under allow.hosts"
