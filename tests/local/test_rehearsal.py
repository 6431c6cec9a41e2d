"""The Fly-edge rehearsal: the real remote suite, run as a user would, against loopback.

A stub DNS server answers the Fly names; an A record points at a stand-in for Fly's
shared IPv4 edge (127.0.0.2: accepts, then closes without data), the AAAA record at
``::1`` where the real server listens on the same port. Nothing leaves loopback.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from server import HelloServer
from tcpreach.testing.standins import Behaviour, StandIn
from tcpreach.testing.stub_dns import StubDNS

pytestmark = pytest.mark.local

REMOTE_SUITE = Path(__file__).resolve().parents[1] / "remote"
EDGE, DEDICATED, DOWN_V4 = "127.0.0.2", "127.0.0.3", "127.0.0.6"
ROTATING = ("127.0.0.4", "127.0.0.5")  # one A record per answer, the next one each time


@pytest.fixture(scope="module")
def fly():
    with (
        HelloServer(host="::1", port=0) as app,
        StandIn(Behaviour.CLOSE, host=EDGE, port=app.port) as edge,
        StandIn(Behaviour.HELLO, host=DEDICATED, port=app.port),
        StandIn(Behaviour.CLOSE, host="::1", port=0) as down_v6,
        StandIn(Behaviour.CLOSE, host=DOWN_V4, port=down_v6.port),
        HelloServer(host="0.0.0.0", port=0) as v4_listener,
        StandIn(Behaviour.HELLO, host=ROTATING[0], port=app.port) as first,
        StandIn(Behaviour.HELLO, host=ROTATING[1], port=app.port) as second,
        StubDNS(
            {
                "rotating.fly.dev": {"A": list(ROTATING), "AAAA": ["::1"]},
                "hello-server.fly.dev": {"A": [EDGE], "AAAA": ["::1"]},
                "dedicated.fly.dev": {"A": [DEDICATED], "AAAA": ["::1"]},
                "down.fly.dev": {"A": [DOWN_V4], "AAAA": ["::1"]},
                "v4-listener.example": {"A": ["127.0.0.1"], "AAAA": ["::1"]},
                "v6only.fly.dev": {"AAAA": ["::1"]},
                "noaddr.fly.dev": {"TXT": ["first deploy, no IP allocated"]},
            },
            silent={"silent.fly.dev"},
            rotate=["rotating.fly.dev"],
        ) as dns,
    ):
        yield {
            "port": app.port, "v4_port": v4_listener.port, "down_port": down_v6.port, "resolver": dns.spec,
            "dns": dns, "rotating": (first, second), "edge": edge,
        }  # fmt: skip


def run_remote(inner_pytest, host, resolver, port, *extra):
    return inner_pytest(
        "-m", "remote", "--host", host, "--resolver", resolver, "--port", str(port),
        "--connectivity-json", "run.json", "--retries", "0", *extra, str(REMOTE_SUITE),
    )  # fmt: skip


def test_shared_ipv4_fails_with_the_diagnosis_and_its_remedy(pytester, inner_pytest, fly):
    result = run_remote(inner_pytest, "hello-server.fly.dev", fly["resolver"], fly["port"])
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert "test_greeting[ipv6-::1]" not in " ".join(line for line in result.outlines if "FAILED" in line)
    result.stdout.fnmatch_lines(
        [
            f"*test_greeting*ipv4-{EDGE}*",
            f"*closed-without-data on {EDGE}:{fly['port']}: connected, then closed (FIN) before any byte."
            " IPv6 answers while IPv4 connects and is closed without data. Fly.io's shared IPv4 cannot route raw TCP*"
            "Fix: run 'fly ips allocate-v4'"
            " (dedicated IPv4, $2/month)*",
        ]
    )
    assert out.count("tcpreach matrix") == 1
    assert "ERROR    fly-shared-ipv4" in out
    # The repository's fly.toml (app = "hello-server") predicted it offline:
    assert "The fly.toml lint predicted this (needs-dedicated-ipv4): the live behaviour confirms it." in out
    doc = json.loads((pytester.path / "run.json").read_text())
    (report,) = doc["reports"]
    assert {t["address"]: t["verdict"] for t in report["targets"]} == {EDGE: "closed-without-data", "::1": "ok"}
    assert [f["code"] for f in report["findings"]] == ["fly-shared-ipv4"]


def test_accept_shared_ipv4_makes_the_run_green_with_one_xfail(inner_pytest, fly):
    result = run_remote(inner_pytest, "hello-server.fly.dev", fly["resolver"], fly["port"], "--accept-shared-ipv4")
    result.assert_outcomes(passed=3, xfailed=1)
    assert result.ret == 0


def test_accept_shared_ipv4_never_accepts_an_ipv4_only_run(inner_pytest, fly):
    # Without IPv6 in the run nothing shows the app answers: an app that is down looks the same.
    result = run_remote(
        inner_pytest,
        "hello-server.fly.dev",
        fly["resolver"],
        fly["port"],
        "--family",
        "4",
        "--accept-shared-ipv4",
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*fly-shared-ipv4-suspected: IPv4 connects and is closed without data on a Fly.io*"
            "name*but IPv6 was not probed, and an app that is down looks the same from IPv4*"
        ]
    )


def test_an_edge_without_its_app_is_not_called_the_shared_ipv4(pytester, inner_pytest, fly):
    result = run_remote(
        inner_pytest, "down.fly.dev", fly["resolver"], fly["down_port"], "--accept-shared-ipv4", "--retries", "0"
    )
    result.assert_outcomes(passed=1, failed=3)
    doc = json.loads((pytester.path / "run.json").read_text())
    (report,) = doc["reports"]
    assert [f["code"] for f in report["findings"]] == ["edge-no-app"]


def test_the_same_address_on_two_ports_keeps_both_reports(pytester, inner_pytest, fly):
    hosts = [f"127.0.0.1:{fly['v4_port']}", f"[::1]:{fly['port']}", f"[::1]:{fly['v4_port']}"]
    result = inner_pytest(
        "-m", "remote", *(a for h in hosts for a in ("--host", h)), "--retries", "0",
        "--connectivity-json", "run.json", str(REMOTE_SUITE),
    )  # fmt: skip
    result.assert_outcomes(passed=4, failed=2, skipped=3)
    doc = json.loads((pytester.path / "run.json").read_text())
    assert sorted((r["host"], r["port"], r["targets"][0]["verdict"]) for r in doc["reports"]) == sorted(
        [("127.0.0.1", fly["v4_port"], "ok"), ("::1", fly["port"], "ok"), ("::1", fly["v4_port"], "refused")]
    )


def test_accept_shared_ipv4_from_the_environment(inner_pytest, fly, monkeypatch):
    monkeypatch.setenv("TCPREACH_ACCEPT_SHARED_IPV4", "1")
    result = run_remote(inner_pytest, "hello-server.fly.dev", fly["resolver"], fly["port"])
    result.assert_outcomes(passed=3, xfailed=1)


def test_dedicated_ipv4_is_all_green(pytester, inner_pytest, fly):
    result = run_remote(inner_pytest, "dedicated.fly.dev", fly["resolver"], fly["port"], "-v", "--junitxml=run.xml")
    result.assert_outcomes(passed=4)
    cases = ElementTree.parse(pytester.path / "run.xml").getroot().iter("testcase")
    recorded = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases}
    v4 = recorded[f"test_greeting[ipv4-{DEDICATED}]"]
    assert (v4["family"], v4["address"], v4["verdict"], v4["attempts"]) == ("ipv4", DEDICATED, "ok", "1")
    assert {"connect_ms", "first_byte_ms", "total_ms", "port"} <= v4.keys()
    result.stdout.fnmatch_lines([f"*test_greeting?ipv4-{DEDICATED}? PASSED*"])
    assert "INFO     all-ok" in result.stdout.str()


def test_ipv4_only_listener(inner_pytest, fly):
    result = run_remote(inner_pytest, "v4-listener.example", fly["resolver"], fly["v4_port"])
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([f"*refused on [[]::1[]]:{fly['v4_port']}*IPv4 answers but IPv6 is refused*"])
    assert "ERROR    ipv4-only-listener" in result.stdout.str()


def test_nxdomain_is_a_failing_host_level_test_not_a_collection_error(inner_pytest, fly):
    result = run_remote(inner_pytest, "missing.fly.dev", fly["resolver"], fly["port"])
    result.assert_outcomes(failed=2, skipped=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*DNS for missing.fly.dev: A: nxdomain*AAAA: nxdomain*"])
    assert "error" not in result.outlines[-1]  # "2 failed, 1 skipped": no collection error


def test_a_name_with_only_aaaa(inner_pytest, fly):
    result = run_remote(inner_pytest, "v6only.fly.dev", fly["resolver"], fly["port"])
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*DNS for v6only.fly.dev: A: no-answer*no-a: *IPv4-only clients cannot reach it*"])


def test_a_name_without_any_address_fails_the_run_and_nothing_passes_vacuously(inner_pytest, fly):
    # NOERROR with no A and no AAAA: what a non-interactive first deploy leaves
    result = run_remote(inner_pytest, "noaddr.fly.dev", fly["resolver"], fly["port"])
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*no-address: noaddr.fly.dev exists but has no A and no AAAA record*",
                                 "*fix: the app has no public address yet*'fly ips allocate-v6'*"])  # fmt: skip
    assert " passed" not in result.outlines[-1], result.outlines[-1]


def test_a_resolver_that_does_not_answer_fails_clearly_within_the_lifetime(inner_pytest, fly):
    result = run_remote(inner_pytest, "silent.fly.dev", fly["resolver"], fly["port"], "--dns-lifetime", "0.3")
    result.assert_outcomes(failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [f"*DNS for silent.fly.dev: A: timeout*dns-timeout: {fly['resolver']} answered no query for silent.fly.dev*"]
    )


def _junit(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """Each test case's outcome and recorded properties, timings left out."""
    cases = ElementTree.parse(path).getroot().iter("testcase")
    return {
        case.get("name", ""): (
            next((child.tag for child in case if child.tag in {"failure", "error", "skipped"}), "passed"),
            {
                p.get("name", ""): p.get("value", "")
                for p in case.iter("property")
                if not p.get("name", "").endswith("_ms")
            },
        )
        for case in cases
    }


def _untimed(value):
    """A JSON document without its timings and start times, which differ from run to run."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if not k.endswith(("_ms", "_s", "started_at"))}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def test_under_xdist_every_test_and_report_is_the_same_as_in_a_serial_run(pytester, inner_pytest, fly):
    """Several hosts in one run (a shared-IPv4 name accepted as such, a dedicated one, one
    address on two ports), first in one process, then with -n 2: the controller gathers the
    reports once and every worker sees the same targets, outcomes, JUnit properties and
    JSON. A rotating name joins the -n 2 run: resolved once, each address probed once,
    although each worker asking DNS itself would get another address."""
    hosts = ["hello-server.fly.dev", "dedicated.fly.dev",
             f"127.0.0.1:{fly['v4_port']}", f"[::1]:{fly['port']}", f"[::1]:{fly['v4_port']}"]  # fmt: skip
    args = [
        *(a for h in hosts for a in ("--host", h)), "-m", "remote", "--resolver", fly["resolver"],
        "--port", str(fly["port"]), "--retries", "0", "--accept-shared-ipv4", "-v", "--junitxml=run.xml",
        "--connectivity-json", "run.json", str(REMOTE_SUITE),
    ]  # fmt: skip
    serial = inner_pytest(*args)
    serial_junit, serial_json = _junit(pytester.path / "run.xml"), json.loads((pytester.path / "run.json").read_text())
    dns, (first, second) = fly["dns"], fly["rotating"]
    asked_before, accepted_before = len(dns.queries), (first.accepted, second.accepted)

    parallel = inner_pytest("--host", "rotating.fly.dev", *args, "-n", "2")

    serial.assert_outcomes(passed=11, failed=2, skipped=3, xfailed=1)
    parallel.assert_outcomes(passed=11 + 4, failed=2, skipped=3, xfailed=1)
    junit = _junit(pytester.path / "run.xml")
    assert {name: case for name, case in junit.items() if "rotating" not in name} == serial_junit
    doc = json.loads((pytester.path / "run.json").read_text())
    reports = {r["host"]: r for r in doc["reports"]}
    assert _untimed([r for r in doc["reports"] if r["host"] != "rotating.fly.dev"]) == _untimed(serial_json["reports"])
    out = parallel.stdout.str()
    assert out.count("tcpreach matrix") == 1
    assert out.count("ERROR    fly-shared-ipv4") == 1
    # A failing target's explanation, written on a worker from the controller's report:
    parallel.stdout.fnmatch_lines([f"*refused on [[]::1[]]:{fly['v4_port']}: connection refused: nothing listens*"])
    # -v prints "PASSED test_greeting[...]" under xdist, "test_greeting[...] PASSED" without.
    parallel.stdout.fnmatch_lines([f"*PASSED*test_greeting?dedicated.fly.dev-ipv4-{DEDICATED}?*"])
    asked = sorted(q for q in dns.queries[asked_before:] if q[0] == "rotating.fly.dev")
    assert asked == [("rotating.fly.dev", "A"), ("rotating.fly.dev", "AAAA")]
    accepted = (first.accepted - accepted_before[0], second.accepted - accepted_before[1])
    (probed,) = [t["address"] for t in reports["rotating.fly.dev"]["targets"] if t["family"] == "ipv4"]
    assert accepted == ((1, 0) if probed == ROTATING[0] else (0, 1))


def test_without_host_remote_tests_skip_with_the_reason(inner_pytest):
    result = inner_pytest("-m", "remote", "-rs", str(REMOTE_SUITE))
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*give --tcpreach-host HOST*"])


def test_bad_plugin_options_are_one_clear_usage_error(inner_pytest):
    result = inner_pytest("--family", "5", str(REMOTE_SUITE))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*tcpreach: --tcpreach-family: takes 4, 6 or both, got '5' (from the command line)*"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("env", "*tcpreach: --tcpreach-port: port must be an integer in 1..65535, got 'abc' (from TCPREACH_PORT)*"),
        (
            "ini",
            "*tcpreach: --tcpreach-port: port must be an integer in 1..65535, got 'abc' (from ini key tcpreach_port)*",
        ),
        (
            "config",
            "*tcpreach: --tcpreach-port: port must be an integer in 1..65535, got 'abc' (from */tcpreach.toml:2)*",
        ),
    ],
)
def test_a_bad_value_names_where_it_came_from(pytester, inner_pytest, monkeypatch, where, message):
    if where == "env":
        monkeypatch.setenv("TCPREACH_PORT", "abc")
    elif where == "timeout":
        monkeypatch.setenv("TCPREACH_PROBE_TIMEOUT", "inf")
    elif where == "config":
        (pytester.path / "tcpreach.toml").write_text("retries = 0\nport = 'abc'\n")
        pytester.makeini("[pytest]\ntcpreach_config = tcpreach.toml\n")
    else:
        pytester.makeini("[pytest]\ntcpreach_port = abc\n")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = inner_pytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


NO_IPV6_ROUTE = """
import errno

import tcpreach.net.probe
from tcpreach.model import ProbeResult

_real_route, _real_connect = tcpreach.net.probe.route_errno, tcpreach.net.probe._connect


def _without_ipv6(target):
    return errno.ENETUNREACH if target.family == "ipv6" else _real_route(target)


async def _connect(sock, target, timeout, since):
    # A kernel without an IPv6 route fails the connect at once, and its route lookup says why.
    if target.family == "ipv6":
        return ProbeResult(target, connected=False, connect_errno=errno.ENETUNREACH, total_s=since())
    return await _real_connect(sock, target, timeout, since)


def pytest_configure(config):
    tcpreach.net.probe.route_errno = _without_ipv6
    tcpreach.net.probe._connect = _connect


def pytest_unconfigure(config):  # the run is in this process: leave the module as it was
    tcpreach.net.probe.route_errno, tcpreach.net.probe._connect = _real_route, _real_connect
"""


def test_a_client_without_ipv6_skips_the_ipv6_targets_with_the_reason(pytester, inner_pytest, fly):
    pytester.makepyfile(no_ipv6_route=NO_IPV6_ROUTE)
    pytester.syspathinsert()
    result = run_remote(inner_pytest, "dedicated.fly.dev", fly["resolver"], fly["port"], "-p", "no_ipv6_route", "-rs")
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["*this client has no IPv6 route to ::1: test it from a host with IPv6*"])
    assert "WARNING  client-without-ipv6" in result.stdout.str()


@pytest.mark.parametrize("distributed", [False, True], ids=["serial", "xdist"])
def test_a_run_that_uses_no_tcpreach_test_sends_nothing_and_prints_nothing(pytester, inner_pytest, fly, monkeypatch,
                                                                           distributed):  # fmt: skip
    # a CI job's environment names the host; this run's tests never use the plugin
    monkeypatch.setenv("TCPREACH_HOST", "hello-server.fly.dev")
    monkeypatch.setenv("TCPREACH_RESOLVER", fly["resolver"])
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 2\n")
    asked = len(fly["dns"].queries)
    result = inner_pytest("test_plain.py", *(["-n", "2"] if distributed else []))
    result.assert_outcomes(passed=1)
    assert (len(fly["dns"].queries) - asked, "tcpreach matrix" in result.stdout.str()) == (0, False)


def test_under_xdist_tests_deselected_by_k_probe_nothing_and_print_nothing(pytester, inner_pytest, fly):
    # collecting them needs the addresses (their ids are the addresses): resolved once for
    # both workers; probing is for tests that run
    asked, accepted = len(fly["dns"].queries), fly["edge"].accepted
    result = inner_pytest("-m", "remote", "--host", "hello-server.fly.dev", "--resolver", fly["resolver"],
                          "--port", str(fly["port"]), "-k", "no_such_test", "-n", "2", str(REMOTE_SUITE))  # fmt: skip
    queries = sorted(q for q in fly["dns"].queries[asked:] if q[0] == "hello-server.fly.dev")
    assert (result.ret, queries, fly["edge"].accepted - accepted) == (
        5, [("hello-server.fly.dev", "A"), ("hello-server.fly.dev", "AAAA")], 0)  # fmt: skip
    assert "tcpreach matrix" not in result.stdout.str()


def test_a_rerun_of_a_failing_target_says_it_judged_the_same_probe(pytester, inner_pytest, fly):
    # pytest-rerunfailures counts a test's runs in item.execution_count; a rerun is the second
    pytester.makepyfile(rerun_sim=(
        "import pytest\n\n@pytest.hookimpl(tryfirst=True)\ndef pytest_runtest_setup(item):\n"
        "    item.execution_count = 2\n"
    ))  # fmt: skip
    pytester.syspathinsert()
    result = run_remote(inner_pytest, "hello-server.fly.dev", fly["resolver"], fly["port"], "-p", "rerun_sim")
    result.stdout.fnmatch_lines(["*closed-without-data on 127.0.0.2:*This rerun judged the same probe as the first run "
                                 "(each target is probed once per session): to try a target again, use "
                                 "--tcpreach-retries N.*"])  # fmt: skip


def test_a_first_run_says_nothing_of_reruns(inner_pytest, fly):
    result = run_remote(inner_pytest, "hello-server.fly.dev", fly["resolver"], fly["port"])
    assert "This rerun" not in result.stdout.str()
