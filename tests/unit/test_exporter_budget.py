"""A probe fitted into Prometheus's scrape deadline, on plain data."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tcpreach.engine import worst_case_timeouts
from tcpreach.errors import UsageError
from tcpreach.exporter.budget import Budget, budget_for, parse_scrape_timeout
from tcpreach.options import CheckOptions

MODULE = CheckOptions(timeout=3.0, dns_lifetime=5.0)


def test_without_the_header_the_module_holds():
    assert budget_for(MODULE, None, 0.5, literal=False) == Budget(MODULE, None)


def test_prometheus_default_ten_seconds_shortens_dns_and_timeout():
    # 9.5 s after the offset: DNS gets 30% (2.85 s), each target 6.65 / 2.45 (the last hedge starts by 0.45 of a
    # timeout, then a connect and a read: the engine's worst_case_timeouts) = 2.71 s.
    budget = budget_for(MODULE, 10.0, 0.5, literal=False)
    fitted = dataclasses.replace(MODULE, timeout=pytest.approx(6.65 / 2.45), dns_lifetime=pytest.approx(2.85))
    assert budget == Budget(fitted, 9.5)


def test_time_spent_waiting_since_the_request_arrived_comes_off_the_deadline():
    # 9.5 s less the 3.5 s waited: 6 s; DNS 1.8 s, each target 4.2 / 2.45 s. The deadline shown stays 9.5 s.
    budget = budget_for(MODULE, 10.0, 0.5, literal=False, waited=3.5)
    fitted = dataclasses.replace(MODULE, timeout=pytest.approx(4.2 / 2.45), dns_lifetime=pytest.approx(1.8))
    assert budget == Budget(fitted, 9.5)


def test_a_long_deadline_leaves_the_module_alone():
    assert budget_for(MODULE, 30.0, 0.5, literal=False) == Budget(MODULE, 29.5)


def test_a_literal_address_gives_dns_nothing():
    # 2.5 s after the offset, all of it for the probe: 2.5 / 2.45 s a target; the lifetime is unused.
    budget = budget_for(MODULE, 3.0, 0.5, literal=True)
    assert budget == Budget(dataclasses.replace(MODULE, timeout=pytest.approx(2.5 / 2.45)), 2.5)


def test_an_offset_that_leaves_nothing_is_a_bad_request():
    with pytest.raises(UsageError) as raised:
        budget_for(MODULE, 0.5, 0.5, literal=False)
    assert str(raised.value) == "a scrape timeout of 0.5 s leaves no time after the exporter's offset of 0.5 s"


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "abc", ""])
def test_a_header_that_is_no_positive_number_is_refused(text):
    with pytest.raises(UsageError) as raised:
        parse_scrape_timeout(text)
    assert str(raised.value) == (
        f"X-Prometheus-Scrape-Timeout-Seconds must be a positive number of seconds, got {text!r}"
    )


@pytest.mark.parametrize(("text", "seconds"), [(None, None), ("10", 10.0), ("0.25", 0.25), ("1e1", 10.0)])
def test_the_header_read(text, seconds):
    assert parse_scrape_timeout(text) == seconds


@given(
    timeout=st.floats(0.01, 60), lifetime=st.floats(0.01, 60), scrape=st.floats(0.02, 120),
    offset=st.floats(0, 1), literal=st.booleans(), retries=st.integers(0, 5),
)  # fmt: skip
def test_the_slowest_probe_ends_by_the_deadline(*, timeout, lifetime, scrape, offset, literal, retries):
    assume(scrape > offset)
    module = CheckOptions(timeout=timeout, dns_lifetime=lifetime, retries=retries)
    budget = budget_for(module, scrape, offset, literal)
    dns = 0.0 if literal else budget.options.dns_lifetime
    assert dns + worst_case_timeouts(retries) * budget.options.timeout <= scrape - offset + 1e-9
    assert budget.options.timeout <= timeout and budget.options.dns_lifetime <= lifetime
