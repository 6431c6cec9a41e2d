"""The offline fly.toml lint: the repository's own files, and one broken file per mistake."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tcpreach.flylint import lint_config, lint_path, needs_dedicated_ipv4, parse_dockerfile
from tcpreach.model import Severity

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
        (GOOD.replace("handlers = []", 'handlers = ["tls"]'),
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
        "seed-http-service", "http-handler", "tls-handler", "proxy-proto", "internal-port", "no-ports",
        "no-health-check", "port-in-tcp-checks", "script-checks", "unknown-key", "bad-duration",
        "kill-signal", "kill-timeout", "auto-stop", "no-services", "allowed-public-ports",
    ],
)  # fmt: skip
def test_each_mistake_gives_its_finding(text, expected):
    assert loud(lint(text)) == [expected]


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


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpreach", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, check=False, env={"PYTHONPATH": str(ROOT)})  # fmt: skip


def test_cli_lints_the_default_fly_toml_clean():
    done = cli("lint")
    assert done.returncode == 0, done.stdout
    assert "needs-dedicated-ipv4" in done.stdout


def test_cli_exits_1_on_an_error_and_speaks_json(tmp_path):
    (tmp_path / "fly.toml").write_text(SEED_HTTP_SERVICE)
    (tmp_path / "Dockerfile").write_text("FROM python:3.13-alpine\nEXPOSE 1848\n")
    done = cli("lint", str(tmp_path / "fly.toml"), "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["findings"][0]["code"] == "http-service-for-raw-tcp"
    assert set(doc["findings"][0]) == {"code", "severity", "key", "message", "remedy"}


def test_malformed_toml_is_a_parse_error_with_line_and_column(tmp_path):
    (tmp_path / "fly.toml").write_text('app = "x"\n[[services]\ninternal_port = 1848\n')
    done = cli("lint", str(tmp_path / "fly.toml"))
    assert done.returncode == 1
    assert "toml-syntax" in done.stdout
    assert "line 2, column" in done.stdout
    assert "Traceback" not in done.stderr


def test_missing_file_is_a_usage_error(tmp_path):
    done = cli("lint", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    assert "cannot read" in done.stderr
    assert done.stderr.count("\n") == 1
