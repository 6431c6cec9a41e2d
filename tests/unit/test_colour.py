"""Colour on a terminal only, honouring NO_COLOR and TERM=dumb, and never moving a column."""

from __future__ import annotations

import io
import re

import pytest
from test_report_corpus import CASES

from tcpreach.cli.colour import paint, wants_colour
from tcpreach.report.text import format_report

_CODES = re.compile(r"\033\[[0-9;]*m")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "stream", "wanted"), [
    ({}, Terminal(), True),
    ({"NO_COLOR": "1"}, Terminal(), False),
    ({"NO_COLOR": ""}, Terminal(), True),  # no-color.org: set and not empty
    ({"TERM": "dumb"}, Terminal(), False),
    ({}, io.StringIO(), False),  # a pipe or a file
])  # fmt: skip
def test_colour_only_on_a_terminal_that_wants_it(monkeypatch, env, stream, wanted):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert wants_colour(stream) is wanted


def test_the_verdicts_and_severities_are_painted_and_nothing_moves():
    text = format_report(CASES["smtp-starttls-ok-and-refused"]())
    painted = paint(text)
    assert _CODES.sub("", painted) == text
    rows = [line for line in painted.splitlines() if line.startswith(("ipv4 ", "ipv6 "))]
    assert [re.findall(r"\033\[3[12]m([a-z-]+)\033\[0m", row) for row in rows] == [["ok"], ["wrong-greeting"]]
    assert ["\033[32m" in rows[0], "\033[31m" in rows[1]] == [True, True]
    assert re.findall(r"^\033\[(\d+)m(ERROR|WARNING|INFO)\033\[0m", painted, re.MULTILINE) == [("31", "ERROR")]


def test_every_report_keeps_its_text_under_the_paint():
    for make in CASES.values():
        text = format_report(make())
        assert _CODES.sub("", paint(text)) == text
