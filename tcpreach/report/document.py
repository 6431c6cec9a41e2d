"""A ``HostReport`` as a JSON document: what ``--json`` prints and the plugin writes."""

from __future__ import annotations

from typing import Any

from tcpreach.escapes import escaped
from tcpreach.findings import Finding
from tcpreach.model import HostReport, TargetOutcome, TlsObservation


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def outcome_json(outcome: TargetOutcome) -> dict[str, Any]:
    r = outcome.result
    return {
        "family": str(r.target.family),
        "address": r.target.address,
        "port": r.target.port,
        "source": str(r.target.source),
        "verdict": str(outcome.verdict),
        "explanation": outcome.explanation,
        "received": escaped(r.received),
        "timings_ms": {
            "connect": _ms(r.connect_s),
            "tls_handshake": None if r.tls is None else _ms(r.tls.handshake_s),
            "first_byte": _ms(r.first_byte_s),
            "total": _ms(r.total_s),
            "to_verdict": _ms(r.to_verdict_s),
        },
        "attempts": r.attempts,
        "tls": None if r.tls is None else tls_json(r.tls),
    }


def tls_json(tls: TlsObservation) -> dict[str, Any]:
    return {
        "server_name": tls.server_name,
        "version": tls.version,
        "alpn": tls.alpn,
        "subject_names": list(tls.subject_names),
        "issuer": tls.issuer,
        "expires_in_days": tls.expires_in_days,
        "failure": None if tls.failure is None else str(tls.failure),
        "detail": tls.detail,
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
        "host_unicode": resolution.unicode_host,
        "port": report.port,
        "expect": escaped(report.expectation.data),
        "match": str(report.expectation.match),
        "send": escaped(report.expectation.send),
        "keep_open": report.expectation.keep_open,
        "expected": report.expectation.describe(),
        "resolver": resolution.resolver,
        "dns": [
            {"type": a.rdtype, "status": str(a.status), "addresses": list(a.addresses), "detail": a.detail}
            for a in resolution.dns
        ],
        "getaddrinfo": None if resolution.system is None else list(resolution.system),
        "targets": [outcome_json(o) for o in report.outcomes],
        "findings": [finding_json(f) for f in report.findings],
    }
