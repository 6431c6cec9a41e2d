"""A deployed host, as its users reach it: ``pytest -m remote --host hello-server.fly.dev``.

One test per resolved address (``test_greeting[ipv4-66.241.125.63]``), plus host-level
tests: DNS has both A and AAAA, and the diagnosis has no failing finding.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.remote


def test_greeting(tcpreach_remote_target, tcpreach):
    report = tcpreach.host_report(tcpreach_remote_target.host)
    tcpreach.assert_target_ok(report, tcpreach_remote_target.target)


def test_dns_has_a_and_aaaa(tcpreach_remote_host, tcpreach):
    tcpreach.assert_dns_has_both_families(tcpreach.host_report(tcpreach_remote_host))


def test_diagnosis_has_no_failing_finding(tcpreach_remote_host, tcpreach):
    tcpreach.assert_no_failing_finding(tcpreach.host_report(tcpreach_remote_host))
