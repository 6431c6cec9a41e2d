"""The clock measures the network, never the loop: a connect that completed, and bytes that
arrived, while the event loop was too busy to see them by the deadline, are a connect and
bytes, not a timeout and silence. Each test keeps the loop busy on purpose (a blocking
sleep) across the probe's deadline; the look-alikes are a listener that never accepts in
time and a server that sends nothing: those stay a timeout and silence."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tcpreach.model import Ending, Family, Target
from tcpreach.net.probe import probe_async
from tcpreach.options import CheckOptions
from tcpreach.testing import Behaviour, StandIn

pytestmark = pytest.mark.local


def _probed_past_a_busy_loop(port: int, busy_after: float, busy_for: float, timeout: float = 0.2):
    async def run():
        task = asyncio.ensure_future(probe_async(Target(Family.IPV4, "127.0.0.1", port), CheckOptions(timeout=timeout)))
        await asyncio.sleep(busy_after)
        time.sleep(busy_for)  # the loop blocked: nothing of the probe runs until its deadline has passed
        return await task

    return asyncio.run(run())


def test_a_connect_that_completed_while_the_loop_was_busy_is_a_connect():
    with StandIn(Behaviour.HELLO) as server:
        result = _probed_past_a_busy_loop(server.port, busy_after=0, busy_for=0.5)
    assert (result.connected, result.connect_timed_out, result.received, result.ending) == (
        True, False, b"hello\n", Ending.EOF)  # fmt: skip


def test_a_listener_that_never_accepts_is_still_a_connect_timeout_after_a_busy_loop():
    # the look-alike: a full backlog drops the SYN, so the socket itself is still connecting
    with StandIn(Behaviour.NO_ACCEPT) as server:
        for _ in range(4):  # fill its backlog
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", server.port))
            server.fillers = [*getattr(server, "fillers", []), filler]
        time.sleep(0.1)
        result = _probed_past_a_busy_loop(server.port, busy_after=0, busy_for=0.5)
        for filler in server.fillers:
            filler.close()
    assert (result.connected, result.connect_timed_out) == (False, True)


@pytest.fixture
def late_hello() -> Iterator[int]:
    """Accepts, waits 0.1 s, says hello and closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        time.sleep(0.1)
        conn.sendall(b"hello\n")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(5)
    listener.close()


def test_bytes_that_arrived_while_the_loop_was_busy_are_read_not_silence(late_hello):
    result = _probed_past_a_busy_loop(late_hello, busy_after=0.05, busy_for=0.5)
    assert (result.connected, result.received, result.ending) == (True, b"hello\n", Ending.EOF)


def test_a_server_that_sent_nothing_is_still_silent_after_a_busy_loop():
    with StandIn(Behaviour.SILENT) as server:
        result = _probed_past_a_busy_loop(server.port, busy_after=0.05, busy_for=0.5)
    assert (result.connected, result.received, result.ending) == (True, b"", Ending.DEADLINE)
