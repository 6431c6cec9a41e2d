"""The monitoring-plugin interface (Nagios, Icinga, Naemon, Sensu, Zabbix run such checks as
they are): one status line, performance data after ``|``, and the exit status 0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN. Pure: reports and thresholds in, the status out.

A host is CRITICAL when an address fails or a finding is an error, or when an address's
time to its verdict is over the critical threshold; WARNING when a finding is a warning or
a time is over the warning threshold; UNKNOWN when nothing could be probed for a reason
that is this client's (no route to any address).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from tcpreach.findings import CLIENT_FACTS, Severity
from tcpreach.model import HostReport, TargetOutcome, Verdict

__all__ = ["MISMATCH", "State", "Thresholds", "plugin_status"]


class State(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


MISMATCH = frozenset({Verdict.WRONG_GREETING, Verdict.TRUNCATED, Verdict.EXTRA_DATA})
"""Answers that are not the expected ones (check_tcp's "unexpected response")."""


@dataclass(frozen=True)
class Thresholds:
    """Seconds from the start of connect to each address's verdict (check_tcp's -w/-c), and
    the state a refused address and an unexpected answer stand for (its -r and -M)."""

    warning: float | None = None
    critical: float | None = None
    refused: State = State.CRITICAL
    mismatch: State = State.CRITICAL
    connect: tuple[float | None, float | None] = (None, None)
    """Warning and critical seconds to connect."""
    first_byte: tuple[float | None, float | None] = (None, None)
    """Warning and critical seconds to the first byte."""

    def of(self, verdict: Verdict) -> State:
        """The state one failing address stands for."""
        if verdict is Verdict.REFUSED:
            return self.refused
        return self.mismatch if verdict in MISMATCH else State.CRITICAL


def _decimal(seconds: float) -> str:
    """``0.000001``, never ``1e-06``: the guidelines' numbers have no exponent."""
    return f"{seconds:.9f}".rstrip("0").rstrip(".")  # "0.000000000" keeps its first 0


_Timing = tuple[str, Callable[[TargetOutcome], float | None], tuple[float | None, float | None]]


def _timings(limits: Thresholds) -> tuple[_Timing, ...]:
    """Each timing with its name (as the status line says it) and its two limits."""
    return (
        ("", lambda o: o.result.to_verdict_s, (limits.warning, limits.critical)),
        ("connect ", lambda o: o.result.connect_s, limits.connect),
        ("first byte ", lambda o: o.result.first_byte_s, limits.first_byte),
    )


def _host_state(report: HostReport, limits: Thresholds) -> tuple[State, list[str]]:
    failing = [o for o in report.outcomes if o.verdict is not Verdict.OK]
    untestable = [o for o in failing if o.result.no_route]
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    warnings = [f for f in report.findings if f.severity is Severity.WARNING and f.code not in CLIENT_FACTS]
    notes = [f"note: {f.code}" for f in report.findings if f.code in CLIENT_FACTS]  # this client's, not the service's
    why = [f"{o.target.address} {o.verdict}" for o in failing if not o.result.no_route]
    why += [str(f.code) for f in errors + warnings] + notes
    slow = [o for o in report.outcomes if o.verdict is Verdict.OK]
    if report.outcomes and len(untestable) == len(report.outcomes):
        return State.UNKNOWN, [f"no route from here to any address of {report.host}"]
    mapped = {o.target.address: limits.of(o.verdict) for o in failing if not o.result.no_route}
    state = State.CRITICAL if not report.outcomes else max(mapped.values(), default=State.OK)
    for finding in errors:  # an error explaining remapped addresses alone takes their state
        known = [mapped[a] for a in finding.addresses if a in mapped]
        state = max(state, max(known) if known and len(known) == len(finding.addresses) else State.CRITICAL)
    if warnings:
        state = max(state, State.WARNING)
    for what, seconds, (warn, crit) in _timings(limits):
        counted: set[str] = set()  # an address over the critical limit is not listed again as a warning
        for limit, level in ((crit, State.CRITICAL), (warn, State.WARNING)):
            if limit is None:
                continue
            over = [(o, s) for o in slow if (s := seconds(o)) is not None and s > limit]
            state = max(state, level) if over else state
            why += [
                f"{o.target.address} {what}{s:.3f} s > {_decimal(limit)} s"
                for o, s in over
                if o.target.address not in counted
            ]
            counted |= {o.target.address for o, _ in over}
    return state, why


def _perfdata(report: HostReport, limits: Thresholds) -> list[str]:
    """Each ok address's time to its verdict, and its connect and first-byte times where
    they have limits, each with its limits (seconds; 'HOST ADDRESS[ connect]')."""

    def bound(value: float | None) -> str:
        return "" if value is None else _decimal(value)

    data = []
    for outcome in report.outcomes:
        if outcome.verdict is not Verdict.OK:
            continue
        address = outcome.target.address
        label = (address if report.host == address else f"{report.host} {address}").replace("'", "")
        for what, seconds, (warn, crit) in _timings(limits):
            value = seconds(outcome)
            if value is not None and (not what or warn is not None or crit is not None):
                data.append(
                    f"'{label}{' ' + what.strip() if what else ''}'={value:.6f}s;{bound(warn)};{bound(crit)};0;"
                )
    return data


def plugin_status(reports: Sequence[HostReport], limits: Thresholds = Thresholds()) -> tuple[State, str]:
    """The run's state (the worst host's) and its output: one status line with the
    performance data after ``|``."""
    states = [(report, *_host_state(report, limits)) for report in reports]
    worst = max((state for _, state, _ in states), default=State.UNKNOWN)
    parts = []
    for report, state, why in states:
        count = sum(o.verdict is Verdict.OK for o in report.outcomes)
        detail = f" ({'; '.join(dict.fromkeys(why))})" if why else ""
        parts.append(f"{report.host} {state.name}: {count} of {len(report.outcomes)} addresses ok{detail}")
    perf = " ".join(p for report in reports for p in _perfdata(report, limits))
    return worst, f"TCPREACH {worst.name} - {', '.join(parts)}" + (f" | {perf}" if perf else "")
