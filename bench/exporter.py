"""The exporter under Prometheus-like load: ``python -m bench.exporter`` (root).

In a network namespace of its own (``unshare --net --mount``: loopback only; a
resolv.conf of our own bind-mounted, so a peer that uses the system resolver asks the
stub DNS and nothing else), one name with two addresses (A 127.0.0.1, AAAA ::1) where the
hello server answers on both. 10,000 scrapes, 32 at once over keep-alive connections (and
1,000 one at a time: the cost of a scrape without a queue), of:

- ``tcpreach``: ``python -m tcpreach exporter``, a process of its own;
- ``blackbox``: Debian's ``prometheus-blackbox-exporter`` with a ``tcp`` module expecting
  ``^hello$``, when it is installed.

Printed per exporter and concurrency: scrape latency p50/p99 as a multiple of the probe's
own time (one ``check_host`` of the same name, in-process, median of 200), its RSS at the
start, halfway and at the end, the addresses each scrape probed, and scrapes that failed. Written to
``bench/out/exporter.json``.

    python -m bench.exporter                 # 10,000 scrapes
    python -m bench.exporter --scrapes 2000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import save

ROOT = Path(__file__).resolve().parents[1]
NAME = "hello.bench.test"
CONCURRENCY = 32
TCPREACH, BLACKBOX = ("127.0.0.1", 9848), ("127.0.0.1", 9115)
BLACKBOX_CONFIG = """\
modules:
  hello:
    prober: tcp
    timeout: 3s
    tcp:
      query_response:
        - expect: "^hello$"
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, str]:
    connection.request("GET", path, headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"})
    response = connection.getresponse()
    return response.status, response.read().decode()


def wait_up(address: tuple[str, int]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            connection = http.client.HTTPConnection(*address, timeout=5)
            get(connection, "/metrics")
            connection.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def load(address: tuple[str, int], path: str, scrapes: int, concurrency: int) -> tuple[list[float], int, str]:
    """``scrapes`` GETs, ``concurrency`` at once: latencies, failures, one body."""
    latencies: list[float] = []
    failures = 0
    body = ""
    lock = threading.Lock()
    left = iter(range(scrapes))

    def worker() -> None:
        nonlocal failures, body
        connection = http.client.HTTPConnection(*address, timeout=30)
        while True:
            with lock:
                if next(left, None) is None:
                    break
            started = time.perf_counter()
            try:
                status, text = get(connection, path)
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(*address, timeout=30)
                status, text = 0, ""
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                failures += status != 200
                body = body or text
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures, body


def own_probe_s(resolver: tuple[str, int], port: int) -> float:
    from tcpreach.check import check_host
    from tcpreach.options import CheckOptions

    options = CheckOptions(port=port, resolver=resolver)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        check_host(NAME, options)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def process(command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield child
    finally:
        child.terminate()
        child.wait(timeout=10)


def addresses_probed(body: str, ours: bool) -> str:
    if ours:
        found = sorted({line.split('address="')[1].split('"')[0] for line in body.splitlines()
                        if line.startswith("tcpreach_address_success{")})  # fmt: skip
        return f"{len(found)} of 2 ({', '.join(found)})"
    protocol = next((line.split()[1] for line in body.splitlines() if line.startswith("probe_ip_protocol ")), "?")
    return f"1 of 2 (IPv{protocol} only)"


def measure(
    name: str, child: subprocess.Popen[bytes], address: tuple[str, int], path: str, *, scrapes: int, reference: float
) -> list[dict[str, Any]]:
    """Two rows: one scrape at a time (a tenth of the scrapes), then ``CONCURRENCY`` at once
    in two halves, the RSS read after each half (growth shows as a rise between them)."""
    wait_up(address)
    warm = http.client.HTTPConnection(*address, timeout=30)
    get(warm, path)
    warm.close()
    rows = []
    for concurrency, count in ((1, max(10, scrapes // 10)), (CONCURRENCY, scrapes)):
        start_rss = rss_mb(child.pid)
        first, failed_first, body = load(address, path, count // 2, concurrency)
        half_rss = rss_mb(child.pid)
        second, failed_second, _ = load(address, path, count - count // 2, concurrency)
        cuts = statistics.quantiles(first + second, n=100)
        rows.append({
            "exporter": name, "concurrency": concurrency, "scrapes": count, "failures": failed_first + failed_second,
            "p50_x": cuts[49] / reference, "p99_x": cuts[98] / reference,
            "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000,
            "rss_start_mb": start_rss, "rss_half_mb": half_rss, "rss_end_mb": rss_mb(child.pid),
            "probed": addresses_probed(body, name == "tcpreach"),
        })  # fmt: skip
    return rows


def serve() -> None:
    """The hello server and the stub DNS, in a process of their own (so the load's threads
    do not slow their answers), until stdin closes."""
    from server import HelloServer
    from tcpreach.testing.stub_dns import StubDNS

    with HelloServer(host="::", port=1848), StubDNS({NAME: {"A": ["127.0.0.1"], "AAAA": ["::1"]}}, port=53):
        print("ready", flush=True)
        sys.stdin.read()


def inside(scrapes: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-exporter-"))
    results = []
    servers = subprocess.Popen([sys.executable, "-m", "bench.exporter", "--serve"], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert servers.stdout is not None and servers.stdout.readline() == "ready\n"
        reference = own_probe_s(("127.0.0.1", 53), 1848)
        config = folder / "exporter.toml"
        config.write_text(
            f'[allow]\nhosts = ["{NAME}"]\nnetworks = ["127.0.0.0/8", "::1/128"]\n'
            '[modules.hello]\nport = 1848\nresolver = "127.0.0.1:53"\n'
        )
        listen = f"{TCPREACH[0]}:{TCPREACH[1]}"
        command = [sys.executable, "-m", "tcpreach", "exporter", "--config", str(config), "--listen", listen]
        path = f"/probe?target={NAME}&module=hello"
        with process(command) as child:
            results.extend(measure("tcpreach", child, TCPREACH, path, scrapes=scrapes, reference=reference))
        blackbox = shutil.which("prometheus-blackbox-exporter")
        if blackbox is not None:
            (folder / "blackbox.yml").write_text(BLACKBOX_CONFIG)
            command = [blackbox, f"--config.file={folder / 'blackbox.yml'}",
                       f"--web.listen-address={BLACKBOX[0]}:{BLACKBOX[1]}"]  # fmt: skip
            with process(command) as child:
                bb_path = f"/probe?target={NAME}:1848&module=hello"
                results.extend(measure("blackbox", child, BLACKBOX, bb_path, scrapes=scrapes, reference=reference))
    finally:
        servers.communicate("")
    return {"reference_ms": reference * 1000, "results": results}


def table(result: dict[str, Any]) -> str:
    lines = [
        f"scrapes of one name with two addresses; the probe's own time (check_host in-process, median of 200) "
        f"{result['reference_ms']:.2f} ms; latency as a multiple of it",
        f"{'EXPORTER':10} {'AT ONCE':>7} {'SCRAPES':>7} {'FAILED':>6} {'p50':>7} {'p99':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'RSS start/half/end MB':>22}  ADDRESSES PROBED",
    ]
    for r in result["results"]:
        rss = f"{r['rss_start_mb']:.1f}/{r['rss_half_mb']:.1f}/{r['rss_end_mb']:.1f}"
        lines.append(
            f"{r['exporter']:10} {r['concurrency']:>7} {r['scrapes']:>7} {r['failures']:>6} {r['p50_x']:>6.1f}x "
            f"{r['p99_x']:>6.1f}x {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {rss:>22}  {r['probed']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exporter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scrapes", type=int, default=10_000)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.inside:
        print(json.dumps(inside(args.scrapes)))
        return 0
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("bench.exporter needs root and unshare(1): it builds a network namespace of its own", file=sys.stderr)
        return 2
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as resolv:
        resolv.write("nameserver 127.0.0.1\noptions attempts:1\n")
        resolv.flush()
        os.chmod(resolv.name, 0o644)
        script = (f'mount --bind {resolv.name} /etc/resolv.conf && ip link set lo up && '
                  f'exec "{sys.executable}" -m bench.exporter --inside --scrapes {args.scrapes}')  # fmt: skip
        done = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", script], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, check=True)  # fmt: skip
    result = json.loads(done.stdout)
    save("exporter", result)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
