"""The interface reader's fallbacks, in this process on this machine's own interfaces: a
kernel without /proc/thread-self (the process's /proc/net/if_inet6 is read instead), one
without either table (IPv4 alone), and an interface whose flags cannot be read (counted as
down). The IPv6 table is written by the test, one global address on ``lo``, which is up
and running on every machine; nothing is connected to."""

from __future__ import annotations

import builtins
import fcntl
import io

import pytest

from tcpreach.machine import interfaces
from tcpreach.machine.interfaces import interface_addresses

pytestmark = pytest.mark.local

# /proc/net/if_inet6's six fields: address, index, prefix length, scope, flags, name.
ON_LO = "20010db8000000000000000000000001 01 80 00 80       lo\n"


def tables(monkeypatch, present: dict[str, str]) -> None:
    """The IPv6 tables the reader opens: ``present`` (path to text), any other missing."""

    def fake_open(path, *args, **kwargs):
        if str(path) in present:
            return io.StringIO(present[str(path)])
        if str(path).endswith("if_inet6"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(interfaces, "open", fake_open, raising=False)


def test_without_the_threads_view_the_processes_table_is_read(monkeypatch):
    tables(monkeypatch, {})
    ipv4_only = interface_addresses()  # neither table: no IPv6 address, and no error
    assert [a for a in ipv4_only if ":" in a] == []
    tables(monkeypatch, {"/proc/net/if_inet6": ON_LO})
    assert interface_addresses() == [*ipv4_only, "2001:db8::1"]
    tables(monkeypatch, {"/proc/thread-self/net/if_inet6": ON_LO, "/proc/net/if_inet6": ""})
    assert interface_addresses() == [*ipv4_only, "2001:db8::1"]  # the thread's view first


def test_an_interface_whose_flags_cannot_be_read_counts_as_down(monkeypatch):
    tables(monkeypatch, {"/proc/net/if_inet6": ON_LO})
    real = fcntl.ioctl

    def no_flags(fd, request, *args):
        if request == interfaces._SIOCGIFFLAGS:
            raise OSError(19, "No such device")
        return real(fd, request, *args)

    monkeypatch.setattr(fcntl, "ioctl", no_flags)
    assert interface_addresses() == []
