"""Time to a right verdict beside three peers, on the edge tier's network:
``python -m bench.peers`` (root; Debian's ncat, monitoring-plugins-basic's check_tcp and
prometheus-blackbox-exporter).

Each scenario is a name of the lab's zone and what each of its addresses does. From the
client namespace, ``python -m tcpreach probe NAME`` (the whole command: start-up, DNS, every
address, the diagnosis) is timed beside each peer run on each address at once (a peer
checks one address; its time for the name is its slowest address's, as if run side by
side), all with 3 s timeouts. A verdict is right when every address is judged as the lab
makes it (for a peer: its success or failure matches). Printed per scenario: each tool's
median seconds and whether it was right every time; and ours against the goal, within
max(1.5 x the slowest peer, that + 1 s).

    python -m bench.peers                # 5 runs each
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import save
from netlab.lab import (
    APP_V6,
    DEDICATED_V4,
    DNS_V4,
    DOWN_V4,
    DOWN_V6,
    PORT,
    REJECT_V4,
    REJECT_V6,
    RESETTING_V4,
    SHARED_V4,
    WAITING_V4,
    EdgeLab,
    lab_problem,
)  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
CHECK_TCP = "/usr/lib/nagios/plugins/check_tcp"
TIMEOUT = 3
SCENARIOS: dict[str, tuple[str, dict[str, str]]] = {
    "healthy name": ("dedicated.fly.dev", {DEDICATED_V4: "ok", APP_V6: "ok"}),
    "shared-IPv4 trap": ("hello-server.fly.dev", {SHARED_V4: "closed-without-data", APP_V6: "ok"}),
    "silent IPv4 (edge waits)": ("waiting.fly.dev", {WAITING_V4: "silent", APP_V6: "ok"}),
    "app down": ("down.fly.dev", {DOWN_V4: "closed-without-data", DOWN_V6: "closed-without-data"}),
    "rejected (ICMP)": ("rejecting.fly.dev", {REJECT_V4: "unreachable", REJECT_V6: "unreachable"}),
    "reset at once": ("resetting.fly.dev", {RESETTING_V4: "closed-without-data", APP_V6: "ok"}),
}


def _timed(lab: EdgeLab, argv: Sequence[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    done = lab.exec(lab.client, argv, timeout=60)
    return time.monotonic() - start, done


def ours(lab: EdgeLab, name: str, expected: dict[str, str]) -> tuple[float, bool]:
    seconds, done = _timed(lab, [sys.executable, "-m", "tcpreach", "probe", name, "--resolver", DNS_V4,
                                 "--timeout", str(TIMEOUT), "--json"])  # fmt: skip
    doc = json.loads(done.stdout)
    seen = {t["address"]: t["verdict"] for t in doc["targets"]}
    return seconds, seen == expected


def _peer_argv(peer: str, address: str, config: Path) -> list[str]:
    host = f"[{address}]" if ":" in address else address
    if peer == "ncat":
        return ["ncat", "--recv-only", "-w", str(TIMEOUT), "-i", str(TIMEOUT), address, str(PORT)]
    if peer == "check_tcp":
        return [CHECK_TCP, "-H", address, "-p", str(PORT), "-e", "hello", "-t", str(TIMEOUT)]
    return ["curl", "-s", "--max-time", "10", "-g",
            f"http://127.0.0.1:19115/probe?module=hello&target={host}:{PORT}"]  # fmt: skip


def _peer_ok(peer: str, done: subprocess.CompletedProcess[str]) -> bool:
    if peer == "ncat":
        return done.stdout == "hello\n"
    if peer == "check_tcp":
        return done.returncode == 0
    return "\nprobe_success 1" in "\n" + done.stdout


def peer(lab: EdgeLab, which: str, expected: dict[str, str], config: Path) -> tuple[float, bool]:
    """The peer on every address at once: its slowest address's time; right when each
    address's success is what the lab makes it."""
    with ThreadPoolExecutor(max_workers=len(expected)) as pool:
        runs = list(pool.map(lambda a: (a, _timed(lab, _peer_argv(which, a, config))), expected))
    right = all(_peer_ok(which, done) == (expected[address] == "ok") for address, (_, done) in runs)
    return max(seconds for _, (seconds, _) in runs), right


BLACKBOX = f"""modules:
  hello:
    prober: tcp
    timeout: {TIMEOUT}s
    tcp:
      query_response:
        - expect: "^hello$"
"""


def measure(runs: int) -> list[dict[str, Any]]:
    peers = ["ncat", "check_tcp", "blackbox"]
    rows = []
    with EdgeLab() as lab, tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "blackbox.yml"
        config.write_text(BLACKBOX)
        blackbox = subprocess.Popen(
            ["ip", "netns", "exec", lab.client, "prometheus-blackbox-exporter", f"--config.file={config}",
             "--web.listen-address=127.0.0.1:19115"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(1.0)
            for scenario, (name, expected) in SCENARIOS.items():
                timings: dict[str, list[float]] = {tool: [] for tool in ["tcpreach", *peers]}
                right: dict[str, bool] = dict.fromkeys(timings, True)
                for _ in range(runs):
                    seconds, ok = ours(lab, name, expected)
                    timings["tcpreach"].append(seconds)
                    right["tcpreach"] &= ok
                    for which in peers:
                        seconds, ok = peer(lab, which, expected, config)
                        timings[which].append(seconds)
                        right[which] &= ok
                medians = {tool: round(statistics.median(values), 2) for tool, values in timings.items()}
                slowest = max(medians[p] for p in peers)
                goal = max(1.5 * slowest, slowest + 1.0)
                rows.append({"scenario": scenario, "name": name, "median_s": medians, "right": right,
                             "goal_s": round(goal, 2), "within_goal": medians["tcpreach"] <= goal})  # fmt: skip
                print(f"  {scenario}: {medians} right {right}", file=sys.stderr, flush=True)
        finally:
            blackbox.kill()
            blackbox.wait()
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"{TIMEOUT} s timeouts; median seconds to the verdict (a peer: its slowest address, addresses side by side); "
        "* = not right every run",
        "| scenario | tcpreach | ncat | check_tcp | blackbox_exporter | goal | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = [f"{r['median_s'][t]}{'' if r['right'][t] else ' *'}" for t in ("tcpreach", "ncat", "check_tcp",
                                                                              "blackbox")]  # fmt: skip
        lines.append(
            f"| {r['scenario']} | {' | '.join(cells)} | {r['goal_s']} | {'yes' if r['within_goal'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    problem = lab_problem()
    missing = [tool for tool in ("ncat", CHECK_TCP, "prometheus-blackbox-exporter", "curl") if not shutil.which(tool)]
    if problem or missing:
        print(f"bench.peers: {problem or 'missing ' + ', '.join(missing)} (apt-get install ncat "
              "monitoring-plugins-basic prometheus-blackbox-exporter curl)", file=sys.stderr)  # fmt: skip
        return 2
    rows = measure(args.runs)
    save("peers", rows)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
