"""Debian's real Prometheus scraping the exporter with the example scrape configuration
(examples/prometheus.yml), on loopback, against the stub-DNS rehearsal of Fly's
shared-IPv4 trap and of a healthy dual-stack name; and promtool on the examples.

Only the exporter's address and the intervals of the example are changed for the test.
Without Debian's prometheus the tier skips locally and fails under CI=true.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from server import HelloServer
from tcpreach.exporter.config import load_exporter_config
from tcpreach.exporter.server import ExporterServer, serve_until
from tcpreach.exporter.service import ExporterService
from tcpreach.testing.standins import Behaviour, StandIn
from tcpreach.testing.stub_dns import StubDNS

pytestmark = pytest.mark.edge

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EDGE, DEDICATED = "127.0.0.2", "127.0.0.3"


@pytest.fixture(scope="module")
def tool(edge_unavailable):
    """``tool(name)``: the path of one of Debian's prometheus package's programs."""

    def find(name: str) -> str:
        found = shutil.which(name)
        if found is None:
            edge_unavailable(f"needs {name} from Debian's prometheus package (netlab/install.sh installs it as root)")
        return str(found)

    return find


def test_promtool_accepts_the_example_scrape_configuration(tool):
    done = subprocess.run([tool("promtool"), "check", "config", "prometheus.yml"], check=False, cwd=EXAMPLES,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert done.stdout.splitlines() == [
        "Checking prometheus.yml",
        "  SUCCESS: 1 rule files found",
        " SUCCESS: prometheus.yml is valid prometheus config file syntax",
        "",
        "Checking alerts.yml",
        "  SUCCESS: 6 rules found",
        "",
    ]


def test_the_example_alerts_pass_their_unit_tests(tool):
    # shared IPv4 fires after its 5 minutes; not for a healthy name nor an app down everywhere
    done = subprocess.run([tool("promtool"), "test", "rules", "alerts.test.yml"], check=False, cwd=EXAMPLES,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout.split()) == (0, ["Unit", "Testing:", "alerts.test.yml", "SUCCESS"]), (
        done.stdout + done.stderr
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def exporter(tmp_path_factory) -> Iterator[str]:
    """The exporter (in this process) over the rehearsal; its host:port."""
    folder = tmp_path_factory.mktemp("exporter")
    with (
        HelloServer(host="::1", port=0) as app,
        StandIn(Behaviour.CLOSE, host=EDGE, port=app.port),
        StandIn(Behaviour.HELLO, host=DEDICATED, port=app.port),
        StubDNS({
            "hello-server.fly.dev": {"A": [EDGE], "AAAA": ["::1"]},
            "dedicated.fly.dev": {"A": [DEDICATED], "AAAA": ["::1"]},
        }) as dns,
    ):  # fmt: skip
        config = folder / "exporter.toml"
        config.write_text(
            f'[allow]\nhosts = ["*.fly.dev"]\nnetworks = ["127.0.0.0/8", "::1/128"]  # the rehearsal is on loopback\n'
            f'[modules.hello]\nport = {app.port}\nresolver = "{dns.spec}"\n'
        )
        server = ExporterServer(ExporterService(load_exporter_config(config)), "127.0.0.1", 0)
        stop = threading.Event()
        thread = threading.Thread(target=serve_until, args=(server, stop))
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_address[1]}"
        finally:
            stop.set()
            thread.join()


def scrape_config(exporter: str) -> str:
    """The example, pointed at this exporter, scraping every 2 s, with the healthy name too."""
    text = (EXAMPLES / "prometheus.yml").read_text()
    for vantage in ("fra", "ord"):
        text = text.replace(f"{vantage}.hello-probe.internal:9848", exporter)
    text = text.replace("targets: [hello-server.fly.dev]", "targets: [hello-server.fly.dev, dedicated.fly.dev]")
    return text.replace("scrape_interval: 30s", "scrape_interval: 2s").replace(
        "scrape_timeout: 10s", "scrape_timeout: 2s"
    )


@pytest.fixture(scope="module")
def prometheus(exporter, tool, tmp_path_factory) -> Iterator[tuple[str, int]]:
    binary = tool("prometheus")
    folder = tmp_path_factory.mktemp("prometheus")
    (folder / "prometheus.yml").write_text(scrape_config(exporter))
    shutil.copy(EXAMPLES / "alerts.yml", folder / "alerts.yml")
    port = free_port()
    log = (folder / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder,
    )  # fmt: skip
    try:
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def query(prometheus: tuple[str, int], promql: str) -> list[dict]:
    connection = http.client.HTTPConnection(*prometheus, timeout=10)
    try:
        connection.request("GET", "/api/v1/query?" + urlencode({"query": promql}))
        answer = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def series(prometheus, promql: str, *labels: str, wanted: int) -> dict[tuple[str, ...], float]:
    """The query's series by ``labels`` once ``wanted`` of them are there (scrapes take time)."""
    deadline = time.monotonic() + 90
    while True:
        try:
            found = {tuple(r["metric"][k] for k in labels): float(r["value"][1]) for r in query(prometheus, promql)}
        except (ConnectionError, OSError):
            found = {}
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_prometheus_sees_the_shared_ipv4_fail_and_ipv6_answer_from_each_vantage(prometheus):
    found = series(prometheus, "tcpreach_address_success", "instance", "vantage", "family", wanted=8)
    assert found == {
        ("hello-server.fly.dev", "fra", "ipv4"): 0, ("hello-server.fly.dev", "fra", "ipv6"): 1,
        ("hello-server.fly.dev", "ord", "ipv4"): 0, ("hello-server.fly.dev", "ord", "ipv6"): 1,
        ("dedicated.fly.dev", "fra", "ipv4"): 1, ("dedicated.fly.dev", "fra", "ipv6"): 1,
        ("dedicated.fly.dev", "ord", "ipv4"): 1, ("dedicated.fly.dev", "ord", "ipv6"): 1,
    }  # fmt: skip


def test_prometheus_holds_the_finding_for_the_trap_alone(prometheus):
    found = series(prometheus, 'tcpreach_finding{severity="error"}', "instance", "vantage", "code", wanted=2)
    assert found == {("hello-server.fly.dev", "fra", "fly-shared-ipv4"): 1,
                     ("hello-server.fly.dev", "ord", "fly-shared-ipv4"): 1}  # fmt: skip
    success = series(prometheus, "probe_success", "instance", "vantage", wanted=4)
    assert success == {("hello-server.fly.dev", "fra"): 0, ("hello-server.fly.dev", "ord"): 0,
                       ("dedicated.fly.dev", "fra"): 1, ("dedicated.fly.dev", "ord"): 1}  # fmt: skip


def test_prometheus_scrapes_the_exporters_own_metrics(prometheus):
    up = series(prometheus, "up", "job", "vantage", wanted=4)
    assert up == {("tcpreach_hello_fra", "fra"): 1, ("tcpreach_hello_ord", "ord"): 1, ("tcpreach_exporter", "fra"): 1,
                  ("tcpreach_exporter", "ord"): 1}  # fmt: skip
