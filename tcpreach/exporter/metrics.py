"""A probe as Prometheus series: pure, from a ``ProbeRecord`` to metric families.

Per host: ``probe_success`` (every address ok and no error finding; blackbox_exporter's
name, so existing dashboards and alerts read it), ``probe_duration_seconds``,
``probe_dns_lookup_time_seconds``, the DNS answers per type and each finding as
``tcpreach_finding{code, severity}``. Per address (labels ``family``, ``address``,
``port``): success, the verdict (one series per verdict, 1 for the one that holds),
connect, first-byte and TLS-handshake seconds, attempts, the certificate's expiry, the TLS
version (``tcpreach_address_tls_version_info{version}``, blackbox_exporter's
``probe_tls_version_info``) and, for a dialogue, the step the probe stopped at (the last
when every step went through: a failing step is the one that is not).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from tcpreach.exporter.record import ProbeRecord
from tcpreach.model import DnsStatus, TargetOutcome, Verdict

__all__ = ["ADDRESS_LABELS", "exposition", "families"]

ADDRESS_LABELS = ("family", "address", "port")


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _host_families(record: ProbeRecord) -> Iterator[Metric]:
    report, budget = record.report, record.budget
    passed = "1 when every address this client could test answered as expected and no finding is an error"
    yield _gauge("probe_success", passed, record.success)
    yield _gauge("probe_duration_seconds", "Seconds the probe took, DNS included", record.duration_s)
    if record.dns_s is not None:
        yield _gauge("probe_dns_lookup_time_seconds", "Seconds the DNS lookup took (A and AAAA at once)", record.dns_s)
    used = "The probe timeout used (the scrape's deadline may shorten the module's)"
    yield _gauge("tcpreach_probe_timeout_seconds", used, budget.options.timeout)
    if budget.deadline_s is not None:
        yield _gauge(
            "tcpreach_probe_deadline_seconds", "The scrape timeout minus the exporter's offset", budget.deadline_s
        )
    answers = GaugeMetricFamily("tcpreach_dns_answers", "Address records in the DNS answer", labels=["type"])
    status = GaugeMetricFamily("tcpreach_dns_status", "1 for the status of each DNS query", labels=["type", "status"])
    for answer in report.resolution.dns:
        answers.add_metric([answer.rdtype], len(answer.addresses))
        for each in DnsStatus:
            status.add_metric([answer.rdtype, str(each)], float(each is answer.status))
    if report.resolution.dns:
        yield from (answers, status)
    found = GaugeMetricFamily("tcpreach_finding", "1 for each finding of the diagnosis", labels=["code", "severity"])
    for code, severity in sorted({(str(f.code), str(f.severity)) for f in report.findings}):
        found.add_metric([code, severity], 1)
    if found.samples:
        yield found


def _labels(outcome: TargetOutcome) -> list[str]:
    target = outcome.target
    return [str(target.family), target.address, str(target.port)]


def _address_families(outcomes: Iterable[TargetOutcome]) -> Iterator[Metric]:
    def family(name: str, doc: str, *extra: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=[*ADDRESS_LABELS, *extra])

    success = family("tcpreach_address_success", "1 when this address answered as expected")
    verdict = family("tcpreach_address_verdict", "1 for the verdict that holds, 0 for every other", "verdict")
    connect = family("tcpreach_address_connect_seconds", "Seconds to connect (the deciding attempt)")
    first = family("tcpreach_address_first_byte_seconds", "Seconds from connect's start to the first byte")
    handshake = family("tcpreach_address_tls_handshake_seconds", "Seconds from connect's start to TLS established")
    attempts = family("tcpreach_address_attempts", "Attempts started at this address (hedged: they may overlap)")
    expiry = family("tcpreach_address_tls_cert_expiry_timestamp_seconds", "The certificate's notAfter, Unix time")
    version = family("tcpreach_address_tls_version_info", "1 for the TLS version the handshake agreed", "version")
    step = family("tcpreach_address_dialogue_step", "The step of the dialogue the probe stopped at (from 1)")
    for outcome in outcomes:
        labels, result = _labels(outcome), outcome.result
        success.add_metric(labels, float(outcome.verdict is Verdict.OK))
        for each in Verdict:
            verdict.add_metric([*labels, str(each)], float(each is outcome.verdict))
        attempts.add_metric(labels, result.attempts)
        for metric, seconds in ((connect, result.connect_s), (first, result.first_byte_s)):
            if seconds is not None:
                metric.add_metric(labels, seconds)
        tls = result.tls
        if tls is not None and tls.handshake_s is not None:
            handshake.add_metric(labels, tls.handshake_s)
        if tls is not None and tls.expires_at is not None:
            expiry.add_metric(labels, tls.expires_at)
        if tls is not None and tls.version is not None:
            version.add_metric([*labels, tls.version], 1.0)
        if result.step is not None:
            step.add_metric(labels, result.step)
    made = (success, verdict, connect, first, handshake, attempts, expiry, version, step)
    yield from (m for m in made if m.samples)


def _refused_family(record: ProbeRecord) -> Iterator[Metric]:
    refused = GaugeMetricFamily(
        "tcpreach_address_refused", "1 for each address the name resolved to that the policy forbids: not probed",
        labels=["address", "reason"],
    )  # fmt: skip
    for address, reason in record.refused:
        refused.add_metric([address, reason], 1)
    if record.refused:
        yield refused


def families(record: ProbeRecord) -> list[Metric]:
    """Every series of one probe."""
    return [*_host_families(record), *_address_families(record.report.outcomes), *_refused_family(record)]


class _Fixed:
    """A collector of families made beforehand."""

    def __init__(self, made: list[Metric]) -> None:
        self._made = made

    def collect(self) -> Iterable[Metric]:
        return self._made


def exposition(record: ProbeRecord) -> bytes:
    """The probe in Prometheus's text format, from a registry of its own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families(record)))
    return generate_latest(registry)
