"""``python -m tcpreach merge`` over reports made on loopback as vantages would make them:
``probe --json --vantage`` restricted to one family (an IPv4-only and an IPv6-only client),
and pytest's ``--tcpreach-json`` with ``--tcpreach-vantage``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server import HelloServer
from tcpreach.testing.standins import Behaviour, StandIn
from tcpreach.testing.stub_dns import StubDNS

pytestmark = pytest.mark.local

REMOTE_SUITE = Path(__file__).resolve().parents[1] / "remote"
EDGE = "127.0.0.2"


@pytest.fixture(scope="module")
def trap():
    """The shared-IPv4 trap on loopback: the A record closes without data, the AAAA answers."""
    with (
        HelloServer(host="::1", port=0) as app,
        StandIn(Behaviour.CLOSE, host=EDGE, port=app.port),
        StubDNS({"hello-server.fly.dev": {"A": [EDGE], "AAAA": ["::1"]}}) as dns,
    ):
        yield app.port, dns.spec


def report_from(cli, tmp_path, trap, vantage, *extra):
    port, resolver = trap
    done = cli("probe", "hello-server.fly.dev", "--port", str(port), "--resolver", resolver, "--retries", "0",
               "--json", "--vantage", vantage, *extra)  # fmt: skip
    path = tmp_path / f"{vantage}.json"
    path.write_text(done.stdout)
    return path


def test_an_ipv4_only_and_an_ipv6_only_vantage_merged(cli, tmp_path, trap):
    v4 = report_from(cli, tmp_path, trap, "v4only", "--family", "4")
    v6 = report_from(cli, tmp_path, trap, "v6only", "--family", "6")
    done = cli("merge", str(v4), str(v6), "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, done.stderr) == (1, "")
    assert [(m["address"], m["verdicts"]) for m in doc["matrix"]] == [
        (EDGE, {"v4only": "closed-without-data", "v6only": "-"}),
        ("::1", {"v4only": "-", "v6only": "ok"}),
    ]
    assert [(c["client"], c["reaches"]) for c in doc["clients"]] == [
        ("IPv4-only", "no"), ("IPv6-only", "yes"), ("IPv6-only behind NAT64", "yes"),
        ("dual-stack (prefers IPv6)", "yes"), ("dual-stack, IPv6 path broken", "no"),
    ]  # fmt: skip
    assert [f["code"] for f in doc["findings"]] == []


def test_the_markdown_is_a_job_summary(cli, tmp_path, trap):
    dual = report_from(cli, tmp_path, trap, "dual")
    done = cli("merge", str(dual), "--markdown")
    lines = done.stdout.splitlines()
    heading = f"### tcpreach: hello-server.fly.dev port {trap[0]}: some clients cannot reach it"
    assert (done.returncode, lines[0]) == (1, heading)
    assert "| IPv4-only | no | dual | 127.0.0.2 closed-without-data |" in lines
    assert any(line.startswith("- **error** `fly-shared-ipv4` (from dual): ") for line in lines)


def test_a_pytest_run_and_a_probe_merge(cli, tmp_path, trap, pytester, inner_pytest):
    port, resolver = trap
    result = inner_pytest("-m", "remote", "--host", "hello-server.fly.dev", "--resolver", resolver, "--port", str(port),
                          "--retries", "0", "--tcpreach-vantage", "ci", "--connectivity-json", "run.json",
                          str(REMOTE_SUITE))  # fmt: skip
    assert result.ret == 1  # the trap fails the run
    probed = report_from(cli, tmp_path, trap, "laptop", "--family", "6")
    done = cli("merge", str(pytester.path / "run.json"), str(probed), "--json")
    doc = json.loads(done.stdout)
    assert (doc["vantages"], [m["verdicts"] for m in doc["matrix"]]) == (
        ["ci", "laptop"],
        [{"ci": "closed-without-data", "laptop": "-"}, {"ci": "ok", "laptop": "ok"}],
    )


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("not json", "{path}:1: not JSON: Expecting value (column 1)"),
        ('{"schema": 9}', "{path}: not a tcpreach report of schema 1 (schema: 9)"),
        ("[" * 100_000, "{path}:1: nested over 64 levels deep: that is not a tcpreach JSON report"),
        ("9" * 5000, "{path}: not a tcpreach JSON report: a number of 5,000 digits"),
    ],
    ids=["not-json", "another-schema", "deep", "huge-number"],
)
def test_a_file_that_is_no_report_is_one_line_and_exit_2(cli, tmp_path, content, error):
    path = tmp_path / "bad.json"
    path.write_text(content)
    done = cli("merge", str(path))
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"python -m tcpreach merge: error: {error.format(path=path)} (see --help)\n")  # fmt: skip


def test_reports_of_two_hosts_are_a_fleet_merged_host_by_host_with_its_summary_first(cli, tmp_path, trap):
    port = trap[0]
    one = report_from(cli, tmp_path, trap, "a")
    other = tmp_path / "other.json"
    other.write_text(cli("probe", f"[::1]:{port}", "--json", "--vantage", "b").stdout)
    done = cli("merge", str(one), str(other))
    lines = done.stdout.splitlines()
    assert (done.returncode, done.stderr) == (1, "")
    assert lines[:2] == [
        "2 hosts from a, b: 1 reach every tested kind of client, 1 do not",
        f"  hello-server.fly.dev port {port}: IPv4-only (no), dual-stack, IPv6 path broken (no)",
    ]
    assert [line for line in lines if " expecting " in line] == [  # each host's merge, the failing one first
        f"hello-server.fly.dev port {port}, expecting 'hello\\n', from 1 vantage: a",
        f"::1 port {port}, expecting 'hello\\n', from 1 vantage: b",
    ]
    doc = json.loads(cli("merge", str(one), str(other), "--json").stdout)
    assert [m["host"] for m in doc["merges"]] == ["hello-server.fly.dev", "::1"]


def test_dash_reads_the_reports_from_standard_input(cli, tmp_path, trap):
    import subprocess
    import sys

    one = report_from(cli, tmp_path, trap, "a")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "tcpreach", "merge", "-", "--json"], input=one.read_text(),
                          capture_output=True, text=True, cwd=root, timeout=60, check=False)  # fmt: skip
    assert (done.returncode in (0, 1), done.stderr) == (True, "")
    assert [r["vantage"]["label"] for r in json.loads(done.stdout)["reports"]] == ["a"]
