"""A probe within Prometheus's scrape deadline.

Prometheus tells each scrape how long it will wait (``X-Prometheus-Scrape-Timeout-Seconds``).
The exporter takes an offset off that for the answer to travel, and shortens the module's
DNS lifetime and probe timeout so that the slowest probe still ends in time: a query takes
at most its lifetime (A and AAAA are asked together), and a target at most
``worst_case_timeouts(retries)`` probe timeouts (the engine's: each attempt may wait its
timeout to connect and again for the answer, and the last hedge starts by 0.45 of one).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tcpreach.engine import worst_case_timeouts
from tcpreach.errors import UsageError
from tcpreach.options import CheckOptions

__all__ = ["DNS_SHARE", "SCRAPE_TIMEOUT_HEADER", "Budget", "budget_for", "parse_scrape_timeout"]

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
DNS_SHARE = 0.3
"""The part of a short deadline left to DNS, at most."""


@dataclass(frozen=True)
class Budget:
    """The options a probe runs with, and the deadline they were fitted to (``None``: no
    deadline was given, the module's own settings hold)."""

    options: CheckOptions
    deadline_s: float | None


def parse_scrape_timeout(text: str | None) -> float | None:
    """The header's seconds (``None`` when absent). Raises ``UsageError`` for anything but a
    positive number."""
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise UsageError(f"{SCRAPE_TIMEOUT_HEADER} must be a positive number of seconds, got {text!r}")
    return seconds


def budget_for(
    options: CheckOptions, scrape_timeout: float | None, offset: float, literal: bool, waited: float = 0.0
) -> Budget:
    """The module's options fitted to a scrape's deadline (scrape timeout minus offset),
    less the ``waited`` seconds the request has already spent since it arrived. Raises
    ``UsageError`` when the offset leaves no time at all."""
    if scrape_timeout is None:
        return Budget(options, None)
    deadline = scrape_timeout - offset
    if deadline <= 0:
        raise UsageError(
            f"a scrape timeout of {scrape_timeout:g} s leaves no time after the exporter's offset of {offset:g} s"
        )
    left = max(deadline - waited, 0.001)
    dns = 0.0 if literal else min(options.dns_lifetime, left * DNS_SHARE)
    timeout = min(options.timeout, (left - dns) / worst_case_timeouts(options.retries))
    fitted = dataclasses.replace(options, timeout=timeout, dns_lifetime=dns or options.dns_lifetime)
    return Budget(fitted, deadline)
