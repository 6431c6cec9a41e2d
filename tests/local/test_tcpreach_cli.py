"""``python -m tcpreach probe`` as a subprocess, against the stub DNS and stand-ins."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server import HelloServer
from tcpreach import __version__
from tcpreach.cli import main
from tcpreach.model import Family, Vantage
from tcpreach.report.document import load_report, load_reports
from tcpreach.testing.standins import Behaviour, StandIn
from tcpreach.testing.stub_dns import StubDNS
from tests.builders import parse_plugin_output

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]


def test_as_a_subprocess(fly_like):
    port, resolver = fly_like
    done = subprocess.run(
        [sys.executable, "-m", "tcpreach", "probe", "dedicated.fly.dev", "--port", str(port), "--resolver", resolver],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == "INFO     all-ok: all 2 targets answered as expected"


@pytest.fixture(scope="module")
def fly_like():
    """hello-server.fly.dev: A on a loopback shared-IPv4 edge, AAAA on the real server."""
    with (
        HelloServer(host="::1", port=0) as srv,
        StandIn(Behaviour.CLOSE, host="127.0.0.2", port=srv.port),
        StandIn(Behaviour.HELLO, host="127.0.0.3", port=srv.port),
        StubDNS(
            {
                "hello-server.fly.dev": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
                "dedicated.fly.dev": {"A": ["127.0.0.3"], "AAAA": ["::1"]},
                "half.fly.dev": {"A": ["127.0.0.3"], "AAAA": ["::1"]},
                "xn--bcher-kva.example": {"A": ["127.0.0.3"], "AAAA": ["::1"]},
            },
            silent={"silent.fly.dev", "half.fly.dev/A"},
        ) as dns,
    ):
        yield srv.port, dns.spec


def test_table_names_each_target_and_the_fly_finding(fly_like, cli, finding_codes):
    port, resolver = fly_like
    done = cli("probe", "hello-server.fly.dev", "--port", str(port), "--resolver", resolver, "--retries", "0")
    assert done.returncode == 1, done.stderr
    rows = {line.split()[1]: line.split() for line in done.stdout.splitlines() if line.startswith(("ipv4", "ipv6"))}
    assert rows["127.0.0.2"][4] == "closed-without-data"
    assert rows["::1"][4] == "ok"
    assert finding_codes(done.stdout) == ["fly-shared-ipv4"]
    assert "fix: run 'fly ips allocate-v4' (dedicated IPv4, $2/month)" in done.stdout


def test_json_document(fly_like, cli):
    port, resolver = fly_like
    done = cli("probe", "hello-server.fly.dev", "--port", str(port), "--resolver", resolver, "--json", "--retries", "0")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert (doc["host"], doc["port"], doc["expect"]) == ("hello-server.fly.dev", port, "hello\\n")
    assert [(t["family"], t["address"], t["source"], t["verdict"]) for t in doc["targets"]] == [
        ("ipv4", "127.0.0.2", "dns", "closed-without-data"),
        ("ipv6", "::1", "dns", "ok"),
    ]
    assert set(doc["targets"][1]["timings_ms"]) == {"connect", "tls_handshake", "first_byte", "total", "to_verdict"}
    assert doc["targets"][1]["received"] == "hello\\n"
    assert [f["code"] for f in doc["findings"]] == ["fly-shared-ipv4"]


def test_all_ok_exits_0(fly_like, cli, finding_codes):
    port, resolver = fly_like
    done = cli("probe", "dedicated.fly.dev", "--port", str(port), "--resolver", resolver)
    assert done.returncode == 0, done.stdout
    assert finding_codes(done.stdout) == ["all-ok"]


def test_family_selection(fly_like, cli):
    port, resolver = fly_like
    done = cli("probe", "hello-server.fly.dev", "--port", str(port), "--resolver", resolver, "-6", "--json")
    assert done.returncode == 0
    assert [t["address"] for t in json.loads(done.stdout)["targets"]] == ["::1"]


def test_literal_with_port_needs_no_dns(fly_like, cli):
    port, _ = fly_like
    done = cli("probe", f"[::1]:{port}", "--json")
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert doc["targets"][0]["source"] == "literal"
    assert doc["dns"] == []
    assert doc["getaddrinfo"] is None


def test_expect_escapes(fly_like, cli, finding_codes):
    port, _ = fly_like
    assert cli("probe", "::1", "--port", str(port), "--expect", "hello\\n").returncode == 0
    wrong = cli("probe", "::1", "--port", str(port), "--expect", "bye\\n", "--retries", "0")
    assert wrong.returncode == 1
    assert finding_codes(wrong.stdout) == ["failing-targets"]
    assert "wrong-greeting" in wrong.stdout


def test_resolver_that_does_not_answer_fails_clearly_within_the_lifetime(fly_like, cli, finding_codes):
    port, resolver = fly_like
    done = cli("probe", "silent.fly.dev", "--port", str(port), "--resolver", resolver, "--dns-lifetime", "0.3")
    assert (done.returncode, done.stderr) == (1, "")
    assert finding_codes(done.stdout) == ["dns-timeout"]


def test_an_internationalised_name_is_asked_in_its_idna_form_and_shown_in_both(fly_like, cli):
    port, resolver = fly_like
    done = cli("probe", "bücher.example", "--port", str(port), "--resolver", resolver, "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, doc["host"], doc["host_unicode"]) == (0, "xn--bcher-kva.example", "bücher.example")
    table = cli("probe", "bücher.example", "--port", str(port), "--resolver", resolver)
    assert table.stdout.splitlines()[0].startswith(f"xn--bcher-kva.example (bücher.example) port {port}")


def test_retries_0_on_the_command_line_sends_each_dns_query_once(cli):
    # the stub answers the second copy of a query only; with --retries 0 there is none
    with StubDNS({"lossy.example": {"A": ["127.0.0.30"]}}, lose_first=1) as dns:
        once = cli("probe", "lossy.example", "-4", "--resolver", dns.spec, "--retries", "0", "--dns-lifetime", "1.2",
                   "--json")  # fmt: skip
        asked = list(dns.queries)
    assert [(a["type"], a["status"], a["detail"]) for a in json.loads(once.stdout)["dns"]] == [
        ("A", "timeout", "no answer within 1.2 s, 1 query sent")
    ]
    assert asked == [("lossy.example", "A")]


def test_a_timed_out_a_query_beside_an_answered_aaaa_fails_the_run(fly_like, cli):
    port, resolver = fly_like
    done = cli("probe", "half.fly.dev", "--port", str(port), "--resolver", resolver, "--dns-lifetime", "0.6", "--json")
    doc = json.loads(done.stdout)
    assert done.returncode == 1
    assert [(t["address"], t["verdict"]) for t in doc["targets"]] == [("::1", "ok")]
    assert [(f["code"], f["severity"], f["message"]) for f in doc["findings"]] == [
        (
            "dns-timeout",
            "error",
            f"A for half.fly.dev timed out at {resolver} (no answer within 0.6 s, 2 queries sent) while AAAA "
            "answered: the A addresses were never tested",
        )
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe", "bad_name!"], "is not a valid host name"),
        (["probe", "::1", "--port", "http"], "port must be an integer"),
        (["probe", "::1", "--resolver", "dns.google"], "--resolver takes an IP address"),
        (["probe", "[::1]:80", "--port", "81"], "two ports given"),
        (["probe", "::1", "--timeout", "0"], "must be a number of seconds above 0 and at most 3600, got '0'"),
        (["probe", "::1", "--retries=-1"], "takes a whole number, 0 or more, got '-1'"),
        (["probe", "::1", "--retries", "4_2"], "takes a whole number, 0 or more, got '4_2'"),
        (["probe", "::1", "--expect", "bad\\"], "bad escape"),
        (["probe", "::1", "-4", "-6"], "not allowed with argument"),
        (["probe", "::1", "--timeout", "inf"], "must be a number of seconds above 0 and at most 3600, got 'inf'"),
        (["probe", "::1", "--timeout", "1e308"], "must be a number of seconds above 0 and at most 3600, got '1e308'"),
        (["probe", "::1", "--dns-lifetime", "nan"], "must be a number of seconds above 0 and at most 3600, got 'nan'"),
        (["probe", "::1", "--port", "4_2"], "port must be an integer in 1..65535, got '4_2'"),
        (["probe", "::1", "--port", "\uff11\uff12\uff13"], "port must be an integer in 1..65535"),
        (["probe", "127.0.0.1%lo"], "'127.0.0.1%lo': a scope (%interface) belongs to IPv6 link-local addresses"),
        (["probe", "127.1"], "'127.1' is an IPv4 shorthand, not a name: write 127.0.0.1 if that is the address"),
        (["probe", "127.1:80"], "'127.1' is an IPv4 shorthand, not a name: write 127.0.0.1"),
        (["probe", "::1", "--resolver", "127.1"], "'127.1' is an IPv4 shorthand"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_usage_is_one_line_and_status_2(args, message, cli):
    done = cli(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == ""


def test_a_config_file_gives_the_settings_and_flags_win_over_it(fly_like, cli, tmp_path):
    port, resolver = fly_like
    config = tmp_path / "tcpreach.toml"
    config.write_text(f"port = {port}\nresolver = '{resolver}'\nretries = 0\nfamily = '6'\nexpect = 'nope'\n")
    done = cli("probe", "hello-server.fly.dev", "--config", str(config), "--json", "--expect", "hello\\n")
    assert (done.returncode, done.stderr) == (0, "")
    doc = json.loads(done.stdout)
    assert [(t["address"], t["port"], t["verdict"], t["attempts"]) for t in doc["targets"]] == [("::1", port, "ok", 1)]
    assert (doc["resolver"], doc["expect"]) == (resolver, "hello\\n")


def test_a_bad_config_file_is_one_usage_error(cli, tmp_path):
    config = tmp_path / "tcpreach.toml"
    config.write_text("port = 1848\nretry = 2\n")
    done = cli("probe", "127.0.0.1", "--config", str(config))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"python -m tcpreach probe: error: {config}:2: 'retry' is not a setting: did you mean 'retries'? (see --help)\n"
    )


def test_accept_shared_ipv4_makes_the_known_failure_exit_0_and_nothing_else(fly_like, cli):
    port, resolver = fly_like
    common = ("--port", str(port), "--resolver", resolver, "--retries", "0", "--accept-shared-ipv4")
    shared = cli("probe", "hello-server.fly.dev", *common)
    assert (shared.returncode, shared.stderr) == (0, "")
    assert "ERROR    fly-shared-ipv4:" in shared.stdout
    with StandIn(Behaviour.CLOSE, host="127.0.0.4") as edge:
        down = cli("probe", f"127.0.0.4:{edge.port}", "--retries", "0", "--accept-shared-ipv4")
    assert down.returncode == 1


def test_the_json_report_says_when_where_and_how_long_dns_may_keep_it(fly_like, cli):
    port, resolver = fly_like
    before = datetime.now(UTC)
    done = cli("probe", "dedicated.fly.dev", "--port", str(port), "--resolver", resolver, "--json", "--vantage", "ci-1")
    doc = json.loads(done.stdout)
    assert (doc["schema"], doc["vantage"]["label"], doc["vantage"]["version"]) == (1, "ci-1", __version__)
    assert set(doc["vantage"]["routes"]) <= {"ipv4", "ipv6"}
    assert before <= datetime.fromisoformat(doc["started_at"]) <= datetime.now(UTC)
    assert [(a["type"], a["ttl"]) for a in doc["dns"]] == [("A", 30), ("AAAA", 30)]
    # towards the targets (loopback here): both families, and the source address the kernel picks in each
    assert load_report(doc).vantage == Vantage(
        "ci-1", __version__, (Family.IPV4, Family.IPV6), ((Family.IPV4, "127.0.0.1"), (Family.IPV6, "::1"))
    )


def test_several_hosts_in_one_run_each_with_its_table_and_summary(fly_like, cli, tmp_path):
    port, resolver = fly_like
    hosts = tmp_path / "hosts"
    hosts.write_text("# the fleet\ndedicated.fly.dev\nDEDICATED.fly.dev.\n")
    done = cli("probe", "hello-server.fly.dev", "--hosts-file", str(hosts), "--port", str(port),
               "--resolver", resolver, "--retries", "0")  # fmt: skip
    assert (done.returncode, done.stderr) == (1, "")
    lines = done.stdout.splitlines()
    # each host's summary as it finishes (in the order they finish), then the failing hosts, then the counts
    assert sorted(line for line in lines if line.startswith(("ok: ", "FAILING: "))) == [
        f"FAILING: hello-server.fly.dev port {port}: 1 closed-without-data, 1 ok (fly-shared-ipv4)",
        f"ok: dedicated.fly.dev port {port}: 2 ok",
    ]
    assert (lines[-3], lines[-1]) == ("failing (1 of 2 hosts):", "2 hosts, 4 targets: 1 hosts ok, 1 failing")
    assert lines[-2].startswith(f"  hello-server.fly.dev:{port}  fly-shared-ipv4: run 'fly ips allocate-v4'")


def test_several_hosts_are_one_json_document_that_reads_back(fly_like, cli):
    port, resolver = fly_like
    done = cli("probe", "dedicated.fly.dev", f"127.0.0.3:{port}", "--port", str(port), "--resolver", resolver, "--json")
    doc = json.loads(done.stdout)
    # streamed in the order the hosts finished
    assert (done.returncode, sorted(r.host for r in load_reports(doc))) == (0, ["127.0.0.3", "dedicated.fly.dev"])


@pytest.mark.parametrize(
    ("args", "text", "message"),
    [
        ([], None, "give a HOST, or --hosts-file FILE"),
        (["--hosts-file", "{file}"], "127.0.0.2\n127.0.0.2:0\n",
         "{file}:2: port must be an integer in 1..65535, got '0'"),
        (["--hosts-file", "{file}"], "\n# none\n", "{file} names no host: one host[:port] a line, or host = [...] in "
                                                    "a .toml file"),
    ],
)  # fmt: skip
def test_a_bad_fleet_is_one_usage_error_and_nothing_is_probed(cli, tmp_path, args, text, message):
    file = tmp_path / "hosts"
    if text is not None:
        file.write_text(text)
    with StandIn(Behaviour.HELLO, host="127.0.0.2", port=1848) as edge:
        done = cli("probe", *(a.format(file=file) for a in args))
        accepted = edge.accepted
    assert (done.returncode, done.stdout, accepted) == (2, "", 0)
    assert done.stderr == f"python -m tcpreach probe: error: {message.format(file=file)} (see --help)\n"


def test_a_literal_address_loads_neither_dnspython_nor_the_lint():
    with StandIn(Behaviour.HELLO) as server:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "tcpreach", "probe", f"127.0.0.1:{server.port}", "--retries",
             "0"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert done.returncode == 0, done.stdout
    assert "tcpreach.check" in imported  # the probe ran (a module loaded by importlib is not listed itself)
    assert [
        m for m in imported if m == "dns" or m.startswith(("dns.", "tcpreach.fly.files", "tcpreach.fly.lint"))
    ] == []


def test_listeners_read_the_port_from_fly_toml_and_say_so(cli, tmp_path):
    (tmp_path / "fly.toml").write_text('app = "x"\n[[services]]\ninternal_port = 9000\nprotocol = "tcp"\n')
    proc = tmp_path / "tcp.txt"
    line = "   {n}: 00000000:{port} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 {n} 1\n"
    proc.write_text(line.format(n=0, port="1F90") + line.format(n=1, port="0738"))
    done = cli("listeners", "--proc", str(proc), "--fly-toml", str(tmp_path / "fly.toml"))
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines() == [
        "TCP listeners (the /proc text given; owners and IPV6_V6ONLY are not in it)",
        "FAMILY  ADDRESS  PORT  ACCEPTS    PROCESS",
        "ipv4    0.0.0.0  8080  ipv4-only  -",
        "ipv4    0.0.0.0  1848  ipv4-only  -",
        "ERROR    no-listener: nothing listens on port 9000: 1848, 8080 listening, the app's port is 9000 "
        f"(internal_port in {tmp_path / 'fly.toml'})",
        "         fix: start the app, or make it listen on 9000; or set internal_port to the port it listens on",
    ]


def test_listeners_refuse_text_that_is_not_procs(cli, tmp_path):
    proc = tmp_path / "tcp.txt"
    proc.write_text("Active Internet connections (only servers)\n")
    done = cli("listeners", "--proc", str(proc), "--port", "1848")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "python -m tcpreach listeners: error: line 1 is not a line of /proc/net/tcp or tcp6: "
        "'Active Internet connections (only servers)' (see --help)\n"
    )


@pytest.mark.parametrize("command", [[], ["probe"], ["lint"], ["listeners"]])
def test_help_of_every_command_is_its_usage_and_exit_0(cli, command):
    done = cli(*command, "--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"usage: python -m tcpreach {' '.join(command)}".rstrip())


def test_an_ipv6_address_ending_in_a_port_is_probed_as_written_after_a_note(cli):
    # --family 4 leaves the IPv6 literal no target: nothing is sent anywhere
    done = cli("probe", "::1:1848", "--family", "4", "--retries", "0")
    assert done.stderr.splitlines()[0] == (
        "note: '::1:1848' is the IPv6 address ::1:1848; for port 1848 on ::1, write [::1]:1848 (probing it as written)"
    )


@pytest.mark.parametrize(
    ("scenario", "verdicts", "code"),
    [
        ("shared-ipv4", ["closed-without-data", "ok"], "fly-shared-ipv4"),
        ("dedicated", ["ok", "ok"], "all-ok"),
        ("app-down", ["closed-without-data", "closed-without-data"], "edge-no-app"),
        ("ipv6-only-listener", ["refused", "ok"], "ipv6-only-listener"),
    ],
)
def test_a_rehearsal_shows_the_matrix_and_the_diagnosis_of_its_deployment(cli, scenario, verdicts, code):
    done = cli("rehearse", scenario)
    lines = done.stdout.splitlines()
    rows = [line.split()[4] for line in lines if line.startswith(("ipv4 ", "ipv6 "))]
    assert (done.returncode, rows, lines[-1]) == (0, verdicts, f"the diagnosis is the one this deployment gets: {code}")


def test_a_rehearsal_runs_without_the_repositorys_server_as_an_installed_wheel_would():
    code = "import sys; sys.modules['server'] = None; from tcpreach.cli import main; sys.exit(main(['rehearse']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (
        0, "the diagnosis is the one this deployment gets: fly-shared-ipv4")  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        ("--timeout", "argument --timeout/--probe-timeout: the value must be a number of seconds above 0 and at most "
                      "3600, got '-1'"),
        ("--retries", "argument --retries: takes a whole number, 0 or more, got '-1'"),
    ],
)  # fmt: skip
def test_a_negative_value_is_judged_as_a_value_not_taken_for_a_flag(cli, flag, error):
    # -4 and -6 are flags: argparse alone would say "expected one argument"
    done = cli("probe", "127.0.0.1", flag, "-1")
    assert (done.returncode, done.stderr) == (2, f"python -m tcpreach probe: error: {error} (see --help)\n")


def test_the_help_is_plain_text_with_examples_and_exit_statuses(cli):
    text = cli("--help").stdout
    assert "``" not in text
    assert "examples:\n    python -m tcpreach rehearse" in text
    assert "Exit status: rehearse, 0 when the diagnosis is the scenario's" in text
    assert "--send 'PING\\r\\n'" in text  # escapes as a user types them


def test_the_installed_script_names_itself_tcpreach():
    script = Path(sys.executable).parent / "tcpreach"
    done = subprocess.run([str(script), "probe", "127.0.0.1", "--timeout", "x"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.stderr.startswith("tcpreach probe: error: argument --timeout/--probe-timeout: ")


def test_findings_wrap_between_words_at_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    lines = cli("rehearse").stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ERROR    fly-shared-ipv4:"))
    finding = lines[start : lines.index("", start)]
    assert max(len(line) for line in finding) <= 60
    assert all(line.startswith(" " * 9) for line in finding[1:])
    assert " ".join(line.strip() for line in finding).startswith(
        "ERROR    fly-shared-ipv4: IPv6 answers while IPv4 connects and is closed without data."
    )


def test_findings_are_not_wrapped_into_a_pipe(cli, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    lines = cli("rehearse").stdout.splitlines()
    assert any(len(line) > 120 and line.startswith("ERROR    fly-shared-ipv4:") for line in lines)


def test_verbose_shows_what_happened_on_the_wire_at_every_target(cli):
    with StandIn(Behaviour.CLOSE, host="127.0.0.4") as edge, HelloServer(host="::1", port=edge.port):
        done = cli("probe", f"127.0.0.4:{edge.port}", f"[::1]:{edge.port}", "--retries", "0", "-v")
    out = done.stdout.splitlines()
    lines = [out[i + 1] for i, line in enumerate(out) if line == "transcript:"]
    untimed = sorted([step.split(" at ")[0] for step in line.split("; ")] for line in lines)  # as the hosts finish
    assert untimed == [
        [f"  127.0.0.4:{edge.port} closed-without-data: attempt 1 of 1", "connected from 127.0.0.1",
         "received nothing", "then the server closed (FIN)"],
        [f"  [::1]:{edge.port} ok: attempt 1 of 1", "connected from ::1", "received 'hello\\n'",
         "then the server closed (FIN)"],
    ]  # fmt: skip


def test_the_monitoring_plugin_mode_exits_with_the_state(cli):
    with HelloServer(host="::1", port=0) as app:
        ok = cli("probe", f"[::1]:{app.port}", "--plugin", "--retries", "0")
        slow = cli("probe", f"[::1]:{app.port}", "--plugin", "--retries", "0", "-w", "0.000001")
    assert (ok.returncode, ok.stdout.split(" | ")[0]) == (0, "TCPREACH OK - ::1 OK: 1 of 1 addresses ok")
    assert (slow.returncode, slow.stdout.split(" (")[0]) == (1, "TCPREACH WARNING - ::1 WARNING: 1 of 1 addresses ok")


@pytest.mark.parametrize("limits", [(), ("-w", "0.000001", "-c", "5"), ("--connect-critical", "0.0000001",
                                                                     "--first-byte-warning", "1")])  # fmt: skip
def test_format_nagios_follows_the_plugin_guidelines_end_to_end(cli, limits):
    with HelloServer(host="::1", port=0) as app, StandIn(Behaviour.CLOSE, host="127.0.0.4") as edge:
        done = cli("probe", f"[::1]:{app.port}", f"127.0.0.4:{edge.port}", "--format", "nagios", "--retries", "0",
                   *limits)  # fmt: skip
    code, status, data = parse_plugin_output(done.stdout)
    assert (done.returncode, code, done.stderr) == (2, 2, "")
    assert status.startswith("TCPREACH CRITICAL - ::1 ")
    assert [d["label"] for d in data if "connect" not in d["label"] and "first" not in d["label"]] == ["'::1'"]


@pytest.mark.parametrize(
    ("args", "error"),
    [(["-w", "1"], "--warning and --critical go with --plugin"),
     (["--plugin", "--json"], "--plugin and --json are two outputs: give one"),
     (["--format", "json", "--plugin"], "--format json and --plugin are two outputs: give one"),
     (["--format", "text", "--json"], "--format text and --json are two outputs: give one")],
)  # fmt: skip
def test_plugin_options_that_make_no_sense_together(cli, args, error):
    done = cli("probe", "127.0.0.1", *args)
    assert (done.returncode, done.stderr) == (2, f"python -m tcpreach probe: error: {error} (see --help)\n")


def test_a_refused_address_takes_the_state_given_with_refused_state(cli):
    with StandIn(Behaviour.CLOSE, host="127.0.0.4") as free:
        port = free.port  # nothing listens there afterwards
    default = cli("probe", f"127.0.0.4:{port}", "--plugin", "--retries", "0")
    warned = cli("probe", f"127.0.0.4:{port}", "--plugin", "--retries", "0", "-r", "warning")
    assert (default.returncode, warned.returncode) == (2, 1)
    assert warned.stdout.startswith("TCPREACH WARNING - 127.0.0.4 WARNING: 0 of 1 addresses ok (127.0.0.4 refused")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("no_color", "painted"), [("", True), ("1", False)])
def test_a_terminal_gets_colour_unless_no_color(monkeypatch, no_color, painted):
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("TERM", "xterm")
    out, err = _Terminal(), io.StringIO()
    with HelloServer(host="::1", port=0) as app:
        code = main(["probe", f"[::1]:{app.port}", "--retries", "0"], out, err)
    row = next(line for line in out.getvalue().splitlines() if line.startswith("ipv6 "))
    assert (code, "\033[32mok\033[0m" in row, "\033[" in out.getvalue()) == (0, painted, painted)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "{file}: cannot read {file}: No such file or directory; give the path of a fly.toml"),
        ("[[services]]\ninternal_port = 99999\n",
         "{file}: internal_port = 99999 is no port: give one of 1..65535, or --port"),
        ("[[services]]\ninternal_port = 'abc'\n",
         "{file}: internal_port = 'abc' is no port: give one of 1..65535, or --port"),
        ("[services\n",
         "{file}: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 10)"),
    ],
    ids=["missing", "out-of-range", "not-a-number", "broken"],
)  # fmt: skip
def test_listeners_fly_toml_given_is_read_or_refused_in_one_line(cli, tmp_path, text, message):
    path = tmp_path / "fly.toml"
    if text is not None:
        path.write_text(text)
    proc = tmp_path / "proc.txt"
    proc.write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    )
    done = cli("listeners", "--fly-toml", str(path), "--proc", str(proc))
    expected = message.format(file=path).removeprefix(f"{path}: ") if text is None else message.format(file=path)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"python -m tcpreach listeners: error: {expected} (see --help)\n")  # fmt: skip


def test_one_target_however_it_is_spelled_is_probed_once(cli, tmp_path):
    with HelloServer(host="127.0.0.1", port=0) as app:
        hosts = tmp_path / "hosts"
        hosts.write_text(f"127.0.0.1\n127.0.0.1:{app.port}\n")  # the same port as --port: one target
        done = cli("probe", "127.0.0.1", "--hosts-file", str(hosts), "--port", str(app.port), "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, doc["host"], [t["address"] for t in doc["targets"]]) == (0, "127.0.0.1", ["127.0.0.1"])


def test_hosts_with_a_list_setting_are_told_apart_and_probed(cli):
    # a --source list inside the options: still one target per host, each probed
    with HelloServer(host="127.0.0.1", port=0) as app:
        done = cli("probe", "127.0.0.1", "127.0.0.1", "--port", str(app.port), "--source", "127.0.0.1", "--json")
    assert (done.returncode, [t["address"] for t in json.loads(done.stdout)["targets"]]) == (0, ["127.0.0.1"])


def test_verbose_says_when_the_machine_was_busy_and_no_verdict_changes(cli, monkeypatch):
    import tcpreach.cli.probe

    monkeypatch.setattr(tcpreach.cli.probe, "LAG_LIMIT_S", -1.0)  # any lateness at all counts as busy here
    with HelloServer(host="127.0.0.1", port=0) as app:
        done = cli("probe", f"127.0.0.1:{app.port}", "--retries", "0", "-v")
    assert done.returncode == 0
    assert re.fullmatch(r"note: this machine was busy: the event loop ran up to \d+ ms late; each verdict was judged "
                        r"by its socket's own state, and the times include the lateness\n", done.stderr)  # fmt: skip
