"""Every report shape as Prometheus series (the exporter's /probe body), built from plain
data: the reports of ``test_report_corpus`` through ``tcpreach.exporter.metrics``.

The expected text lives in ``golden/exporter.json``; after a deliberate change, regenerate
it with ``TCPREACH_UPDATE_GOLDEN=1 pytest tests/unit/test_exporter_metrics.py`` and read the diff.
"""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_report_corpus import CASES, CERT, V4, V6, dns, report, seen

from tcpreach.exporter.budget import Budget
from tcpreach.exporter.metrics import exposition
from tcpreach.exporter.record import ProbeRecord
from tcpreach.model import TlsObservation, Verdict
from tcpreach.options import CheckOptions

GOLDEN = "exporter.json"  # in golden/, see conftest.py


def record(host_report, budget: Budget | None = None, dns_s: float | None = 0.0021) -> ProbeRecord:
    budget = budget or Budget(CheckOptions(), None)
    return ProbeRecord("hello", host_report.host, host_report, budget, dns_s, 0.0345, 1_796_000_000.0)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_report_shape_as_series(golden, name):
    host_report = CASES[name]()
    literal = host_report.resolution.literal
    golden.check(name, exposition(record(host_report, dns_s=None if literal else 0.0021)).decode().splitlines())


def test_the_golden_file_holds_every_case(golden):
    golden.assert_holds(CASES)


def by_address(found, name):
    return {dict(labels)["address"]: value for (n, labels), value in found.items() if n == name}


def test_the_shared_ipv4_trap_as_alertable_series():
    found = samples(exposition(record(CASES["shared-ipv4"]())))
    assert found[("probe_success", ())] == 0
    assert by_address(found, "tcpreach_address_success") == {V4: 0, V6: 1}
    assert {k: v for k, v in found.items() if k[0] == "tcpreach_finding"} == {
        ("tcpreach_finding", (("code", "fly-shared-ipv4"), ("severity", "error"))): 1
    }
    held = {(dict(labels)["address"], dict(labels)["verdict"]) for (n, labels), v in found.items()
            if n == "tcpreach_address_verdict" and v == 1}  # fmt: skip
    assert held == {(V4, "closed-without-data"), (V6, "ok")}
    # one series per verdict and address: a graph shows each verdict's line
    assert len(by_address(found, "tcpreach_address_verdict")) == 2
    assert sum(1 for n, _ in found if n == "tcpreach_address_verdict") == 2 * len(Verdict)


def test_a_healthy_name_is_all_ones_and_only_the_all_ok_finding():
    found = samples(exposition(record(report(dns(host="dedicated.fly.dev"), [seen(V4), seen(V6)]))))
    assert found[("probe_success", ())] == 1
    assert by_address(found, "tcpreach_address_success") == {V4: 1, V6: 1}
    assert {k: v for k, v in found.items() if k[0] == "tcpreach_finding"} == {
        ("tcpreach_finding", (("code", "all-ok"), ("severity", "info"))): 1
    }


def test_a_warning_finding_does_not_fail_the_probe():
    # tls-expires-soon is a warning: every address answered, so the probe succeeds
    soon = TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", None, **{**CERT, "expires_in_days": 3})
    host_report = report(dns(), [seen(V4, tls=soon), seen(V6, tls=soon)])
    assert [(f.code, f.severity) for f in host_report.findings] == [("tls-expires-soon", "warning"), ("all-ok", "info")]
    assert samples(exposition(record(host_report)))[("probe_success", ())] == 1


def test_the_certificate_expiry_is_a_timestamp():
    tls = TlsObservation("hello-server.fly.dev", 0.03, "TLSv1.3", expires_at=1_800_000_000.0)
    found = samples(exposition(record(report(dns(), [seen(V4, tls=tls), seen(V6)]))))
    assert by_address(found, "tcpreach_address_tls_cert_expiry_timestamp_seconds") == {V4: 1_800_000_000.0}
    assert by_address(found, "tcpreach_address_tls_handshake_seconds") == {V4: 0.03}


def test_a_shortened_probe_says_so():
    budget = Budget(dataclasses.replace(CheckOptions(), timeout=0.6), 1.5)
    found = samples(exposition(record(CASES["shared-ipv4"](), budget)))
    assert (found[("tcpreach_probe_timeout_seconds", ())], found[("tcpreach_probe_deadline_seconds", ())]) == (0.6, 1.5)


def test_no_address_at_all_fails_the_probe():
    # nothing probed cannot pass, whatever the findings say
    found = samples(exposition(record(CASES["nxdomain"]())))
    assert found[("probe_success", ())] == 0
    assert by_address(found, "tcpreach_address_success") == {}


def test_the_status_page_shows_each_probe_escaped():
    from tcpreach.exporter.page import status_page

    probe = dataclasses.replace(record(CASES["shared-ipv4"]()), target="<b>hello</b>.fly.dev")
    page = status_page("1.0", {}, [probe])
    row = page[page.index("<tr><td>2026-") :].split("</tr>")[0]
    assert row == (
        "<tr><td>2026-11-30 00:53:20</td><td>hello</td><td>&lt;b&gt;hello&lt;/b&gt;.fly.dev</td><td><b>failed</b></td>"
        f"<td>{V4} closed-without-data<br>{V6} ok</td><td>error: fly-shared-ipv4</td><td>0.035 s</td>"
        '<td><a href="/probe?target=%3Cb%3Ehello%3C%2Fb%3E.fly.dev&amp;module=hello&amp;debug=true">debug</a></td>'
    )


def test_the_certificate_expiry_and_the_scrape_deadline_each_with_its_help():
    cert = TlsObservation("hello-server.fly.dev", 0.014, "TLSv1.3", expires_at=1_800_000_000.0)
    tls = report(dns(aaaa=()), [seen(V4, tls=cert)])
    lines = exposition(record(tls, Budget(CheckOptions(), 9.5))).decode().splitlines()
    assert [line for line in lines if "cert_expiry" in line or "deadline_seconds" in line] == [
        "# HELP tcpreach_probe_deadline_seconds The scrape timeout minus the exporter's offset",
        "# TYPE tcpreach_probe_deadline_seconds gauge",
        "tcpreach_probe_deadline_seconds 9.5",
        "# HELP tcpreach_address_tls_cert_expiry_timestamp_seconds The certificate's notAfter, Unix time",
        "# TYPE tcpreach_address_tls_cert_expiry_timestamp_seconds gauge",
        f'tcpreach_address_tls_cert_expiry_timestamp_seconds{{address="{V4}",family="ipv4",port="1848"}} 1.8e+09',
    ]
