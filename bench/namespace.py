"""The fleets' network namespace: loopback, and a veth pair whose two ends are both here to
hold the IPv6 addresses (this kernel has no dummy interfaces); no route anywhere else,
checked. ``run_inside`` starts a benchmark's ``--inside`` half there (``unshare --net``)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["prepare", "run_inside"]

ROOT = Path(__file__).resolve().parents[1]


def prepare(ipv6: Iterable[str]) -> None:
    """In the namespace: the open-file limit raised, loopback up, the IPv6 addresses on the
    veth pair, the accept queues long, and no default route (asserted)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the silent listeners hold thousands
    for argv in (["ip", "link", "set", "lo", "up"], ["ip", "link", "add", "fleet0", "type", "veth", "peer", "name",
                 "fleet1"], *(["ip", "addr", "add", f"{a}/64", "dev", "fleet0", "nodad"] for a in ipv6),
                 ["ip", "link", "set", "fleet0", "up"], ["ip", "link", "set", "fleet1", "up"]):  # fmt: skip
        subprocess.run(argv, check=True)
    subprocess.run(["sysctl", "-qw", "net.core.somaxconn=65535"], check=True)
    routes = subprocess.run(["ip", "route", "show", "default"], capture_output=True, text=True, check=True).stdout
    assert routes.strip() == "", f"the namespace has a default route: {routes}"


def run_inside(module: str, args: Sequence[str]) -> Any | None:
    """``python -m MODULE --inside ARGS`` in a network namespace of its own, its JSON
    output; ``None`` (with the reason on standard error) without root or unshare."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print(f"{module} needs root and unshare(1): it builds a network namespace of its own", file=sys.stderr)
        return None
    done = subprocess.run(["unshare", "--net", sys.executable, "-m", module, "--inside", *args],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)
