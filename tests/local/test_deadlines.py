"""Every wait has its deadline: a resolver that never answers, on the explicit path and the
system's (dnspython's queries and glibc's getaddrinfo alike), ends at the DNS lifetime; a
dead DNS name delays no other host; SIGINT and SIGTERM end a fleet's probe with what was
judged, and nothing else on standard error."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tcpreach.check import check_host, check_hosts
from tcpreach.model import DnsStatus, Family
from tcpreach.options import CheckOptions
from tcpreach.testing import Behaviour, StandIn, StubDNS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local


@pytest.fixture
def silent_resolver() -> Iterator[tuple[str, int]]:
    """A UDP port on loopback that takes every query and answers none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()


def _finding_codes(report):
    return [str(f.code) for f in report.findings]


def test_a_resolver_that_never_answers_ends_at_the_lifetime_on_the_explicit_path(silent_resolver):
    report = check_host("quiet.example", CheckOptions(resolver=silent_resolver, dns_lifetime=0.5, retries=0))
    assert [(a.family, a.status, a.detail) for a in report.resolution.dns] == [
        (Family.IPV4, DnsStatus.TIMEOUT, "no answer within 0.5 s, 1 query sent"),
        (Family.IPV6, DnsStatus.TIMEOUT, "no answer within 0.5 s, 1 query sent"),
    ]
    assert (report.resolution.system, report.resolution.system_error, report.outcomes) == (None, None, ())
    assert _finding_codes(report) == ["dns-timeout"]


def test_the_system_path_abandons_a_getaddrinfo_that_never_returns(monkeypatch, silent_resolver):
    from tcpreach.net import resolve

    release = threading.Event()
    asked: list[str] = []

    def hung(name):
        asked.append(name)
        release.wait(30)
        return (), "getaddrinfo: released"

    monkeypatch.setattr(resolve, "_getaddrinfo", hung)
    monkeypatch.setattr(resolve, "nameservers", lambda server: [silent_resolver])
    try:
        report = check_host("quiet.example", CheckOptions(dns_lifetime=0.5, retries=0))
    finally:
        release.set()
    assert asked == ["quiet.example"]
    assert (report.resolution.resolver, report.resolution.system) == ("system", None)
    assert report.resolution.system_error == "getaddrinfo: no answer within 0.5 s (the system resolver; abandoned)"
    assert [a.status for a in report.resolution.dns] == [DnsStatus.TIMEOUT, DnsStatus.TIMEOUT]
    assert _finding_codes(report) == ["dns-timeout"]


_IN_NAMESPACE = textwrap.dedent(
    """
    import socket, sys
    from tcpreach.cli import run_captured
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 53))  # resolv.conf's server here: it takes queries, answers none
    code, out, err = run_captured(["probe", "quiet.example", "--dns-lifetime", "1", "--json"])
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.exit(code)
    """
)


def test_glibc_behind_a_resolver_that_never_answers_is_abandoned_at_the_lifetime(namespaces):
    """glibc waits 5 s a server and tries twice (resolv.conf's defaults): the probe's answer
    comes at its DNS lifetime all the same, with getaddrinfo abandoned."""
    name = f"trdl{uuid.uuid4().hex[:6]}"
    etc = Path("/etc/netns") / name
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n", encoding="utf-8")
        (etc / "hosts").write_text("127.0.0.1 localhost\n", encoding="utf-8")
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        done = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-c", _IN_NAMESPACE],
            check=False, capture_output=True, text=True, timeout=60, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
        shutil.rmtree(etc, ignore_errors=True)
    assert (done.returncode, done.stderr) == (1, "")
    doc = json.loads(done.stdout)
    assert [(a["status"], a["detail"]) for a in doc["dns"]] == [
        ("timeout", "no answer within 1 s, 2 queries sent"),
        ("timeout", "no answer within 1 s, 2 queries sent"),
    ]
    assert (doc["resolver"], doc["getaddrinfo"], doc["resolved"]["getaddrinfo_error"]) == (
        "system",
        None, "getaddrinfo: no answer within 1 s (the system resolver; abandoned)")  # fmt: skip
    assert [f["code"] for f in doc["findings"]] == ["dns-timeout"]


def test_a_host_is_probed_while_another_hosts_dns_is_still_waited_for():
    """The first host's name is answered after 0.5 s, the second is a literal: its target is
    judged and its report handed over while the first still waits for DNS. Were every name
    resolved before any probe, both targets would be judged before either report."""
    events: list[str] = []
    with StandIn(Behaviour.HELLO) as server, StubDNS({"slow.example": {"A": ["127.0.0.1"]}},
                                                     slow={"slow.example": 0.5}) as dns:  # fmt: skip
        options = CheckOptions(resolver=dns.address, dns_lifetime=8, retries=0, port=server.port)
        reports = check_hosts(
            [("slow.example", options), ("127.0.0.1", options)],
            on_done=lambda outcome: events.append(f"judged {outcome.target.address}"),
            on_report=lambda i, r: events.append(f"report {r.host}"),
        )
    assert reports == []  # handed over, not kept
    assert events == ["judged 127.0.0.1", "report 127.0.0.1", "judged 127.0.0.1", "report slow.example"]


def _probe_until_signalled(signum: int, *extra: str) -> tuple[int, str, str]:
    """A fleet of a working host and a silent one (30 s timeout): the signal comes once the
    working host's report is out and the silent one's connection is open, and the command's
    output is read whole."""
    import select

    with StandIn(Behaviour.HELLO) as ok, StandIn(Behaviour.SILENT, host="127.0.0.2") as silent:
        command = [sys.executable, "-m", "tcpreach", "probe", f"127.0.0.1:{ok.port}", f"127.0.0.2:{silent.port}",
                   "--timeout", "30", "--retries", "0", *extra]  # fmt: skip
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        written = b""
        try:
            deadline = time.monotonic() + 30
            report_done = b"\n    }" if "--json" in extra else b"\nok: "
            fd = proc.stdout.fileno()
            while time.monotonic() < deadline and proc.poll() is None:
                reported = report_done in written
                if reported and silent.accepted >= 1:
                    break
                if not reported and select.select([fd], [], [], 0.05)[0]:
                    written += os.read(fd, 65536)  # the raw pipe: nothing held in a text buffer
                elif reported:
                    time.sleep(0.02)
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
            proc.wait()
    return proc.returncode, written.decode() + out, err


def test_sigint_ends_a_fleet_probe_with_what_was_judged_and_exit_130():
    code, out, err = _probe_until_signalled(signal.SIGINT)
    assert (code, err) == (130, "")
    lines = out.splitlines()
    assert re.fullmatch(r"interrupted by SIGINT after \d+\.\d s: 1 of 2 hosts judged", lines[-1])
    assert [line for line in lines if line.startswith("ok: ")] == [lines[-3]]
    assert lines[-3].startswith("ok: 127.0.0.1 port ")


def test_sigterm_ends_a_fleet_probe_with_a_json_document_marked_interrupted_and_exit_143():
    code, out, err = _probe_until_signalled(signal.SIGTERM, "--json")
    assert (code, err) == (143, "")
    doc = json.loads(out)
    assert (doc["interrupted"], [r["host"] for r in doc["reports"]]) == ("SIGTERM", ["127.0.0.1"])
    assert [t["verdict"] for t in doc["reports"][0]["targets"]] == ["ok"]


def test_a_probe_cut_short_by_pytest_timeout_fails_the_later_tests_without_probing_again(pytester):
    with StandIn(Behaviour.SILENT) as silent:
        pytester.makepyfile(
            test_cut=f"""
            HOST = "127.0.0.1:{silent.port}"

            def test_one(tcpreach):
                tcpreach.host_report(HOST)

            def test_two(tcpreach):
                tcpreach.host_report(HOST)
            """
        )
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--timeout=1",
            "--tcpreach-probe-timeout=4", "--tcpreach-retries=0", "-rf",
        )  # fmt: skip
        accepted = silent.accepted
    result.assert_outcomes(failed=2)
    told = [line for line in result.outlines if line.startswith("tcpreach: ")]
    assert told == [
        "tcpreach: not probed again: an earlier test's probe was cut short (Timeout (>1.0s) from pytest-timeout.); "
        "give the tests more time, or the probes less (--tcpreach-probe-timeout, --tcpreach-dns-lifetime)"
    ]
    assert "RuntimeError" not in result.stdout.str()
    assert accepted == 1
