"""A report's vantage block: the label, the tool's version and the families this client has
a route for, as the kernel answers (the route check is replaced here: no socket)."""

from __future__ import annotations

import errno
import socket

import pytest

from tcpreach import __version__
from tcpreach.host import vantage
from tcpreach.model import Family, Vantage


@pytest.mark.parametrize(
    ("unrouted", "routes"),
    [(set(), (Family.IPV4, Family.IPV6)), ({Family.IPV6}, (Family.IPV4,)), ({Family.IPV4, Family.IPV6}, ())],
)
def test_the_routes_are_the_families_the_kernel_has_a_route_for(monkeypatch, unrouted, routes):
    asked = []

    def route_errno(target):
        asked.append(target.address)
        return errno.ENETUNREACH if target.family in unrouted else None

    monkeypatch.setattr(vantage, "route_errno", route_errno)
    assert vantage.this_vantage("fra") == Vantage("fra", __version__, routes)
    assert asked == ["192.0.2.1", "2001:db8::1"]  # documentation addresses: nothing real is asked


def test_the_label_defaults_to_the_host_name(monkeypatch):
    monkeypatch.setattr(vantage, "route_errno", lambda target: None)
    assert vantage.this_vantage().label == socket.gethostname()
