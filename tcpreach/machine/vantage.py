"""Where a report is made: this machine's name, the tool's version, the families it has a
route for and its source address in each, towards the service's own addresses (asked of
the kernel with a UDP ``connect()``, which sends nothing)."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from tcpreach import __version__
from tcpreach.model import Family, Target, Vantage
from tcpreach.net.probe import sockaddr

__all__ = ["this_vantage"]

# Documentation addresses (RFC 5737, RFC 3849): when a family has no target, a route to
# them is a route to the Internet; nothing is ever sent to them.
_SOMEWHERE = {Family.IPV4: "192.0.2.1", Family.IPV6: "2001:db8::1"}
_SOCKET_FAMILY = {Family.IPV4: socket.AF_INET, Family.IPV6: socket.AF_INET6}


def _source(target: Target) -> str | None:
    """The source address the kernel would use towards ``target``; ``None``: no route."""
    try:
        with socket.socket(_SOCKET_FAMILY[target.family], socket.SOCK_DGRAM) as udp:
            udp.connect(sockaddr(target))
            return str(udp.getsockname()[0])
    except OSError:
        return None


def this_vantage(label: str = "", towards: Iterable[Target] = ()) -> Vantage:
    """This machine as a vantage point; ``label`` defaults to its host name. Routes and
    source addresses are those towards the first of ``towards`` in each family."""
    first: dict[Family, Target] = {}
    for target in towards:
        first.setdefault(target.family, target)
    sources: list[tuple[Family, str]] = []
    for family, somewhere in _SOMEWHERE.items():
        source = _source(first.get(family) or Target(family, somewhere, 9))
        if source is not None:
            sources.append((family, source))
    return Vantage(label or socket.gethostname(), __version__, tuple(f for f, _ in sources), tuple(sources))
