"""The exporter over HTTP on loopback, against a stub-DNS rehearsal of Fly: the shared-IPv4
trap and a healthy name as Prometheus would scrape them, a scrape deadline shorter than
the module's timeout, a full exporter, and the command's life (start, SIGTERM, SIGINT, a
broken configuration)."""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from server import HelloServer
from tcpreach.exporter.config import load_exporter_config
from tcpreach.exporter.server import ExporterServer, serve_until
from tcpreach.exporter.service import ExporterService
from tcpreach.testing.standins import Behaviour, StandIn
from tcpreach.testing.stub_dns import StubDNS

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
EDGE, DEDICATED, SILENT = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def config_text(port: int, resolver: str, max_concurrent: int = 32, hello_timeout: float = 2) -> str:
    return f"""
max_concurrent = {max_concurrent}
[allow]
hosts = ["*.fly.dev"]
networks = ["127.0.0.0/8", "::1/128"]  # the rehearsal's names point at loopback
[modules.hello]
port = {port}
resolver = "{resolver}"
retries = 0
probe_timeout = {hello_timeout}
[modules.slow]
port = {port}
resolver = "{resolver}"
retries = 0
probe_timeout = 10
"""


@pytest.fixture(scope="module")
def fly() -> Iterator[dict[str, object]]:
    with (
        HelloServer(host="::1", port=0) as app,
        StandIn(Behaviour.CLOSE, host=EDGE, port=app.port),
        StandIn(Behaviour.HELLO, host=DEDICATED, port=app.port),
        StandIn(Behaviour.SILENT, host=SILENT, port=app.port) as silent,
        StubDNS(
            {
                "hello-server.fly.dev": {"A": [EDGE], "AAAA": ["::1"]},
                "dedicated.fly.dev": {"A": [DEDICATED], "AAAA": ["::1"]},
                "silent.fly.dev": {"A": [SILENT]},
                "metadata.fly.dev": {"A": ["169.254.169.254"]},
            }
        ) as dns,
    ):
        yield {"port": app.port, "resolver": dns.spec, "silent": silent}


def start(tmp_path: Path, text: str) -> tuple[ExporterServer, threading.Event, threading.Thread]:
    path = tmp_path / "exporter.toml"
    path.write_text(text)
    server = ExporterServer(ExporterService(load_exporter_config(path)), "127.0.0.1", 0)
    stop = threading.Event()
    thread = threading.Thread(target=serve_until, args=(server, stop))
    thread.start()
    return server, stop, thread


@pytest.fixture(scope="module")
def exporter(fly, tmp_path_factory) -> Iterator[ExporterServer]:
    server, stop, thread = start(tmp_path_factory.mktemp("exporter"), config_text(fly["port"], fly["resolver"]))
    yield server
    stop.set()
    thread.join()


def get(server_address: tuple[str, int], path: str, headers: dict[str, str] | None = None):
    """GET over a plain connection (no proxy from the environment: loopback only)."""
    connection = http.client.HTTPConnection(*server_address[:2], timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode()
    finally:
        connection.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def by_address(found, name):
    return {dict(labels)["address"]: value for (n, labels), value in found.items() if n == name}


def wait_for_a_probe_in_flight(address: tuple[str, int], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while samples(get(address, "/metrics")[2])[("tcpreach_exporter_probes_in_flight", ())] < 1:
        assert time.monotonic() < deadline, "the probe never started"
        time.sleep(0.01)


def findings(found):
    return {dict(labels)["code"]: value for (n, labels), value in found.items() if n == "tcpreach_finding"}


def test_the_shared_ipv4_trap_scraped(exporter):
    status, kind, body = get(exporter.server_address, "/probe?target=hello-server.fly.dev&module=hello")
    found = samples(body)
    assert (status, kind) == (200, CONTENT_TYPE_LATEST)
    assert found[("probe_success", ())] == 0
    assert by_address(found, "tcpreach_address_success") == {EDGE: 0, "::1": 1}
    assert findings(found) == {"fly-shared-ipv4": 1}
    assert found[("tcpreach_dns_answers", (("type", "A"),))] == 1


def test_a_healthy_name_scraped(exporter):
    status, _, body = get(exporter.server_address, "/probe?target=dedicated.fly.dev&module=hello")
    found = samples(body)
    assert (status, found[("probe_success", ())]) == (200, 1)
    assert by_address(found, "tcpreach_address_success") == {DEDICATED: 1, "::1": 1}
    assert findings(found) == {"all-ok": 1}


def test_a_scrape_timeout_shorter_than_the_probe_timeout_bounds_the_probe(exporter):
    # 2 s from Prometheus, 0.5 s kept: 1.5 s; DNS 30% of it (0.45 s), the target the rest over 2 (no retries)
    # (less the moment the request waited since it arrived)
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": "2"}
    status, _, body = get(exporter.server_address, "/probe?target=silent.fly.dev&module=slow", headers)
    found = samples(body)
    assert status == 200
    assert (found[("tcpreach_probe_timeout_seconds", ())], found[("tcpreach_probe_deadline_seconds", ())]) == (
        pytest.approx(1.05 / 2.0, abs=0.01), 1.5)  # fmt: skip
    silent = {dict(labels)["verdict"] for (n, labels), v in found.items() if n == "tcpreach_address_verdict" and v}
    assert silent == {"silent"}
    assert found[("probe_duration_seconds", ())] < 1.5  # within the deadline (the probe's own record)


def test_a_name_resolving_to_a_metadata_address_is_refused(exporter):
    status, _, body = get(exporter.server_address, "/probe?target=metadata.fly.dev&module=hello")
    assert (status, body) == (
        403,
        "metadata.fly.dev resolves to 169.254.169.254 is a link-local address (cloud metadata lives there): never "
        "probed unless allow.networks lists it (169.254.0.0/16 or inside it)\n",
    )


def test_debug_shows_the_report_then_the_series(exporter):
    status, kind, body = get(exporter.server_address, "/probe?target=hello-server.fly.dev&module=hello&debug=true")
    assert (status, kind) == (200, "text/plain; charset=utf-8")
    report, series = body.split("\n\n# HELP ", 1)
    assert report.splitlines()[0].startswith("hello-server.fly.dev")
    assert "fly-shared-ipv4" in report
    assert samples("# HELP " + series)[("probe_success", ())] == 0
    # the transcript of every address, from the events kept for it (a time on each)
    wire = report.split("transcript:\n", 1)[1].splitlines()
    port = exporter_port(series)
    assert [line.split(": attempt")[0].strip() for line in wire] == [f"{EDGE}:{port} closed-without-data",
                                                                     f"[::1]:{port} ok"]  # fmt: skip
    assert "received 'hello\\n' at " in wire[1] and "received nothing" in wire[0]


def exporter_port(series: str) -> str:
    """The port the probed addresses were on, as the series label them."""
    return next(dict(labels)["port"] for (name, labels), _ in samples("# HELP " + series).items()
                if name == "tcpreach_address_success")  # fmt: skip


def test_the_status_page_lists_the_last_probes(exporter):
    get(exporter.server_address, "/probe?target=dedicated.fly.dev&module=hello")
    status, _, page = get(exporter.server_address, "/")
    assert status == 200
    assert f"<td>dedicated.fly.dev</td><td>ok</td><td>{DEDICATED} ok<br>::1 ok</td>" in page


def test_a_full_exporter_answers_503_while_its_probes_run(fly, tmp_path):
    server, stop, thread = start(
        tmp_path, config_text(fly["port"], fly["resolver"], max_concurrent=1, hello_timeout=0.5)
    )
    try:
        first = threading.Thread(target=get, args=(server.server_address, "/probe?target=silent.fly.dev&module=hello"))
        first.start()
        deadline = time.monotonic() + 10
        while samples(get(server.server_address, "/metrics")[2])[("tcpreach_exporter_probes_in_flight", ())] < 1:
            assert time.monotonic() < deadline, "the first probe never started"
            time.sleep(0.01)
        status, _, body = get(server.server_address, "/probe?target=dedicated.fly.dev&module=hello")
        assert (status, body) == (503, "busy: 1 probes are running (max_concurrent); try again later\n")
        connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
        connection.request("GET", "/probe?target=dedicated.fly.dev&module=hello")
        assert connection.getresponse().getheader("Retry-After") == "1"
        connection.close()
        first.join()
        assert get(server.server_address, "/probe?target=dedicated.fly.dev&module=hello")[0] == 200
    finally:
        stop.set()
        thread.join()


def run_exporter(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "tcpreach", "exporter", "--config", str(config), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )  # fmt: skip


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_command_serves_until_a_signal_ends_it(fly, tmp_path, signum):
    path = tmp_path / "exporter.toml"
    path.write_text(config_text(fly["port"], fly["resolver"]))
    process = run_exporter(path)
    try:
        first = process.stdout.readline()
        assert first.startswith("tcpreach exporter on http://127.0.0.1:"), first + process.stderr.read()
        port = int(first.split("http://127.0.0.1:")[1].split()[0])
        assert get(("127.0.0.1", port), "/probe?target=dedicated.fly.dev&module=hello")[0] == 200
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert (process.returncode, out, err) == (0, "tcpreach exporter stopped\n", "")


def test_a_broken_configuration_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "exporter.toml"
    path.write_text("[modules.hello]\nport = 1848\nexpect_regx = '^hello'\n")
    process = run_exporter(path)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out, err) == (
        2, "", f"python -m tcpreach exporter: error: {path}:3: 'expect_regx' is not a setting: did you mean "
               "'expect_regex'? (see --help)\n",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("request_bytes", "status_line"),
    [
        (b"GARBAGE / HTTP/1.1\r\n\r\n", b"HTTP/1.0 400 Bad Request"),
        (b"GET / HTTP/9.9\r\n\r\n", b"HTTP/1.0 400 Bad Request"),  # a status line all the same
        (b"GET /" + b"x" * 70000 + b" HTTP/1.1\r\n\r\n", b"HTTP/1.0 400 Bad Request"),
        (b"POST /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed"),
        (
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(32) + b" / HTTP/1.1\r\n\r\n",
            b"HTTP/1.0 400 Bad Request",
        ),
    ],
    ids=["unknown-method", "http-9.9", "long-line", "post", "tls-client-hello"],
)
def test_a_broken_request_gets_a_status_line_and_the_exporter_serves_on(exporter, request_bytes, status_line, caplog):
    import socket

    with caplog.at_level(logging.DEBUG), socket.create_connection(exporter.server_address[:2], timeout=10) as raw:
        raw.sendall(request_bytes)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and status_line.startswith(b"HTTP/1.1"):
                break
    assert answer.split(b"\r\n", 1)[0] == status_line, answer
    assert get(exporter.server_address, "/metrics")[0] == 200
    loud = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.levelno > logging.DEBUG or r.exc_info]
    assert loud == []  # what a client does is a debug line at most, never a traceback


def test_a_signal_during_a_probe_does_not_wait_for_it(fly, tmp_path):
    # The module's probe of a silent address takes 10 s; the exporter must end long before.
    path = tmp_path / "exporter.toml"
    path.write_text(config_text(fly["port"], fly["resolver"]))
    process = run_exporter(path)
    try:
        port = int(process.stdout.readline().split("http://127.0.0.1:")[1].split()[0])

        def scrape() -> None:
            with contextlib.suppress(OSError, http.client.HTTPException):  # the exporter stops under it
                get(("127.0.0.1", port), "/probe?target=silent.fly.dev&module=slow")

        waiting = threading.Thread(target=scrape, daemon=True)
        waiting.start()
        wait_for_a_probe_in_flight(("127.0.0.1", port))
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=5)  # the probe alone would take 10 s
    finally:
        process.kill()
    assert (process.returncode, out, err) == (0, "tcpreach exporter stopped\n", "")


def test_scrapes_at_once_are_probed_at_once_each_within_its_own_deadline(fly, tmp_path):
    # 16 scrapes of a silent address, 3 s each from Prometheus: every probe is in flight
    # (its connection accepted) before any answers, and each ends within its own deadline.
    server, stop, thread = start(tmp_path, config_text(fly["port"], fly["resolver"]))
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": "3"}
    answers: list[tuple[int, str | None, str]] = []
    silent = fly["silent"]
    before = silent.accepted
    path = "/probe?target=silent.fly.dev&module=slow"
    scrapes = [threading.Thread(target=lambda: answers.append(get(server.server_address, path, headers)))
               for _ in range(16)]  # fmt: skip
    try:
        for scrape in scrapes:
            scrape.start()
        deadline = time.monotonic() + 10
        while silent.accepted - before < 16 and time.monotonic() < deadline:
            time.sleep(0.01)
        in_flight_when_all_accepted = (silent.accepted - before, len(answers))
        for scrape in scrapes:
            scrape.join(30)
    finally:
        stop.set()
        thread.join()
    assert in_flight_when_all_accepted == (16, 0)
    found = [samples(body) for _, _, body in answers]
    assert [status for status, _, _ in answers] == [200] * 16
    assert {(f[("probe_success", ())], f[("tcpreach_probe_deadline_seconds", ())]) for f in found} == {(0, 2.5)}
    assert all(f[("probe_duration_seconds", ())] <= 2.5 for f in found)


def test_sigterm_with_a_scrape_waiting_on_dns_ends_at_once_and_quietly(fly, tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dead:  # a resolver that never answers
        dead.bind(("127.0.0.1", 0))
        path = tmp_path / "exporter.toml"
        path.write_text(
            config_text(fly["port"], fly["resolver"])
            + f'[modules.dead_dns]\nport = 1\nresolver = "127.0.0.1:{dead.getsockname()[1]}"\ndns_lifetime = 30\n'
        )
        process = run_exporter(path)
        outcome: list[object] = []
        try:
            port = int(process.stdout.readline().split("http://127.0.0.1:")[1].split()[0])

            def scrape() -> None:
                try:
                    outcome.append(get(("127.0.0.1", port), "/probe?target=a.fly.dev&module=dead_dns")[0])
                except (OSError, http.client.HTTPException) as exc:
                    outcome.append(type(exc).__name__)

            waiting = threading.Thread(target=scrape, daemon=True)
            waiting.start()
            wait_for_a_probe_in_flight(("127.0.0.1", port))
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=5)  # DNS alone would wait 30 s
            waiting.join(5)
        finally:
            process.kill()
    assert (process.returncode, out, err) == (0, "tcpreach exporter stopped\n", "")
    assert outcome in (["RemoteDisconnected"], ["ConnectionResetError"])  # closed, never a 500


def test_a_scraper_that_goes_away_cancels_its_probe(fly, tmp_path, caplog):
    import socket

    server, stop, thread = start(tmp_path, config_text(fly["port"], fly["resolver"]))
    try:

        def in_flight() -> float:
            return samples(get(server.server_address, "/metrics")[2])[("tcpreach_exporter_probes_in_flight", ())]

        with caplog.at_level(logging.DEBUG), socket.create_connection(server.server_address[:2], timeout=10) as raw:
            raw.sendall(b"GET /probe?target=silent.fly.dev&module=slow HTTP/1.1\r\nHost: x\r\n\r\n")
            deadline = time.monotonic() + 10
            while in_flight() < 1:
                assert time.monotonic() < deadline, "the probe never started"
                time.sleep(0.01)
        deadline = time.monotonic() + 5  # the probe alone would wait 10 s
        while in_flight() > 0:
            assert time.monotonic() < deadline, "the probe went on without its scraper"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    assert [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG or r.exc_info] == []


def test_without_the_exporter_extra_listen_and_all_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "exporter.toml"
    path.write_text('[allow]\nhosts = ["a.example"]\n[modules.hello]\nport = 1848\n')
    script = (
        "import sys; sys.modules['aiohttp'] = None  # as where the exporter extra is not installed\n"
        "from tcpreach.cli import main\n"
        f"sys.exit(main(['exporter', '--config', {str(path)!r}, '--listen', '127.0.0.1:0']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)  # fmt: skip
    needs = "the exporter needs aiohttp: pip install 'pytest-tcpreach[exporter]'"
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"python -m tcpreach exporter: error: {needs} (see --help)\n")  # fmt: skip


def test_an_address_only_the_systems_lookup_gives_is_held_to_the_same_policy(monkeypatch, tmp_path):
    # a hosts-file entry (getaddrinfo's answer, beside DNS's) for this machine: refused as DNS's answer would be
    # (loopback, not the metadata address: were the policy to fail, nothing may leave the machine)
    import asyncio
    import socket

    from tcpreach.net import resolve

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        monkeypatch.setattr(resolve, "nameservers", lambda server: [quiet.getsockname()])
        monkeypatch.setattr(resolve, "_getaddrinfo", lambda name: (("127.0.0.9",), None))
        path = tmp_path / "exporter.toml"
        path.write_text(
            '[allow]\nhosts = ["*.fly.dev"]\n[modules.hello]\nport = 1848\ndns_lifetime = 0.3\nretries = 0\n'
        )
        service = ExporterService(load_exporter_config(path))
        answer = asyncio.run(service.handle("/probe", "target=hosts-file.fly.dev&module=hello", {}))
    assert (answer.status, answer.body.decode()) == (
        403, "hosts-file.fly.dev resolves to 127.0.0.9 is a loopback address (the exporter's own machine): never "
             "probed unless allow.networks lists it (127.0.0.0/8 or inside it)\n")  # fmt: skip


def test_a_name_with_an_allowed_and_a_forbidden_address_probes_the_allowed_one_and_says_so(fly, tmp_path):
    text = config_text(fly["port"], fly["resolver"]).replace(
        'networks = ["127.0.0.0/8", "::1/128"]', f'networks = ["{DEDICATED}/32"]'
    )
    server, stop, thread = start(tmp_path, text)
    try:
        status, _, body = get(server.server_address, "/probe?target=dedicated.fly.dev&module=hello")
    finally:
        stop.set()
        thread.join()
    found = samples(body)
    assert status == 200
    assert by_address(found, "tcpreach_address_success") == {DEDICATED: 1}  # ::1 was never probed
    refused = {dict(labels)["address"]: (dict(labels)["reason"], v) for (n, labels), v in found.items()
               if n == "tcpreach_address_refused"}  # fmt: skip
    assert refused == {"::1": ("a loopback address (the exporter's own machine)", 1)}
