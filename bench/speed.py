"""How long the suite takes, as a developer runs it: ``python -m bench.speed``.

Runs, in this order and once each (``--repeat N`` for medians): the unit tests, the local
tier with ``-n auto``, and the whole suite with ``-n auto`` as ``make test`` runs it (the
container and edge tiers need root and an engine, as there). Prints wall-clock seconds
beside the goals from issue 13; nothing is asserted: this machine is shared and noisy.

    python -m bench.speed
    python -m bench.speed --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = (
    ("unit tests", ["tests/unit", "-p", "no:cacheprovider", "-q"], 3.0),
    ("pytest -m local -n auto", ["-m", "local", "-n", "auto", "-p", "no:cacheprovider", "-q"], 15.0),
    ("make test's pytest (-n auto)", ["-n", "auto", "-p", "no:cacheprovider", "-q"], 30.0),
)


def timed(args: Sequence[str]) -> tuple[float, str]:
    env = {**os.environ, "HELLO_BASE_IMAGE": os.environ.get("HELLO_BASE_IMAGE", "hello-server-base:bookworm")}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    elapsed = time.monotonic() - start
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else f"exit {done.returncode}"
    return elapsed, last


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"| run | seconds (median of {args.repeat}) | goal | result |")
    print("|---|---|---|---|")
    for label, pytest_args, goal in RUNS:
        times, last = [], ""
        for _ in range(args.repeat):
            elapsed, last = timed(pytest_args)
            times.append(elapsed)
        median = statistics.median(times)
        print(f"| {label} | {median:.1f} | {goal:g} | {last.strip('= ')} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
