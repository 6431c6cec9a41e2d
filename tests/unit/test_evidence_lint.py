"""Each lint finding's evidence, condition by condition (issue 25), as the live findings'
in ``test_evidence.py``: a fly.toml (and Dockerfile) that makes the finding, then the same
with one condition taken away, which must give exactly the findings listed, the finding
gone or turned into its look-alike. A rule that stopped checking one condition fails its
row. Findings are (code, severity, key), every one of them, info included."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_flylint import GOOD, HELLO_DOCKERFILE, lint

from tcpreach.fly.files import lint_path

NEEDS = ("needs-dedicated-ipv4", "info", "services[0].ports[0]")
"""What any raw TCP port other than 80 and 443 gets, rightly: flyctl's rule."""
HANDLERS = "services[0].ports[0].handlers"
NO_CHECKS = GOOD.partition("  [[services.tcp_checks]]")[0]
EXPOSE_8080 = 'FROM python\nEXPOSE 8080\nCMD ["python3", "-m", "server"]\n'
PINNED = 'FROM --platform=linux/amd64 python\nCMD ["python3", "-m", "server"]\n'


def on(port: int, handlers: str) -> str:
    return GOOD.replace("port = 1848\n    handlers = []", f"port = {port}\n    handlers = {handlers}")


def handlers(value: str, protocol: str = "tcp") -> str:
    return GOOD.replace("handlers = []", f"handlers = {value}").replace('protocol = "tcp"', f'protocol = "{protocol}"')


# Each finding: (fly.toml, Dockerfile) that makes it, what it gives, then (condition
# removed, fly.toml, Dockerfile, what it gives).
EVIDENCE = {
    "bad-type": (
        (GOOD.replace("internal_port = 1848", 'internal_port = "1848"'), HELLO_DOCKERFILE),
        [("bad-type", "error", "services[0].internal_port"), NEEDS],
        [("a value of the wrong type", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "bad-value": (
        (GOOD.replace('protocol = "tcp"', 'protocol = "sctp"'), HELLO_DOCKERFILE),
        [("bad-value", "error", "services[0].protocol"), NEEDS],
        [("a protocol Fly does not know", GOOD.replace('"tcp"', '"udp"'), HELLO_DOCKERFILE, [NEEDS])],
    ),
    "bad-duration": (
        (GOOD.replace('interval = "15s"', 'interval = "15 seconds"'), HELLO_DOCKERFILE),
        [("bad-duration", "error", "services[0].tcp_checks[0].interval"), NEEDS],
        [
            ("a string that is no duration (a number is milliseconds)",
             GOOD.replace('interval = "15s"', "interval = 15000"), HELLO_DOCKERFILE, [NEEDS]),
            ("a string that is no duration (Go's compound form is one)",
             GOOD.replace('interval = "15s"', 'interval = "1m15s"'), HELLO_DOCKERFILE, [NEEDS]),
        ],
    ),
    "bad-duration (kill_timeout)": (
        ("kill_timeout = 301\n" + GOOD, HELLO_DOCKERFILE),
        [("bad-duration", "error", "kill_timeout"), NEEDS],
        [
            ("over 300 s", "kill_timeout = 300\n" + GOOD, HELLO_DOCKERFILE, [NEEDS]),
            ("over 300 s (5m is 300)", 'kill_timeout = "5m"\n' + GOOD, HELLO_DOCKERFILE, [NEEDS]),
        ],
    ),
    "missing-key (protocol)": (
        (GOOD.replace('protocol = "tcp"\n', ""), HELLO_DOCKERFILE),
        [("missing-key", "error", "services[0].protocol"), NEEDS],
        [("no protocol", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "missing-key (internal_port)": (
        (GOOD.replace("internal_port = 1848\n", ""), HELLO_DOCKERFILE),
        [("missing-key", "error", "services[0].internal_port"), NEEDS],
        [("no internal_port", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "missing-key (port)": (
        (GOOD.replace("    port = 1848\n", "", 1), HELLO_DOCKERFILE),
        [("missing-key", "error", "services[0].ports[0]")],
        [("neither port nor start_port",
          GOOD.replace("    port = 1848\n", "    start_port = 1848\n    end_port = 1849\n", 1), HELLO_DOCKERFILE,
          [NEEDS])],
    ),
    "unknown-key": (
        (GOOD.replace("kill_signal", "kil_signal"), HELLO_DOCKERFILE),
        [("unknown-key", "warning", "kil_signal"), NEEDS],
        [("a key flyctl does not know", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "misplaced-key": (
        (GOOD + "    port = 1848\n", HELLO_DOCKERFILE),
        [("misplaced-key", "warning", "services[0].tcp_checks[0].port"), NEEDS],
        [("port in a service check (it belongs in a port)", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "ignored-key": (
        (GOOD + '  [[services.script_checks]]\n    command = "/check"\n', HELLO_DOCKERFILE),
        [("ignored-key", "warning", "services[0].script_checks"), NEEDS],
        [("a key flyctl drops", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "http-service-for-raw-tcp": (
        ('app = "x"\n[http_service]\n  internal_port = 1848\n', HELLO_DOCKERFILE),
        [("http-service-for-raw-tcp", "error", "http_service")],
        [("[http_service] (not [[services]])", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "no-services": (
        ('app = "x"\n', HELLO_DOCKERFILE),
        [("no-services", "error", "services")],
        [
            ("no [http_service] either", 'app = "x"\n[http_service]\n  internal_port = 1848\n', HELLO_DOCKERFILE,
             [("http-service-for-raw-tcp", "error", "http_service")]),
            ("services not there at all (not mistyped)", 'app = "x"\nservices = "tcp"\n', HELLO_DOCKERFILE,
             [("bad-type", "error", "services")]),
        ],
    ),
    "no-ports": (
        (NO_CHECKS.partition("  [[services.ports]]")[0] + '  [[services.tcp_checks]]\n    interval = "15s"\n',
         HELLO_DOCKERFILE),
        [("no-ports", "error", "services[0].ports")],
        [("no [[services.ports]]", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "port-mismatch": (
        (GOOD.replace("port = 1848", "port = 8080"), HELLO_DOCKERFILE),
        [("port-mismatch", "error", "services[0].internal_port"), NEEDS],
        [
            ("the server's port known (no Dockerfile saying it)", GOOD.replace("port = 1848", "port = 8080"), None,
             [NEEDS]),
            ("internal_port differing from it", GOOD, HELLO_DOCKERFILE, [NEEDS]),
        ],
    ),
    "port-mismatch (EXPOSE)": (
        (GOOD, EXPOSE_8080),
        [("port-mismatch", "warning", "Dockerfile:EXPOSE"), NEEDS],
        [("EXPOSE differing from internal_port", GOOD, EXPOSE_8080.replace("8080", "1848"), [NEEDS])],
    ),
    "handlers-on-raw-tcp": (
        (handlers('["http"]'), HELLO_DOCKERFILE),
        [("handlers-on-raw-tcp", "error", HANDLERS), NEEDS],
        [
            ("protocol tcp", handlers('["http"]', "udp"), HELLO_DOCKERFILE, [NEEDS]),
            ("a handler that terminates", GOOD, HELLO_DOCKERFILE, [NEEDS]),
        ],
    ),
    "handlers-on-raw-tcp (proxy_proto)": (
        (handlers('["proxy_proto"]'), HELLO_DOCKERFILE),
        [("handlers-on-raw-tcp", "warning", HANDLERS), NEEDS],
        [("the proxy_proto handler", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "tls-handler": (
        (handlers('["tls"]'), HELLO_DOCKERFILE),
        [("tls-handler", "info", HANDLERS), NEEDS],
        [
            ("protocol tcp", handlers('["tls"]', "udp"), HELLO_DOCKERFILE, [NEEDS]),
            ("the tls handler", GOOD, HELLO_DOCKERFILE, [NEEDS]),
        ],
    ),
    "tls-options-unused": (
        (handlers('[]\n    tls_options = { alpn = ["h2"] }'), HELLO_DOCKERFILE),
        [("tls-options-unused", "warning", "services[0].ports[0].tls_options"), NEEDS],
        [("no tls handler beside them", handlers('["tls"]\n    tls_options = { alpn = ["h2"] }'), HELLO_DOCKERFILE,
          [("tls-handler", "info", HANDLERS), NEEDS])],
    ),
    "no-health-check": (
        (NO_CHECKS, HELLO_DOCKERFILE),
        [("no-health-check", "warning", "services[0].tcp_checks"), NEEDS],
        [
            ("no tcp check", GOOD, HELLO_DOCKERFILE, [NEEDS]),
            ("no http check", NO_CHECKS + '  [[services.http_checks]]\n    path = "/"\n', HELLO_DOCKERFILE, [NEEDS]),
            ("no top-level check", NO_CHECKS + '[checks.alive]\n  type = "tcp"\n  port = 1848\n', HELLO_DOCKERFILE,
             [NEEDS]),
        ],
    ),
    "kill-signal-unhandled": (
        (GOOD.replace('"SIGINT"', '"SIGUSR1"'), HELLO_DOCKERFILE),
        [("kill-signal-unhandled", "warning", "kill_signal"), NEEDS],
        [
            ("a signal the server does not handle", GOOD.replace('"SIGINT"', '"SIGTERM"'), HELLO_DOCKERFILE, [NEEDS]),
            ("... in any case", GOOD.replace('"SIGINT"', '"sigterm"'), HELLO_DOCKERFILE, [NEEDS]),
            ("a signal given (Fly's default is SIGINT)", GOOD.replace('kill_signal = "SIGINT"\n', ""),
             HELLO_DOCKERFILE, [NEEDS]),
        ],
    ),
    "platform-pin": (
        (GOOD, PINNED),
        [("platform-pin", "info", "Dockerfile:1"), NEEDS],
        [("FROM --platform", GOOD, HELLO_DOCKERFILE, [NEEDS])],
    ),
    "needs-dedicated-ipv4": (
        (GOOD, HELLO_DOCKERFILE),
        [NEEDS],
        [
            ("a port other than 80 and 443", on(80, '["http"]'), HELLO_DOCKERFILE,
             [("handlers-on-raw-tcp", "error", HANDLERS)]),
            ("... or 80 without exactly [http]", on(80, '["http", "tls"]'), HELLO_DOCKERFILE,
             [("handlers-on-raw-tcp", "error", HANDLERS), ("tls-handler", "info", HANDLERS), NEEDS]),
            ("... or 443 without exactly [http, tls]", on(443, '["tls"]'), HELLO_DOCKERFILE,
             [("tls-handler", "info", HANDLERS), NEEDS]),
            ("... (443 with exactly [http, tls])", on(443, '["http", "tls"]'), HELLO_DOCKERFILE,
             [("handlers-on-raw-tcp", "error", HANDLERS), ("tls-handler", "info", HANDLERS)]),
        ],
    ),
}  # fmt: skip


def found(text: str, dockerfile: str | None) -> list[tuple[str, str, str]]:
    return [(str(f.code), str(f.severity), f.key) for f in lint(text, dockerfile)]


@pytest.mark.parametrize("name", sorted(EVIDENCE))
def test_each_lint_finding_is_made_by_its_file(name):
    (text, dockerfile), made, _ = EVIDENCE[name]
    assert found(text, dockerfile) == made


ROWS = [
    (name, why, text, docker, gives) for name, (_, _, rows) in EVIDENCE.items() for why, text, docker, gives in rows
]


@pytest.mark.parametrize(("name", "why", "text", "dockerfile", "gives"), ROWS,
                         ids=[f"{n}-without-{w}" for n, w, _, _, _ in ROWS])  # fmt: skip
def test_taking_one_condition_away_gives_exactly_the_look_alike(name, why, text, dockerfile, gives):
    assert found(text, dockerfile) == gives


def write(folder: Path, fly_toml: str, dockerfile: str | None = HELLO_DOCKERFILE) -> Path:
    (folder / "fly.toml").write_text(fly_toml)
    if dockerfile is not None:
        (folder / "Dockerfile").write_text(dockerfile)
    return folder / "fly.toml"


def test_toml_syntax_needs_a_file_that_is_not_toml(tmp_path):
    broken, _ = lint_path(write(tmp_path, GOOD.replace('"tcp"', '"tcp')))
    assert [(str(f.code), f.key) for f in broken] == [
        ("toml-syntax", f"{tmp_path / 'fly.toml'}:5:18")
    ]  # the line ends inside the string
    fixed, _ = lint_path(write(tmp_path, GOOD))
    assert [str(f.code) for f in fixed] == ["needs-dedicated-ipv4"]


def test_dockerfile_unusable_needs_a_build_that_looks_for_a_missing_dockerfile(tmp_path):
    missing, _ = lint_path(write(tmp_path, GOOD, dockerfile=None))
    assert [(str(f.code), f.key) for f in missing] == [NEEDS[::2], ("dockerfile-unusable", "build.dockerfile")]
    image, _ = lint_path(write(tmp_path, GOOD + '[build]\n  image = "registry.fly.io/hello:1"\n', dockerfile=None))
    assert [str(f.code) for f in image] == ["needs-dedicated-ipv4"]  # an image: no Dockerfile to find
    present, _ = lint_path(write(tmp_path, GOOD))
    assert [str(f.code) for f in present] == ["needs-dedicated-ipv4"]
