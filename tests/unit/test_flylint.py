"""The offline fly.toml lint: the repository's own files, and one broken file per mistake."""

from __future__ import annotations

import json
import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpreach.findings import Severity
from tcpreach.fly.dockerfile import parse_dockerfile
from tcpreach.fly.files import LintInputError, internal_port_of, lint_path
from tcpreach.fly.lint import (
    _BUILD,
    _CONCURRENCY,
    _HTTP_CHECK,
    _PORT,
    _SERVICE,
    _TCP_CHECK,
    _TLS_OPTIONS,
    _TOP,
    _TOP_CHECK,
    _VM,
    lint_config,
    needs_dedicated_ipv4,
)

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
app = "hello-server"
kill_signal = "SIGINT"
[[services]]
  protocol = "tcp"
  internal_port = 1848
  [[services.ports]]
    port = 1848
    handlers = []
  [[services.tcp_checks]]
    interval = "15s"
    timeout = "2s"
"""


def lint(text: str, dockerfile: str | None = None):
    config = tomllib.loads(textwrap.dedent(text))
    return lint_config(config, parse_dockerfile(dockerfile) if dockerfile is not None else None)


HELLO_DOCKERFILE = 'FROM python\nCMD ["python3", "-m", "server"]\n'
"""The hello server, on its default port 1848."""


def loud(findings):
    return [(f.code, f.severity, f.key) for f in findings if f.severity is not Severity.INFO]


def test_the_repositorys_fly_toml_and_dockerfile_lint_clean():
    findings, dockerfile = lint_path(ROOT / "fly.toml")
    assert dockerfile == ROOT / "docker" / "Dockerfile"
    assert loud(findings) == []
    assert [f.code for f in findings] == ["needs-dedicated-ipv4"]  # true of any raw TCP port


def test_the_smallest_good_file_is_clean():
    assert loud(lint(GOOD)) == []


SEED_HTTP_SERVICE = """
app = "hello-server"
[http_service]
  internal_port = 1848
  force_https = true
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SEED_HTTP_SERVICE, ("http-service-for-raw-tcp", Severity.ERROR, "http_service")),
        (GOOD.replace("handlers = []", 'handlers = ["http"]'),
         ("handlers-on-raw-tcp", Severity.ERROR, "services[0].ports[0].handlers")),
        (GOOD.replace("handlers = []", 'handlers = ["tls", "http"]'),
         ("handlers-on-raw-tcp", Severity.ERROR, "services[0].ports[0].handlers")),
        (GOOD.replace("handlers = []", 'handlers = ["proxy_proto"]'),
         ("handlers-on-raw-tcp", Severity.WARNING, "services[0].ports[0].handlers")),
        (GOOD.replace("internal_port = 1848", "internal_port = 8080"),
         ("port-mismatch", Severity.ERROR, "services[0].internal_port")),
        (GOOD.partition("  [[services.ports]]")[0] + '  [[services.tcp_checks]]\n    interval = "15s"\n',
         ("no-ports", Severity.ERROR, "services[0].ports")),
        (GOOD.partition("  [[services.tcp_checks]]")[0],
         ("no-health-check", Severity.WARNING, "services[0].tcp_checks")),
        (GOOD + "    port = 1848\n", ("misplaced-key", Severity.WARNING, "services[0].tcp_checks[0].port")),
        (GOOD + '  [[services.script_checks]]\n    command = "/check"\n',
         ("ignored-key", Severity.WARNING, "services[0].script_checks")),
        (GOOD.replace("kill_signal", "kil_signal"), ("unknown-key", Severity.WARNING, "kil_signal")),
        (GOOD.replace('interval = "15s"', 'interval = "15 seconds"'),
         ("bad-duration", Severity.ERROR, "services[0].tcp_checks[0].interval")),
        (GOOD.replace('kill_signal = "SIGINT"', 'kill_signal = "SIGUSR1"'),
         ("kill-signal-unhandled", Severity.WARNING, "kill_signal")),
        ('app = "x"\nkill_timeout = 600\n' + GOOD.split("\n", 2)[2],
         ("bad-duration", Severity.ERROR, "kill_timeout")),
        (GOOD.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = "sometimes"'),
         ("bad-value", Severity.ERROR, "services[0].auto_stop_machines")),
        ('app = "hello-server"\n', ("no-services", Severity.ERROR, "services")),
        (GOOD + '[experimental]\n  allowed_public_ports = [1848]\n',
         ("ignored-key", Severity.WARNING, "experimental.allowed_public_ports")),
    ],
    ids=[
        "seed-http-service", "http-handler", "tls-and-http-handlers", "proxy-proto", "internal-port", "no-ports",
        "no-health-check", "port-in-tcp-checks", "script-checks", "unknown-key", "bad-duration",
        "kill-signal", "kill-timeout", "auto-stop", "no-services", "allowed-public-ports",
    ],
)  # fmt: skip
def test_each_mistake_gives_its_finding(text, expected):
    assert loud(lint(text, HELLO_DOCKERFILE)) == [expected]


def test_the_tls_handler_is_the_other_way_through_the_shared_ipv4():
    findings = lint(GOOD.replace("handlers = []", 'handlers = ["tls"]'))
    assert [(f.code, f.severity, f.key) for f in findings] == [
        ("tls-handler", Severity.INFO, "services[0].ports[0].handlers"),
        ("needs-dedicated-ipv4", Severity.INFO, "services[0].ports[0]"),
    ]
    assert findings[0].message.startswith("Fly's proxy terminates TLS on this port and forwards plain TCP to the app")
    assert findings[0].remedy.endswith("python -m tcpreach probe <app>.fly.dev --port PORT --tls")
    assert findings[1].message.endswith(
        "(with the 'tls' handler here, TLS clients that send SNI are the exception: the shared IPv4 routes them)"
    )


def test_tls_options_are_checked():
    options = 'handlers = ["tls"]\n    tls_options = { versions = ["TLSv1.1"], alpn = "h2", colour = 1 }'
    bad = lint(GOOD.replace("handlers = []", options))
    assert loud(bad) == [
        ("bad-type", Severity.ERROR, "services[0].ports[0].tls_options.alpn"),
        ("bad-value", Severity.ERROR, "services[0].ports[0].tls_options.versions"),
        ("unknown-key", Severity.WARNING, "services[0].ports[0].tls_options.colour"),
    ]
    unused = lint(GOOD.replace("handlers = []", 'handlers = []\n    tls_options = { versions = ["TLSv1.3"] }'))
    assert loud(unused) == [("tls-options-unused", Severity.WARNING, "services[0].ports[0].tls_options")]


def test_port_mismatch_against_the_dockerfile():
    dockerfile = 'FROM python:3.13-alpine\nEXPOSE 8080\nCMD ["python3", "-m", "server", "--port", "8080"]\n'
    findings = loud(lint(GOOD, dockerfile))
    assert findings == [("port-mismatch", Severity.ERROR, "services[0].internal_port"),
                        ("port-mismatch", Severity.WARNING, "Dockerfile:EXPOSE")]  # fmt: skip


def test_platform_pin_is_information():
    findings = lint(GOOD, "FROM --platform=linux/amd64 python:3.13-alpine\nCMD python3 -m server\n")
    assert ("platform-pin", Severity.INFO, "Dockerfile:1") in [(f.code, f.severity, f.key) for f in findings]


def test_needs_dedicated_ipv4_follows_flyctls_rule():
    def ports(*entries):
        return {"services": [{"ports": [dict(port=p, handlers=h) for p, h in entries]}]}

    assert needs_dedicated_ipv4(ports((80, ["http"]), (443, ["http", "tls"]))) == []
    assert needs_dedicated_ipv4(ports((1848, []))) == [("services[0].ports[0]", 1848)]
    assert needs_dedicated_ipv4(ports((80, []))) == [("services[0].ports[0]", 80)]
    assert needs_dedicated_ipv4(ports((443, ["tls"]))) == [("services[0].ports[0]", 443)]
    (finding,) = [f for f in lint(GOOD) if f.code == "needs-dedicated-ipv4"]
    assert "fly ips allocate-v4" in finding.remedy  # the same advice as the remote diagnosis


def test_dockerfile_parsing():
    parsed = parse_dockerfile(
        "# comment\nARG BASE=x\nFROM --platform=$BUILDPLATFORM ${BASE}\nENV PORT=9000\n"
        "EXPOSE 9000/tcp 9001\nCMD python3 -m server \\\n    --port 9002\n"
    )
    assert parsed.platform_pins == (3,)
    assert parsed.exposed == (9000, 9001)
    assert parsed.listen_port == 9002


def test_cli_lints_the_default_fly_toml_clean(cli, finding_codes):
    done = cli("lint", cwd=ROOT)
    assert done.returncode == 0, done.stdout
    assert finding_codes(done.stdout) == ["needs-dedicated-ipv4"]


def test_cli_exits_1_on_an_error_and_speaks_json(tmp_path, cli):
    (tmp_path / "fly.toml").write_text(SEED_HTTP_SERVICE)
    (tmp_path / "Dockerfile").write_text("FROM python:3.13-alpine\nEXPOSE 1848\n")
    done = cli("lint", str(tmp_path / "fly.toml"), "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert [f["code"] for f in doc["findings"]] == ["http-service-for-raw-tcp"]
    assert set(doc["findings"][0]) == {"code", "severity", "key", "message", "remedy"}


def test_malformed_toml_is_a_parse_error_with_line_and_column(tmp_path, cli, finding_codes):
    (tmp_path / "fly.toml").write_text('app = "x"\n[[services]\ninternal_port = 1848\n')
    done = cli("lint", str(tmp_path / "fly.toml"))
    assert done.returncode == 1
    assert finding_codes(done.stdout) == ["toml-syntax"]
    assert "line 2, column" in done.stdout
    assert "Traceback" not in done.stderr


def test_missing_file_is_a_usage_error(tmp_path, cli):
    done = cli("lint", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    assert "cannot read" in done.stderr
    assert done.stderr.count("\n") == 1


# -- bad input: every value's type first, one clear finding, never a traceback ----------
NO_SERVICES = ("no-services", "services", "no [[services]]: the app accepts no traffic at all")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('checks = "x"', [("bad-type", "checks", "checks must be a table, got a string"), NO_SERVICES]),
        ("vm = true", [("bad-type", "vm", "vm must be a list of tables, got a boolean"), NO_SERVICES]),
        ("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\ntcp_checks = 5\n[[services.ports]]\nport = 1848",
         [("bad-type", "services[0].tcp_checks", "services[0].tcp_checks must be a list of tables, got an integer")]),
        ("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\nports = 1848",
         [("bad-type", "services[0].ports", "services[0].ports must be a list of tables, got an integer")]),
        ("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\n[[services.ports]]\nport = 1848\nhandlers = [{a = 1}]",
         [("bad-type", "services[0].ports[0].handlers[0]",
           "services[0].ports[0].handlers[0] must be a string, got a table")]),
        ("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\n[[services.ports]]\nport = 1848\n"
         "handlers = [1, {a = 1}]",
         [("bad-type", "services[0].ports[0].handlers[0]",
           "services[0].ports[0].handlers[0] must be a string, got an integer"),
          ("bad-type", "services[0].ports[0].handlers[1]",
           "services[0].ports[0].handlers[1] must be a string, got a table")]),
        ("services = []", [("no-services", "services", "no [[services]]: the app accepts no traffic at all")]),
        ('services = "tcp"\napp = 5\nprimary_region = 1979-05-27',
         [("bad-type", "services", "services must be a list of tables, got a string"),
          ("bad-type", "app", "app must be a string, got an integer"),
          ("bad-type", "primary_region", "primary_region must be a string, got a date")]),
        ("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\n[[services.ports]]\nport = [1848]",
         [("bad-type", "services[0].ports[0].port", "services[0].ports[0].port must be an integer, got a list")]),
        ("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\n[[services.ports]]\nport = 1848\nhandlers = 'tls'",
         [("bad-type", "services[0].ports[0].handlers",
           "services[0].ports[0].handlers must be a list of strings, got a string")]),
        ("[[services]]\nprotocol = 'tcp'\ninternal_port = '1848'\n[[services.ports]]\nport = 1848",
         [("bad-type", "services[0].internal_port", "services[0].internal_port must be an integer, got a string")]),
        ("[[services]]\nprotocol = 'tcp'\n[[services.ports]]\nport = 1848",
         [("missing-key", "services[0].internal_port",
           "services[0] has no internal_port: Fly's proxy would not know where the server listens")]),
    ],
    ids=["checks-string", "vm-bool", "tcp-checks-int", "ports-int", "handler-table", "handlers-mixed",
         "services-empty", "services-string", "port-list", "handlers-string", "internal-port-string",
         "internal-port-missing"],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_one_finding_with_its_path(text, expected):
    findings = [f for f in lint(text) if f.severity is Severity.ERROR]
    assert [(f.code, f.key, f.message) for f in findings] == expected


def test_the_fixes_for_mistyped_values_say_what_to_write():
    handlers = lint("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\n[[services.ports]]\nport = 1848\n"
                    "handlers = 'tls'")  # fmt: skip
    assert [f.remedy for f in handlers if f.code == "bad-type"] == ['write handlers = ["tls"]']
    port = lint("[[services]]\nprotocol = 'tcp'\ninternal_port = '1848'\n[[services.ports]]\nport = 1848")
    assert [f.remedy for f in port if f.code == "bad-type"] == ["write internal_port = 1848 (a number, without quotes)"]
    top = lint("swap_size_mb = '512'\n[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\n[[services.ports]]\n"
               "port = 1848")  # a key at the top: its path has no dot  # fmt: skip
    assert [f.remedy for f in top if f.code == "bad-type"] == ["write swap_size_mb = 512 (a number, without quotes)"]
    processes = lint("[[services]]\nprotocol = 'tcp'\ninternal_port = 1848\nprocesses = 'app'\n[[services.ports]]\n"
                     "port = 1848")  # fmt: skip
    assert [f.remedy for f in processes if f.code == "bad-type"] == ['write processes = ["app"]']
    missing = "[[services]]\nprotocol = 'tcp'\n[[services.ports]]\nport = 1848"
    assert [f.remedy for f in lint(missing, HELLO_DOCKERFILE) if f.code == "missing-key"] == [
        "set internal_port = 1848"
    ]
    # the server's port unknown (no Dockerfile, no --port): the fix says what to put, not a guess
    assert [f.remedy for f in lint(missing) if f.code == "missing-key"] == [
        "set internal_port = <the port your server listens on>"
    ]


def test_the_servers_port_comes_from_the_flag_then_the_dockerfile_else_it_is_unknown():
    app = "[[services]]\nprotocol = 'tcp'\ninternal_port = 8080\n[[services.ports]]\nport = 8080"
    assert [f.code for f in lint(app) if f.severity is Severity.ERROR] == []  # nothing known: nothing claimed
    assert [f.code for f in lint(app, HELLO_DOCKERFILE) if f.severity is Severity.ERROR] == ["port-mismatch"]
    assert [f.code for f in lint_config(tomllib.loads(app), server_port=8080) if f.severity is Severity.ERROR] == []
    from_env = lint(app, "FROM python\nENV PORT=8080\n")
    assert [f.code for f in from_env if f.severity is Severity.ERROR] == []
    mismatch = lint_config(tomllib.loads(app), parse_dockerfile("ENV PORT 9000"), server_port=None)
    assert [(f.code, f.message) for f in mismatch if f.severity is Severity.ERROR] == [
        ("port-mismatch", "internal_port is 8080 but the server listens on 9000 (Dockerfile:1): Fly's proxy would "
         "find nothing there and close every connection without data")
    ]  # fmt: skip


def test_dockerfile_numbers_out_of_range_are_not_ports():
    parsed = parse_dockerfile("EXPOSE 99999 1848 " + "9" * 5000 + "\nCMD python -m server --port=" + "1" * 5000)
    assert (parsed.exposed, parsed.listen_port) == ((1848,), None)  # a --port that is no port: unknown, no default


def write_app(tmp_path, fly_toml: str, dockerfile: bytes | None = b"FROM python\n") -> Path:
    (tmp_path / "fly.toml").write_text(fly_toml)
    if dockerfile is not None:
        (tmp_path / "Dockerfile").write_bytes(dockerfile)
    return tmp_path / "fly.toml"


def test_a_dockerfile_that_is_not_utf8_or_a_directory_is_an_error(tmp_path):
    findings, _ = lint_path(write_app(tmp_path, GOOD, b"FROM python\n\xff\xfe\n"))
    assert [(f.code, f.severity, f.message) for f in findings if f.code == "dockerfile-unusable"] == [
        ("dockerfile-unusable", Severity.ERROR, f"{tmp_path / 'Dockerfile'} is not UTF-8 text: the build would fail")
    ]
    (tmp_path / "docker").mkdir()
    findings, _ = lint_path(write_app(tmp_path, GOOD + '[build]\ndockerfile = "docker"\n', None))
    assert [(f.code, f.message) for f in findings if f.code == "dockerfile-unusable"] == [
        ("dockerfile-unusable",
         f"{tmp_path / 'docker'} is a directory: give the path of a Dockerfile: the build would fail")
    ]  # fmt: skip


def test_deep_nesting_is_a_finding_not_a_recursion_error(tmp_path):
    findings, dockerfile = lint_path(write_app(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n"))
    assert ([(f.code, f.message) for f in findings], dockerfile) == (
        [("toml-syntax", f"{tmp_path / 'fly.toml'} nests arrays or tables too deeply to be a fly.toml")],
        None,
    )


def test_a_file_over_a_mebibyte_is_not_linted(tmp_path):
    path = write_app(tmp_path, "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(LintInputError) as refused:
        lint_path(path)
    assert str(refused.value) == f"{path} is over 1024 KiB: that is not a fly.toml, and it is not read"


def test_many_repeated_findings_print_a_short_report(tmp_path, cli):
    services = "[[services]]\nprotocol = 'tcp'\ninternal_port = 9\n[[services.ports]]\nport = 9\nhandlers = []\n"
    write_app(tmp_path, services * 200)
    done = cli("lint", "--port", "1848", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) < 12, lines
    assert (
        "ERROR    port-mismatch at services[0].internal_port: internal_port is 9 but the server listens on 1848 (lint "
        "--port): Fly's proxy would find nothing there and close every connection without data (and 199 more like it)"
    ) in lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lint", "missing.toml"], "cannot read missing.toml: No such file or directory; give the path of a fly.toml"),
        (["lint", "."], ". is a directory: give the path of a fly.toml"),
        (["lint", "--port", "4_2"], "port must be an integer in 1..65535, got '4_2'"),
    ],
)
def test_lint_usage_errors_are_one_line_and_status_2(tmp_path, args, message, cli):
    done = cli(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1


TOML_SCALARS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=8), st.booleans(),
                         st.floats(allow_nan=False, allow_infinity=False))  # fmt: skip
LEAVES = TOML_SCALARS | st.lists(TOML_SCALARS, max_size=3)


def tables(keys: set[str], child: st.SearchStrategy[Any] = LEAVES) -> st.SearchStrategy[dict[str, Any]]:
    """Tables shaped like fly.toml's: its keys (and one it does not know), values of any type."""
    return st.dictionaries(st.sampled_from(sorted({*keys, "x"})), LEAVES | child | st.lists(child, max_size=2),
                           max_size=5)  # fmt: skip


PORTS = tables({*_PORT, "handlers", "tls_options"})
SERVICES = tables({*_SERVICE, "ports", "tcp_checks"}, PORTS)
DOCUMENTS = tables(_TOP, SERVICES)


@settings(deadline=None)
@given(DOCUMENTS)
def test_any_toml_document_gives_findings_never_an_exception(config):
    findings = lint_config(config)
    assert all(f.severity in Severity and f.code and f.message for f in findings)


# Every key of every table fly.toml has, each given a value of every TOML type (and shapes
# that are nearly right): the same property, written out in full.
TABLES: dict[str, tuple[set[str], Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "top": (_TOP, lambda t: t),
    "services": (_SERVICE, lambda t: {"services": [t]}),
    "ports": (_PORT, lambda t: {"services": [{"ports": [t]}]}),
    "tls_options": (_TLS_OPTIONS, lambda t: {"services": [{"ports": [{"handlers": ["tls"], "tls_options": t}]}]}),
    "concurrency": (_CONCURRENCY, lambda t: {"services": [{"concurrency": t}]}),
    "tcp_checks": (_TCP_CHECK, lambda t: {"services": [{"tcp_checks": [t]}]}),
    "http_checks": (_HTTP_CHECK, lambda t: {"services": [{"http_checks": [t]}]}),
    "checks": (_TOP_CHECK, lambda t: {"checks": {"alive": t}}),
    "vm": (_VM, lambda t: {"vm": [t]}),
    "vm-table": (_VM, lambda t: {"vm": t}),
    "build": (_BUILD, lambda t: {"build": t}),
    "http_service": (_SERVICE | _PORT, lambda t: {"http_service": t}),
}
VALUES = [0, -1, 2**63 - 1, 1.5, True, "", "x", "15s", "SIGKILL", [], [1], ["http"], {}, {"x": 1}, [{}], [{"x": 1}]]


def test_every_key_of_every_table_with_any_value_gives_findings_never_an_exception():
    for name, (keys, place) in TABLES.items():
        for key in sorted(keys | {"x"}):
            for value in VALUES:
                try:
                    findings = lint_config(place({key: value}))
                except Exception as exc:
                    pytest.fail(f"{name}.{key} = {value!r}: {exc!r}")
                assert all(f.severity in Severity and f.code and f.message for f in findings), (name, key, value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SEED_HTTP_SERVICE, ("http-service-for-raw-tcp", "http_service",
         "[http_service] puts Fly's HTTP proxy in front: it parses the bytes as HTTP and breaks a raw TCP protocol "
         "(the client sees the connection closed or an HTTP error)",
         'replace it with [[services]] protocol = "tcp", internal_port = 1848, and [[services.ports]] port = 1848, '
         "handlers = []")),
        (GOOD.replace("handlers = []", 'handlers = ["http"]'), ("handlers-on-raw-tcp", "services[0].ports[0].handlers",
         "the 'http' handler makes Fly's proxy terminate HTTP on this port: a raw TCP greeting never reaches the "
         "client as written", "set handlers = [] so the bytes pass through untouched")),
        (GOOD.replace("handlers = []", 'handlers = ["proxy_proto"]'), ("handlers-on-raw-tcp",
         "services[0].ports[0].handlers",
         "proxy_proto prepends a PROXY protocol header to each connection: the server must parse it",
         "remove it unless the server reads the PROXY header")),
        (GOOD + "    port = 1848\n", ("misplaced-key", "services[0].tcp_checks[0].port",
         "'port' does not belong in services[0].tcp_checks[0]", "service checks use the service's internal_port")),
        (GOOD + '  [[services.script_checks]]\n    command = "/check"\n', ("ignored-key", "services[0].script_checks",
         "flyctl ignores 'script_checks' silently: it has no effect",
         "remove it; use [[services.tcp_checks]] or top-level [checks] for health checks")),
        (GOOD.replace("kill_signal", "kil_signal"), ("unknown-key", "kil_signal",
         "unknown key 'kil_signal' in the top level", "check the spelling against Fly.io's fly.toml reference")),
        (GOOD.replace('interval = "15s"', 'interval = "15 seconds"'), ("bad-duration",
         "services[0].tcp_checks[0].interval", "services[0].tcp_checks[0].interval = '15 seconds' is not a duration",
         'write a number with a unit, such as "500ms", "15s" or "1m"')),
        (GOOD.replace('kill_signal = "SIGINT"', 'kill_signal = "SIGUSR1"'), ("kill-signal-unhandled", "kill_signal",
         "the server handles SIGINT and SIGTERM, not SIGUSR1: Fly would kill it after kill_timeout",
         'set kill_signal = "SIGINT" (Fly\'s default) or "SIGTERM"')),
        ('app = "x"\nkill_timeout = 600\n' + GOOD.split("\n", 2)[2], ("bad-duration", "kill_timeout",
         "kill_timeout is 600 s; Fly allows 300", "")),
        (GOOD.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = "sometimes"'), ("bad-value",
         "services[0].auto_stop_machines",
         "auto_stop_machines must be \"off\", \"stop\" or \"suspend\", got 'sometimes'", "")),
        (GOOD + "[experimental]\n  allowed_public_ports = [1848]\n", ("ignored-key",
         "experimental.allowed_public_ports", "flyctl ignores [experimental] allowed_public_ports silently",
         "list the ports in [[services.ports]]")),
    ],
    ids=["http-service", "http-handler", "proxy-proto", "port-in-check", "script-checks", "unknown-key",
         "bad-duration", "kill-signal", "kill-timeout", "auto-stop", "allowed-public-ports"],
)  # fmt: skip
def test_each_mistake_in_full(text, expected):
    assert [(f.code, f.key, f.message, f.remedy) for f in lint(text) if f.severity is not Severity.INFO] == [expected]


def _with_kill_timeout(value: str) -> str:
    return GOOD.replace('kill_signal = "SIGINT"', f'kill_signal = "SIGINT"\nkill_timeout = {value}')


KILL_TIMEOUT_TOO_LONG = "bad-duration", Severity.ERROR, "kill_timeout"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # kill_timeout: a bare number is seconds, a string a Go duration; Fly allows 300 s.
        (_with_kill_timeout("300"), []),
        (_with_kill_timeout('"5m"'), []),
        (_with_kill_timeout("301"), [(*KILL_TIMEOUT_TOO_LONG, "kill_timeout is 301 s; Fly allows 300")]),
        (_with_kill_timeout("300.5"), [(*KILL_TIMEOUT_TOO_LONG, "kill_timeout is 300.5 s; Fly allows 300")]),
        (_with_kill_timeout('"5m1s"'), [(*KILL_TIMEOUT_TOO_LONG, "kill_timeout is 301 s; Fly allows 300")]),
        # In checks a bare number is milliseconds, and as good as a string.
        (GOOD.replace('interval = "15s"', "interval = 15000"), []),
        (GOOD.replace('timeout = "2s"', "timeout = 2000.5"), []),
    ],
    ids=["300", "5m", "301", "300.5", "5m1s", "interval-ms", "timeout-ms"],
)
def test_bare_number_and_string_durations(text, expected):
    assert [(f.code, f.severity, f.key, f.message) for f in lint(text) if f.severity is not Severity.INFO] == expected


@pytest.mark.parametrize(
    ("handlers", "expected"),
    [
        ('["pg_tls"]', [("handlers-on-raw-tcp", Severity.ERROR, "services[0].ports[0].handlers",
                         "the 'pg_tls' handler makes Fly's proxy terminate PostgreSQL's TLS negotiation on this port: "
                         "a raw TCP greeting never reaches the client as written")]),
        ('["pg_tls", "proxy_proto"]', [
            ("handlers-on-raw-tcp", Severity.ERROR, "services[0].ports[0].handlers",
             "the 'pg_tls' handler makes Fly's proxy terminate PostgreSQL's TLS negotiation on this port: "
             "a raw TCP greeting never reaches the client as written"),
            ("handlers-on-raw-tcp", Severity.WARNING, "services[0].ports[0].handlers",
             "proxy_proto prepends a PROXY protocol header to each connection: the server must parse it"),
        ]),
        ('["pg-tls"]', [("bad-value", Severity.ERROR, "services[0].ports[0].handlers",
                         "unknown handler 'pg-tls'; Fly knows ['http', 'pg_tls', 'proxy_proto', 'tls']")]),
    ],
    ids=["pg_tls", "pg_tls-and-proxy_proto", "misspelt"],
)  # fmt: skip
def test_the_pg_tls_handler_breaks_raw_tcp_like_http(handlers, expected):
    findings = lint(GOOD.replace("handlers = []", f"handlers = {handlers}"))
    assert [(f.code, f.severity, f.key, f.message) for f in findings if f.severity is not Severity.INFO] == expected


@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("[[services]]\ninternal_port = 9000\n[[services]]\ninternal_port = 9001\n", 9000),
        ("[http_service]\ninternal_port = 8080\n", 8080),
        ("[[services]]\ninternal_port = true\n", True),  # as written: listeners judges it (one line)
        ('[[services]]\nprotocol = "tcp"\n', None),
        ("services = 5\n", None),
    ],
)
def test_internal_port_is_the_first_services_as_written_or_none(text, port):
    assert internal_port_of(tomllib.loads(text)) == port


def test_a_service_that_is_not_hello_is_not_held_to_hellos_port():
    # [build] image = "redis:7", no Dockerfile, no --port: nothing says where the server listens
    redis = (
        'app = "cache"\n[build]\nimage = "redis:7"\n[[services]]\nprotocol = "tcp"\ninternal_port = 6379\n'
        '[[services.ports]]\nport = 6379\nhandlers = []\n[[services.tcp_checks]]\ninterval = "15s"\n'
    )
    assert [(f.code, f.severity) for f in lint(redis)] == [("needs-dedicated-ipv4", Severity.INFO)]


@pytest.mark.parametrize(
    ("text", "code", "remedy"),
    [
        ('[http_service]\ninternal_port = 6379\n', "http-service-for-raw-tcp",
         'replace it with [[services]] protocol = "tcp", internal_port = 6379, and [[services.ports]] port = 6379, '
         "handlers = []"),
        ('[[services]]\nprotocol = "tcp"\ninternal_port = 6379\n', "no-ports",
         "add [[services.ports]] with port = 6379 and handlers = []"),
        ('app = "cache"\n', "no-services",
         'add [[services]] with protocol = "tcp" and internal_port = <the port your server listens on>'),
    ],
)  # fmt: skip
def test_remedies_use_the_files_own_ports(text, code, remedy):
    assert [f.remedy for f in lint(text) if f.code == code] == [remedy]


def test_findings_alike_but_for_an_index_are_shown_once_with_a_count():
    import tomllib

    from tcpreach.findings import Finding, FindingCode
    from tcpreach.fly.files import grouped, parse_error

    def bad(key: str, message: str) -> Finding:
        return Finding(FindingCode.BAD_TYPE, Severity.ERROR, message, "fix", key=key)

    alike = [bad(f"services[{i}].port", f"services[{i}].port must be an integer") for i in (0, 1, 12)]
    other = bad("services[0].handlers", "services[0].handlers must be a list of strings")
    assert [(f.key, count) for f, count in grouped([alike[0], other, *alike[1:]])] == [
        ("services[0].port", 3), ("services[0].handlers", 1)]  # fmt: skip
    without_place = parse_error(tomllib.TOMLDecodeError("Unclosed array"), "fly.toml")
    assert (without_place.message, without_place.key) == ("fly.toml is not valid TOML: Unclosed array", "fly.toml")
