"""A deployed host, as its users reach it: ``pytest -m remote --host hello-server.fly.dev``.

One test per resolved address (``test_greeting[ipv4-66.241.125.63]``), plus host-level
tests: DNS has both A and AAAA, and the diagnosis has no failing finding.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.remote


def test_greeting(remote_target, connectivity):
    report = connectivity.host_report(remote_target.host)
    connectivity.assert_target_ok(report, remote_target.target)


def test_dns_has_a_and_aaaa(remote_host, connectivity):
    connectivity.assert_dns_has_both_families(connectivity.host_report(remote_host))


def test_diagnosis_has_no_failing_finding(remote_host, connectivity):
    connectivity.assert_no_failing_finding(connectivity.host_report(remote_host))
