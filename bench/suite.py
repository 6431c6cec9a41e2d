"""The suite's own speed: pytest wall times, the remote verdict's time for N addresses
(one silent), the container path, and the server's memory over many connections."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import Any

from bench.servers import ROOT
from server import HelloServer
from tcpreach.check import check_host
from tcpreach.model import Family, Verdict
from tcpreach.options import CheckOptions
from tcpreach.testing.standins import Behaviour, StandIn
from tcpreach.testing.stub_dns import StubDNS


def pytest_wall(*args: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                   capture_output=True, check=False)  # fmt: skip
    return time.monotonic() - start


def remote_verdict(n: int, probe_timeout: float) -> dict[str, Any]:
    """A host with ``n`` A records on loopback stand-ins, one of them silent until the
    probe timeout: the time to the whole host's verdict, in probe timeouts."""
    with ExitStack() as stack:
        silent = stack.enter_context(StandIn(Behaviour.SILENT, host="127.0.0.9"))
        port = silent.port
        addresses = ["127.0.0.9"]
        for i in range(n - 1):
            address = f"127.0.1.{10 + i}"
            stack.enter_context(HelloServer(host=address, port=port))
            addresses.append(address)
        dns = stack.enter_context(StubDNS({"many.fly.dev": {"A": addresses}}))
        start = time.monotonic()
        report = check_host(
            "many.fly.dev",
            CheckOptions(port=port, resolver=dns.address, timeout=probe_timeout, families=(Family.IPV4,)),
        )
        elapsed = time.monotonic() - start
    verdicts = [o.verdict for o in report.outcomes]
    return {
        "addresses": n,
        "seconds": elapsed,
        "probe_timeouts": elapsed / probe_timeout,
        "ok": verdicts.count(Verdict.OK),
        "silent": verdicts.count(Verdict.SILENT),
    }


def container_path(base_image: str, runs: int = 3) -> dict[str, Any] | None:
    """Image build (no cache) and container start to first hello, when an engine answers."""
    from tcpreach.testing.container import ServiceContainer, build_image, engine_problem, image_exists, remove_image

    if engine_problem() is not None or not image_exists(base_image):
        return None
    tag = f"hello-server:bench-{os.getpid()}"
    start = time.monotonic()
    build_image(ROOT, "docker/Dockerfile", tag, {"BASE_IMAGE": base_image})
    build_s = time.monotonic() - start
    starts = []
    try:
        for _ in range(runs):
            begin = time.monotonic()
            with ServiceContainer(tag) as service:
                service.wait_for_greeting(b"hello\n")
                starts.append(time.monotonic() - begin)
    finally:
        remove_image(tag)
    return {"build_s": build_s, "start_to_hello_s": sorted(starts)[len(starts) // 2], "runs": runs}
