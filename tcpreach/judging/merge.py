"""Reports from several vantage points merged: one matrix of addresses by vantages, and the
findings only several vantages can show. Pure: reports in, a ``Merged`` out (what each
kind of client gets is ``tcpreach.judging.population``'s).

A cell is *tested* when that vantage probed the address with a route to it: a missing
route is a fact about the client, not about the service, and never counts as a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation
from tcpreach.findings import CLIENT_FACTS, Finding, FindingCode, Severity
from tcpreach.judging.diagnosis import diagnose
from tcpreach.judging.population import Population, Row, broken_ipv6_vantages, populations, tested
from tcpreach.model import Family, HostReport, Source, TargetOutcome, Vantage, Verdict

__all__ = ["Merged", "Row", "merge", "merge_fleet", "tested"]


@dataclass(frozen=True)
class Merged:
    reports: tuple[HostReport, ...]
    """Of one target (same host, port and expectation), each from its own vantage."""
    rows: tuple[Row, ...]
    population: tuple[Population, ...]
    findings: tuple[Finding, ...]
    """What only several vantages show."""
    by_vantage: tuple[tuple[Finding, tuple[str, ...]], ...] = ()
    """Each vantage's own errors and warnings, once per code, with the vantages that found it."""

    @property
    def host(self) -> str:
        return self.reports[0].host

    @property
    def port(self) -> int:
        return self.reports[0].port

    @property
    def expectation(self) -> Expectation:
        return self.reports[0].expectation

    @property
    def vantages(self) -> tuple[Vantage, ...]:
        return tuple(r.vantage or Vantage("?", "?") for r in self.reports)


def _same_target(reports: Sequence[HostReport], names: Sequence[str]) -> None:
    first, name = reports[0], names[0]
    for report, other in zip(reports[1:], names[1:], strict=True):
        if report.host.lower().rstrip(".") != first.host.lower().rstrip("."):
            raise UsageError(
                f"cannot merge reports of different hosts: {name} is of {first.host}, {other} of {report.host}"
            )
        if report.port != first.port:
            raise UsageError(
                f"cannot merge reports of different ports: {name} probed {first.port}, {other} {report.port}"
            )
        if report.expectation != first.expectation:
            raise UsageError(
                f"cannot merge reports of different expectations: {name} expected {first.expectation.describe()}, "
                f"{other} {report.expectation.describe()}"
            )
    labels: dict[str, str] = {}
    for report, name in zip(reports, names, strict=True):
        label = report.vantage.label if report.vantage else ""
        if label in labels:
            raise UsageError(
                f"two reports from the vantage {label!r} ({labels[label]}, {name}): give each run its own --vantage"
            )
        labels[label] = name


def _rows(reports: Sequence[HostReport]) -> tuple[Row, ...]:
    order: dict[str, TargetOutcome] = {}
    for report in reports:
        for outcome in report.outcomes:
            order.setdefault(outcome.target.address, outcome)
    firsts = sorted(order.values(), key=lambda o: (o.target.family is Family.IPV6, o.target.source is Source.DNS64))
    rows = []
    for first in firsts:
        address = first.target.address
        cells = tuple(next((o for o in r.outcomes if o.target.address == address), None) for r in reports)
        rows.append(Row(first.target.family, address, first.target.source, cells))
    return tuple(rows)


def _label(vantage: Vantage | None) -> str:
    return vantage.label if vantage else "?"


def _differences(reports: Sequence[HostReport]) -> str:
    """What differs between these reports' vantages: routes, NAT64, resolver, version."""
    facts: dict[str, Callable[[HostReport], str]] = {
        "routes": lambda r: "+".join(str(f) for f in r.vantage.routes) if r.vantage else "?",
        "DNS64": lambda r: r.resolution.dns64_prefix or "none",
        "resolver": lambda r: r.resolution.resolver,
        "version": lambda r: r.vantage.version if r.vantage else "?",
    }
    differing = []
    for name, fact in facts.items():
        values = [fact(r) for r in reports]
        if len(set(values)) > 1:
            shown = ", ".join(f"{_label(r.vantage)} {v}" for r, v in zip(reports, values, strict=True))
            differing.append(f"{name} ({shown})")
    return "; ".join(differing)


def _disagreements(rows: Sequence[Row], reports: Sequence[HostReport]) -> list[Finding]:
    findings = []
    for row in rows:
        seen = [(r, c) for r, c in zip(reports, row.cells, strict=True) if c is not None and tested(c)]
        good = [r for r, c in seen if c.verdict is Verdict.OK]
        bad = [(r, c) for r, c in seen if c.verdict is not Verdict.OK]
        if not good or not bad:
            continue
        answers = ", ".join(_label(r.vantage) for r in good)
        fails = ", ".join(f"{_label(r.vantage)} ({c.verdict})" for r, c in bad)
        differ = _differences([*good, *(r for r, _ in bad)])
        why = f"the vantages differ in {differ}" if differ else "nothing in the vantages' facts differs"
        findings.append(
            Finding(
                FindingCode.VANTAGES_DISAGREE,
                Severity.ERROR,
                f"{row.address} answers from {answers} but fails from {fails}: {why}",
                "what a client gets depends on where it is: compare the failing vantage's path (its network, "
                "resolver and routes) with one that works, and look for a backend that fails only some connections",
                (row.address,),
            )
        )
    return findings


def _untested(rows: Sequence[Row]) -> list[Finding]:
    findings = []
    for family in Family:
        native = [row for row in rows if row.family is family and row.source is not Source.DNS64]
        if native and not any(tested(c) for row in native for c in row.cells):
            count = f"{len(native)} address{'es' if len(native) > 1 else ''}"
            findings.append(
                Finding(
                    FindingCode.FAMILY_UNTESTED,
                    Severity.WARNING,
                    f"{family} ({count}) was not tested from any vantage: none has a route to it",
                    f"add a vantage with {family} (GitHub's hosted runners have no IPv6: a Fly Machine or your own "
                    "network does)",
                    tuple(row.address for row in native),
                )
            )
    return findings


"""A vantage without a route: the merge shows it as "not tested", not as a finding."""


def _combined(rows: Sequence[Row], reports: Sequence[HostReport]) -> tuple[tuple[Finding, tuple[str, ...]], ...]:
    """The host diagnosed once from every vantage's evidence: each address as the vantages
    that could test it saw it (a broken-IPv6 vantage's IPv6 left out; an address they saw
    differently is the disagreement's, not this), and each finding with the vantages its
    observations were used. Only what no single vantage could conclude is kept from it:
    the shared-IPv4 trap, proven by IPv4 closed from one vantage and IPv6 answering from
    another."""
    labels = [_label(r.vantage) for r in reports]
    broken = broken_ipv6_vantages(rows, labels)
    outcomes: list[TargetOutcome] = []
    witnesses: dict[str, list[str]] = {}
    for row in rows:
        trusted = [label not in broken or row.family is Family.IPV4 for label in labels]
        seen = [
            (label, cell)
            for label, cell, trust in zip(labels, row.cells, trusted, strict=True)
            if cell is not None and tested(cell) and trust
        ]
        if seen and len({cell.verdict for _, cell in seen}) == 1:
            outcomes.append(seen[0][1])
            witnesses[row.address] = [label for label, _ in seen]
    findings = diagnose(reports[0].resolution, outcomes)
    # the trap rests on both families' evidence: every vantage whose observations were used
    used = tuple(dict.fromkeys(label for seen_from in witnesses.values() for label in seen_from))
    return tuple((f, used) for f in findings if f.code is FindingCode.FLY_SHARED_IPV4)


def _by_vantage(
    reports: Sequence[HostReport], combined: Sequence[tuple[Finding, tuple[str, ...]]] = ()
) -> tuple[tuple[Finding, tuple[str, ...]], ...]:
    """Each vantage's errors and warnings once per code, beside what all of them prove
    together. A shared-IPv4 claim about an address that answered from another vantage is
    refuted (a shared edge never answers raw TCP, from anywhere): it is left out, and
    vantages-disagree says what was seen. ``service-down`` is refuted by any ``ok``."""
    answered = {o.target.address for r in reports for o in r.outcomes if o.verdict is Verdict.OK}
    shared = (FindingCode.FLY_SHARED_IPV4, FindingCode.FLY_SHARED_IPV4_SUSPECTED)
    found: dict[FindingCode, tuple[Finding, list[str]]] = {}
    for finding, labels in combined:
        found[finding.code] = (finding, list(labels))
    for report in reports:
        for finding in report.findings:
            if finding.code in shared and answered & set(finding.addresses):
                continue
            if finding.code is FindingCode.SERVICE_DOWN and answered:
                continue  # the service answered from somewhere: a path's failure, not the service's
            if finding.severity is not Severity.INFO and finding.code not in CLIENT_FACTS:
                found.setdefault(finding.code, (finding, []))[1].append(_label(report.vantage))
    if FindingCode.FLY_SHARED_IPV4 in found:  # one vantage's suspicion, another's (or all together) proof
        found.pop(FindingCode.FLY_SHARED_IPV4_SUSPECTED, None)
    return tuple((finding, tuple(dict.fromkeys(labels))) for finding, labels in found.values())


def merge(reports: Sequence[HostReport], names: Sequence[str] = ()) -> Merged:
    """The reports of one target (same host, port and expectation), each from its own
    vantage, merged. Raises ``UsageError`` for reports that cannot be merged."""
    if not reports:
        raise UsageError("give at least one report")
    names = list(names) or [f"report {i}" for i in range(1, len(reports) + 1)]
    _same_target(reports, names)
    rows = _rows(reports)
    return Merged(
        reports=tuple(reports),
        rows=rows,
        population=populations(rows, reports),
        findings=(*_disagreements(rows, reports), *_untested(rows)),
        by_vantage=_by_vantage(reports, _combined(rows, reports)),
    )


def merge_fleet(reports: Sequence[HostReport], names: Sequence[str] = ()) -> tuple[Merged, ...]:
    """Reports of several hosts (fleet documents from several vantages) merged host by host:
    grouped by host, port and expectation, in the order each first appears. Raises
    ``UsageError`` for a group that cannot be merged (two reports from one vantage)."""
    names = list(names) or [f"report {i}" for i in range(1, len(reports) + 1)]
    groups: dict[tuple[str, int, Expectation], list[tuple[HostReport, str]]] = {}
    for report, name in zip(reports, names, strict=True):
        groups.setdefault((report.host.lower().rstrip("."), report.port, report.expectation), []).append((report, name))
    return tuple(merge([r for r, _ in group], [n for _, n in group]) for group in groups.values())
