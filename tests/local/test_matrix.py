"""The server over every address this machine has, through the same parametrized test
and the same matrix as a remote host: in-process and as ``python -m server``."""

from __future__ import annotations

import pytest

from tcpreach.model import Family, Target

pytestmark = pytest.mark.local


@pytest.fixture(params=["in-process", "subprocess"])
def local_server(request):
    """(label, port) of the server under test, started once per session (and worker)."""
    if request.param == "in-process":
        srv = request.getfixturevalue("hello_server")
        return "in-process server", srv.port
    proc = request.getfixturevalue("hello_server_process")
    return "python -m server", proc.port


def test_greeting(local_server, tcpreach_local_address, tcpreach):
    label, port = local_server
    report = tcpreach.local_report(label, port)
    tcpreach.assert_target_ok(report, Target(Family.of(tcpreach_local_address), tcpreach_local_address, port))


def test_diagnosis_has_no_failing_finding(local_server, tcpreach):
    label, port = local_server
    tcpreach.assert_no_failing_finding(tcpreach.local_report(label, port))
