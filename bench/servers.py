"""Servers under load: the Python server and the C reference (backlog 3 and full),
driven by the C load generator, the server's CPU read from /proc for its PID."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tcpreach.judging.verdict import judge
from tcpreach.model import Family, Target, Verdict
from tcpreach.net.probe import probe
from tcpreach.options import CheckOptions

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BUILD = BENCH / "build"
SERVER_CORE, LOAD_CORE = 0, 1


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def build_c() -> dict[str, Path]:
    """Compile the reference servers and the load generator; {} without a C compiler."""
    cc = compiler()
    if cc is None:
        return {}
    BUILD.mkdir(exist_ok=True)
    outputs = {
        "c-backlog3": (["-DBACKLOG=3"], BENCH / "c" / "hello.c"),
        "c-backlog4096": (["-DBACKLOG=4096"], BENCH / "c" / "hello.c"),
        "loadgen": ([], BENCH / "c" / "loadgen.c"),
    }
    built = {}
    for name, (flags, source) in outputs.items():
        binary = BUILD / name
        subprocess.run([cc, "-O2", "-Wall", *flags, "-o", str(binary), str(source)], check=True)
        built[name] = binary
    return built


def _pin(core: int) -> Any:
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {core})


@dataclass
class Running:
    name: str
    proc: subprocess.Popen[str]
    port: int

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{self.proc.pid}/status").read_text())
        return int(match[1]) if match else 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


def start_server(name: str, binaries: dict[str, Path]) -> Running:
    if name == "python":
        command = [sys.executable, "-m", "server", "--port", "0", "--log-level", "warning"]
    else:
        command = [str(binaries[name]), "0"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, preexec_fn=_pin(SERVER_CORE))  # noqa: PLW1509
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"\]:(\d+)", line)
    if match is None:
        proc.kill()
        raise RuntimeError(f"{name} did not start: {line!r}")
    return Running(name, proc, int(match[1]))


def load(loadgen: Path | None, address: str, port: int, concurrency: int, *, seconds: float = 0.0, count: int = 0,
         timeout_ms: int = 2000) -> dict[str, Any]:  # fmt: skip
    """Short connections at a fixed concurrency: the C load generator, or without a C
    compiler the project's own probe in threads (slower, but the figures still print)."""
    if loadgen is None:
        return python_load(address, port, concurrency, seconds=seconds, count=count, timeout=timeout_ms / 1000)
    done = subprocess.run(
        [str(loadgen), address, str(port), str(concurrency), str(count), str(seconds), str(timeout_ms), "hello\\n"],
        capture_output=True, text=True, check=True, preexec_fn=_pin(LOAD_CORE),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def python_load(
    address: str, port: int, concurrency: int, *, seconds: float, count: int, timeout: float
) -> dict[str, Any]:
    target = Target(Family.of(address), address, port)
    kinds = {Verdict.REFUSED: "refused", Verdict.CLOSED_WITHOUT_DATA: "reset", Verdict.RESET: "reset",
             Verdict.TIMEOUT: "timeout", Verdict.SILENT: "timeout"}  # fmt: skip
    errors = dict.fromkeys(["refused", "reset", "timeout", "wrong", "other"], 0)
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds if seconds > 0 else float("inf")
    budget = itertools.count() if count > 0 else None

    def worker() -> None:
        while time.monotonic() < deadline and (budget is None or next(budget) < count):
            outcome = judge(probe(target, CheckOptions(timeout=timeout), check_route=False), b"hello\n")
            with lock:
                if outcome.verdict is Verdict.OK:
                    latencies.append(outcome.result.total_s)
                else:
                    errors[kinds.get(outcome.verdict, "wrong")] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[int(p * (len(latencies) - 1))] * 1e6 if latencies else 0.0

    return {"connections": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed,
            "p50_us": pct(0.5), "p99_us": pct(0.99), "p999_us": pct(0.999), "errors": errors}  # fmt: skip


def measure(server: Running, loadgen: Path | None, address: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """One run: the load generator's figures plus the server's CPU per connection."""
    before = server.cpu_seconds()
    result = load(loadgen, address, server.port, concurrency, seconds=seconds)
    cpu = server.cpu_seconds() - before
    served = result["connections"] + sum(result["errors"].values())
    result["cpu_us_per_conn"] = cpu * 1e6 / max(1, result["connections"])
    result["attempted"] = served
    return result
