"""``python -m tcpreach listeners`` in network namespaces of our own, each with the app bound
another way: the whole list of listeners, the findings, and the self-probe's verdicts on
loopback and the namespace's own addresses (a private IPv4 and IPv6, as the proxy sees them).
The /proc text each case captured is the unit tier's golden input (tests/unit/golden/proc)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
CAPTURED = ROOT / "tests" / "unit" / "golden" / "proc"
CASE = r"""
import contextlib, json, subprocess, sys
from tcpreach.cli import run_captured
from tcpreach.testing.standins import Behaviour, StandIn

for argv in (["ip", "link", "set", "lo", "up"], ["ip", "link", "add", "app0", "type", "veth", "peer", "name", "app1"],
             ["ip", "addr", "add", "10.200.1.1/24", "dev", "app0"],
             ["ip", "addr", "add", "fd00:200::1/64", "dev", "app0", "nodad"],
             ["ip", "link", "set", "app0", "up"], ["ip", "link", "set", "app1", "up"]):
    subprocess.run(argv, check=True)
assert subprocess.run(["ip", "route", "show", "default"], capture_output=True, text=True).stdout == ""
bind = json.loads(sys.argv[1])
with StandIn(Behaviour.HELLO, bind[0], bind[1], v6only=bind[2]) if bind else contextlib.nullcontext():
    proc = "".join(open(f"/proc/thread-self/net/{name}").read() for name in ("tcp", "tcp6"))
    code, out, err = run_captured(["listeners", "--port", "1848", "--json"])
print(json.dumps({"code": code, "doc": json.loads(out), "err": err, "proc": proc}))
"""
# How the app binds in each case: (host, port, v6only), or nothing at all.
BINDS = {
    "loopback": ["127.0.0.1", 1848, None],
    "ipv4-wildcard": ["0.0.0.0", 1848, None],
    "dual-stack": ["::", 1848, None],
    "ipv6-only": ["::", 1848, True],
    "another-port": ["::", 8080, None],
    "nothing": None,
}
ADDRESSES = ["127.0.0.1", "::1", "10.200.1.1", "fd00:200::1"]
EXPECTED = {
    "loopback": ([("ipv4", "127.0.0.1", 1848, "loopback-only")], ["listener-loopback-only"],
                 ["ok", "refused", "refused", "refused"]),
    "ipv4-wildcard": ([("ipv4", "0.0.0.0", 1848, "ipv4-only")], ["listener-ipv4-only"],
                      ["ok", "refused", "ok", "refused"]),
    "dual-stack": ([("ipv6", "::", 1848, "dual-stack")], ["listener-ok"], ["ok", "ok", "ok", "ok"]),
    "ipv6-only": ([("ipv6", "::", 1848, "ipv6-only")], ["listener-ipv6-only"], ["refused", "ok", "refused", "ok"]),
    "another-port": ([("ipv6", "::", 8080, "dual-stack")], ["no-listener"], ["refused"] * 4),
    "nothing": ([], ["no-listener"], ["refused"] * 4),
}  # fmt: skip


def namespaces_problem() -> str | None:
    if os.geteuid() != 0:
        return "the listener cases run in network namespaces of their own, which need root"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare(1) and ip(8) are needed for the network namespaces"
    return None


@pytest.fixture(scope="module")
def cases():
    problem = namespaces_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run these: {problem}")
        pytest.skip(problem)
    done = {}
    for name, bind in BINDS.items():
        run = subprocess.run(["unshare", "--net", sys.executable, "-c", CASE, json.dumps(bind)], cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
        done[name] = json.loads(run.stdout)
    if os.environ.get("TCPREACH_UPDATE_GOLDEN") == "1":
        for name, result in done.items():
            (CAPTURED / f"{name}.txt").write_text(result["proc"])
    return done


@pytest.mark.parametrize("name", sorted(BINDS))
def test_each_binding_its_listeners_findings_and_self_probe(cases, name):
    result = cases[name]
    doc = result["doc"]
    listeners, codes, verdicts = EXPECTED[name]
    assert [(item["family"], item["address"], item["port"], item["accepts"]) for item in doc["listeners"]] == listeners
    assert [f["code"] for f in doc["findings"]] == codes
    probe = doc["self_probe"]
    assert [t["address"] for t in probe["targets"]] == ADDRESSES
    assert [t["verdict"] for t in probe["targets"]] == verdicts
    assert result["code"] == (0 if codes == ["listener-ok"] else 1)
    # The owner, as netstat -p shows it: this test's own interpreter holds the socket.
    assert {item["process"] for item in doc["listeners"]} <= {Path(sys.executable).name, "python", "python3"}
    assert all(item["pid"] for item in doc["listeners"])
