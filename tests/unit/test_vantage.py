"""A report's vantage block: the label, the tool's version, the families this client has a
route for and its source address in each, as the kernel answers (replaced here: no socket)."""

from __future__ import annotations

import socket

import pytest

from tcpreach import __version__
from tcpreach.machine import vantage
from tcpreach.model import Family, Target, Vantage

SOURCES = {Family.IPV4: "192.0.2.2", Family.IPV6: "2001:db8:1::2"}


def kernel(monkeypatch, unrouted):
    asked = []

    def source(target):
        asked.append(target.address)
        return None if target.family in unrouted else SOURCES[target.family]

    monkeypatch.setattr(vantage, "_source", source)
    return asked


@pytest.mark.parametrize(
    ("unrouted", "routes"),
    [(set(), (Family.IPV4, Family.IPV6)), ({Family.IPV6}, (Family.IPV4,)), ({Family.IPV4, Family.IPV6}, ())],
)
def test_without_targets_the_routes_are_towards_documentation_addresses(monkeypatch, unrouted, routes):
    asked = kernel(monkeypatch, unrouted)
    assert vantage.this_vantage("fra") == Vantage("fra", __version__, routes, tuple((f, SOURCES[f]) for f in routes))
    assert asked == ["192.0.2.1", "2001:db8::1"]  # documentation addresses: nothing real is asked


def test_routes_and_sources_are_towards_the_first_target_of_each_family(monkeypatch):
    asked = kernel(monkeypatch, {Family.IPV6})
    targets = [Target(Family.IPV6, "2a09:8280:1::10", 1848), Target(Family.IPV4, "66.241.124.10", 1848),
               Target(Family.IPV4, "66.241.124.11", 1848)]  # fmt: skip
    assert vantage.this_vantage("ci", targets) == Vantage(
        "ci", __version__, (Family.IPV4,), ((Family.IPV4, "192.0.2.2"),)
    )
    assert asked == ["66.241.124.10", "2a09:8280:1::10"]


def test_the_label_defaults_to_the_host_name(monkeypatch):
    kernel(monkeypatch, set())
    assert vantage.this_vantage().label == socket.gethostname()


def test_a_source_is_what_the_kernel_picks():
    # loopback only, and a UDP connect sends nothing
    assert (vantage._source(Target(Family.IPV4, "127.0.0.7", 9)), vantage._source(Target(Family.IPV6, "::1", 9))) == (
        "127.0.0.1", "::1")  # fmt: skip
