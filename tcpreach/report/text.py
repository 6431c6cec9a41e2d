"""Reports for a terminal: the table with its findings, and a failing test's message."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tcpreach.diagnosis import verdict_remedy
from tcpreach.findings import Finding, Severity, findings_for, format_finding
from tcpreach.model import HostReport, TargetOutcome, TlsObservation, Verdict

__all__ = [
    "HEADER",
    "failure_message",
    "format_findings",
    "format_report",
    "format_table",
    "summary_line",
]


def _cell(seconds: float | None) -> str:
    """Milliseconds to one decimal (from the microseconds a JSON report keeps)."""
    return "-" if seconds is None else f"{round(seconds * 1000, 3):.1f}"


HEADER = ("FAMILY", "ADDRESS", "PORT", "SOURCE", "VERDICT", "CONNECT ms", "1ST BYTE ms", "TO VERDICT ms", "TRIES")


def format_table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def format_findings(findings: Iterable[Finding], width: int | None = None) -> str:
    return "\n".join(format_finding(f, width=width) for f in findings)


def _head(report: HostReport) -> list[str]:
    resolution = report.resolution
    shown = f"{report.host} ({resolution.unicode_host})" if resolution.unicode_host else report.host
    if resolution.aliases:
        shown += f" (CNAME {' -> '.join(resolution.aliases)})"
    head = [f"{shown} port {report.port}, expecting {report.expectation.describe()}"]
    if resolution.dns:
        answers = "; ".join(f"{a.rdtype} {' '.join(a.addresses) or a.status}" for a in resolution.dns)
        head.append(f"DNS ({resolution.resolver}): {answers}")
    if resolution.system is not None:
        head.append(f"getaddrinfo: {' '.join(resolution.system) or '-'}")
    return head


def _row(outcome: TargetOutcome) -> tuple[str, ...]:
    r, target = outcome.result, outcome.target
    return (
        str(target.family),
        target.address,
        str(target.port),
        str(target.source),
        str(outcome.verdict),
        _cell(r.connect_s),
        _cell(r.first_byte_s),
        _cell(r.to_verdict_s),
        str(r.attempts),
    )


def format_report(report: HostReport, width: int | None = None) -> str:
    """A report for a terminal: a header, the table, a note per failing target, the
    findings (wrapped between words at ``width``, a terminal's, when given)."""
    head = _head(report)
    if not report.outcomes:
        return "\n".join([*head, "no target to probe", format_findings(report.findings, width)])
    notes = [f"  {o.target.address}: {o.explanation}" for o in report.outcomes if o.verdict is not Verdict.OK]
    notes += [
        f"  {o.target.address}: {_tls_line(o.result.tls)}"
        for o in report.outcomes
        if o.result.tls is not None and o.result.tls.version
    ]
    table = format_table([_row(o) for o in report.outcomes])
    return "\n".join([*head, table, *notes, format_findings(report.findings, width)]).rstrip()


def summary_line(report: HostReport, passed: bool) -> str:
    """One line for a host of a run: ``ok``, or ``FAILING`` with its verdicts and error codes."""
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[str(outcome.verdict)] = counts.get(str(outcome.verdict), 0) + 1
    verdicts = ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) or "no target"
    codes = ", ".join(dict.fromkeys(f.code for f in report.findings if f.severity is Severity.ERROR))
    state = "ok" if passed else "FAILING"
    return f"{state}: {report.host} port {report.port}: {verdicts}" + (f" ({codes})" if codes else "")


def _tls_line(tls: TlsObservation) -> str:
    sni = f"SNI {tls.server_name}" if tls.server_name else "no SNI (a literal address; --sni NAME sends one)"
    alpn = f", ALPN {tls.alpn}" if tls.alpn else ""
    names = ", ".join(tls.subject_names) or "-"
    return (
        f"{tls.version}{alpn}, {sni}; certificate for {names}, issued by {tls.issuer}, "
        f"expires in {'?' if tls.expires_in_days is None else f'{tls.expires_in_days:g}'} days"
    )


def failure_message(report: HostReport, outcome: TargetOutcome) -> str:
    """One paragraph for a failing test: the verdict, its explanation, what it means, the fix."""
    message = f"{outcome.verdict} on {outcome.target.endpoint}: {outcome.explanation}."
    explaining = [f for f in findings_for(report.findings, outcome.target.address) if f.code != "failing-targets"]
    if explaining:
        for finding in explaining:
            message += f" {_sentence(finding.message)} Fix: {_sentence(finding.remedy)}"
    elif remedy := verdict_remedy(outcome, report.host, bool(report.expectation.send)):
        message += f" Fix: {_sentence(remedy)}"
    return message


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else f"{text}."
