"""Every lint rule on a corpus of small fly.toml files, each compared with the whole list of
findings it must give: code, severity, key, message and remedy.

The expected findings live in ``golden/lint.json``. After a deliberate change of a rule or
its wording, regenerate them with ``TCPREACH_UPDATE_GOLDEN=1 pytest tests/unit/test_lint_corpus.py``
and read the diff: it is the change a user will see.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tcpreach.fly.dockerfile import Dockerfile, parse_dockerfile
from tcpreach.fly.files import LintInputError, app_name, grouped, lint_path, predicts_for
from tcpreach.fly.lint import lint_config

GOLDEN = "lint.json"  # in golden/, see conftest.py

SERVICE = """
[[services]]
  protocol = "tcp"
  internal_port = 1848
  [[services.ports]]
    port = 1848
    handlers = []
  [[services.tcp_checks]]
    interval = "15s"
"""
APP = 'app = "corpus"\n'

# name: (fly.toml, Dockerfile or None, the server's port or None)
CASES: dict[str, tuple[str, str | None, int | None]] = {
    "clean": (APP + SERVICE, None, None),
    "not-a-table-at-the-top": ("", None, None),  # replaced below by a list: the parser never gives one
    "no-services": (APP, None, None),
    "empty-services": (APP + "services = []\n", None, None),
    "http-service": (APP + '[http_service]\ninternal_port = 1848\nforce_https = true\n', None, None),
    "kill-signal": (APP + 'kill_signal = "SIGUSR1"\n' + SERVICE, None, None),
    "kill-signal-lower-case-is-fine": (APP + 'kill_signal = "sigterm"\n' + SERVICE, None, None),
    "kill-timeout-too-long": (APP + "kill_timeout = 301\n" + SERVICE, None, None),
    "kill-timeout-not-a-duration": (APP + 'kill_timeout = "5 min"\n' + SERVICE, None, None),
    "kill-timeout-boolean": (APP + "kill_timeout = true\n" + SERVICE, None, None),
    "top-checks": (
        APP + SERVICE.replace('[[services.tcp_checks]]\n    interval = "15s"\n', "")
        + '[checks.alive]\ntype = "tcp"\nport = 1848\ninterval = "15 s"\ntimeout = 2000\ngrace_period = "1m"\n'
        + 'colour = "red"\n',
        None, None,
    ),
    "build-vm-experimental": (
        APP + SERVICE + '[build]\ndockerfil = "Dockerfile"\n[[vm]]\nsize = "shared-cpu-1x"\ncores = 2\n'
        + "[experimental]\nallowed_public_ports = [1848]\n",
        None, None,
    ),
    "vm-as-one-table": (APP + SERVICE + '[vm]\nmemory = "256mb"\ngpus = 1\ncolour = 1\n', None, None),
    "service-without-protocol-and-internal-port": (
        APP + "[[services]]\n  [[services.ports]]\n    port = 1848\n    handlers = []\n"
        + '  [[services.tcp_checks]]\n    interval = "15s"\n',
        None, None,
    ),
    "service-protocol-http": (APP + SERVICE.replace('protocol = "tcp"', 'protocol = "http"'), None, None),
    "service-udp": (APP + SERVICE.replace('protocol = "tcp"', 'protocol = "udp"'), None, None),
    "internal-port-mismatch": (APP + SERVICE.replace("internal_port = 1848", "internal_port = 8080"),
                               'FROM python\nCMD ["python3", "-m", "server"]\n', None),
    "internal-port-unknown-server-port": (APP + SERVICE.replace("internal_port = 1848", "internal_port = 8080"),
                                          None, None),
    "internal-port-from-the-flag": (APP + SERVICE, None, 9000),
    "auto-stop": (
        APP + SERVICE.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = "pause"'), None, None
    ),
    "auto-stop-values-fly-knows": (
        APP + SERVICE.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = "suspend"')
        + SERVICE.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = true')
        + SERVICE.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = false')
        + SERVICE.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = "off"')
        + SERVICE.replace('protocol = "tcp"', 'protocol = "tcp"\n  auto_stop_machines = "stop"'),
        None, None,
    ),
    "no-ports": (APP + '[[services]]\n  protocol = "tcp"\n  internal_port = 1848\n', None, None),
    "concurrency": (
        APP + SERVICE + '  [services.concurrency]\n    type = "requests"\n    soft = 20\n', None, None
    ),
    "concurrency-type": (APP + SERVICE + '  [services.concurrency]\n    type = "sessions"\n', None, None),
    "ignored-service-keys": (
        APP + SERVICE + '  [[services.script_checks]]\n    command = "/check"\n  restart_limit = 3\n', None, None
    ),
    "no-health-check": (APP + SERVICE.replace('  [[services.tcp_checks]]\n    interval = "15s"\n', ""), None, None),
    "no-health-check-but-top-checks": (
        APP + SERVICE.replace('  [[services.tcp_checks]]\n    interval = "15s"\n', "")
        + '[checks.alive]\ntype = "tcp"\nport = 1848\n',
        None, None,
    ),
    "service-checks": (
        APP + SERVICE
        + '  [[services.http_checks]]\n    interval = 10000\n    timeout = "2 s"\n    path = "/"\n    port = 80\n'
        + '    grace_period = "x"\n  [[services.tcp_checks]]\n    port = 1848\n    timeout = "1h2m3.5s"\n',
        None, None,
    ),
    "port-handlers": (
        APP + SERVICE.replace("handlers = []", 'handlers = ["http"]')
        + SERVICE.replace("handlers = []", 'handlers = ["tls"]')
        + SERVICE.replace("handlers = []", 'handlers = ["pg_tls"]')
        + SERVICE.replace("handlers = []", 'handlers = ["proxy_proto"]')
        + SERVICE.replace("handlers = []", 'handlers = ["websocket"]'),
        None, None,
    ),
    "port-handlers-on-udp": (
        APP + SERVICE.replace('protocol = "tcp"', 'protocol = "udp"').replace("handlers = []", 'handlers = ["http"]'),
        None, None,
    ),
    "http-on-80-and-https-on-443-need-no-dedicated-ipv4": (
        APP + SERVICE.replace("port = 1848\n    handlers = []", 'port = 80\n    handlers = ["http"]')
        + SERVICE.replace("port = 1848\n    handlers = []", 'port = 443\n    handlers = ["http", "tls"]')
        + SERVICE.replace("port = 1848\n    handlers = []", 'port = 443\n    handlers = ["tls", "http"]')
        + SERVICE.replace("port = 1848\n    handlers = []", 'port = 80\n    handlers = []'),
        None, None,
    ),
    "port-range": (
        APP + SERVICE.replace("    port = 1848\n", "    start_port = 1848\n    end_port = 1850\n", 1), None, None
    ),
    "port-without-a-number": (APP + SERVICE.replace("    port = 1848\n", "", 1), None, None),
    "tls-options": (
        APP + SERVICE.replace("handlers = []", 'handlers = ["tls"]\n    [services.ports.tls_options]\n'
                              '      versions = ["TLSv1.2", "TLSv1.1"]\n      alpn = ["h2"]\n      sni = true'),
        None, None,
    ),
    "tls-options-without-tls": (
        APP + SERVICE.replace("handlers = []", 'handlers = []\n    [services.ports.tls_options]\n'
                              '      versions = ["TLSv1.3"]'),
        None, None,
    ),
    "unknown-keys-everywhere": (
        'app = "corpus"\nregion = "ams"\n' + SERVICE.replace('protocol = "tcp"', 'protocol = "tcp"\n  colour = 1')
        .replace("handlers = []", "handlers = []\n    colour = 2"),
        None, None,
    ),
    "types": (
        'app = 1\nprimary_region = ["ams"]\nswap_size_mb = "512"\nenv = "PORT=1848"\n'
        + SERVICE.replace("internal_port = 1848", 'internal_port = "1848"').replace("port = 1848\n", "port = 1848.0\n")
        + '  [[services.tcp_checks]]\n    interval = ["15s"]\n',
        None, None,
    ),
    "types-of-tables": ('app = "corpus"\nservices = "tcp"\nchecks = 1\nbuild = []\nvm = 2\n', None, None),
    "types-in-lists": (
        APP + SERVICE.replace("handlers = []", 'handlers = ["tls", 1]')
        + '[[vm]]\nprocesses = ["app", 2]\n',
        None, None,
    ),
    "dockerfile": (
        APP + SERVICE, 'FROM --platform=linux/amd64 python:3.13-alpine\nEXPOSE 9000\nCMD ["python3", "-m", "server"]\n',
        None,
    ),
    "dockerfile-port-from-env": (APP + SERVICE, "FROM python:3.13-alpine\nENV PORT=9000\nEXPOSE 1848\n", None),
    "dockerfile-port-from-env-with-a-space": (APP + SERVICE, "FROM python:3.13-alpine\nENV PORT 1848\n", None),
    "dockerfile-port-from-the-flag": (
        APP + SERVICE, 'FROM python:3.13-alpine\nCMD ["python3", "-m", "server", "--port=7000"]\n', None
    ),
    "dockerfile-port-from-the-split-flag": (
        APP + SERVICE, "FROM python:3.13-alpine\nCMD python3 -m server \\\n  --port 7001\n", None
    ),
    "the-flag-wins-over-the-dockerfile": (
        APP + SERVICE, "FROM python:3.13-alpine\nENV PORT=9000\nEXPOSE 1848\n", 1848
    ),
    "kill-timeout-in-every-unit": (
        APP + "kill_timeout = \"1h\"\n" + SERVICE + "[checks.a]\ntimeout = \"300001ms\"\n", None, None
    ),
    "kill-timeout-in-small-units": (APP + 'kill_timeout = "300000001us"\n' + SERVICE, None, None),
    "kill-timeout-in-micro-and-nanoseconds": (APP + 'kill_timeout = "299999999µs1000000001ns"\n' + SERVICE, None, None),
    "kill-timeout-in-milliseconds-and-minutes": (APP + 'kill_timeout = "4m60001ms"\n' + SERVICE, None, None),
    "concurrency-without-a-type": (APP + SERVICE + "  [services.concurrency]\n    soft_limit = 20\n", None, None),
    "only-http-checks": (
        APP + SERVICE.replace('  [[services.tcp_checks]]\n    interval = "15s"\n', "")
        + '  [[services.http_checks]]\n    path = "/"\n',
        None, None,
    ),
    "mistyped-checks-are-not-missing-checks": (
        APP + SERVICE.replace('  [[services.tcp_checks]]\n    interval = "15s"\n', "")
        .replace('internal_port = 1848\n', 'internal_port = 1848\n  tcp_checks = "15s"\n'),
        None, None,
    ),
    "quoted-numbers-and-bare-strings-deep-down": (
        APP + SERVICE.replace("handlers = []", 'handlers = "tls"')
        + '  [services.concurrency]\n    soft_limit = " 20 "\n    hard_limit = "lots"\n',
        None, None,
    ),
    "exposed-ports-at-the-edges": (
        APP + SERVICE, "FROM python\nEXPOSE 0 1 65535 65536 123456 1848/tcp x\nEXPOSE 9000/udp\n", None
    ),
    "dockerfile-entrypoint-and-comments": (
        APP + SERVICE,
        "# a comment\n\nFROM python\nENTRYPOINT python3 -m server \\\n  # not a comment inside\n  --port 7002\n",
        None,
    ),
    "dockerfile-a-later-env-wins": (APP + SERVICE, "FROM python\nENV PORT=9000\nENV PORT=9001\n", None),
    "dockerfile-the-flag-wins-over-a-later-env": (
        APP + SERVICE, "FROM python\nCMD python3 -m server --port 7006\nENV PORT=9000\n", None
    ),
    "dockerfile-later-instructions-win": (
        APP + SERVICE, 'FROM python\nENV PORT=9000\nENV PORT=9001\nCMD ["python3", "-m", "server", "--port", "7003"]\n',
        None,
    ),
    "dockerfile-cmd-that-is-not-json": (APP + SERVICE, 'FROM python\nCMD [python3 --port 7004\n', None),
    "dockerfile-cmd-with-an-open-quote": (APP + SERVICE, "FROM python\nCMD python3 'x --port 7005\n", None),
    "dockerfile-port-zero-is-no-port": (APP + SERVICE, "FROM python\nENV PORT=0\nCMD python3 --port=0\n", None),
}  # fmt: skip


def findings_of(name: str) -> list[list[Any]]:
    text, dockerfile, server_port = CASES[name]
    config: Any = [] if name == "not-a-table-at-the-top" else tomllib.loads(text)
    parsed = parse_dockerfile(dockerfile) if dockerfile is not None else None
    return [[f.code, f.severity.value, f.key, f.message, f.remedy] for f in lint_config(config, parsed, server_port)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_file_gives_exactly_its_findings(golden, name):
    golden.check(name, findings_of(name))


def test_the_golden_file_holds_the_cases_and_nothing_else(golden):
    golden.assert_holds(CASES)


# Files, as `python -m tcpreach lint` reads them.
def lint_file(tmp_path: Path, toml: str | bytes, dockerfile: str | bytes | None = None, name: str = "fly.toml"):
    path = tmp_path / name
    path.write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    if dockerfile is not None:
        (tmp_path / "Dockerfile").write_bytes(dockerfile if isinstance(dockerfile, bytes) else dockerfile.encode())
    findings, used = lint_path(path)
    return [(f.code, f.severity.value, f.key, f.message) for f in findings if f.severity.value != "info"], used


def test_a_syntax_error_names_line_and_column(tmp_path):
    found, used = lint_file(tmp_path, 'app = "x"\n[[services]\n')
    path = tmp_path / "fly.toml"
    assert (found, used) == (
        [("toml-syntax", "error", f"{path}:2:11",
          f"{path} is not valid TOML: line 2, column 11: Expected ']]' at the end of an array declaration")],
        None,
    )  # fmt: skip


def test_a_file_nested_too_deeply_is_a_finding(tmp_path):
    found, _ = lint_file(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n")
    path = tmp_path / "fly.toml"
    assert found == [("toml-syntax", "error", str(path), f"{path} nests arrays or tables too deeply to be a fly.toml")]


def test_the_dockerfile_is_found_beside_the_file_or_where_build_says(tmp_path):
    _, beside = lint_file(tmp_path, APP + SERVICE, "FROM python\n")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "App.Dockerfile").write_text("FROM python\n")
    found, named = lint_file(tmp_path, APP + SERVICE + '[build]\ndockerfile = "docker/App.Dockerfile"\n')
    _, image = lint_file(tmp_path, APP + SERVICE + '[build]\nimage = "registry.example/app:1"\n')
    assert (beside, named, image, found) == (tmp_path / "Dockerfile", tmp_path / "docker" / "App.Dockerfile", None, [])


@pytest.mark.parametrize(
    ("dockerfile", "why"),
    [(None, "cannot read {d}: No such file or directory; give the path of a Dockerfile"),
     (b"FROM \xff\n", "{d} is not UTF-8 text")],
    ids=["missing", "not-utf-8"],
)  # fmt: skip
def test_an_unusable_dockerfile_is_an_error_finding_after_the_others(tmp_path, dockerfile, why):
    found, used = lint_file(tmp_path, APP + SERVICE.replace('protocol = "tcp"', 'protocol = "sctp"'), dockerfile)
    d = tmp_path / "Dockerfile"
    assert (found, used) == (
        [("bad-value", "error", "services[0].protocol", "protocol must be \"tcp\" or \"udp\", got 'sctp'"),
         ("dockerfile-unusable", "error", "build.dockerfile", f"{why.format(d=d)}: the build would fail")],
        None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"app = '\xff'\n", "{p} is not UTF-8 text: invalid start byte at byte 7"),
     (b"#" * ((1 << 20) + 1), "{p} is over 1024 KiB: that is not a fly.toml, and it is not read")],
    ids=["not-utf-8", "too-big"],
)  # fmt: skip
def test_a_file_that_is_not_a_fly_toml_is_refused(tmp_path, content, message):
    path = tmp_path / "fly.toml"
    path.write_bytes(content)
    with pytest.raises(LintInputError) as refused:
        lint_path(path)
    assert str(refused.value) == message.format(p=path)


def test_a_file_of_exactly_the_limit_is_linted(tmp_path):
    path = tmp_path / "fly.toml"
    path.write_bytes(b"#" * (1 << 20))
    findings, _ = lint_path(path)
    assert [f.code for f in findings] == ["no-services", "dockerfile-unusable"]


def test_grouping_counts_findings_that_differ_only_in_an_index():
    findings = lint_config(tomllib.loads(APP + SERVICE.replace("handlers = []", 'handlers = ["http"]') * 3))
    assert [(f.code, f.key, n) for f, n in grouped(findings)] == [
        ("handlers-on-raw-tcp", "services[0].ports[0].handlers", 3),
        ("needs-dedicated-ipv4", "services[0].ports[0]", 3),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM python\nEXPOSE 0 1 65535 65536 123456 1848/tcp x\nEXPOSE 9000/udp\n",
         Dockerfile((), (1, 65535, 1848, 9000))),
        ("FROM --platform=linux/amd64 x\n# c\n\nFROM --platform=$B y\n", Dockerfile((1, 4))),
        ("ENTRYPOINT python3 -m server \\\n  # a comment is dropped\n\n  --port 7002\n", Dockerfile((), (), 7002, 1)),
        ('CMD ["python3", "--port", "70000"]\nENV PORT=0\n', Dockerfile()),
        ("ENV PORT 1848\nENV PORT=99999\n", Dockerfile((), (), 1848, 1)),
        ("CMD --port=7000\nCMD --port 7001\n", Dockerfile((), (), 7001, 2)),
    ],
    ids=["expose-edges", "platform-pins", "continued-entrypoint", "out-of-range", "env-out-of-range", "last-cmd"],
)  # fmt: skip
def test_a_dockerfile_gives_exactly_what_the_lint_needs(text, expected):
    assert parse_dockerfile(text) == expected


def test_lint_path_passes_the_flag_and_reads_the_dockerfile_build_names(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python\nENV PORT=9000\n")
    path = tmp_path / "fly.toml"
    path.write_text(APP + SERVICE + "[build]\ndockerfile = 7\n")  # not a path: the default is used
    findings, used = lint_path(path, server_port=1848)
    assert ([(f.code, f.key) for f in findings if f.severity.value != "info"], used) == (
        [("bad-type", "build.dockerfile")],
        tmp_path / "Dockerfile",
    )
    unusable, _ = lint_path(tmp_path / "fly.toml", server_port=9000)  # the flag reaches a lint without Dockerfile
    (tmp_path / "Dockerfile").unlink()
    missing, _ = lint_path(path, server_port=9000)
    assert [(f.code, f.message, f.remedy) for f in missing if f.severity.value == "error"] == [
        ("bad-type", "build.dockerfile must be a string, got an integer", ""),
        ("port-mismatch",
         "internal_port is 1848 but the server listens on 9000 (lint --port): Fly's proxy would find nothing there "
         "and close every connection without data",
         "set internal_port = 9000, or start the server on port 1848 (lint --port N if it already does)"),
        ("dockerfile-unusable",
         f"cannot read {tmp_path / 'Dockerfile'}: No such file or directory; give the path of a Dockerfile: the build "
         "would fail", "set [build] dockerfile to the Dockerfile's path, relative to fly.toml"),
    ]  # fmt: skip
    assert [f.code for f in unusable if f.severity.value == "error"] == ["bad-type", "port-mismatch"]


def test_the_remedies_of_unreadable_files(tmp_path):
    path = tmp_path / "fly.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    deep, _ = lint_path(path)
    path.write_text("[[services]\n")
    syntax, _ = lint_path(path)
    assert [(f.code, f.remedy) for f in deep + syntax] == [
        ("toml-syntax", "a fly.toml nests a few levels at most"),
        ("toml-syntax", "fix the syntax at that line; fly.toml is TOML (toml.io)"),
    ]


@pytest.mark.parametrize(
    ("toml", "host", "predicted", "app"),
    [
        (APP + SERVICE, "corpus.fly.dev", True, "corpus"),
        (APP + SERVICE, "corpus.fly.dev.", True, "corpus"),  # a fully qualified name
        (APP + SERVICE, "other.fly.dev", False, "corpus"),
        (APP + SERVICE, ".corpus.fly.dev", False, "corpus"),
        (APP + SERVICE.replace("port = 1848\n    handlers = []", 'port = 443\n    handlers = ["http", "tls"]'),
         "corpus.fly.dev", False, "corpus"),  # the shared IPv4 routes HTTPS on 443
        ("app = 7\n" + SERVICE, "7.fly.dev", False, None),
        (SERVICE, "None.fly.dev", False, None),  # no app: no name it predicts for
        ("app = 'x\n", "x.fly.dev", False, None),
    ],
    ids=["its-name", "fqdn", "another-app", "leading-dot", "https-on-443", "app-not-a-string", "no-app", "bad-toml"],
)  # fmt: skip
def test_the_lint_predicts_the_shared_ipv4_failure_for_its_own_app_only(tmp_path, toml, host, predicted, app):
    path = tmp_path / "fly.toml"
    path.write_text(toml)
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    assert (predicts_for(path, host), app_name(path)) == (predicted, app)
