"""What to probe: a resolution turned into targets, one per address."""

from __future__ import annotations

from collections.abc import Iterable

from tcpreach.model import Family, Resolution, Source, Target
from tcpreach.settings.inputs import canonical_address
from tcpreach.standards.nat64 import synthesized_by

__all__ = ["targets_of"]


def targets_of(resolution: Resolution, port: int, families: Iterable[Family]) -> tuple[Target, ...]:
    """Every address becomes its own target: DNS records first (an AAAA that DNS64 made up
    marked as such), then addresses only the system resolver knows."""
    wanted = set(families)
    if resolution.literal:
        family = Family.of(resolution.host)
        # In its one spelling (2001:db8::1 for 2001:DB8:0::1), as DNS answers are: an address
        # is the same row wherever it was typed, in a report and across merged vantages.
        address = canonical_address(resolution.host)
        return (Target(family, address, port, Source.LITERAL),) if family in wanted else ()
    seen: set[str] = set()
    targets: list[Target] = []
    for answer in resolution.dns:
        for address in answer.addresses:
            if answer.family in wanted and address not in seen:
                seen.add(address)
                made_up = answer.family is Family.IPV6 and synthesized_by(address, resolution.dns64_prefix)
                targets.append(Target(answer.family, address, port, Source.DNS64 if made_up else Source.DNS))
    for address in resolution.system or ():
        family = Family.of(address)
        if family in wanted and address not in seen:
            seen.add(address)
            targets.append(Target(family, address, port, Source.GETADDRINFO))
    return tuple(targets)
