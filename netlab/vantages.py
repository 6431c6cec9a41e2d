"""Clients of several kinds beside the lab's dual-stack client, each in a namespace of its
own linked to the edge: what "every client" means, built.

- ``ipv4``: IPv4 only (a hosted CI runner);
- ``ipv6``: IPv6 only, no NAT64 (its resolver is the zone's own server over IPv6);
- ``nat64``: IPv6 only behind NAT64/DNS64, as mobile networks are: Debian's ``unbound``
  with its ``dns64`` module as its resolver and ``tayga`` translating 64:ff9b::/96 to
  IPv4, both in the edge namespace (which forwards);
- ``dual``: the lab's own client.

None of the namespaces has a default route; each is checked before anything is probed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from netlab.lab import DNS_V4, DNS_V6, EdgeLab

__all__ = ["VANTAGES", "VantageLab", "vantages_problem"]

NAT64_PREFIX = "64:ff9b::/96"
DNS64 = "2001:db8:64::1"
VANTAGES = {"ipv4": DNS_V4, "ipv6": f"[{DNS_V6}]:53", "nat64": f"[{DNS64}]:53", "dual": DNS_V4}
"""Each vantage and the resolver it asks."""
_TOOLS = ("unbound", "tayga")
_SHORT = {"ipv4": "4", "ipv6": "6", "nat64": "n"}


def vantages_problem() -> str | None:
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the vantage clients need {', '.join(missing)}: apt-get install unbound tayga (.ci/run does this as root)"
        )
    return None


def _unbound_text(workdir: Path) -> str:
    return f"""server:
    interface: {DNS64}
    port: 53
    access-control: 2001:db8:64::/64 allow
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{workdir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "dns64 iterator"
    dns64-prefix: {NAT64_PREFIX}
    do-not-query-localhost: no
stub-zone:
    name: "fly.dev."
    stub-addr: {DNS_V4}
stub-zone:
    name: "ipv4only.arpa."
    stub-addr: {DNS_V4}
"""


def _tayga_text(workdir: Path, device: str) -> str:
    return f"""tun-device {device}
ipv4-addr 192.168.255.1
ipv6-addr 2001:db8:ffff::1
prefix {NAT64_PREFIX}
dynamic-pool 192.168.255.0/24
data-dir {workdir / "tayga"}
"""


@dataclass
class VantageLab:
    """The extra clients of a built ``EdgeLab``; a context manager."""

    lab: EdgeLab
    namespaces: dict[str, str] = field(default_factory=dict)

    def __enter__(self) -> VantageLab:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def namespace(self, vantage: str) -> str:
        return self.lab.client if vantage == "dual" else self.namespaces[vantage]

    def probe(self, vantage: str, host: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m tcpreach probe HOST --json --vantage VANTAGE`` from that client."""
        argv = [sys.executable, "-m", "tcpreach", "probe", host, "--resolver", VANTAGES[vantage], "--json",
                "--vantage", vantage, *args]  # fmt: skip
        return self.lab.exec(self.namespace(vantage), argv, cwd=Path(__file__).resolve().parents[1], timeout=120)

    def _client(self, name: str, addresses: list[str], routes: list[tuple[str, str]]) -> None:
        lab = self.lab
        short = _SHORT[name]
        ns = self.namespaces[name] = f"tr{lab.token}{short}"
        lab.add_namespace(ns)
        edge_side = [a.replace("::2/", "::1/").replace(".2/", ".1/") for a in addresses]
        lab._link((ns, f"c{short}", addresses), (lab.edge, f"e{short}", edge_side))
        for prefix, via in routes:
            lab._ip("-n", ns, *(["-6"] if ":" in prefix else []), "route", "add", prefix, "via", via)

    def _nat64(self) -> None:
        lab, workdir = self.lab, self.lab.workdir
        (workdir / "tayga").mkdir(exist_ok=True)
        device = f"n64{lab.token}"  # a name of this lab's own, as the relay's TUN devices have
        (workdir / "tayga.conf").write_text(_tayga_text(workdir, device))
        (workdir / "unbound.conf").write_text(_unbound_text(workdir))
        lab.exec(lab.edge, ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        done = lab.exec(lab.edge, ["tayga", "-d", "-c", str(workdir / "tayga.conf"), "--mktun"])  # -d: errors here
        if done.returncode != 0:
            raise RuntimeError(f"tayga --mktun ({done.returncode}): {(done.stdout + done.stderr).strip()}")
        for args in (["link", "set", device, "up"], ["addr", "add", "192.168.254.1/32", "dev", device],
                     ["addr", "add", "2001:db8:ffff::2/128", "dev", device, "nodad"],
                     ["route", "add", "192.168.255.0/24", "dev", device],
                     ["-6", "route", "add", NAT64_PREFIX, "dev", device]):  # fmt: skip
            lab._ip("-n", lab.edge, *args)
        lab._start("tayga", lab.edge, ["tayga", "-c", str(workdir / "tayga.conf"), "--nodetach"])
        lab._start("unbound", lab.edge, ["unbound", "-d", "-c", str(workdir / "unbound.conf")])

    def _build(self) -> None:
        fly_v4, fly_v6 = "66.241.124.0/24", "2a09:8280:1::/48"
        self._client("ipv4", ["198.18.4.2/24"], [(fly_v4, "198.18.4.1")])
        self._client("ipv6", ["2001:db8:6::2/64"], [(fly_v6, "2001:db8:6::1")])
        self._client("nat64", ["2001:db8:64::2/64"], [(fly_v6, DNS64), (NAT64_PREFIX, DNS64)])
        self._nat64()
        for ns in self.namespaces.values():
            self._check_isolated(ns)
        self._wait_ready()

    def _check_isolated(self, ns: str) -> None:
        for family, outside in (("-4", "1.1.1.1"), ("-6", "2606:4700:4700::1111")):
            if self.lab.exec(ns, ["ip", family, "route", "get", outside]).returncode == 0:
                raise RuntimeError(f"the namespace {ns} routes {outside}")

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in ("tayga", "unbound"):
                process = self.lab.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: {self.lab.log(name)[-2000:]}")
            if f"[{DNS64}]:53 " in self.lab.exec(self.lab.edge, ["ss", "-Hlun"]).stdout:
                return
            time.sleep(0.05)
        raise RuntimeError(f"unbound did not listen within {timeout:g} s")

    def close(self) -> None:
        """Everything this added to the lab, gone: its daemons, the TUN device, the clients.
        A module fixture torn down and set up again on the same lab (xdist's worksteal can
        split a module) finds the edge as it was (a tayga left attached made the next
        --mktun fail with EBUSY)."""
        for name in ("tayga", "unbound"):
            self.lab.stop(name)
        self.lab.exec(self.lab.edge, ["ip", "link", "del", f"n64{self.lab.token}"])
        for ns in self.namespaces.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        self.namespaces.clear()
