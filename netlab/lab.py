"""A Fly.io-like network in three network namespaces of our own, for the edge tier.

    client ──veth── edge ──veth── app            (and client ══TUN relay══ edge: lossy)

- ``app`` runs ``python -m server`` on [::]:1848 (10.99.0.2, fd99::2).
- ``edge`` runs HAProxy (Debian) as Fly's edge and Knot (Debian) as the authoritative
  server of ``fly.dev``, on addresses that look like Fly's (66.241.124.0/24,
  2a09:8280:1::/48) and exist only inside these namespaces:
  the shared IPv4 (routes TLS by SNI, closes anything else without data), a shared IPv4
  that waits for a ClientHello longer than a probe, a dedicated IPv4 and an IPv6 that
  forward raw TCP to the app, an IPv4/IPv6 pair whose backend is down, addresses that
  nftables rejects with ICMP, and a DNS address that drops the A query of one name.
- ``client`` has routes to those addresses only (no default route, checked before any
  probe), plus a blackhole and a prohibit route; its lossy path to 66.241.125.0/24 and
  2a09:8280:2::/48 goes through ``netlab.relay``.

Needs root, iproute2, nftables, haproxy and knot. ``EdgeLab`` is a context manager that
tears everything down, also when setting up fails half-way.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
_CLONE_NEWNET = 0x40000000

ROOT = Path(__file__).resolve().parents[1]
PORT = 1848
TOOLS = ("ip", "nft", "haproxy", "knotd")

# Fly-looking addresses, inside the namespaces only.
SHARED_V4, WAITING_V4, DEDICATED_V4, DOWN_V4, REJECT_V4 = (
    "66.241.124.10",
    "66.241.124.11",
    "66.241.124.20",
    "66.241.124.30",
    "66.241.124.88",
)
RESETTING_V4 = "66.241.124.12"  # an edge that accepts, then resets at once
FLAKY_V4 = "66.241.124.13"  # a dedicated IPv4 whose every other connection finds no backend
NGINX_V4 = "66.241.124.14"  # the shared edge as nginx's stream module would be it (netlab.nginx_edge)
MAIL_V4, MAIL_V6 = "66.241.124.25", "2a09:8280:1::25"  # postfix and dovecot (netlab.mail), when started
MAIL_NAME = "mail.fly.dev"
APP_V6, DOWN_V6, REJECT_V6, TLS_V6 = "2a09:8280:1::10", "2a09:8280:1::30", "2a09:8280:1::88", "2a09:8280:1::40"
TLS_NAME = "tls.fly.dev"  # a raw TCP app behind Fly's "tls" handler
BLACKHOLE_V4, PROHIBIT_V4 = "66.241.124.66", "66.241.124.77"
DNS_V4, DNS_DROPS_A_V4, DNS_V6 = "66.241.124.53", "66.241.124.54", "2a09:8280:1::53"
LOSSY_V4, LOSSY_V6, LOSSY_DNS_V4 = "66.241.125.20", "2a09:8280:2::20", "66.241.125.53"
APP_ADDRESSES = ("10.99.0.2", "fd99::2")

ZONE = {
    "hello-server": (SHARED_V4, APP_V6),
    "waiting": (WAITING_V4, APP_V6),
    "dedicated": (DEDICATED_V4, APP_V6),
    "down": (DOWN_V4, DOWN_V6),
    "blackhole": (BLACKHOLE_V4, APP_V6),
    "prohibit": (PROHIBIT_V4, APP_V6),
    "rejecting": (REJECT_V4, REJECT_V6),
    "half": (DEDICATED_V4, APP_V6),  # its A query is dropped on the way to DNS_DROPS_A_V4
    "lossy": (LOSSY_V4, LOSSY_V6),
    "tls": (SHARED_V4, TLS_V6),
    "resetting": (RESETTING_V4, APP_V6),
    "flaky": (FLAKY_V4, APP_V6),
    "nginx-edge": (NGINX_V4, APP_V6),
    "mail": (MAIL_V4, MAIL_V6),
}
# The DNS header is 12 bytes, "half.fly.dev" is 14 on the wire: the query type of its
# question starts 26 bytes into the UDP payload, 34 after the UDP header's start.
DROP_HALF_A = f"ip daddr {DNS_DROPS_A_V4} udp dport 53 @th,272,16 0x0001 drop"


def lab_problem() -> str | None:
    """Why the edge tier cannot run here, or ``None``."""
    if not sys.platform.startswith("linux"):
        return "the edge tier needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the edge tier needs root (network namespaces, nftables, TUN devices)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the edge tier needs {', '.join(missing)}: apt-get install haproxy knot nftables iproute2 "
            "(.ci/run does this as root)"
        )
    if not Path("/dev/net/tun").exists():
        return "the edge tier needs /dev/net/tun for its lossy link"
    return None


def _zone_text() -> str:
    lines = [
        "$ORIGIN fly.dev.",
        "$TTL 30",
        "@ SOA ns1.fly.dev. hostmaster.fly.dev. 1 3600 600 86400 30",
        "@ NS ns1.fly.dev.",
        f"ns1 A {DNS_V4}",
    ]
    for name, (v4, v6) in ZONE.items():
        lines += [f"{name} A {v4}", f"{name} AAAA {v6}"]
    lines.append(f"v4only A {DEDICATED_V4}")  # an IPv4-only service: IPv6-only clients need NAT64
    # a dedicated IPv4 allocated and the shared one kept ('fly ips allocate-v4', no release)
    lines += [f"kept A {SHARED_V4}", f"kept A {DEDICATED_V4}", f"kept AAAA {APP_V6}"]
    lines.append('noaddr TXT "a first deploy allocated no IP"')  # the name exists, with no address
    return "\n".join(lines) + "\n"


# A customer's own zone: custom domains pointed at Fly names, one at an app that is gone.
CUSTOM_ZONE = """$ORIGIN example.org.
$TTL 30
@ SOA ns1.fly.dev. hostmaster.example.org. 1 3600 600 86400 30
@ NS ns1.fly.dev.
hello CNAME hello-server.fly.dev.
old CNAME deleted-app.fly.dev.
"""

# RFC 7050: the name a client asks for AAAA to learn its DNS64's prefix.
IPV4ONLY_ZONE = """$ORIGIN ipv4only.arpa.
$TTL 30
@ SOA ns1.fly.dev. hostmaster.fly.dev. 1 3600 600 86400 30
@ NS ns1.fly.dev.
@ A 192.0.0.170
@ A 192.0.0.171
"""


def _shared_frontend(name: str, address: str, inspect_delay: str) -> str:
    """A shared-IPv4 frontend: TLS with the right SNI goes to the tls handler, anything
    else is closed without a byte once ``inspect_delay`` is over."""
    return f"""frontend {name}
    bind {address}:{PORT}
    tcp-request inspect-delay {inspect_delay}
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    tcp-request content reject
    use_backend tls_handler if {{ req.ssl_sni -i {TLS_NAME} }}"""


def _haproxy_text(workdir: Path) -> str:
    app = f"{APP_ADDRESSES[0]}:{PORT}"
    pem = workdir / "edge.pem"
    return f"""global
    maxconn 2000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
# Fly's shared IPv4: picks the app by TLS SNI; a raw stream (no ClientHello) is closed
# without a byte once the inspection delay is over.
{_shared_frontend("shared_v4", SHARED_V4, "500ms")}
# The same edge, waiting for a ClientHello longer than any probe here.
{_shared_frontend("waiting_v4", WAITING_V4, "20s")}
# An edge that accepts a raw stream and resets it at once (no inspection delay).
frontend resetting
    bind {RESETTING_V4}:{PORT}
    tcp-request connection reject
# A crash-looping machine behind round robin: every other connection goes to a backend
# where nothing listens, and the edge closes it without a byte.
frontend flaky
    bind {FLAKY_V4}:{PORT}
    default_backend flaky
backend flaky
    balance roundrobin
    retries 0
    server crashed 127.0.0.1:1
    server app {app}
frontend dedicated
    bind {DEDICATED_V4}:{PORT}
    bind [{APP_V6}]:{PORT}
    bind {LOSSY_V4}:{PORT}
    bind [{LOSSY_V6}]:{PORT}
    default_backend app
# An app with no started machine: the edge accepts, finds no backend, closes.
frontend down
    bind {DOWN_V4}:{PORT}
    bind [{DOWN_V6}]:{PORT}
    default_backend down
backend app
    server app {app}
# No server at all: no machine started, so the edge closes each connection at once.
backend down
# Fly's "tls" handler: the edge terminates TLS and forwards plain TCP to the app.
backend tls_handler
    server handler 127.0.0.1:18443
frontend tls_handler
    bind 127.0.0.1:18443 ssl crt {pem}
    bind [{TLS_V6}]:{PORT} ssl crt {pem}
    default_backend app
"""


def _knot_text(workdir: Path) -> str:
    listens = "\n".join(f"    listen: {address}@53" for address in (DNS_V4, DNS_DROPS_A_V4, LOSSY_DNS_V4, DNS_V6))
    return f"""server:
    rundir: "{workdir}"
{listens}
database:
    storage: "{workdir}"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "{workdir}"
zone:
  - domain: fly.dev
    file: "{workdir}/fly.dev.zone"
  - domain: ipv4only.arpa
    file: "{workdir}/ipv4only.arpa.zone"
  - domain: example.org
    file: "{workdir}/example.org.zone"
"""


def in_namespace(namespace: str, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` on a new thread that first joins the named network namespace
    (``setns``, which moves only the calling thread; threads it starts inherit it)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(f"/run/netns/{namespace}") as handle:
                if libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"setns into {namespace}: {os.strerror(errno)}")
            outcome["value"] = call(*args)
        except BaseException as error:
            outcome["error"] = error

    worker = threading.Thread(target=run, name=f"in-{namespace}")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


@dataclass
class EdgeLab:
    """The three namespaces, their daemons and the lossy relay; a context manager."""

    loss: float = 0.0  # each direction, on the lossy path
    delay: float = 0.0  # one way, each direction, on the lossy path
    drop_first: bool = False  # drop the first packet of each flow from the client on the lossy path
    seed: int | None = None  # the relay's random loss, repeatable
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tcpreach-lab-")))

    @property
    def client(self) -> str:
        return f"tr{self.token}c"

    @property
    def edge(self) -> str:
        return f"tr{self.token}e"

    @property
    def app(self) -> str:
        return f"tr{self.token}a"

    def __enter__(self) -> EdgeLab:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- running things ---------------------------------------------------------------
    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def exec(self, namespace: str, argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run a command inside a namespace and wait for it."""
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            ["ip", "netns", "exec", namespace, *argv], capture_output=True, text=True, check=False, **kwargs
        )

    def _start(self, name: str, namespace: str | None, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        prefix = ["ip", "netns", "exec", namespace] if namespace else []
        with (self.workdir / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen([*prefix, *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=log)
        self.processes[name] = process
        return process

    def in_client(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` in this process, on a thread moved into the client namespace:
        the sockets it opens, and those of the threads it starts, are the client's. No
        interpreter start-up, unlike ``client_python``; the process's other threads stay
        where they are."""
        return in_namespace(self.client, call, *args)

    def client_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m tcpreach ARGS`` as the client namespace runs it, in this process."""
        from tcpreach.cli import run_captured

        code, out, err = self.in_client(run_captured, args)
        return subprocess.CompletedProcess(["python", "-m", "tcpreach", *args], code, out, err)

    def client_python(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` in the client namespace, from the repository's root."""
        return self.exec(self.client, [sys.executable, *args], cwd=ROOT, timeout=timeout)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- building ---------------------------------------------------------------------
    def _build(self) -> None:
        for ns in (self.client, self.edge, self.app):
            self.add_namespace(ns)
        self.exec(self.edge, ["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"])
        self._link((self.client, "c0", ["192.0.2.2/24", "2001:db8:1::2/64"]),
                   (self.edge, "e0", ["192.0.2.1/24", "2001:db8:1::1/64"]))  # fmt: skip
        self._link((self.edge, "e1", ["10.99.0.1/24", "fd99::1/64"]), (self.app, "a0", ["10.99.0.2/24", "fd99::2/64"]))
        edge_lo = [
            *(f"{a}/32" for a in (SHARED_V4, WAITING_V4, DEDICATED_V4, DOWN_V4, REJECT_V4, DNS_V4, DNS_DROPS_A_V4)),
            f"{RESETTING_V4}/32",
            f"{FLAKY_V4}/32",
            f"{NGINX_V4}/32",
            f"{MAIL_V4}/32",
            *(f"{a}/32" for a in (LOSSY_V4, LOSSY_DNS_V4)),
            *(f"{a}/128" for a in (APP_V6, DOWN_V6, REJECT_V6, LOSSY_V6, TLS_V6, DNS_V6, MAIL_V6)),
        ]
        for address in edge_lo:
            self._ip("-n", self.edge, "addr", "add", address, "dev", "lo")
        self._ip("-n", self.client, "route", "add", "66.241.124.0/24", "via", "192.0.2.1")
        self._ip("-n", self.client, "-6", "route", "add", "2a09:8280:1::/48", "via", "2001:db8:1::1")
        self._ip("-n", self.client, "route", "add", "blackhole", f"{BLACKHOLE_V4}/32")
        self._ip("-n", self.client, "route", "add", "prohibit", f"{PROHIBIT_V4}/32")
        self._lossy_link()
        rules = self.workdir / "edge.nft"
        rules.write_text(
            "table inet lab {\n  chain input {\n    type filter hook input priority 0;\n"
            f"    ip daddr {REJECT_V4} tcp dport {PORT} reject with icmp type host-unreachable\n"
            f"    ip6 daddr {REJECT_V6} tcp dport {PORT} reject with icmpv6 type addr-unreachable\n"
            f"    {DROP_HALF_A}\n  }}\n}}\n"
        )
        done = self.exec(self.edge, ["nft", "-f", str(rules)])
        if done.returncode != 0:
            raise RuntimeError(f"nft in the edge namespace: {done.stderr.strip()}")
        self.check_isolated()
        self._daemons()

    def _link(self, end_a: tuple[str, str, list[str]], end_b: tuple[str, str, list[str]]) -> None:
        """A veth pair between two namespaces: (namespace, device, addresses) per end."""
        tmp_a, tmp_b = f"v{self.token}{end_a[1]}", f"v{self.token}{end_b[1]}"
        self._ip("link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        for tmp, (ns, dev, addrs) in ((tmp_a, end_a), (tmp_b, end_b)):
            self._ip("link", "set", tmp, "netns", ns)
            self._ip("-n", ns, "link", "set", tmp, "name", dev)
            for address in addrs:
                extra = ["nodad"] if ":" in address else []
                self._ip("-n", ns, "addr", "add", address, "dev", dev, *extra)
            self._ip("-n", ns, "link", "set", dev, "up")

    def _lossy_link(self) -> None:
        tun_c, tun_e = f"t{self.token}c", f"t{self.token}e"
        argv = [sys.executable, "-m", "netlab.relay", "--a", tun_c, "--b", tun_e, "--delay", str(self.delay)]
        argv += ["--loss-ab", str(self.loss), "--loss-ba", str(self.loss)]
        if self.drop_first:
            argv.append("--drop-first")
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        relay = self._start("relay", None, argv)
        assert relay.stdout is not None
        if relay.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"the relay did not start: {self.log('relay')}")
        for tun, ns, mine, peer, mine6, peer6 in (
            (tun_c, self.client, "198.51.100.2", "198.51.100.1", "2001:db8:2::2", "2001:db8:2::1"),
            (tun_e, self.edge, "198.51.100.1", "198.51.100.2", "2001:db8:2::1", "2001:db8:2::2"),
        ):
            self._ip("link", "set", tun, "netns", ns)
            self._ip("-n", ns, "addr", "add", mine, "peer", peer, "dev", tun)
            self._ip("-n", ns, "addr", "add", f"{mine6}/128", "dev", tun, "nodad")
            self._ip("-n", ns, "link", "set", tun, "up")
            self._ip("-n", ns, "-6", "route", "add", f"{peer6}/128", "dev", tun)
        self._ip("-n", self.client, "route", "add", "66.241.125.0/24", "dev", tun_c, "src", "198.51.100.2")
        self._ip("-n", self.client, "-6", "route", "add", "2a09:8280:2::/48", "dev", tun_c, "src", "2001:db8:2::2")

    def check_isolated(self) -> None:
        """The client namespace has no route off this machine: no default route at all."""
        for family, outside in (("-4", "1.1.1.1"), ("-6", "2606:4700:4700::1111")):
            done = self.exec(self.client, ["ip", family, "route", "get", outside])
            if done.returncode == 0:
                raise RuntimeError(f"the client namespace routes {outside}: {done.stdout.strip()}")
            routes = self.exec(self.client, ["ip", family, "route", "show", "default"]).stdout.strip()
            if routes:
                raise RuntimeError(f"the client namespace has a default route: {routes}")

    def _daemons(self) -> None:
        (self.workdir / "fly.dev.zone").write_text(_zone_text())
        (self.workdir / "ipv4only.arpa.zone").write_text(IPV4ONLY_ZONE)
        (self.workdir / "example.org.zone").write_text(CUSTOM_ZONE)
        (self.workdir / "knot.conf").write_text(_knot_text(self.workdir))
        self._certificates()
        (self.workdir / "haproxy.cfg").write_text(_haproxy_text(self.workdir))
        self._start("app", self.app, [sys.executable, "-m", "server", "--port", str(PORT)])
        self._start("haproxy", self.edge, ["haproxy", "-db", "-f", str(self.workdir / "haproxy.cfg")])
        self._start("knot", self.edge, ["knotd", "-c", str(self.workdir / "knot.conf")])
        self._wait_ready()

    @property
    def ca_file(self) -> str:
        """The PEM file of the CA that signed the edge's certificate for ``tls.fly.dev``."""
        return str(self.workdir / "ca.pem")

    def _certificates(self) -> None:
        import trustme  # a test dependency: the edge tier runs from the test environment

        ca = trustme.CA()
        ca.cert_pem.write_to_path(self.ca_file)
        ca.issue_cert(TLS_NAME).private_key_and_cert_chain_pem.write_to_path(str(self.workdir / "edge.pem"))

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: {self.log(name)[-2000:]}")
            listening = self.exec(self.edge, ["ss", "-Hltn"]).stdout + self.exec(self.app, ["ss", "-Hltn"]).stdout
            answering = self.exec(self.edge, ["ss", "-Hlun"]).stdout
            if listening.count(f":{PORT} ") >= 9 and answering.count(":53 ") >= 4:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the lab did not come up within {timeout:g} s")

    def add_namespace(self, ns: str) -> None:
        """A network namespace of the lab's: loopback up, no duplicate address detection."""
        self._ip("netns", "add", ns)
        self.exec(ns, ["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"])
        self._ip("-n", ns, "link", "set", "lo", "up")

    def stop(self, name: str) -> None:
        """Stop the daemon started as ``name`` (if any) and forget it: a part of the lab
        torn down leaves the rest as it was."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()  # all at once; stop() then waits for each
        for name in list(self.processes):
            self.stop(name)
        for ns in (self.client, self.edge, self.app):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            shutil.rmtree(self.workdir)
