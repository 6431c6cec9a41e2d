"""What connect()'s own error means, whichever call reports it. No socket is connected:
the probe's non-blocking connect is replaced by one that fails as a kernel would."""

from __future__ import annotations

import asyncio
import errno
import socket
from unittest import mock

import pytest

from tcpreach.expectation import Expectation
from tcpreach.judging.verdict import judge
from tcpreach.model import Ending, Family, Target, Verdict
from tcpreach.net.probe import _connect

TARGET = Target(Family.IPV4, "66.241.125.63", 1848)


def connect_failing_with(error: OSError):
    async def sock_connect(sock, address):
        raise error

    async def attempt():
        with socket.socket() as sock, mock.patch("tcpreach.net.probe._sock_connect", sock_connect):
            return await _connect(sock, TARGET, 1.0, lambda: 0.004)

    return asyncio.run(attempt())


@pytest.mark.parametrize(
    "error",
    [ConnectionResetError(errno.ECONNRESET, "reset"), BrokenPipeError(errno.EPIPE, "broken pipe"),
     ConnectionAbortedError(errno.ECONNABORTED, "aborted")],
    ids=["ECONNRESET", "EPIPE", "ECONNABORTED"],
)  # fmt: skip
def test_a_reset_reported_by_connect_is_an_accepted_connection_closed_without_data(error):
    result = connect_failing_with(error)
    assert (result.connected, result.ending, result.connect_errno) == (True, Ending.RESET, None)
    assert judge(result, Expectation()).verdict is Verdict.CLOSED_WITHOUT_DATA


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), Verdict.REFUSED),
        (OSError(errno.EHOSTUNREACH, "no route to host"), Verdict.UNREACHABLE),
        (OSError(errno.ENETUNREACH, "network unreachable"), Verdict.UNREACHABLE),
    ],
)
def test_the_look_alikes_that_never_connected(error, verdict):
    result = connect_failing_with(error)
    assert (result.connected, judge(result, Expectation()).verdict) == (False, verdict)


def test_the_route_lookup_sends_nothing_it_asks_with_a_datagram_socket(monkeypatch):
    import socket

    from tcpreach.model import Family, Target
    from tcpreach.net import probe as probe_module

    made = []
    real = socket.socket

    def recording(family=-1, kind=-1, *rest):
        made.append(kind)
        return real(family, kind, *rest)

    monkeypatch.setattr(probe_module.socket, "socket", recording)
    assert probe_module.route_errno(Target(Family.IPV4, "127.0.0.1", 9)) is None
    assert made == [socket.SOCK_DGRAM]
