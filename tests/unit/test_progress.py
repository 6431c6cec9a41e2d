"""The progress line: on a terminal only (not TERM=dumb), once a run has lasted a second,
at most ten times a second, and cleared at the end."""

from __future__ import annotations

import io

import pytest

from tcpreach.cli import progress
from tcpreach.model import Family, ProbeResult, Target, TargetOutcome, Verdict


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def outcome(verdict: Verdict) -> TargetOutcome:
    return TargetOutcome(ProbeResult(Target(Family.IPV4, "192.0.2.1", 1848), connected=True), verdict, "")


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    monkeypatch.setenv("TERM", "xterm")
    return now


def test_a_long_run_on_a_terminal_shows_targets_judged_and_failures_then_clears(clock):
    stream = Terminal()
    with progress.Progress(stream, total=3) as line:
        line.done(outcome(Verdict.OK))  # within the first second: nothing
        clock[0] += 1.5
        line.done(outcome(Verdict.REFUSED))
        clock[0] += 0.01
        line.done(outcome(Verdict.OK))  # within a tenth of a second of the last: nothing
    assert stream.getvalue() == "\r2 of 3 targets judged, 1 failing\x1b[K\r\x1b[K"


def test_a_fleet_shows_its_hosts_n_of_n_and_moves_as_they_finish(clock):
    stream = Terminal()
    with progress.Progress(stream, hosts=3) as line:
        clock[0] += 1.5
        line.done(outcome(Verdict.OK))
        clock[0] += 0.2
        line.host_done()
    assert stream.getvalue() == (
        "\r0 of 3 hosts, 1 targets judged, 0 failing\x1b[K\r1 of 3 hosts, 1 targets judged, 0 failing\x1b[K\r\x1b[K"
    )


@pytest.mark.parametrize(("stream", "term"), [(io.StringIO(), "xterm"), (Terminal(), "dumb")])
def test_nothing_when_not_a_terminal_or_a_dumb_one(clock, monkeypatch, stream, term):
    monkeypatch.setenv("TERM", term)
    with progress.Progress(stream) as line:
        clock[0] += 5
        line.done(outcome(Verdict.OK))
    assert stream.getvalue() == ""


def test_nothing_when_told_to_be_quiet(clock):
    stream = Terminal()
    with progress.Progress(stream, quiet=True) as line:  # --json to a pipe
        clock[0] += 5
        line.done(outcome(Verdict.OK))
    assert stream.getvalue() == ""
