"""The local matrix over a machine's interface addresses, inside a network namespace of
our own: a veth pair with an IPv4 and an IPv6 address, so no probe leaves that namespace.

In the machine's own namespace the suite probes loopback only (the rules of this
workplace allow no other target); ``--local-interfaces`` adds the interface addresses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
SETUP = (
    "ip link set lo up && ip link add hello0 type veth peer name hello1 && "
    "ip addr add 10.200.0.1/24 dev hello0 && ip -6 addr add fd12:3456::1/64 dev hello0 nodad && "
    "ip link set hello0 up && ip link set hello1 up"
)


def _namespace_problem() -> str | None:
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root to create a network namespace (unshare --net) with a veth pair"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"needs {tool} (util-linux / iproute2) for a network namespace"
    return None


def test_the_local_matrix_covers_interface_addresses_in_a_namespace_of_our_own():
    problem = _namespace_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{problem} (CI=true: this test must run, not skip)", pytrace=False)
        pytest.skip(problem)
    command = (
        f"{SETUP} && exec {sys.executable} -m pytest -m local -p no:cacheprovider -p no:hypothesispytest -q -rA "
        "--local-interfaces tests/local/test_matrix.py"
    )
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED")]
    for server in ("in-process", "subprocess"):
        for label in ("ipv4-127.0.0.1", "ipv6-::1", "ipv6-::ffff:127.0.0.1", "ipv4-10.200.0.1", "ipv6-fd12:3456::1"):
            assert any(f"test_greeting[{server}-{label}]" in line for line in passed), (server, label)
    assert "tcpreach matrix" in done.stdout
