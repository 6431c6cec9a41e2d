"""The benchmark's own parts work (its figures are never asserted: they are ratios for a
human to read, measured by ``make bench``)."""

from __future__ import annotations

import collections

import pytest

from bench.run import median_run, ratio
from bench.servers import python_load

pytestmark = pytest.mark.local


def test_the_python_load_fallback_counts_connections_and_errors(hello_server):
    result = python_load("127.0.0.1", hello_server.port, 4, seconds=0, count=40, timeout=5)
    assert result["connections"] == 40
    assert set(result["errors"].values()) == {0}
    assert 0 < result["p50_us"] <= result["p99_us"] <= result["p999_us"]


def test_medians_and_ratios():
    runs = [
        {"rate": r, "p50_us": 1, "p99_us": 2, "p999_us": 3, "cpu_us_per_conn": c, "connections": 10,
         "errors": {"timeout": t}}
        for r, c, t in ((100, 9.0, 1), (300, 11.0, 0), (200, 10.0, 2))
    ]  # fmt: skip
    merged = median_run(runs)
    assert (merged["rate"], merged["cpu_us_per_conn"], merged["errors"]) == (200, 10.0, {"timeout": 3})
    assert ratio(11.5, 10.0) == pytest.approx(1.15)
    assert ratio(1.0, 0.0) is None


def test_every_hand_written_mutant_applies_to_the_code_as_it_is(capsys):
    from quality.semantic import load, main

    assert main(["--check"]) == 0
    assert capsys.readouterr().out == f"{len(load())} mutants, each applies once\n"


def test_a_mutant_that_no_longer_applies_is_named():
    from quality.semantic import Mutant

    stale = Mutant("gone", "wiring", "a bug", "tcpreach/engine.py", "no such text", "x")
    with pytest.raises(ValueError) as raised:  # noqa: PT011 - the whole message is asserted below
        stale.applied("some code")
    assert str(raised.value) == "gone: 'no such text' is in tcpreach/engine.py 0 times, not once"


def test_the_mutation_score_counts_functions_and_methods_and_timeouts_as_caught():
    from quality.mutation import row, tally

    results = """
    tcpreach.settings.config.x__value__mutmut_1: killed
    tcpreach.settings.config.x__value__mutmut_2: survived
    tcpreach.judging.population.xǁ_Seenǁfailures__mutmut_5: killed
    tcpreach.net.conversation.x_read__mutmut_9: timeout
    tcpreach.standards.nat64.x_synthesized_by__mutmut_3: not checked
    a line that is not a result
    """
    counts, survivors = tally(results)
    assert {module: dict(seen) for module, seen in counts.items()} == {
        "tcpreach.settings.config": {"killed": 1, "survived": 1},
        "tcpreach.judging.population": {"killed": 1},
        "tcpreach.net.conversation": {"timeout": 1},
        "tcpreach.standards.nat64": {"not checked": 1},
    }
    assert dict(survivors) == {
        "tcpreach.settings.config": [("tcpreach.settings.config.x__value__mutmut_2", "survived")]
    }
    total = sum(counts.values(), collections.Counter())
    assert row("all", total) == "| all | 2 | 1 | 1 | 1 | 60% |"
