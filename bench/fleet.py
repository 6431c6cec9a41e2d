"""A fleet at once: ``python -m bench.fleet`` (root).

In a network namespace of its own (``unshare --net``: loopback up, IPv6 addresses on a
veth pair whose two ends are both there, no route anywhere else), 5,000 names through the stub DNS, each with an
A and an AAAA record: 10,000 targets, 10% silent (a listener that accepts and never
writes), 5% refused, the rest the hello server. Each engine runs in a process of its own,
so its peak memory is its own:

- ``threads``: the engine before this one, rebuilt here: a thread per target, 64 at
  once, retries one after another with backoff;
- ``hedged``: ``tcpreach.engine``, every attempt on one event loop, hedged.

Printed per engine and retry count: the time from the first probe to the last verdict
in probe timeouts (the goal: at most 1.5), the longest a silent target took from its first
attempt to its verdict (with hedges the floor is 1.45: the last one starts by 0.45 of the
timeout), the CPU time the engine's process spent per target, the DNS time apart, the peak
RSS (goal: at most 200 MB) and the most file descriptors open at once. Then two rows of the scenarios the
issue names: one host with 8 addresses, one silent (the peers' scenario), and 100 hosts,
5 of them silent, as the pytest plugin probes them.

    python -m bench.fleet                  # 5,000 names, the default probe timeout (3 s)
    python -m bench.fleet --names 500 --timeout 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import save
from bench.namespace import prepare, run_inside

ROOT = Path(__file__).resolve().parents[1]
V4 = {"ok": "127.0.0.2", "refused": "127.0.0.3", "silent": "127.0.0.4"}
V6 = {"ok": "fd00:f1ee::2", "refused": "fd00:f1ee::3", "silent": "fd00:f1ee::4"}
PORT = 1848


def kind_of(n: int) -> str:
    """10% silent, 5% refused, the rest ok."""
    return "silent" if n % 20 < 2 else "refused" if n % 20 == 2 else "ok"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class PeakFds:
    """The most descriptors this process had open, sampled every 10 ms."""

    def __init__(self) -> None:
        self.peak = _fds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _fds())

    def __enter__(self) -> PeakFds:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _threads_engine(jobs: Sequence[Any]) -> list[Any]:
    """The engine before ``tcpreach.engine``: a thread per target (64 at once), each
    retrying one attempt after another with exponential backoff and jitter."""
    from tcpreach.judging.verdict import judge
    from tcpreach.model import Verdict
    from tcpreach.net.probe import probe

    def one(job: Any) -> Any:
        attempt = 0
        while True:
            attempt += 1
            observed = probe(job.target, job.options)
            outcome = judge(observed, job.options.expectation)
            if observed.no_route or attempt > job.options.retries or outcome.verdict is Verdict.OK:
                return outcome
            time.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5))

    with ThreadPoolExecutor(max_workers=64) as pool:
        return list(pool.map(one, jobs))


def measure(engine: str, resolver: str, names: int, timeout: float, retries: int) -> dict[str, Any]:
    """One engine over the fleet, in this process: DNS, then every target."""
    from tcpreach.check import resolve_all
    from tcpreach.engine import Job, probe_jobs
    from tcpreach.judging.targets import targets_of
    from tcpreach.options import CheckOptions
    from tcpreach.settings.inputs import parse_resolver

    options = CheckOptions(port=PORT, resolver=parse_resolver(resolver), timeout=timeout, retries=retries)
    with PeakFds() as fds:
        start = time.monotonic()
        resolutions = resolve_all([(f"host-{n}.fleet.test", options) for n in range(names)])
        dns_s = time.monotonic() - start
        jobs = [Job(t, options) for r in resolutions for t in targets_of(r, PORT, options.families)]
        start, cpu = time.monotonic(), _cpu_s()
        outcomes = probe_jobs(jobs) if engine == "hedged" else _threads_engine(jobs)
        probe_s, cpu = time.monotonic() - start, _cpu_s() - cpu
    silent = [o for o in outcomes if str(o.verdict) == "silent"]
    verdicts: dict[str, int] = {}
    for outcome in outcomes:
        verdicts[str(outcome.verdict)] = verdicts.get(str(outcome.verdict), 0) + 1
    return {
        "engine": engine,
        "retries": retries,
        "targets": len(jobs),
        "verdicts": verdicts,
        "dns_s": round(dns_s, 2),
        "to_last_verdict_s": round(probe_s, 2),
        "timeouts": round(probe_s / timeout, 2),
        # a silent target's own time, from its first attempt's slot (the thread engine keeps no such time)
        "silent_own_timeouts": round(max(o.result.elapsed_s or 0 for o in silent) / timeout, 2)
        if silent and engine == "hedged"
        else None,
        "cpu_ms_per_target": round(1000 * cpu / len(jobs), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_fds": fds.peak,
    }


def scenarios(timeout: float) -> list[dict[str, Any]]:
    """The peers' scenario (8 addresses, one silent) and 100 hosts with 5 silent, default
    retries, each in probe timeouts."""
    from server import HelloServer
    from tcpreach.check import check_host, check_hosts
    from tcpreach.model import Family
    from tcpreach.options import CheckOptions
    from tcpreach.testing.standins import Behaviour, StandIn
    from tcpreach.testing.stub_dns import StubDNS

    rows = []
    with ExitStack() as stack:
        silent = stack.enter_context(StandIn(Behaviour.SILENT, host="127.0.2.1"))
        port = silent.port
        eight = ["127.0.2.1", *(f"127.0.2.{n}" for n in range(2, 9))]
        for address in eight[1:]:
            stack.enter_context(HelloServer(host=address, port=port))
        zone = {"eight.fleet.test": {"A": eight}}
        zone |= {f"site-{n}.fleet.test": {"A": [eight[0] if n < 5 else eight[1 + n % 7]]} for n in range(100)}
        dns = stack.enter_context(StubDNS(zone))
        options = CheckOptions(port=port, resolver=dns.address, timeout=timeout, families=(Family.IPV4,))
        start = time.monotonic()
        report = check_host("eight.fleet.test", options)
        rows.append({"scenario": "8 addresses, one silent", "timeouts": round((time.monotonic() - start) / timeout, 2),
                     "verdicts": sorted(str(o.verdict) for o in report.outcomes)})  # fmt: skip
        start = time.monotonic()
        reports = check_hosts([(f"site-{n}.fleet.test", options) for n in range(100)])
        rows.append({"scenario": "100 hosts, 5 silent (DNS included)",
                     "timeouts": round((time.monotonic() - start) / timeout, 2),
                     "verdicts": sorted({str(o.verdict) for r in reports for o in r.outcomes})})  # fmt: skip
        rows.append(_remote_suite(dns.spec, port, timeout))
    return rows


def _remote_suite(resolver: str, port: int, timeout: float) -> dict[str, Any]:
    """``pytest -m remote`` over the same 100 hosts: its probing part (from the first report's
    start to the last verdict), from the reports it writes."""
    from tcpreach.report.document import load_reports

    with tempfile.TemporaryDirectory() as scratch:
        written = Path(scratch) / "run.json"
        hosts = [arg for n in range(100) for arg in ("--tcpreach-host", f"site-{n}.fleet.test")]
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "remote", *hosts,
             "--tcpreach-resolver", resolver, "--tcpreach-port", str(port), "--tcpreach-probe-timeout", str(timeout),
             "--tcpreach-family", "4", "--tcpreach-json", str(written), "tests/remote"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        reports = load_reports(json.loads(written.read_text()))
    starts = [r.started_at.timestamp() for r in reports if r.started_at is not None]
    ends = [r.started_at.timestamp() + o.result.to_verdict_s for r in reports if r.started_at for o in r.outcomes]
    return {"scenario": "pytest -m remote, 100 hosts, 5 silent: the probing part",
            "timeouts": round((max(ends) - min(starts)) / timeout, 2),
            "verdicts": sorted({str(o.verdict) for r in reports for o in r.outcomes})}  # fmt: skip


def inside(names: int, timeout: float) -> dict[str, Any]:
    """In the namespace: the servers, the stub DNS, then each engine in a child process."""
    from server import HelloServer
    from tcpreach.testing.standins import Behaviour, StandIn
    from tcpreach.testing.stub_dns import StubDNS

    prepare(V6.values())
    zone = {f"host-{n}.fleet.test": {"A": [V4[kind_of(n)]], "AAAA": [V6[kind_of(n)]]} for n in range(names)}
    with ExitStack() as stack:
        for family in (V4, V6):
            stack.enter_context(HelloServer(host=family["ok"], port=PORT))
            stack.enter_context(StandIn(Behaviour.SILENT, host=family["silent"], port=PORT, backlog=65535))
        dns = stack.enter_context(StubDNS(zone))
        rows = []
        for engine, retries in (("threads", 0), ("hedged", 0), ("threads", 2), ("hedged", 2)):
            done = subprocess.run(
                [sys.executable, "-m", "bench.fleet", "--measure", engine, "--resolver", dns.spec,
                 "--names", str(names), "--timeout", str(timeout), "--retries", str(retries)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows.append(json.loads(done.stdout))
            print(f"  {engine} retries {retries}: {rows[-1]['timeouts']} timeouts", file=sys.stderr, flush=True)
        return {"names": names, "timeout_s": timeout, "engines": rows, "scenarios": scenarios(timeout)}


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['names']} names, {result['engines'][0]['targets']} targets (10% silent, 5% refused), "
        f"probe timeout {result['timeout_s']:g} s",
        "| engine | retries | to the last verdict | in probe timeouts | a silent target's own | CPU per target "
        "| DNS | peak RSS | peak fds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["engines"]:
        own = "—" if row.get("silent_own_timeouts") is None else row["silent_own_timeouts"]
        lines.append(f"| {row['engine']} | {row['retries']} | {row['to_last_verdict_s']} s | {row['timeouts']} | "
                     f"{own} | {row.get('cpu_ms_per_target', '—')} ms | {row['dns_s']} s | {row['peak_rss_mb']} MB "
                     f"| {row['peak_fds']:,} |")  # fmt: skip
    lines += ["", "| scenario (hedged, retries 2) | in probe timeouts | verdicts |", "| --- | --- | --- |"]
    lines += [f"| {r['scenario']} | {r['timeouts']} | {', '.join(r['verdicts'])} |" for r in result["scenarios"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--measure", choices=["threads", "hedged"], help=argparse.SUPPRESS)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--resolver", help=argparse.SUPPRESS)
    parser.add_argument("--retries", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.resolver, args.names, args.timeout, args.retries)))
        return 0
    if args.inside:
        print(json.dumps(inside(args.names, args.timeout)))
        return 0
    result = run_inside("bench.fleet", ["--names", str(args.names), "--timeout", str(args.timeout)])
    if result is None:
        return 2
    save("fleet", result)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
