"""A working deployment behind a lossy, slow path: how often is it ``ok``?

Builds the edge tier's lab (``netlab``, as root) with loss on both directions of the
lossy link and a one-way delay, then runs ``python -m tcpreach probe lossy.fly.dev``
from the client namespace, DNS through the same lossy path, N times with the default
settings and N times with ``--retries 0`` as the reference, and prints the share of
``ok`` runs and the median time to a verdict for each.

    python -m bench.loss                      # 100 runs each, 20% loss, 200 ms
    python -m bench.loss --runs 20 --loss 0.1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench import save
from netlab.lab import LOSSY_DNS_V4, EdgeLab, lab_problem


def run_once(lab: EdgeLab, extra: Sequence[str]) -> tuple[bool, float, int]:
    """(every target ok and exit 0, seconds to the verdict, attempts summed over targets)."""
    start = time.monotonic()
    done = lab.client_python("-m", "tcpreach", "probe", "lossy.fly.dev", "--resolver", LOSSY_DNS_V4, "--json", *extra)
    elapsed = time.monotonic() - start
    doc = json.loads(done.stdout)
    attempts = sum(t["attempts"] for t in doc["targets"])
    if done.returncode != 0:  # say what failed: DNS, or which verdict after how many attempts
        dns = ", ".join(f"{a['type']} {a['status']}" for a in doc["dns"])
        seen = ", ".join(f"{t['address']} {t['verdict']} ({t['attempts']} attempts)" for t in doc["targets"])
        print(f"  failed: DNS {dns}; {seen or 'no target'}", file=sys.stderr, flush=True)
    return done.returncode == 0, elapsed, attempts


def measure(runs: int, loss: float, delay: float) -> dict[str, Any]:
    results: dict[str, Any] = {"runs": runs, "loss": loss, "delay_s": delay}
    with EdgeLab(loss=loss, delay=delay, seed=1) as lab:
        for label, extra in (("default", []), ("no-retries", ["--retries", "0"])):
            oks, times, attempts = 0, [], 0
            for _ in range(runs):
                ok, elapsed, tried = run_once(lab, extra)
                oks += ok
                times.append(elapsed)
                attempts += tried
            results[label] = {
                "ok": oks,
                "median_s": round(statistics.median(times), 2),
                "max_s": round(max(times), 2),
                "attempts_per_target": round(attempts / (2 * runs), 2),
            }
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loss", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--loss", type=float, default=0.2, help="share of packets lost, each direction")
    parser.add_argument("--delay", type=float, default=0.2, help="one-way delay in seconds, each direction")
    args = parser.parse_args(argv)
    problem = lab_problem()
    if problem is not None:
        print(f"bench.loss: {problem}", file=sys.stderr)
        return 2
    results = measure(args.runs, args.loss, args.delay)
    save("loss", results)
    print(f"lossy path: {args.loss:.0%} loss each way, {args.delay * 1000:.0f} ms each way, {args.runs} runs each")
    print("| settings | ok | median time to verdict | slowest | probes per target |")
    print("|---|---|---|---|---|")
    for label in ("default", "no-retries"):
        r = results[label]
        print(
            f"| {label} | {r['ok']} of {args.runs} | {r['median_s']} s | {r['max_s']} s | {r['attempts_per_target']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
