"""A ``HostReport`` as a JSON document, written and read back: what ``--json`` prints, what
the plugin writes with ``--tcpreach-json`` and sends between pytest-xdist processes, and
what a merge of several vantage points reads.

The document carries its ``schema`` version (``SCHEMA_VERSION``; the JSON Schema is
``docs/report.schema.json``). ``load_report(dump_report(r)) == r`` for every report: each
target's ``observed`` block holds the probe's record exactly, while ``timings_ms`` is the
same timings rounded for people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match, Step, StepKind
from tcpreach.findings import Finding, FindingCode, Severity
from tcpreach.model import (
    DnsAnswer,
    DnsStatus,
    Ending,
    Exchange,
    Family,
    HostReport,
    ProbeResult,
    Resolution,
    Source,
    Target,
    TargetOutcome,
    TlsFailure,
    TlsObservation,
    Vantage,
    Verdict,
)
from tcpreach.settings.escapes import escaped, parse_escapes
from tcpreach.settings.inputs import is_literal

__all__ = ["SCHEMA_VERSION", "dump_report", "dump_reports", "load_report", "load_reports"]

SCHEMA_VERSION = 1
_RDTYPES = {"A": Family.IPV4, "AAAA": Family.IPV6}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _enum(kind: type[Any], value: str | None) -> Any:
    return None if value is None else kind(value)


def _tls(tls: TlsObservation) -> dict[str, Any]:
    return {
        "server_name": tls.server_name,
        "version": tls.version,
        "alpn": tls.alpn,
        "subject_names": list(tls.subject_names),
        "issuer": tls.issuer,
        "expires_in_days": tls.expires_in_days,
        "expires_at": tls.expires_at,
        "verified": tls.verified,
        "failure": None if tls.failure is None else str(tls.failure),
        "detail": tls.detail,
        "handshake_s": tls.handshake_s,
    }


def _observed(r: ProbeResult) -> dict[str, Any]:
    """The probe's record, exactly: what the verdict was judged from."""
    return {
        "connected": r.connected,
        "connect_errno": r.connect_errno,
        "connect_timed_out": r.connect_timed_out,
        "no_route": r.no_route,
        "ending": None if r.ending is None else str(r.ending),
        "send_errno": r.send_errno,
        "connect_s": r.connect_s,
        "first_byte_s": r.first_byte_s,
        "total_s": r.total_s,
        "elapsed_s": r.elapsed_s,
        "attempt": r.attempt,
        "local_address": r.local_address,
        "step": r.step,
        "exchange": [{"at_s": e.at_s, "event": e.event, "data": escaped(e.data)} for e in r.exchange],
    }


def _step(step: Step) -> dict[str, Any]:
    shown = {"kind": str(step.kind)}
    if step.kind is StepKind.SEND:
        shown["data"] = escaped(step.data)
    elif step.kind is StepKind.EXPECT:
        shown |= {"data": _pattern_text(step.data, step.match), "match": str(step.match)}
        if step.fails_on:
            shown["fails_on"] = _pattern_text(step.fails_on, Match.REGEX)
    return shown


def _pattern_text(data: bytes, match: Match) -> str:
    """A regex as typed (its own escapes); other bytes escaped as for ``--expect``."""
    return data.decode("utf-8", "surrogateescape") if match is Match.REGEX else escaped(data)


def _load_step(doc: Mapping[str, Any]) -> Step:
    kind = StepKind(doc["kind"])
    match = Match(doc.get("match", "exact"))
    text = doc.get("data", "")
    data = text.encode("utf-8", "surrogateescape") if match is Match.REGEX else parse_escapes(text)
    return Step(kind, data, match, doc.get("fails_on", "").encode("utf-8", "surrogateescape"))


def _outcome(outcome: TargetOutcome) -> dict[str, Any]:
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
        "failed_attempts": [str(v) for v in outcome.failed_attempts],
        "tls": None if r.tls is None else _tls(r.tls),
        "observed": _observed(r),
    }


def _dns(answer: DnsAnswer) -> dict[str, Any]:
    return {
        "type": answer.rdtype,
        "status": str(answer.status),
        "addresses": list(answer.addresses),
        "detail": answer.detail,
        "ttl": answer.ttl,
        "cnames": list(answer.cnames),
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": str(finding.severity),
        "message": finding.message,
        "remedy": finding.remedy,
        "addresses": list(finding.addresses),
    }


def _vantage(vantage: Vantage) -> dict[str, Any]:
    return {
        "label": vantage.label,
        "version": vantage.version,
        "routes": [str(f) for f in vantage.routes],
        "sources": [{"family": str(family), "address": address} for family, address in vantage.sources],
    }


def _load_vantage(doc: Mapping[str, Any] | None) -> Vantage | None:
    if doc is None:
        return None
    sources = tuple((Family(s["family"]), s["address"]) for s in doc.get("sources", ()))
    return Vantage(doc["label"], doc["version"], tuple(Family(f) for f in doc["routes"]), sources)


def dump_report(report: HostReport) -> dict[str, Any]:
    """The report as a JSON-ready document (``json.dumps`` it)."""
    resolution = report.resolution
    vantage = report.vantage
    return {
        "schema": SCHEMA_VERSION,
        "host": report.host,
        "host_unicode": resolution.unicode_host,
        "aliases": list(resolution.aliases),
        "port": report.port,
        "expect": escaped(report.expectation.data),
        "match": str(report.expectation.match),
        "send": escaped(report.expectation.send),
        "keep_open": report.expectation.keep_open,
        "steps": [_step(step) for step in report.expectation.steps],
        "expected": report.expectation.describe(),
        "started_at": None if report.started_at is None else report.started_at.isoformat(),
        "vantage": None if vantage is None else _vantage(vantage),
        "resolver": resolution.resolver,
        "resolved": {
            "host": resolution.host,
            "literal": resolution.literal,
            "invalid_name": resolution.invalid_name,
            "getaddrinfo_error": resolution.system_error,
            "dns64_prefix": resolution.dns64_prefix,
        },
        "dns": [_dns(a) for a in resolution.dns],
        "getaddrinfo": None if resolution.system is None else list(resolution.system),
        "targets": [_outcome(o) for o in report.outcomes],
        "findings": [_finding(f) for f in report.findings],
    }


def dump_reports(reports: Iterable[HostReport]) -> dict[str, Any]:
    """Several reports as one document: ``{"schema": 1, "reports": [...]}``."""
    return {"schema": SCHEMA_VERSION, "reports": [dump_report(r) for r in reports]}


def _load_tls(doc: Mapping[str, Any] | None) -> TlsObservation | None:
    if doc is None:
        return None
    return TlsObservation(
        server_name=doc["server_name"],
        handshake_s=doc["handshake_s"],
        version=doc["version"],
        alpn=doc["alpn"],
        subject_names=tuple(doc["subject_names"]),
        issuer=doc["issuer"],
        expires_in_days=doc["expires_in_days"],
        expires_at=doc.get("expires_at"),
        verified=doc.get("verified", True),
        failure=_enum(TlsFailure, doc["failure"]),
        detail=doc["detail"],
    )


def _load_outcome(doc: Mapping[str, Any]) -> TargetOutcome:
    target = Target(Family(doc["family"]), _address(doc["address"], doc["family"]), _port(doc["port"]),
                    Source(doc["source"]))  # fmt: skip
    seen = doc["observed"]
    result = ProbeResult(
        target,
        connected=seen["connected"],
        connect_errno=seen["connect_errno"],
        connect_timed_out=seen["connect_timed_out"],
        no_route=seen["no_route"],
        received=parse_escapes(doc["received"]),
        ending=_enum(Ending, seen["ending"]),
        send_errno=seen["send_errno"],
        connect_s=seen["connect_s"],
        first_byte_s=seen["first_byte_s"],
        total_s=seen["total_s"],
        attempts=doc["attempts"],
        elapsed_s=seen["elapsed_s"],
        tls=_load_tls(doc["tls"]),
        attempt=seen["attempt"],
        local_address=seen.get("local_address"),
        step=seen.get("step"),
        exchange=tuple(Exchange(e["at_s"], e["event"], parse_escapes(e["data"])) for e in seen.get("exchange", ())),
    )
    failed = tuple(Verdict(v) for v in doc.get("failed_attempts", ()))
    return TargetOutcome(result, Verdict(doc["verdict"]), doc["explanation"], failed)


def _load_expectation(doc: Mapping[str, Any]) -> Expectation:
    """The dialogue's steps when the document has them (older ones do not), else the one step."""
    if doc.get("steps"):
        return Expectation.of_steps(tuple(_load_step(s) for s in doc["steps"]), doc["keep_open"])
    return Expectation(parse_escapes(doc["expect"]), Match(doc["match"]), parse_escapes(doc["send"]), doc["keep_open"])


def _address(value: Any, family: str) -> str:
    """A target's address as ``dump_report`` writes it: an address literal of its family."""
    if not isinstance(value, str) or not is_literal(value):
        raise ValueError(f"address {value!r} is not an IP address")
    if str(Family.of(value)) != family:
        raise ValueError(f"address {value} is not of the family {family!r} given beside it")
    return value


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError(f"port {value!r} is not a port (an integer of 0..65535)")
    return value


def _load(doc: Mapping[str, Any]) -> HostReport:
    resolved = doc["resolved"]
    resolution = Resolution(
        resolved["host"],
        literal=resolved["literal"],
        resolver=doc["resolver"],
        dns=tuple(
            DnsAnswer(
                _RDTYPES[a["type"]],
                DnsStatus(a["status"]),
                tuple(a["addresses"]),
                a["detail"],
                a["ttl"],
                tuple(a.get("cnames", ())),
            )
            for a in doc["dns"]
        ),
        system=None if doc["getaddrinfo"] is None else tuple(doc["getaddrinfo"]),
        system_error=resolved["getaddrinfo_error"],
        invalid_name=resolved["invalid_name"],
        unicode_host=doc["host_unicode"],
        dns64_prefix=resolved.get("dns64_prefix"),
    )
    return HostReport(
        host=doc["host"],
        port=_port(doc["port"]),
        expectation=_load_expectation(doc),
        resolution=resolution,
        outcomes=tuple(_load_outcome(t) for t in doc["targets"]),
        findings=tuple(
            Finding(FindingCode(f["code"]), Severity(f["severity"]), f["message"], f["remedy"], tuple(f["addresses"]))
            for f in doc["findings"]
        ),
        started_at=None if doc["started_at"] is None else datetime.fromisoformat(doc["started_at"]),
        vantage=_load_vantage(doc["vantage"]),
    )


def load_report(doc: Mapping[str, Any]) -> HostReport:
    """The report a ``dump_report`` document holds. Raises ``UsageError`` for a document
    that is not one (another schema version, a missing or mistyped field)."""
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA_VERSION:
        found = doc.get("schema") if isinstance(doc, Mapping) else type(doc).__name__
        raise UsageError(f"not a tcpreach report of schema {SCHEMA_VERSION} (schema: {found!r})")
    try:
        return _load(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"not a tcpreach report: {type(exc).__name__}: {exc}") from None


def load_reports(doc: Mapping[str, Any]) -> list[HostReport]:
    """The reports of a ``dump_reports`` document (or of a single report's)."""
    if isinstance(doc, Mapping) and "reports" in doc:
        if doc.get("schema") != SCHEMA_VERSION or not isinstance(doc["reports"], list):
            raise UsageError(f"not a tcpreach document of schema {SCHEMA_VERSION} (schema: {doc.get('schema')!r})")
        return [load_report(r) for r in doc["reports"]]
    return [load_report(doc)]
