"""Reports for a terminal: the table with its findings, and a failing test's message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tcpreach.diagnosis import verdict_remedy
from tcpreach.findings import findings_for
from tcpreach.model import HostReport, TargetOutcome, Verdict
from tcpreach.report.document import report_json


def _cell(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:.1f}"


HEADER = ("FAMILY", "ADDRESS", "PORT", "SOURCE", "VERDICT", "CONNECT ms", "1ST BYTE ms", "TO VERDICT ms", "TRIES")


def format_table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def format_findings(findings: Iterable[Mapping[str, Any]]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{str(f['severity']).upper():7}  {f['code']}: {f['message']}")
        if f["remedy"]:
            lines.append(f"         fix: {f['remedy']}")
    return "\n".join(lines)


def format_document(doc: Mapping[str, Any]) -> str:
    """The terminal form of a ``report_json`` document: a header, the table, the findings."""
    expected = doc["expected"]
    shown = f"{doc['host']} ({doc['host_unicode']})" if doc.get("host_unicode") else doc["host"]
    head = [f"{shown} port {doc['port']}, expecting {expected}"]
    if doc["dns"]:
        answers = "; ".join(f"{a['type']} {' '.join(a['addresses']) or a['status']}" for a in doc["dns"])
        head.append(f"DNS ({doc['resolver']}): {answers}")
    if doc["getaddrinfo"] is not None:
        head.append(f"getaddrinfo: {' '.join(doc['getaddrinfo']) or '-'}")
    targets = doc["targets"]
    if not targets:
        return "\n".join([*head, "no target to probe", format_findings(doc["findings"])])
    rows = [
        (
            t["family"],
            t["address"],
            str(t["port"]),
            t["source"],
            t["verdict"],
            _cell(t["timings_ms"]["connect"]),
            _cell(t["timings_ms"]["first_byte"]),
            _cell(t["timings_ms"]["to_verdict"]),
            str(t["attempts"]),
        )
        for t in targets
    ]
    notes = [f"  {t['address']}: {t['explanation']}" for t in targets if t["verdict"] != str(Verdict.OK)]
    notes += [f"  {t['address']}: {_tls_line(t['tls'])}" for t in targets if t.get("tls") and t["tls"]["version"]]
    return "\n".join([*head, format_table(rows), *notes, format_findings(doc["findings"])]).rstrip()


def _tls_line(tls: Mapping[str, Any]) -> str:
    sni = f"SNI {tls['server_name']}" if tls["server_name"] else "no SNI (a literal address; --sni NAME sends one)"
    alpn = f", ALPN {tls['alpn']}" if tls["alpn"] else ""
    names = ", ".join(tls["subject_names"]) or "-"
    return (
        f"{tls['version']}{alpn}, {sni}; certificate for {names}, issued by {tls['issuer']}, "
        f"expires in {tls['expires_in_days']:g} days"
    )


def format_report(report: HostReport) -> str:
    return format_document(report_json(report))


def failure_message(report: HostReport, outcome: TargetOutcome) -> str:
    """One paragraph for a failing test: the verdict, its explanation, what it means, the fix."""
    message = f"{outcome.verdict} on {outcome.target.endpoint}: {outcome.explanation}."
    explaining = [f for f in findings_for(report.findings, outcome.target.address) if f.code != "failing-targets"]
    if explaining:
        for finding in explaining:
            message += f" {_sentence(finding.message)} Fix: {_sentence(finding.remedy)}"
    elif remedy := verdict_remedy(outcome):
        message += f" Fix: {_sentence(remedy)}"
    return message


def _sentence(text: str) -> str:
    return text if text.endswith(".") else f"{text}."
