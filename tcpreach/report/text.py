"""Reports for a terminal: the table with its findings, and a failing test's message."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tcpreach.findings import Finding, Severity, findings_for, format_finding
from tcpreach.judging.diagnosis import verdict_remedy
from tcpreach.model import Ending, HostReport, ProbeResult, TargetOutcome, TlsObservation, Verdict
from tcpreach.settings.escapes import escaped
from tcpreach.standards.errnos import errno_text

__all__ = [
    "HEADER",
    "failure_message",
    "format_findings",
    "format_report",
    "format_table",
    "summary_line",
    "transcript",
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
    unchecked = " (not verified: --insecure)" if not tls.verified else ""
    return (
        f"{tls.version}{alpn}, {sni}; certificate for {names}, issued by {tls.issuer or '?'}, "
        f"expires in {'?' if tls.expires_in_days is None else f'{tls.expires_in_days:g}'} days{unchecked}"
    )


def failure_message(report: HostReport, outcome: TargetOutcome) -> str:
    """One paragraph for a failing test: the verdict, its explanation, what it means, the fix."""
    message = f"{outcome.verdict} on {outcome.target.endpoint}: {outcome.explanation}."
    explaining = [f for f in findings_for(report.findings, outcome.target.address) if f.code != "failing-targets"]
    if explaining:
        for finding in explaining:
            message += f" {_sentence(finding.message)} Fix: {_sentence(finding.remedy)}"
    elif remedy := verdict_remedy(outcome, report.host, report.expectation.sends):
        message += f" Fix: {_sentence(remedy)}"
    return message


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else f"{text}."


_ENDINGS = {
    Ending.EOF: "then the server closed (FIN)",
    Ending.RESET: "then the server reset the connection (RST)",
    Ending.DEADLINE: "still open at the read deadline",
    Ending.CAPPED: "then this client stopped reading at its cap",
    Ending.STOPPED: "then this client stopped reading (the verdict was decided)",
}


def _one_step(r: ProbeResult, sent: bytes) -> list[str]:
    steps = []
    if r.tls is not None:
        steps.append(_tls_line(r.tls) if r.tls.version else f"TLS failed: {r.tls.detail}")
    if sent:
        failed = f" (failed: {errno_text(r.send_errno)})" if r.send_errno is not None else ""
        steps.append(f"sent '{escaped(sent)}'{failed}")
    if r.received:
        steps.append(f"received '{escaped(r.received)}' ({len(r.received)} bytes, the first at "
                     f"{_cell(r.first_byte_s)} ms)")  # fmt: skip
    else:
        steps.append("received nothing")
    return steps


def _exchange(r: ProbeResult, steps_in_all: int, starttls: bool) -> list[str]:
    """The events on the wire as they happened, then the TLS failure if the handshake failed."""
    steps = []
    for event in r.exchange:
        if event.event == "tls" and r.tls is not None:
            steps.append(f"{'STARTTLS' if starttls else 'TLS'} at {_cell(event.at_s)} ms: {_tls_line(r.tls)}")
        else:
            steps.append(f"{event.event} '{escaped(event.data)}' at {_cell(event.at_s)} ms")
    if r.tls is not None and (r.tls.failure is not None or not r.tls.version):
        steps.append(f"{'STARTTLS' if starttls else 'TLS'} failed: {r.tls.detail}")
    if not any(event.event == "received" for event in r.exchange):
        steps.append("received nothing")
    if r.step is not None and r.step < steps_in_all:
        steps.append(f"stopped at step {r.step} of {steps_in_all}")
    return steps


def transcript(report: HostReport) -> str:
    """What happened on the wire at each target, ok or not: connect, the request, every
    byte received and how the connection ended, with times from the start of connect
    (check_tcp's -v, blackbox_exporter's debug)."""
    sent = report.expectation.send
    lines = ["transcript:"]
    for outcome in report.outcomes:
        r = outcome.result
        steps = [f"attempt {r.attempt} of {r.attempts}"]
        if outcome.failed_attempts:
            steps[0] += f" (before it: {', '.join(outcome.failed_attempts)})"
        if not r.connected:
            steps.append(f"no connection: {outcome.explanation}")
        else:
            source = f" from {r.local_address}" if r.local_address else ""
            steps.append(f"connected{source} at {_cell(r.connect_s)} ms")
            if r.exchange:
                steps += _exchange(r, len(report.expectation.steps), report.expectation.starttls)
            else:
                steps += _one_step(r, sent)
            if r.ending is not None:
                steps.append(f"{_ENDINGS[r.ending]} at {_cell(r.total_s)} ms")
        lines.append(f"  {outcome.target.endpoint} {outcome.verdict}: " + "; ".join(steps))
    return "\n".join(lines)
