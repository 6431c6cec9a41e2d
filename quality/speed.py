"""How long the suite takes, as a developer runs it: ``python -m quality.speed``.

Runs, in this order and once each (``--repeat N`` for medians): the unit tests (also under
``CI=true``, which runs 200 hypothesis examples a property instead of 25), the local tier
with ``-n auto``, and the whole suite with ``-n auto`` as ``make test`` runs it (the
container and edge tiers need root and an engine, as there). Prints wall-clock seconds
beside the goals from issue 13; nothing is asserted: this machine is shared and noisy.

    python -m quality.speed
    python -m quality.speed --repeat 3
    python -m quality.speed --fresh      # also: make test in a fresh clone (venv, set-up, suite)

``--fresh`` clones this repository (its committed state) into a temporary folder and times
``make test`` there: the venv from the package index, and as root the system's part (apt,
the engine, the base image, the edge tier's daemons) where it is missing. On a machine
that already has them, that part is quick: remove them first for a new machine's figure
(``docker/engine.sh stop``, ``apt-get purge docker.io debootstrap haproxy knot nftables``,
``docker image rm hello-server-base:bookworm``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def suite_python() -> str:
    """The interpreter that runs the suite: this one if it has the test dependencies
    (pytest-xdist among them), else the repository's ``.venv`` (``make venv``), so that
    ``python -m quality.speed`` from a bare python still times the suite, not a usage error."""
    venv = ROOT / ".venv" / "bin" / "python"
    if importlib.util.find_spec("xdist") is None and venv.exists():
        return str(venv)
    return sys.executable


RUNS: tuple[tuple[str, list[str], float | None, dict[str, str]], ...] = (
    ("unit tests", ["tests/unit", "-p", "no:cacheprovider", "-q"], 3.0, {}),
    # The landing count of hypothesis examples (tests/unit/conftest.py): not a goal.
    (
        "unit tests under CI=true (200 examples a property)",
        ["tests/unit", "-p", "no:cacheprovider", "-q"],
        None,
        {"CI": "true"},
    ),
    ("pytest -m local -n auto", ["-m", "local", "-n", "auto", "-p", "no:cacheprovider", "-q"], 15.0, {}),
    ("make test's pytest (-n auto)", ["-n", "auto", "-p", "no:cacheprovider", "-q"], 30.0, {}),
)


def timed(args: Sequence[str], extra_env: dict[str, str]) -> tuple[float, str]:
    env = {**os.environ, "HELLO_BASE_IMAGE": os.environ.get("HELLO_BASE_IMAGE", "hello-server-base:bookworm")}
    env.update(extra_env)
    start = time.monotonic()
    done = subprocess.run(
        [suite_python(), "-m", "pytest", *args], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    elapsed = time.monotonic() - start
    lines = done.stdout.strip().splitlines()
    # pytest's summary lines ("FAILED tests/...::test"), not a report's "ERROR    finding" lines.
    for failed in (line for line in lines if re.match(r"(FAILED|ERROR) \S+::", line)):
        print(f"  {failed}", file=sys.stderr)  # a run that fails is still timed; say which test
    if lines:
        return elapsed, lines[-1]
    # pytest could not start: say why (a python without the venv's plugins: "unrecognized arguments")
    said = [line.strip() for line in done.stderr.splitlines() if "error:" in line]
    return elapsed, f"exit {done.returncode}" + (f" ({said[-1]})" if said else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quality.speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="also time make test in a fresh clone")
    args = parser.parse_args(argv)
    ours = [ROOT / name for name in ("tcpreach", "server", "netlab", "bench", "tests")]
    cached = sorted(str(p.relative_to(ROOT)) for folder in ours for p in folder.rglob("__pycache__"))
    print(
        "bytecode: "
        + ("not written (PYTHONDONTWRITEBYTECODE)" if sys.dont_write_bytecode else "written as usual")
        + (f"; cached already in {', '.join(cached[:3])}{'...' if len(cached) > 3 else ''}" if cached else "")
    )
    print(f"| run | seconds (median of {args.repeat}) | goal | result |")
    print("|---|---|---|---|")
    for label, pytest_args, goal, extra_env in RUNS:
        times, last = [], ""
        for _ in range(args.repeat):
            elapsed, last = timed(pytest_args, extra_env)
            times.append(elapsed)
        median = statistics.median(times)
        spread = f" ({min(times):.1f} to {max(times):.1f})" if args.repeat > 1 else ""
        shown_goal = f"{goal:g}" if goal is not None else "-"
        print(f"| {label} | {median:.1f}{spread} | {shown_goal} | {last.strip('= ')} |", flush=True)
    if args.fresh:
        elapsed, last = fresh_make_test()
        print(f"| make test in a fresh clone (set-up and suite) | {elapsed:.1f} | 120 | {last.strip('= ')} |")
    return 0


def fresh_make_test() -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="tcpreach-fresh-") as scratch:
        clone = Path(scratch) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        start = time.monotonic()
        done = subprocess.run(["make", "test"], cwd=clone, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
    lines = done.stdout.strip().splitlines()
    return elapsed, lines[-1] if lines else f"exit {done.returncode}: {done.stderr.strip()[-200:]}"


if __name__ == "__main__":
    raise SystemExit(main())
