"""The local matrix over a machine's interface addresses, inside a network namespace of
our own: a veth pair with an IPv4 and an IPv6 address, so no probe leaves that namespace.
And which interface addresses count, on real interfaces of every kind.

In the machine's own namespace the suite probes loopback only (the rules of this
workplace allow no other target); ``--local-interfaces`` adds the interface addresses.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tcpreach.machine.interfaces import interface_addresses, local_addresses

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
SETUP = (
    "ip link set lo up && ip link add hello0 type veth peer name hello1 && "
    "ip addr add 10.200.0.1/24 dev hello0 && ip -6 addr add fd12:3456::1/64 dev hello0 nodad && "
    "ip link set hello0 up && ip link set hello1 up"
)


def test_the_local_matrix_covers_interface_addresses_in_a_namespace_of_our_own(namespaces):
    command = (
        f"{SETUP} && exec {sys.executable} -m pytest -m local -p no:cacheprovider -p no:hypothesispytest -q -rA "
        "--local-interfaces tests/local/test_matrix.py"
    )
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED")]
    for server in ("in-process", "subprocess"):
        for label in ("ipv4-127.0.0.1", "ipv6-::1", "ipv6-::ffff:127.0.0.1", "ipv4-10.200.0.1", "ipv6-fd12:3456::1"):
            assert any(f"test_greeting[{server}-{label}]" in line for line in passed), (server, label)
    assert "tcpreach matrix" in done.stdout


# Interfaces of every kind the filter must tell apart, in a namespace of our own:
#   up0/up1   a veth pair, both up: carrier; global addresses usable at once (nodad)
#   slow0     up with carrier, its IPv6 address kept tentative (DAD with a 30 s timer)
#   nocar0    up, its peer down: no carrier (a Docker bridge without a container)
#   down0     an interface that is down
FILTER_SETUP = [
    "link set lo up",
    "link add up0 type veth peer name up1",
    "addr add 10.201.0.1/24 dev up0",
    "-6 addr add fd13::1/64 dev up0 nodad",
    "-6 addr add fe80::13/64 dev up0 nodad",  # a link-local address of our own (not every kernel makes one)
    "link set up0 up",
    "link set up1 up",
    "link add slow0 type veth peer name slow1",
    "link set slow1 up",
    "link add nocar0 type veth peer name nocar1",
    "addr add 10.201.2.1/24 dev nocar0",
    "-6 addr add fd13:2::1/64 dev nocar0 nodad",
    "link set nocar0 up",
    "link add down0 type veth peer name down1",
    "addr add 10.201.3.1/24 dev down0",
    "-6 addr add fd13:3::1/64 dev down0 nodad",
]


def test_interface_addresses_leave_out_link_local_tentative_and_interfaces_down_or_without_carrier(namespaces):
    from netlab.lab import in_namespace

    namespace = f"tcpreach-if-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        for command in FILTER_SETUP:
            subprocess.run(["ip", "-n", namespace, *command.split()], check=True, capture_output=True)
        sysctl = ["ip", "netns", "exec", namespace, "sysctl", "-qw"]
        subprocess.run([*sysctl, "net.ipv6.conf.slow0.accept_dad=1", "net.ipv6.conf.slow0.dad_transmits=1",
                        "net.ipv6.neigh.slow0.retrans_time_ms=30000"], check=True)  # fmt: skip
        subprocess.run(["ip", "-n", namespace, "link", "set", "slow0", "up"], check=True)
        subprocess.run(["ip", "-n", namespace, "-6", "addr", "add", "fd13:1::1/64", "dev", "slow0"], check=True)
        shown = subprocess.run(["ip", "-n", namespace, "-6", "addr", "show", "dev", "slow0"], capture_output=True,
                               text=True, check=True).stdout  # fmt: skip
        assert "fd13:1::1/64 scope global tentative" in shown, shown
        on_up0 = subprocess.run(["ip", "-n", namespace, "-6", "addr", "show", "dev", "up0"], capture_output=True,
                                text=True, check=True).stdout  # fmt: skip
        assert "fe80::13/64 scope link" in on_up0, on_up0
        found = in_namespace(namespace, interface_addresses)
        everything = in_namespace(namespace, local_addresses, True)
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
    # The link-local addresses (fe80::13 of up0, and any the kernel made), and loopback, are left out too.
    assert sorted(found) == ["10.201.0.1", "fd13::1"]
    # The local matrix: loopback in every notation, localhost's own answers (hosts file), then these.
    localhost = [str(info[4][0]) for info in socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)]
    assert everything == tuple(dict.fromkeys(["127.0.0.1", "::1", "::ffff:127.0.0.1", *localhost, *found]))


def test_probe_asks_the_kernel_for_a_route_by_default(namespaces):
    """An 'unreachable' route answers connect() with EHOSTUNREACH, as a router's ICMP would:
    only the route check (on by default) tells that it is this client's own table. Nothing
    leaves the namespace: it has loopback alone and the unreachable route."""
    from netlab.lab import in_namespace
    from tcpreach.model import Family, Target
    from tcpreach.net.probe import probe

    namespace = f"tcpreach-route-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", namespace, "route", "add", "unreachable", "192.0.2.0/24"], check=True)
        target = Target(Family.IPV4, "192.0.2.1", 1848)
        checked = in_namespace(namespace, probe, target)
        unchecked = in_namespace(namespace, lambda: probe(target, check_route=False))
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
    assert (checked.no_route, checked.connect_errno) == (True, errno.EHOSTUNREACH)
    assert (unchecked.no_route, unchecked.connect_errno) == (False, errno.EHOSTUNREACH)
