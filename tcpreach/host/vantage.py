"""Where a report is made: this machine's name, the tool's version, and the families it has
a route for (asked of the kernel with a UDP ``connect()``, which sends nothing)."""

from __future__ import annotations

import socket

from tcpreach import __version__
from tcpreach.model import Family, Target, Vantage
from tcpreach.net.probe import route_errno

__all__ = ["this_vantage"]

# Documentation addresses (RFC 5737, RFC 3849): a route to them is a route to the Internet,
# and nothing is ever sent to them.
_SOMEWHERE = {Family.IPV4: "192.0.2.1", Family.IPV6: "2001:db8::1"}


def this_vantage(label: str = "") -> Vantage:
    """This machine as a vantage point; ``label`` defaults to its host name."""
    routes = tuple(f for f, address in _SOMEWHERE.items() if route_errno(Target(f, address, 9)) is None)
    return Vantage(label or socket.gethostname(), __version__, routes)
