"""Reports of a ``HostReport``: a terminal table with findings, and a JSON document."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from typing import Any

from connectivity.model import Finding, HostReport, TargetOutcome, Verdict


def escaped(data: bytes) -> str:
    """``b'hello\\n'`` as ``hello\\n``: the inverse of the ``--expect`` parser."""
    text: bytes = codecs.escape_encode(data)[0]
    return text.decode("ascii")


def unescape(text: str) -> bytes:
    """``hello\n`` as typed on a shell line into the bytes ``b'hello\n'``.

    Raises ``ValueError`` on a bad escape such as a trailing backslash.
    """
    data: bytes = codecs.escape_decode(text.encode("utf-8"))[0]
    return data


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def outcome_json(outcome: TargetOutcome) -> dict[str, Any]:
    r = outcome.result
    return {
        "family": str(r.target.family),
        "address": r.target.address,
        "source": str(r.target.source),
        "verdict": str(outcome.verdict),
        "explanation": outcome.explanation,
        "received": escaped(r.received),
        "timings_ms": {
            "connect": _ms(r.connect_s),
            "first_byte": _ms(r.first_byte_s),
            "total": _ms(r.total_s),
        },
        "attempts": r.attempts,
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": str(finding.severity),
        "message": finding.message,
        "remedy": finding.remedy,
        "addresses": list(finding.addresses),
    }


def report_json(report: HostReport) -> dict[str, Any]:
    resolution = report.resolution
    return {
        "host": report.host,
        "port": report.port,
        "expect": escaped(report.expect),
        "resolver": resolution.resolver,
        "dns": [
            {"type": a.rdtype, "status": str(a.status), "addresses": list(a.addresses), "detail": a.detail}
            for a in resolution.dns
        ],
        "getaddrinfo": None if resolution.system is None else list(resolution.system),
        "targets": [outcome_json(o) for o in report.outcomes],
        "findings": [finding_json(f) for f in report.findings],
    }


def _cell(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


HEADER = ("FAMILY", "ADDRESS", "PORT", "SOURCE", "VERDICT", "CONNECT", "1ST BYTE", "TOTAL", "TRIES")


def table_rows(outcomes: Iterable[TargetOutcome]) -> list[tuple[str, ...]]:
    return [
        (
            str(o.target.family),
            o.target.address,
            str(o.target.port),
            str(o.target.source),
            str(o.verdict),
            _cell(o.result.connect_s),
            _cell(o.result.first_byte_s),
            _cell(o.result.total_s),
            str(o.result.attempts),
        )
        for o in outcomes
    ]


def format_table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    return "\n".join(lines)


def format_findings(findings: Iterable[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.severity.upper():7}  {f.code}: {f.message}")
        if f.remedy:
            lines.append(f"         fix: {f.remedy}")
    return "\n".join(lines)


def format_report(report: HostReport) -> str:
    resolution = report.resolution
    head = f"{report.host} port {report.port}, expecting {report.expect!r}"
    if not resolution.literal and resolution.dns:
        dns = "; ".join(f"{a.rdtype} {' '.join(a.addresses) or a.status}" for a in resolution.dns)
        head += f"\nDNS ({resolution.resolver}): {dns}"
        if resolution.system is not None:
            head += f"\ngetaddrinfo: {' '.join(resolution.system) or resolution.system_error or '-'}"
    parts = [head]
    if report.outcomes:
        parts.append(format_table(table_rows(report.outcomes)))
        failing = [o for o in report.outcomes if o.verdict is not Verdict.OK]
        parts += [f"  {o.target.endpoint}: {o.explanation}" for o in failing]
    else:
        parts.append("no target to probe")
    if report.findings:
        parts.append(format_findings(report.findings))
    return "\n".join(parts)
