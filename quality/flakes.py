"""Does the suite flake under load? ``python -m quality.flakes``.

Runs the fast tiers (``-m 'not docker and not edge and not remote' -n 2``) N times while
two busy processes keep both of this machine's cores loaded, as a shared CI machine is,
and prints each failing test's id with the run it failed in. Nothing is asserted: the
count of failing runs is the result (the goal is 0 of 30).

    python -m quality.flakes                 # 30 runs under load
    python -m quality.flakes --runs 10 --no-load
    python -m quality.flakes --tier docker   # -m docker alone (an engine is needed)
    python -m quality.flakes --tier docker --cold --runs 10 --no-load   # root
    python -m quality.flakes --tier all --cold --runs 5 --no-load      # the whole suite, root

``--cold`` starts each run from a cold engine, as a user's own would be: the engine this
repository started is stopped, the docker0 bridge deleted, the tier's images removed, and
a stock ``dockerd --ipv6`` started without engine.sh's speed-ups (HELLO_DOCKER_NODAD=0).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIERS = {
    "fast": "not docker and not edge and not remote",
    "docker": "docker",
    "edge": "edge",
    "all": "docker or not docker",
}
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+::\S+)")


def _spin(deadline: float) -> None:
    while time.monotonic() < deadline:
        pass


@contextmanager
def busy(processes: int, seconds: float) -> Iterator[None]:
    """``processes`` busy loops for at most ``seconds``; ended when the block ends."""
    spinners = [multiprocessing.Process(target=_spin, args=(time.monotonic() + seconds,)) for _ in range(processes)]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.join()


def failing_tests(output: str) -> list[str]:
    """The ids in pytest's short summary (``FAILED tests/...::test``), in order."""
    return [m[1] for line in output.splitlines() if (m := _FAILED.match(line))]


def _sh(*argv: str, **env: str) -> None:
    subprocess.run(argv, cwd=ROOT, env={**os.environ, **env}, capture_output=True, check=False)


def cold_engine() -> None:
    """A cold engine: ours stopped, the bridge gone, the tier's images removed, a stock one started."""
    _sh("docker/engine.sh", "stop")
    _sh("ip", "link", "del", "docker0")
    _sh("docker/engine.sh", "start", HELLO_DOCKER_NODAD="0")
    listed = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                            text=True, check=False).stdout.split()  # fmt: skip
    for tag in listed:
        if tag.startswith(("hello-server:test-", "tcpreach-exporter:test-")):
            _sh("docker", "rmi", "-f", tag)


def run_once(marker: str, workers: str) -> tuple[int, float, list[str], str]:
    env = {**os.environ, "HELLO_BASE_IMAGE": os.environ.get("HELLO_BASE_IMAGE", "hello-server-base:bookworm")}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", marker, "-n", workers, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return done.returncode, time.monotonic() - start, failing_tests(done.stdout), done.stdout + done.stderr


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tier", choices=sorted(TIERS), default="fast")
    parser.add_argument("--workers", default="2", help="pytest-xdist's -n (default 2)")
    parser.add_argument("--no-load", action="store_true", help="without the two busy processes")
    parser.add_argument("--cold", action="store_true", help="each run from a cold, stock engine (root)")
    args = parser.parse_args(argv)
    failed_runs = 0
    with busy(0 if args.no_load else 2, seconds=3600):
        for run in range(1, args.runs + 1):
            if args.cold:
                cold_engine()
            code, elapsed, failed, output = run_once(TIERS[args.tier], args.workers)
            status = "ok" if code == 0 else f"exit {code}"
            print(f"run {run:3}: {status:8} {elapsed:6.1f} s", flush=True)
            for test_id in failed:
                print(f"    {test_id}", flush=True)
            if code != 0:  # the whole output of a failing run, to read the failure itself
                kept = Path(tempfile.gettempdir()) / f"bench-flakes-run-{run}.log"
                kept.write_text(output)
                print(f"    (output: {kept})", flush=True)
            failed_runs += code != 0
    load = ("no load" if args.no_load else "two busy processes") + (", each from a cold engine" if args.cold else "")
    print(f"{failed_runs} of {args.runs} runs failed (-m '{TIERS[args.tier]}' -n {args.workers}, {load})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
