"""The table and the JSON document, from constructed reports."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tcpreach.diagnosis import diagnose
from tcpreach.escapes import escaped, parse_escapes
from tcpreach.expectation import Expectation
from tcpreach.model import DnsAnswer, DnsStatus, Ending, Family, HostReport, ProbeResult, Resolution, Source, Target
from tcpreach.report.document import report_json
from tcpreach.report.text import format_report
from tcpreach.verdict import judge


def sample() -> HostReport:
    resolution = Resolution(
        "hello-server.fly.dev",
        resolver="127.0.0.1:5353",
        dns=(
            DnsAnswer(Family.IPV4, DnsStatus.OK, ("66.241.125.63",)),
            DnsAnswer(Family.IPV6, DnsStatus.OK, ("2a09:8280:1::c5:a273:0",)),
        ),
    )
    v4 = ProbeResult(
        Target(Family.IPV4, "66.241.125.63", 1848, Source.DNS),
        True,
        received=b"",
        ending=Ending.EOF,
        connect_s=0.0123,
        total_s=0.0200,
    )
    v6 = ProbeResult(
        Target(Family.IPV6, "2a09:8280:1::c5:a273:0", 1848, Source.DNS),
        True,
        received=b"hello\n",
        ending=Ending.EOF,
        connect_s=0.010,
        first_byte_s=0.011,
        total_s=0.012,
    )
    outcomes = (judge(v4, b"hello\n"), judge(v6, b"hello\n"))
    return HostReport("hello-server.fly.dev", 1848, Expectation(), resolution, outcomes, diagnose(resolution, outcomes))


def test_json_document_has_the_documented_shape():
    doc = json.loads(json.dumps(report_json(sample())))
    assert {"host", "port", "expect", "targets", "findings"} <= doc.keys()
    assert doc["expect"] == "hello\\n"
    v4, v6 = doc["targets"]
    assert v4 == {
        "family": "ipv4",
        "address": "66.241.125.63",
        "port": 1848,
        "source": "dns",
        "verdict": "closed-without-data",
        "explanation": "connected, then closed (FIN) before any byte",
        "received": "",
        "timings_ms": {"connect": 12.3, "tls_handshake": None, "first_byte": None, "total": 20.0, "to_verdict": 20.0},
        "attempts": 1,
        "tls": None,
    }
    assert v6["received"] == "hello\\n"
    assert [f["code"] for f in doc["findings"]] == ["fly-shared-ipv4"]
    assert set(doc["findings"][0]) >= {"code", "message", "remedy"}


def test_table_has_one_row_per_target_then_findings():
    text = format_report(sample())
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("FAMILY"))
    assert lines[header + 1].split()[:5] == ["ipv4", "66.241.125.63", "1848", "dns", "closed-without-data"]
    assert lines[header + 2].split()[:5] == ["ipv6", "2a09:8280:1::c5:a273:0", "1848", "dns", "ok"]
    assert "fix: run 'fly ips allocate-v4'" in text


@given(st.binary(max_size=64))
def test_escaping_round_trips(data):
    assert parse_escapes(escaped(data)) == data
