"""The probe's read over a scripted stream and a scripted clock: which moment each timing
records, on a sender that writes in several chunks. No socket, no sleep."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from tcpreach.expectation import Expectation, Match
from tcpreach.model import Ending
from tcpreach.net import conversation


class Trickle:
    """A stream that hands out ``chunks`` one per ``recv``; each takes a second on the clock."""

    def __init__(self, clock: list[float], *chunks: bytes) -> None:
        self.clock = clock
        self.chunks = list(chunks)

    async def send(self, data: bytes) -> None:
        raise AssertionError("nothing is sent without a request")

    async def recv(self) -> bytes:
        self.clock[0] += 1.0
        return self.chunks.pop(0)


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(conversation, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def read(stream: Trickle, expectation: Expectation | None = None, budget: float = 60.0):
    return asyncio.run(conversation.read(stream, budget, expectation, lambda: 0.0))


def test_the_first_byte_is_the_first_chunks_time_not_the_last(clock):
    received, ending, first_byte = read(Trickle(clock, b"he", b"ll", b"o\n", b""))
    assert (received, ending, first_byte) == (b"hello\n", Ending.EOF, 101.0)


def test_a_sender_that_stops_early_for_the_expectation_keeps_its_first_byte(clock):
    received, ending, first_byte = read(
        Trickle(clock, b"+O", b"K ready\r\n", b"more"), Expectation(b"+OK", Match.PREFIX, keep_open=True)
    )
    assert (received, ending, first_byte) == (b"+OK ready\r\n", Ending.STOPPED, 101.0)


def test_nothing_before_the_end_has_no_first_byte(clock):
    assert read(Trickle(clock, b"")) == (b"", Ending.EOF, None)
