"""Run every benchmark, print the tables, write bench/out/results.json (and a PNG plot
when matplotlib is installed: pip install 'pytest-tcpreach[bench]').

    python -m bench                 # the full run (a few minutes)
    python -m bench --quick         # one short repetition of each, to try it out
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Sequence
from typing import Any

from bench import OUT, save, servers, suite

ADDRESSES = ["127.0.0.1", "::1"]
CONCURRENCY = [1, 16, 256]


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of every figure over the repetitions; errors summed."""
    keys = ["rate", "p50_us", "p99_us", "p999_us", "cpu_us_per_conn", "connections"]
    merged: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    merged["errors"] = {k: sum(r["errors"][k] for r in runs) for k in runs[0]["errors"]}
    merged["runs"] = len(runs)
    return merged


def ratio(a: float, b: float) -> float | None:
    return None if not b else a / b


def server_benchmarks(reps: int, seconds: float) -> dict[str, Any]:
    binaries = servers.build_c()
    names = ["python"] + [n for n in ("c-backlog3", "c-backlog4096") if n in binaries]
    loadgen = binaries.get("loadgen")  # None without a C compiler: the Python probe loads instead
    running = {name: servers.start_server(name, binaries) for name in names}
    results: dict[str, Any] = {}
    try:
        for address in ADDRESSES:
            for conc in CONCURRENCY:
                runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
                for _ in range(reps):  # interleaved, so drift hits every server alike
                    for name in names:
                        runs[name].append(servers.measure(running[name], loadgen, address, conc, seconds))
                results[f"{address} c={conc}"] = {n: median_run(r) for n, r in runs.items()}
        rss_start = running["python"].rss_kib()
        servers.load(loadgen, "127.0.0.1", running["python"].port, 16, count=100_000)
        rss_end = running["python"].rss_kib()
    finally:
        for server in running.values():
            server.stop()
    return {"cells": results, "memory": {"rss_start_kib": rss_start, "rss_after_100k_kib": rss_end}}


def server_table(data: dict[str, Any]) -> str:
    header = "| load | server | conn/s | CPU µs/conn | p50 µs | p99 µs | p99.9 µs | errors |"
    lines = [header, "|" + "---|" * 8]
    for cell, by_server in data["cells"].items():
        for name, r in by_server.items():
            errors = sum(r["errors"].values())
            lines.append(
                f"| {cell} | {name} | {r['rate']:.0f} | {r['cpu_us_per_conn']:.1f} | {r['p50_us']:.0f} | "
                f"{r['p99_us']:.0f} | {r['p999_us']:.0f} | {errors} |"
            )
    lines += [
        "",
        "| load | CPU/conn py÷C | rate py÷C | p50 py÷C | p99 py÷C | C backlog 3 errors |",
        "|---|---|---|---|---|---|",
    ]
    for cell, by_server in data["cells"].items():
        py, ref, seed = by_server["python"], by_server.get("c-backlog4096"), by_server.get("c-backlog3")
        if ref is None:
            continue

        def fmt(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        seed_errors = "-" if seed is None else str(sum(seed["errors"].values()))
        lines.append(
            f"| {cell} | {fmt(ratio(py['cpu_us_per_conn'], ref['cpu_us_per_conn']))} | "
            f"{fmt(ratio(py['rate'], ref['rate']))} | {fmt(ratio(py['p50_us'], ref['p50_us']))} | "
            f"{fmt(ratio(py['p99_us'], ref['p99_us']))} | {seed_errors} |"
        )
    memory = data["memory"]
    lines += ["", f"Python server RSS: {memory['rss_start_kib']} KiB at start, "
                  f"{memory['rss_after_100k_kib']} KiB after 100,000 more connections"]  # fmt: skip
    return "\n".join(lines)


def suite_benchmarks(quick: bool, probe_timeout: float) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if not quick:
        data["pytest_local_serial_s"] = suite.pytest_wall("-m", "local")
        data["pytest_local_xdist_s"] = suite.pytest_wall("-m", "local", "-n", "auto")
    data["remote_verdict"] = [suite.remote_verdict(n, probe_timeout) for n in (2, 8, 32)]
    data["container"] = suite.container_path(os.environ.get("HELLO_BASE_IMAGE", "hello-server-base:bookworm"))
    return data


def suite_table(data: dict[str, Any], probe_timeout: float) -> str:
    lines = []
    if "pytest_local_serial_s" in data:
        lines.append(f"pytest -m local: {data['pytest_local_serial_s']:.1f} s serial, "
                     f"{data['pytest_local_xdist_s']:.1f} s with -n auto")  # fmt: skip
    lines += [
        "",
        f"| addresses (one silent) | time to verdict | ÷ probe timeout ({probe_timeout:g} s) |",
        "|---|---|---|",
    ]
    for row in data["remote_verdict"]:
        lines.append(f"| {row['addresses']} | {row['seconds']:.2f} s | {row['probe_timeouts']:.2f} |")
    container = data["container"]
    if container is None:
        lines.append("\ncontainer: no engine or no base image; skipped")
    else:
        lines.append(f"\ncontainer: image build {container['build_s']:.2f} s, start to first hello "
                     f"{container['start_to_hello_s']:.2f} s (median of {container['runs']})")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short repetition: a try, not a measurement")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per cell (default 5)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per run (default 2)")
    args = parser.parse_args(argv)
    reps, seconds = (1, 0.3) if args.quick else (args.reps, args.seconds)
    probe_timeout = 1.0
    started = time.monotonic()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, " \
              f"Python {platform.python_version()}"  # fmt: skip
    server_data = server_benchmarks(reps, seconds)
    suite_data = suite_benchmarks(args.quick, probe_timeout)
    text = "\n\n".join([f"Machine: {machine}", server_table(server_data), suite_table(suite_data, probe_timeout)])
    print(text)
    results = {"machine": machine, "reps": reps, "seconds": seconds, "servers": server_data, "suite": suite_data,
               "wall_s": time.monotonic() - started}  # fmt: skip
    save("results", results)
    (OUT / "results.md").write_text(text + "\n")
    plot(server_data)
    return 0


def plot(data: dict[str, Any]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot: pip install 'pytest-tcpreach[bench]' for matplotlib)")
        return
    if "cells" not in data:
        return
    cells = list(data["cells"])
    names = list(next(iter(data["cells"].values())))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs = [j + i * width for j in range(len(cells))]
        axes[0].bar(xs, [data["cells"][c][name]["cpu_us_per_conn"] for c in cells], width, label=name)
        axes[1].bar(xs, [data["cells"][c][name]["p99_us"] for c in cells], width, label=name)
    for ax, title in zip(axes, ["server CPU per connection (µs)", "p99 latency (µs)"], strict=True):
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cells))], cells, rotation=30, ha="right")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "servers.png", dpi=100)
    print(f"plot: {OUT / 'servers.png'}")
