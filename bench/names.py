"""A fleet of names through the command line, quiet and beside two CPU burners:
``python -m bench.names`` (root).

In a network namespace of its own (``unshare --net``; loopback and a veth pair whose two
ends are both there, no route anywhere else), N names in the stub DNS, each with an A and
an AAAA record: 10% of them silent (a listener that accepts and never writes), 5% refused
(nothing listens), the rest the hello server; 1% of the names are answered after 2 s, and
2% do not exist (NXDOMAIN). ``python -m tcpreach probe --hosts-file ... --timeout 1
--json`` runs once per row, its output read whole: every target's verdict and every
name's DNS status is held against what the fleet is, and any difference is a wrong
verdict. Printed per row: names, targets, wrong verdicts, the time to the last report
against the floor (the slow names' 2 s of DNS, then their probe: a silent address takes up
to ``HEDGE_END`` timeouts), and the command's peak RSS. "busy" rows run beside two
processes that spin on the CPU the whole time.

    python -m bench.names                       # 1,000, 5,000 and 10,000 names
    python -m bench.names --names 1000 50000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench import save
from bench.namespace import prepare, run_inside

ROOT = Path(__file__).resolve().parents[1]
V4 = {"ok": "127.0.0.2", "refused": "127.0.0.3", "silent": "127.0.0.4"}
V6 = {"ok": "fd00:f1ee::2", "refused": "fd00:f1ee::3", "silent": "fd00:f1ee::4"}
PORT = 1848
TIMEOUT = 1.0
SLOW_DNS_S = 2.0
VERDICT = {"ok": "ok", "refused": "refused", "silent": "silent"}


def kind_of(n: int) -> str:
    """10% silent, 5% refused, the rest ok."""
    return "silent" if n % 20 < 2 else "refused" if n % 20 == 2 else "ok"


def is_slow(n: int) -> bool:
    return n % 100 == 7  # 1%, of every kind in turn


def is_missing(n: int) -> bool:
    return n % 50 == 11  # 2%: NXDOMAIN


@contextmanager
def burners(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU while the block runs."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for process in spinning:
            process.kill()
            process.wait()


def wrong_verdicts(doc: dict[str, Any], names: int) -> list[str]:
    """Every report held against the fleet: what differs, one line each."""
    wrong = []
    reports = doc.get("reports", [doc])
    seen = set()
    for report in reports:
        n = int(report["host"].split("-")[1].split(".")[0])
        seen.add(n)
        statuses = sorted(a["status"] for a in report["dns"])
        if is_missing(n):
            if statuses != ["nxdomain", "nxdomain"]:
                wrong.append(f"{report['host']}: DNS {statuses}, expected nxdomain")
            continue
        if statuses != ["ok", "ok"]:
            wrong.append(f"{report['host']}: DNS {statuses}")
        expected = VERDICT[kind_of(n)]
        for target in report["targets"]:
            if target["verdict"] != expected:
                wrong.append(f"{report['host']} {target['address']}: {target['verdict']}, expected {expected}")
    wrong += [f"host-{n}.fleet.test: no report" for n in range(names) if n not in seen]
    return wrong


def run_row(names: int, resolver: str, busy: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        hosts = Path(scratch) / "fleet.txt"
        hosts.write_text("".join(f"host-{n}.fleet.test\n" for n in range(names)))
        command = [sys.executable, "-m", "tcpreach", "probe", "--hosts-file", str(hosts), "--resolver", resolver,
                   "--port", str(PORT), "--timeout", str(TIMEOUT), "--json"]  # fmt: skip
        with ExitStack() as stack:
            if busy:
                stack.enter_context(burners(2))
            start = time.monotonic()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
            elapsed = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    doc = json.loads(done.stdout)
    wrong = wrong_verdicts(doc, names)
    floor = SLOW_DNS_S + 1.2 * TIMEOUT
    targets = sum(len(r["targets"]) for r in doc.get("reports", [doc]))
    return {"names": names, "load": "busy" if busy else "quiet", "targets": targets, "wrong": len(wrong),
            "wrong_sample": wrong[:5], "seconds": round(elapsed, 2), "floor_s": floor,
            "of_floor": round(elapsed / floor, 2), "peak_rss_mb": round(peak, 1), "exit": done.returncode,
            "stderr": done.stderr[-500:]}  # fmt: skip


def inside(sizes: Sequence[int], loads: Sequence[str]) -> list[dict[str, Any]]:
    from server import HelloServer
    from tcpreach.testing.standins import Behaviour, StandIn
    from tcpreach.testing.stub_dns import StubDNS

    prepare(V6.values())
    biggest = max(sizes)
    zone = {
        f"host-{n}.fleet.test": {"A": [V4[kind_of(n)]], "AAAA": [V6[kind_of(n)]]}
        for n in range(biggest)
        if not is_missing(n)
    }
    slow = {f"host-{n}.fleet.test": SLOW_DNS_S for n in range(biggest) if is_slow(n) and not is_missing(n)}
    rows = []
    with ExitStack() as stack:
        for family in (V4, V6):
            stack.enter_context(HelloServer(host=family["ok"], port=PORT))
            stack.enter_context(StandIn(Behaviour.SILENT, host=family["silent"], port=PORT, backlog=65535))
        dns = stack.enter_context(StubDNS(zone, slow=slow))
        for names in sizes:
            for load in loads:
                rows.append(run_row(names, dns.spec, load == "busy"))
                row = rows[-1]
                print(f"  {names} names {load}: {row['seconds']} s ({row['of_floor']} of the floor), "
                      f"{row['wrong']} wrong, {row['peak_rss_mb']} MB", file=sys.stderr, flush=True)  # fmt: skip
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"probe timeout {TIMEOUT:g} s, floor {SLOW_DNS_S + 1.2 * TIMEOUT:g} s (2 s of DNS, then a silent address)",
        "| names | targets | load | wrong verdicts | to the last report | of the floor | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r['names']:,} | {r['targets']:,} | {r['load']} | {r['wrong']} | {r['seconds']} s | {r['of_floor']} "
              f"| {r['peak_rss_mb']} MB |" for r in rows]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.names", description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--loads", nargs="+", choices=["quiet", "busy"], default=["quiet", "busy"])
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        print(json.dumps(inside(args.names, args.loads)))
        return 0
    rows = run_inside("bench.names", ["--names", *map(str, args.names), "--loads", *args.loads])
    if rows is None:
        return 2
    save("names", rows)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
